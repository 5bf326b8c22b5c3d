"""The private per-user cache of small results (QR matrices here): the same answer as making it, bounded, private, and remade when damaged."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from handout import private_cache, qr

URLS = ["https://example-physio.org/back", "http://a.example/x?y=1&z=2", "https://www.example.org/" + "long-path/" * 20]


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("HANDOUT_CACHE", raising=False)
    monkeypatch.setattr(qr, "_PUBLIC", set(URLS))  # as if each were a brand's resources address
    qr.qr_matrix.cache_clear()
    yield tmp_path / "cache" / "handout" / "qr"
    qr.qr_matrix.cache_clear()


def test_a_kept_qr_matrix_is_the_one_qrcode_makes(cache_home: Path) -> None:
    for url in URLS:
        made = qr._made_matrix(url)
        assert qr.qr_matrix(url) == made  # made and kept
        qr.qr_matrix.cache_clear()
        assert qr.qr_matrix(url) == made  # read back
    entries = list(cache_home.glob("*.json"))
    assert len(entries) == len(URLS)
    assert all(stat.S_IMODE(entry.stat().st_mode) == 0o600 for entry in entries)
    assert stat.S_IMODE(cache_home.stat().st_mode) == 0o700


@pytest.mark.parametrize("rows", [["01", "10", "11"], ["0102", "0000", "0000", "0000"], [], "0101", [1, 0]])
def test_a_damaged_qr_entry_is_made_again(rows: object, cache_home: Path) -> None:
    url = URLS[0]
    qr.qr_matrix(url)
    (entry,) = cache_home.glob("*.json")
    entry.write_text(json.dumps({"key": entry.stem, "rows": rows}), encoding="utf-8")
    qr.qr_matrix.cache_clear()
    assert qr.qr_matrix(url) == qr._made_matrix(url)
    assert len(json.loads(entry.read_text(encoding="utf-8"))["rows"]) == len(qr._made_matrix(url))  # written again


def test_only_a_brands_own_address_is_kept_on_disk(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An address given for one plan (--qr-url, the front desk's field) may carry a patient's token, and a kept
    # code decodes back to it: it is made in memory only. A brand's published address is kept.
    from handout.brand import load_brand

    monkeypatch.setattr(qr, "_PUBLIC", set())
    token = "https://clinic.example/video?patient=8f3a91"
    assert qr.qr_matrix(token) == qr._made_matrix(token)
    assert not cache_home.exists() or not list(cache_home.iterdir())
    brand = load_brand(None)
    assert qr._PUBLIC == {brand.resources_url}
    qr.qr_matrix(brand.resources_url)
    assert len(list(cache_home.glob("*.json"))) == 1


def test_off_keeps_nothing(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOUT_CACHE", "off")
    assert qr.qr_matrix(URLS[1]) == qr._made_matrix(URLS[1])
    assert not cache_home.exists() or not list(cache_home.glob("*.json"))


def test_the_cache_keeps_only_the_newest_entries(tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    folder.mkdir(mode=0o700)
    for number in range(5):
        private_cache.store(folder, f"k{number}", {"n": number}, keep=3)
    assert sorted(path.stem for path in folder.glob("*.json")) == ["k2", "k3", "k4"]
    assert private_cache.load(folder, "k4") == {"n": 4, "key": "k4"}
    assert private_cache.load(folder, "k0") is None
    (folder / "k9.json").write_text(json.dumps({"key": "k4", "n": 9}), encoding="utf-8")
    assert private_cache.load(folder, "k9") is None  # another key's entry under this name


def test_a_folder_others_can_write_to_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "handout" / "qr"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    assert private_cache.cache_folder("qr") is None


def test_a_kept_font_path_is_fontpkgs_answer_and_a_missing_file_is_asked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fontpkg

    from handout.render import font_files

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for family, weight in (("Atkinson Hyperlegible", 400), ("Atkinson Hyperlegible", 700), ("Noto Sans", 400)):
        font_files.font_path.cache_clear()
        assert font_files.font_path(family, weight) == fontpkg.path(family, weight, "normal")  # asked and kept
        font_files.font_path.cache_clear()
        assert font_files.font_path(family, weight) == fontpkg.path(family, weight, "normal")  # read back
    folder = tmp_path / "cache" / "handout" / "fonts"
    entry = sorted(folder.glob("*.json"))[0]
    kept = json.loads(entry.read_text(encoding="utf-8"))
    entry.write_text(json.dumps({**kept, "path": str(tmp_path / "gone.ttf")}), encoding="utf-8")
    font_files.font_path.cache_clear()
    answers = {font_files.font_path(family, weight) for family, weight in (("Atkinson Hyperlegible", 400), ("Atkinson Hyperlegible", 700), ("Noto Sans", 400))}
    assert all(path.is_file() for path in answers) and tmp_path / "gone.ttf" not in answers
    font_files.font_path.cache_clear()


def test_kept_toml_is_what_tomllib_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib

    from handout import toml_files
    from handout.content import articles_dir
    from handout.resources import default_brand_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(toml_files, "_IN_PROCESS", {})  # what this process read already would not reach the new folder
    texts = [(default_brand_dir() / "brand.toml").read_text(encoding="utf-8"), *(path.read_text(encoding="utf-8") for path in sorted(articles_dir().glob("*.toml")))]
    texts.append('when = 2027-01-04\nlist = [1, 2.5, "x", true]\n[t]\na = {b = [{c = 1}]}\n')
    for text in texts:
        assert toml_files.parse_toml(text) == tomllib.loads(text)  # parsed (and kept when plain)
        assert toml_files.parse_toml(text) == tomllib.loads(text)  # read back
    folder = tmp_path / "cache" / "handout" / "toml"
    assert len(list(folder.glob("*.json"))) == len(texts) - 1  # the one with a date is parsed every time
    with pytest.raises(tomllib.TOMLDecodeError) as ours:
        toml_files.parse_toml("a = [1,")
    with pytest.raises(tomllib.TOMLDecodeError) as theirs:
        tomllib.loads("a = [1,")
    assert str(ours.value) == str(theirs.value)


def test_a_logo_that_passed_the_svg_checks_is_remembered_and_a_changed_one_is_checked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from handout import brand
    from handout.errors import HandoutError

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>', encoding="utf-8")
    brand._check_svg("brand.toml", logo)
    assert len(list((tmp_path / "cache" / "handout" / "svg-checks").glob("*.json"))) == 1
    brand._check_svg("brand.toml", logo)  # remembered
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink"><image x:href="/etc/passwd"/></svg>', encoding="utf-8")
    with pytest.raises(HandoutError, match="outside the logo file"):
        brand._check_svg("brand.toml", logo)
    with pytest.raises(HandoutError, match="outside the logo file"):
        brand._check_svg("brand.toml", logo)  # a refusal is never remembered


@pytest.fixture
def static_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from handout.render import fonts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("HANDOUT_CACHE", raising=False)
    fonts.font_data.cache_clear()
    yield tmp_path / "cache" / "handout" / "static-fonts"
    fonts.font_data.cache_clear()


def test_a_kept_static_font_is_the_one_harfbuzz_makes_and_a_damaged_one_is_made_again(static_fonts: Path) -> None:
    from handout.render import fonts
    from handout.render.font_files import font_path

    name = fonts.GENERAL.bold
    made = fonts._static_instance(font_path(fonts.GENERAL.family, 400).read_bytes(), name)
    assert fonts.font_data(name) == made  # made and kept
    (entry,) = static_fonts.glob("*.bin")
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    fonts.font_data.cache_clear()
    assert fonts.font_data(name) == made  # read back
    for damage in (lambda kept: kept[:-1], lambda kept: kept[:32] + b"\0" + kept[33:], lambda kept: b""):
        entry.write_bytes(damage(entry.read_bytes()))
        fonts.font_data.cache_clear()
        assert fonts.font_data(name) == made  # not read back: made and kept again
        assert entry.read_bytes()[32:] == made


def test_static_fonts_are_kept_by_weight_and_harfbuzz_version(static_fonts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from handout.render import fonts

    regular, bold = fonts.font_data(fonts.GENERAL.regular), fonts.font_data(fonts.GENERAL.bold)
    assert regular != bold and len(list(static_fonts.glob("*.bin"))) == 2
    real = private_cache.installed_version
    monkeypatch.setattr(private_cache, "installed_version", lambda package, module: "upgraded" if package == "uharfbuzz" else real(package, module))
    fonts.font_data.cache_clear()
    assert fonts.font_data(fonts.GENERAL.regular) == regular
    assert len(list(static_fonts.glob("*.bin"))) == 3  # another key: made again, not read from the older HarfBuzz's entry
