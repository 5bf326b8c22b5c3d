"""The per-user cache of an SVG logo's operators: the same bytes as drawing it with svglib, fresh for a changed logo, private, and never trusted when damaged."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from handout.render import logo_cache
from handout.render.fonts import MAIN

# `handout leaflet` as the command runs it; prints whether svglib was imported.
PROBE = """
import sys
sys.argv = ["handout", *sys.argv[1:]]
from handout.__main__ import main
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print("svglib:", "svglib" in sys.modules, file=sys.stderr)
"""


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("HANDOUT_CACHE", raising=False)
    return home


def leaflet(brand: Path, out: Path, *, cache: bool = True) -> tuple[bytes, bool]:
    """The leaflet's bytes, and whether the run imported svglib."""
    env = dict(os.environ, HANDOUT_CACHE="on" if cache else "off")
    result = subprocess.run([sys.executable, "-c", PROBE, "leaflet", "--brand", str(brand), "-o", str(out)], capture_output=True, text=True, env=env, check=True)
    return out.read_bytes(), "svglib: True" in result.stderr


def kept(cache_home: Path) -> list[Path]:
    return sorted((cache_home / "handout" / "logos").glob("*.json"))


def test_a_warm_run_draws_the_logo_without_svglib_and_writes_the_same_bytes(brand_dir: Path, cache_home: Path, tmp_path: Path) -> None:
    uncached, used_svglib = leaflet(brand_dir, tmp_path / "off.pdf", cache=False)
    assert used_svglib and not kept(cache_home)
    cold, used_svglib = leaflet(brand_dir, tmp_path / "cold.pdf")
    assert used_svglib
    (entry,) = kept(cache_home)  # the example brand's logo, which this copy's is
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    warm, used_svglib = leaflet(brand_dir, tmp_path / "warm.pdf")
    assert not used_svglib
    assert uncached == cold == warm


def test_a_changed_logo_gets_a_fresh_entry(brand_dir: Path, cache_home: Path, tmp_path: Path) -> None:
    before, _ = leaflet(brand_dir, tmp_path / "before.pdf")
    logo = brand_dir / "logo.svg"
    (brand_dir.parent / "original.svg").write_bytes(logo.read_bytes())
    logo.write_text(logo.read_text(encoding="utf-8").replace("#1D5C7A", "#7A1D5C"), encoding="utf-8")
    changed, used_svglib = leaflet(brand_dir, tmp_path / "changed.pdf")
    assert used_svglib  # read again, not taken from the old logo's entry
    assert changed != before
    assert changed == leaflet(brand_dir, tmp_path / "uncached.pdf", cache=False)[0]
    keys = {logo_cache.cache_key(svg, MAIN) for svg in (logo.read_bytes(), (brand_dir.parent / "original.svg").read_bytes())}
    assert keys <= {entry.stem for entry in kept(cache_home)}
    assert leaflet(brand_dir, tmp_path / "warm.pdf") == (changed, False)


@pytest.mark.parametrize("damage", ["garbage {", '{"key": "another", "width": 1, "height": 1, "operators": []}', '{"key": "KEY", "width": 90, "height": 90, "operators": [1, 2]}', ""])
def test_a_damaged_entry_is_ignored_and_written_again(damage: str, brand_dir: Path, cache_home: Path, tmp_path: Path) -> None:
    good, _ = leaflet(brand_dir, tmp_path / "good.pdf")
    entry = cache_home / "handout" / "logos" / f"{logo_cache.cache_key((brand_dir / 'logo.svg').read_bytes(), MAIN)}.json"
    entry.write_text(damage.replace("KEY", entry.stem), encoding="utf-8")
    again, used_svglib = leaflet(brand_dir, tmp_path / "again.pdf")
    assert used_svglib and again == good
    assert json.loads(entry.read_text(encoding="utf-8"))["key"] == entry.stem  # written again, whole


def test_a_logo_with_text_or_transparency_is_always_drawn_by_svglib(brand_dir: Path, cache_home: Path, tmp_path: Path) -> None:
    logo = brand_dir / "logo.svg"
    svg = logo.read_text(encoding="utf-8")
    logo.write_text(svg.replace("</svg>", '<circle cx="60" cy="60" r="20" fill="#FFFFFF" fill-opacity="0.5"/><text x="10" y="110">Clinic</text></svg>'), encoding="utf-8")
    first, _ = leaflet(brand_dir, tmp_path / "first.pdf")
    assert not (cache_home / "handout" / "logos" / f"{logo_cache.cache_key(logo.read_bytes(), MAIN)}.json").exists()
    second, used_svglib = leaflet(brand_dir, tmp_path / "second.pdf")
    assert used_svglib and first == second == leaflet(brand_dir, tmp_path / "uncached.pdf", cache=False)[0]


def test_the_key_covers_what_decides_the_operators() -> None:
    svg = b"<svg/>"
    key = logo_cache.cache_key(svg, "AtkinsonHyperlegible")
    assert key == logo_cache.cache_key(svg, "AtkinsonHyperlegible")
    assert key != logo_cache.cache_key(svg + b" ", "AtkinsonHyperlegible")
    assert key != logo_cache.cache_key(svg, "NotoSans")


def test_a_folder_others_can_write_to_is_not_used(cache_home: Path) -> None:
    folder = cache_home / "handout" / "logos"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    assert logo_cache.cache_folder() is None
    folder.chmod(0o700)
    assert logo_cache.cache_folder() == folder
