"""HarfBuzz, pyphen and Pillow stood in for until used (deferred_imports.py): a plain leaflet loads none, and one that needs them is the same bytes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from handout import api

from conftest import set_brand_value
from helpers import as_the_command

# `handout leaflet …` as the installed command runs it, then which of the libraries it really loaded.
PROBE = as_the_command(
    """
from handout.deferred_imports import DEFERRED, loaded
print("loaded:", " ".join(name for name in DEFERRED if loaded(name)))
"""
)


def command_leaflet(tmp_path: Path, *args: str) -> tuple[bytes, set[str]]:
    out = tmp_path / "leaflet.pdf"
    result = subprocess.run([sys.executable, "-c", PROBE, "leaflet", *args, "-o", str(out)], cwd=tmp_path, capture_output=True, text=True, check=True)
    return out.read_bytes(), set(result.stdout.rsplit("loaded:", 1)[1].split())


@pytest.fixture(autouse=True)
def fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")  # the command and this process date their leaflets alike


def test_a_plain_leaflet_loads_none_of_them(tmp_path: Path) -> None:
    command_leaflet(tmp_path)  # the first run keeps the logo's operators (svglib's drawing reads Pillow)
    pdf, loaded = command_leaflet(tmp_path)
    assert loaded == set()
    assert pdf == api.render_leaflet()  # this process imported them all, as ReportLab does


@pytest.mark.parametrize("layout", ["standard", "trifold"])
def test_a_shaped_name_is_shaped_as_with_harfbuzz_imported(layout: str, tmp_path: Path, brand_dir: Path) -> None:
    set_brand_value(brand_dir, "name", '"अनीता फिजियो क्लिनिक"')  # Devanagari: HarfBuzz shapes it, and subsets its fallback font
    set_brand_value(brand_dir, "address", '"شارع الميناء، مدينة المثال"')  # Arabic: joined letters, right to left
    pdf, loaded = command_leaflet(tmp_path, "--brand", str(brand_dir), "--layout", layout)
    assert "uharfbuzz" in loaded
    assert pdf == api.render_leaflet(brand=brand_dir, layout=layout)


def test_a_raster_logo_is_read_as_with_pillow_imported(tmp_path: Path, brand_dir: Path) -> None:
    from PIL import Image

    Image.new("RGB", (240, 80), (29, 92, 122)).save(brand_dir / "logo.png")
    set_brand_value(brand_dir, "logo", '"logo.png"')
    pdf, loaded = command_leaflet(tmp_path, "--brand", str(brand_dir))
    assert "PIL.Image" in loaded
    assert pdf == api.render_leaflet(brand=brand_dir)


STAND_IN = """
import sys
from handout.deferred_imports import DeferredModule, defer, loaded
defer("colorsys")
stand_in = sys.modules["colorsys"]
assert isinstance(stand_in, DeferredModule) and stand_in and not loaded("colorsys")
import colorsys  # an import statement takes the stand-in as loaded
assert colorsys is stand_in and not loaded("colorsys")
from xml import dom  # a package's attribute: Pillow's `from PIL import Image`
defer("xml.dom.minidom")
from xml.dom import minidom
assert isinstance(minidom, DeferredModule) and not loaded("xml.dom.minidom")
assert colorsys.rgb_to_hsv(1, 0, 0) == (0, 1, 1) and loaded("colorsys")  # the first attribute loads it
assert type(sys.modules["colorsys"]) is type(sys) and "rgb_to_hls" in vars(stand_in)
assert minidom.parseString("<a/>").documentElement.tagName == "a"
assert dom.minidom is sys.modules["xml.dom.minidom"] and type(dom.minidom) is type(sys)
defer("no_such_module_anywhere")
assert "no_such_module_anywhere" not in sys.modules  # not installed: ReportLab's try/except sees it missing, as ever
print("ok")
"""


def test_a_stand_in_is_taken_as_imported_and_becomes_the_module_on_first_use() -> None:
    result = subprocess.run([sys.executable, "-c", STAND_IN], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
