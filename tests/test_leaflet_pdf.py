"""The leaflet PDF, read as a patient and a screen reader would read it."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pypdf
import pytest

from handout.brand import load_brand
from handout.content import load_article
from handout.pipeline import Renderer

from conftest import set_brand_value
from helpers import article_sentences, assert_in_order, body_text, decode_qr_codes, fonts, link_uris, page_images

MM = 72 / 25.4
PAGE_SIZES = {"a4": (210 * MM, 297 * MM), "letter": (8.5 * 72, 11 * 72)}


@cache
def leaflet(paper: str = "a4", qr_url: str | None = None) -> bytes:
    return Renderer(load_brand(), paper).leaflet(load_article(), qr_url)


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_every_sentence_prints_in_order(paper: str) -> None:
    assert_in_order(body_text(leaflet(paper)), article_sentences())


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_fits_one_sheet_at_the_right_size(paper: str) -> None:
    reader = pypdf.PdfReader(io.BytesIO(leaflet(paper)))
    assert 1 <= len(reader.pages) <= 2
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (width, height) == pytest.approx(PAGE_SIZES[paper], abs=0.5)


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_qr_code_decodes_to_the_resources_url(paper: str) -> None:
    assert decode_qr_codes(leaflet(paper)) == ["https://example-physio.org/back"]


def test_qr_url_option_replaces_the_brand_url_and_both_are_clickable() -> None:
    url = "https://clinic.example/walk?src=leaflet"
    pdf = leaflet("a4", url)
    assert decode_qr_codes(pdf) == [url]
    assert link_uris(pdf).count(url) == 2  # the code and the printed address
    assert "clinic.example/walk?src=leaflet" in body_text(pdf)


def test_qr_code_is_at_least_25_mm_wide_with_a_quiet_zone() -> None:
    image = page_images(leaflet("a4"), dpi=300)[-1].convert("L")
    # Find the code's dark modules: the bounding box of black pixels in the QR's corner region.
    from zxingcpp import read_barcodes

    (result,) = read_barcodes(image)
    xs = [p.x for p in (result.position.top_left, result.position.top_right, result.position.bottom_left, result.position.bottom_right)]
    width_mm = (max(xs) - min(xs)) / 300 * 25.4
    assert width_mm >= 21  # dark area only; with the 4-module quiet zone the code is 30 mm
    left = min(xs)
    module = (max(xs) - min(xs)) / 25  # version 2 for this URL: 25 modules
    top = min(p.y for p in (result.position.top_left, result.position.top_right))
    quiet = image.crop((int(left - 4 * module) + 2, int(top), int(left) - 2, int(top + 20 * module)))
    assert quiet.getextrema()[0] > 200, "quiet zone left of the code is not white"


def test_all_fonts_embedded_and_subset_no_helvetica() -> None:
    pdf = leaflet("a4")
    found = fonts(pdf)
    assert found, "no fonts found"
    for font in found:
        assert font.embedded and font.subset, font
    assert any("Atkinson" in f.name for f in found)
    assert b"Helvetica" not in pdf


def test_metadata() -> None:
    reader = pypdf.PdfReader(io.BytesIO(leaflet("a4")))
    info = reader.metadata
    assert info.title == "Is Walking The Best Exercise For Lower Back Pain?"
    assert info.author == "Example Physiotherapy Clinic"
    assert info.subject == "Patient information from Example Physiotherapy Clinic"
    assert "lower back pain" in info.get("/Keywords", "")
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])


def test_two_renders_are_byte_identical() -> None:
    first = Renderer(load_brand(), "a4").leaflet(load_article())
    second = Renderer(load_brand(), "a4").leaflet(load_article())
    assert first == second


def test_clinic_details_are_on_every_page() -> None:
    reader = pypdf.PdfReader(io.BytesIO(leaflet("a4")))
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert "Example Physiotherapy Clinic" in text and "01632 960 123" in text
        assert f"Page {number} of {len(reader.pages)}" in text


def test_warning_panel_is_boxed_and_reads_in_black_and_white() -> None:
    pdf = leaflet("a4")
    text = body_text(pdf)
    assert "STOP AND GET ADVICE When Walking May Not Be Enough" in text
    # In greyscale print the panel's band must stay dark enough for white text.
    page = page_images(pdf, dpi=100)[-1].convert("L")
    darkest = page.getextrema()[0]
    assert darkest < 90


def test_clinic_name_with_markup_characters_prints_literally(brand_dir: Path) -> None:
    name = 'Smith & Sons <Physio> "Zoë’s" Clínica'
    set_brand_value(brand_dir, "name", "'" + name.replace("'", "") + "'")
    pdf = Renderer(load_brand(brand_dir), "a4").leaflet(load_article())
    assert name in body_text(pdf)
    assert pypdf.PdfReader(io.BytesIO(pdf)).metadata.author == name


def test_png_logo_works(brand_dir: Path) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (240, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((10, 10, 110, 110), fill=(29, 92, 122, 255))
    image.save(brand_dir / "logo.png")
    set_brand_value(brand_dir, "logo", '"logo.png"')
    pdf = Renderer(load_brand(brand_dir), "letter").leaflet(load_article())
    assert b"/Subtype /Image" in pdf
    assert decode_qr_codes(pdf) == ["https://example-physio.org/back"]
