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
    monkeypatch.delenv("HANDOUT_QR_CACHE", raising=False)
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


def test_off_keeps_nothing(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOUT_QR_CACHE", "off")
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
    assert private_cache.cache_folder("qr", "HANDOUT_QR_CACHE") is None


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
