"""The tri-fold leaflet, read as a patient meets it: two sides of one sheet, panels in folding order, folds clear of text, nothing cut."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pikepdf
import pypdf
import pypdfium2
import pytest
import zxingcpp
from pdf_structure import Element, check_structure
from test_layout import LIMITS, longest, read_pages
from typer.testing import CliRunner

from handout.brand import load_brand
from handout.cli import app
from handout.content import load_article
from handout.errors import HandoutError
from handout.pipeline import Renderer
from handout.render.trifold import EDGE, FLAP_SHORTER, FOLD_GUTTER, GUIDE_FROM, GUIDE_TO, MIN_SIZE, TOO_LONG, Panel, TrifoldRenderer, sheet_for

from conftest import set_brand_value
from helpers import article_sentences, assert_in_order, fonts, normalise, one_line_error, page_images

MM = 72 / 25.4
LANDSCAPE = {"a4": (297 * MM, 210 * MM), "letter": (11 * 72, 8.5 * 72)}
URL = "https://example-physio.org/back"
CREATED = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
runner = CliRunner()
PAPERS_AND_LANGUAGES = [("a4", "en"), ("letter", "en"), ("a4", "es"), ("letter", "es")]


@cache
def trifold(paper: str = "a4", language: str = "en") -> bytes:
    return Renderer(load_brand(), paper).leaflet(load_article(language=language), layout="trifold")


def panel_text(pdf: bytes, page: int, panel: Panel) -> str:
    """The words printed on one panel of one side, in the order a reader's software extracts them."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        height = document[page].get_size()[1]
        text = document[page].get_textpage().get_text_bounded(left=panel.left, bottom=0, right=panel.left + panel.width, top=height)
    finally:
        document.close()
    return normalise(text)


def article_strings(language: str) -> list[str]:
    """Every sentence of the article after its title (which is on the cover), in order."""
    if language == "en":
        return article_sentences()[1:]  # from the web page the article came from, word for word
    sentences: list[str] = []
    for part in load_article(language=language).sentences_source()[1:]:
        sentences += [s for s in re.split(r"(?<=[.?!…])\s+", normalise(part)) if s]
    return sentences


# ---------------------------------------------------------------- the sheet


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_two_pages_are_the_two_sides_of_one_landscape_sheet(paper: str) -> None:
    reader = pypdf.PdfReader(io.BytesIO(trifold(paper)))
    assert len(reader.pages) == 2
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(LANDSCAPE[paper], abs=0.5)
        assert page.get("/Rotate", 0) == 0


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_panels_fold_as_a_letter_fold_and_back_up_each_other_when_flipped_on_the_short_edge(paper: str) -> None:
    sheet = sheet_for(paper)
    flap, back, cover = sheet.outside
    left, middle, right = sheet.inside
    assert [p.name for p in sheet.article_panels] == ["flap", "inside left", "inside middle", "inside right"]
    assert sum(p.width for p in sheet.outside) == pytest.approx(sheet.width) == pytest.approx(sum(p.width for p in sheet.inside))
    # The flap folds in first: 3 mm narrower than the other panels, which are equal.
    assert back.width == pytest.approx(cover.width) and flap.width == pytest.approx(cover.width - FLAP_SHORTER)
    if paper == "a4":
        assert (flap.width / MM, cover.width / MM) == pytest.approx((97, 100), abs=0.01)
    # Turned over on the short edge, x becomes width - x: each inside panel backs an outside one and the folds meet.
    assert (right.width, middle.width, left.width) == pytest.approx((flap.width, back.width, cover.width))
    assert sorted(sheet.width - x for x in sheet.folds(2)) == pytest.approx(sorted(sheet.folds(1)))
    for side, panels in ((1, sheet.outside), (2, sheet.inside)):
        folds = sheet.folds(side)
        for panel in panels:
            column = (panel.column_left, panel.column_left + panel.column_width)
            assert column[0] >= EDGE - 0.01 and column[1] <= sheet.width - EDGE + 0.01
            assert panel.left <= column[0] and column[1] <= panel.left + panel.width
            assert all(abs(edge - fold) >= FOLD_GUTTER - 0.01 for edge in column for fold in folds)
    assert sheet.column_bottom == pytest.approx(EDGE) and sheet.height - sheet.column_top == pytest.approx(EDGE)


# ---------------------------------------------------------------- what each panel says


@pytest.mark.parametrize(("paper", "language"), PAPERS_AND_LANGUAGES)
def test_the_front_cover_is_the_outside_right_panel_with_title_logo_and_clinic_name(paper: str, language: str) -> None:
    pdf = trifold(paper, language)
    sheet = sheet_for(paper)
    cover = panel_text(pdf, 0, sheet.outside[2])
    title = load_article(language=language).title
    assert cover.startswith("Example Physiotherapy Clinic")
    assert normalise(title) in cover
    assert not any(sentence in cover for sentence in article_strings(language)[1:])  # the article is inside, not on the cover
    structure = check_structure(pdf)
    logo = next(e for e in structure.elements if e.kind == "Figure")  # the first figure: the cover's logo
    x0, _, x1, _ = (float(v) for v in logo.obj.A.BBox)
    assert sheet.outside[2].column_left - 0.5 <= x0 < x1 <= sheet.outside[2].column_left + sheet.outside[2].column_width + 0.5


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_the_back_panel_has_the_qr_code_its_caption_and_the_clinics_details(paper: str) -> None:
    pdf = trifold(paper)
    sheet = sheet_for(paper)
    back = panel_text(pdf, 0, sheet.outside[1])
    brand = load_brand()
    assert_in_order(
        back,
        [
            "Find out more",
            "Scan the code with your phone camera, or type this address:",
            "example-physio.org/back",
            "Questions? Call us on 01632 960 123.",
            "Example Physiotherapy Clinic",
            "12 Harbour Street",
            "Exampleton EX1 2AB",
            "01632 960 123",
            "hello@example-physio.org",
            "www.example-physio.org",
            brand.disclaimer,
        ],
    )
    # The code scans from the back panel alone, cut out of the printed page.
    dpi = 200
    image = page_images(pdf, dpi)[0]
    panel = sheet.outside[1]
    crop = image.crop((int(panel.left / 72 * dpi), 0, int((panel.left + panel.width) / 72 * dpi), image.height))
    assert [r.text for r in zxingcpp.read_barcodes(crop, formats=zxingcpp.BarcodeFormat.QRCode)] == [URL]
    assert [r.text for r in zxingcpp.read_barcodes(page_images(pdf, dpi)[1], formats=zxingcpp.BarcodeFormat.QRCode)] == []


def warning_strings(language: str) -> list[str]:
    """The sentences of the article's warning box, in order."""
    warnings = load_article(language=language).warnings
    parts = [warnings.heading, warnings.lead_in, *(item.text for item in warnings.items), warnings.closing]
    return [s for part in parts if part for s in re.split(r"(?<=[.?!…])\s+", normalise(part)) if s]


def panel_lines(pdf: bytes, page: int, panel: Panel) -> list[tuple[str, bool, float]]:
    """The panel's lines from the top: (text, bold, size of the first glyph), read from the page geometry."""
    glyphs = [g for g in read_pages(pdf)[page].glyphs if panel.left <= g.left < panel.left + panel.width]
    lines: dict[float, list] = {}
    for glyph in glyphs:
        lines.setdefault(round(glyph.baseline), []).append(glyph)
    return [("".join(g.char for g in sorted(line, key=lambda g: g.left)), line[0].bold, line[0].size) for _, line in sorted(lines.items(), reverse=True)]


@pytest.mark.parametrize(("paper", "language"), PAPERS_AND_LANGUAGES)
def test_the_tri_fold_reads_in_the_order_it_opens(paper: str, language: str) -> None:
    pdf = trifold(paper, language)
    sheet = sheet_for(paper)
    flap = panel_text(pdf, 0, sheet.outside[0])
    inside = [panel_text(pdf, 1, panel) for panel in sheet.inside]
    warnings = warning_strings(language)
    article = [s for s in article_strings(language) if s not in warnings]
    # The flap, seen beside the inside left panel and face down once opened, is complete in itself: the warning box.
    assert_in_order(flap, warnings)
    assert not any(sentence in flap for sentence in article)
    # The article runs from its first heading across inside left → middle → right, every sentence in order.
    assert inside[0].startswith(normalise(load_article(language=language).benefits.heading))
    assert_in_order(" ".join(inside), article)
    assert not any(sentence in " ".join(inside) for sentence in warnings[1:])
    # From the page geometry: each inside panel starts with a heading (bold, larger than the body), or with a
    # continuation of the panel before it (its first words follow that panel's last words in the article).
    joined = squeezed(" ".join(article))  # glyphs are read without the spaces between words
    for before, panel in zip(sheet.inside, sheet.inside[1:]):
        text, bold, size = panel_lines(pdf, 1, panel)[0]
        if not bold:
            assert panel_lines(pdf, 1, before)[-1][0] + text in joined, (panel.name, text)
    # The panels are balanced: none of the three is less than half full while another is full.
    fills = [len(panel_lines(pdf, 1, panel)) for panel in sheet.inside]
    assert min(fills) >= max(fills) / 2, fills


@pytest.mark.parametrize(("paper", "language"), PAPERS_AND_LANGUAGES)
def test_the_structure_and_the_content_stream_follow_the_folded_reading_order(paper: str, language: str, tmp_path: Path) -> None:
    pdf = trifold(paper, language)
    sheet = sheet_for(paper)
    path = tmp_path / "trifold.pdf"
    path.write_bytes(pdf)
    printed = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout
    struct_text = squeezed(" ".join(re.findall(r'^\s*"(.*)"\s*$', printed, re.M)))
    # Cover, flap, inside left, middle, right, back: each panel's first words appear in that order in the structure.
    panels = [(0, sheet.outside[2]), (0, sheet.outside[0]), *((1, p) for p in sheet.inside), (0, sheet.outside[1])]
    starts = ["".join(line for line, _, _ in panel_lines(pdf, page, panel)[:2])[:25] for page, panel in panels]
    positions = [struct_text.find(start) for start in starts]
    assert -1 not in positions and positions == sorted(positions), list(zip(starts, positions))
    # Copy-paste (the content stream, as pdftotext -raw reads it) starts at the cover, then the flap, then the back.
    raw = squeezed(subprocess.run(["pdftotext", "-raw", "-f", "1", "-l", "1", str(path), "-"], capture_output=True, text=True, check=True).stdout)
    order = [raw.find(starts[0]), raw.find(starts[1]), raw.find(starts[-1])]
    assert -1 not in order and order == sorted(order) and raw.startswith("ExamplePhysiotherapyClinic"), order


def squeezed(text: str) -> str:
    """Text without any whitespace (line breaks, no-break spaces): how glyphs read back from the page compare with sentences."""
    return "".join(text.split())


@pytest.mark.parametrize(("paper", "language"), PAPERS_AND_LANGUAGES)
def test_the_built_in_article_fits_both_papers_in_both_languages_at_12_pt_or_more(paper: str, language: str) -> None:
    renderer = Renderer(load_brand(), paper)
    layout = TrifoldRenderer(renderer.brand, paper).layout(renderer.leaflet_document(load_article(language=language)), CREATED)
    assert layout.body_size >= 12  # RNIB Clear Print's minimum, though the floor is 11
    assert all(0 <= fill <= 1.01 for fill in layout.fill) and layout.fill[0] > 0.5  # a last item's space after may overhang


# ---------------------------------------------------------------- type size


def text_sizes(pdf: bytes) -> list[float]:
    """The size of every Tf operator on every page (and in form XObjects)."""
    sizes: list[float] = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            streams = [page] + [x for x in page.obj.Resources.get("/XObject", {}).values() if x.get("/Subtype") == "/Form"]
            for stream in streams:
                for operands, operator in pikepdf.parse_content_stream(stream):
                    if str(operator) == "Tf":
                        sizes.append(float(operands[1]))
    return sizes


@pytest.mark.parametrize(("paper", "language"), PAPERS_AND_LANGUAGES)
def test_no_text_is_smaller_than_11_pt(paper: str, language: str) -> None:
    pdf = trifold(paper, language)
    sizes = text_sizes(pdf)
    assert sizes and min(sizes) >= MIN_SIZE == 11
    # As a reader's software measures each glyph (text matrix included), too.
    glyph_sizes = [g.size for page in read_pages(pdf) for g in page.glyphs]
    assert min(glyph_sizes) >= 11 - 0.01


# ---------------------------------------------------------------- folds


@pytest.mark.parametrize(("paper", "language"), PAPERS_AND_LANGUAGES)
def test_every_glyph_is_inside_a_panels_column_so_no_fold_cuts_text(paper: str, language: str) -> None:
    sheet = sheet_for(paper)
    for side, page in zip((1, 2), read_pages(trifold(paper, language))):
        panels = sheet.outside if side == 1 else sheet.inside
        for g in page.glyphs:
            assert EDGE - 0.5 <= g.bottom and g.top <= sheet.height - EDGE + 0.5, (side, g)
            # A glyph's ink may overhang its advance a little (the tail of a j): half a millimetre, of the 8 mm to the fold.
            assert any(p.column_left - 0.5 * MM <= g.left and g.right <= p.column_left + p.column_width + 0.5 * MM for p in panels), (side, g)


@pytest.mark.parametrize(("paper", "language"), PAPERS_AND_LANGUAGES)
def test_folds_run_through_blank_paper_and_are_marked_by_grey_ticks_at_the_edges(paper: str, language: str) -> None:
    sheet = sheet_for(paper)
    dpi = 100
    px = dpi / 72
    for side, image in zip((1, 2), page_images(trifold(paper, language), dpi)):
        grey = image.convert("L")
        for fold in sheet.folds(side):
            # Either side of the fold, from just inside the guides to just inside the other: nothing but paper.
            strip = grey.crop((round((fold - FOLD_GUTTER + 1 * MM) * px), round((GUIDE_TO + 1 * MM) * px), round((fold + FOLD_GUTTER - 1 * MM) * px), round((sheet.height - GUIDE_TO - 1 * MM) * px)))
            assert strip.getextrema()[0] >= 250, (side, fold / MM, strip.getextrema())
            # The ticks: light grey lines in the top and bottom margins, on the fold.
            column = round(fold * px)
            for top, bottom in ((GUIDE_FROM, GUIDE_TO), (sheet.height - GUIDE_TO, sheet.height - GUIDE_FROM)):
                tick = grey.crop((column - 2, round(top * px) + 1, column + 3, round(bottom * px) - 1))
                darkest = tick.getextrema()[0]
                assert 100 < darkest < 235, (side, fold / MM, top / MM, darkest)
    assert GUIDE_TO < EDGE  # the ticks stop short of where any panel's content starts


def test_fold_guides_are_artifacts_and_the_file_is_tagged_in_reading_order() -> None:
    pdf = trifold()
    structure = check_structure(pdf)
    assert structure.problems == []
    assert structure.root is not None
    kinds = structure.root.text_kinds()
    assert kinds[:4] == ["Document", "Figure", "P", "H1"]  # the cover: logo, clinic name, title
    assert kinds.count("H1") == 1
    figures = [e for e in structure.elements if e.kind == "Figure"]
    assert [str(f.obj.Alt) for f in figures] == ["Example Physiotherapy Clinic logo", f"QR code that opens {URL}"]
    # The back panel comes after the whole article: its heading "Find out more" (a section, H2), the code,
    # three lines of caption, then the clinic's name, each line of its contact details and the disclaimer.
    top = [k.kind for k in structure.root.kids if isinstance(k, Element)]
    assert top[-12:] == ["H2", "Figure", "P", "P", "P", "P", "P", "P", "P", "P", "P", "P"]  # the address on two lines
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            assert b"/Artifact <</Type /Page>> BDC" in page.Contents.read_bytes()


def test_the_pdfua_checker_finds_nothing(tmp_path: Path) -> None:
    paths = []
    for paper, language in PAPERS_AND_LANGUAGES:
        path = tmp_path / f"trifold-{paper}-{language}.pdf"
        path.write_bytes(trifold(paper, language))
        paths.append(str(path))
    checker = Path(sys.executable).with_name("pdfua")
    result = subprocess.run([str(checker), "check", "--min-severity", "warning", *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("result: PASS (no findings)") == len(paths)


# ---------------------------------------------------------------- the file


def test_metadata_print_hints_and_fonts() -> None:
    pdf = trifold()
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert reader.metadata.title == "Is Walking The Best Exercise For Lower Back Pain?"
    assert reader.metadata.author == "Example Physiotherapy Clinic"
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    preferences = root["/ViewerPreferences"]
    assert bool(preferences["/DisplayDocTitle"])
    # A print dialog that honours these prints both sides the way the folds need, at actual size.
    assert preferences["/Duplex"] == "/DuplexFlipShortEdge" and preferences["/PrintScaling"] == "/None"
    assert all(font.embedded and font.subset for font in fonts(pdf))
    assert b"Helvetica" not in pdf


def test_two_renders_are_byte_identical_and_dated_like_the_standard_leaflet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    first = Renderer(load_brand(), "a4").leaflet(load_article(), layout="trifold")
    second = Renderer(load_brand(), "a4").leaflet(load_article(), layout="trifold")
    assert first == second
    assert pypdf.PdfReader(io.BytesIO(first)).metadata.creation_date == dt.datetime.fromtimestamp(1790000000, dt.UTC)
    assert Renderer(load_brand(), "letter").leaflet(load_article(), layout="trifold") == Renderer(load_brand(), "letter").leaflet(load_article(), layout="trifold")


# ---------------------------------------------------------------- when it cannot fit

LONG_TEMPLATE = """{% extends "builtin/leaflet.xml.j2" %}
{% block resources %}
<heading level="1">Our back-care classes</heading>
{% for n in range(12) %}
<p>Class {{ n + 1 }} meets every week in the clinic's gym. Bring comfortable clothes, a bottle of water and a towel.
The physiotherapist shows you gentle exercises you can do at home, and checks how your walking is going.</p>
{% endfor %}
{{ super() }}
{% endblock %}
"""


def test_a_template_too_long_for_the_panels_is_a_one_line_error_and_no_file(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "leaflet.xml.j2").write_text(LONG_TEMPLATE, encoding="utf-8")
    target = tmp_path / "trifold.pdf"
    result = runner.invoke(app, ["leaflet", "--layout", "trifold", "--templates", str(templates), "-o", str(target)])
    assert result.exit_code == 1
    line = one_line_error(result)
    assert line == f"handout: error: {TOO_LONG['article']}"
    assert "does not fit the tri-fold's four panels at 11 pt: use the standard layout or shorten the template" in line
    assert not target.exists() and list(tmp_path.iterdir()) == [templates]
    # The same template still makes a standard leaflet: nothing was wrong but the fit.
    assert runner.invoke(app, ["leaflet", "--templates", str(templates), "-o", str(target)]).exit_code == 0


def test_a_little_more_text_fits_at_a_smaller_size_never_below_11_pt(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "leaflet.xml.j2").write_text(LONG_TEMPLATE.replace("range(12)", "range(6)"), encoding="utf-8")
    renderer = Renderer(load_brand(), "a4", [templates])
    layout = TrifoldRenderer(renderer.brand, "a4").layout(renderer.leaflet_document(load_article()), CREATED)
    assert 11 <= layout.body_size < 14
    pdf = layout.pdf
    assert min(text_sizes(pdf)) >= 11
    sheet = sheet_for("a4")
    text = " ".join(panel_text(pdf, 1, panel) for panel in sheet.inside)
    warnings = warning_strings("en")
    assert_in_order(text, [*(s for s in article_sentences()[1:] if s not in warnings), "Class 1 meets", "Class 6 meets every week"])


@pytest.mark.parametrize("blocks", ["tips warnings", "benefits tips warnings"])
def test_a_short_article_still_makes_both_sides_of_the_sheet(tmp_path: Path, blocks: str) -> None:
    # An article that ends on the flap (or a template with none) still prints the inside, blank, for duplex printing.
    templates = tmp_path / "templates"
    templates.mkdir()
    emptied = "".join(f"{{% block {name} %}}{{% endblock %}}" for name in blocks.split())
    short = '{% block benefits %}<heading level="1">{{ article.benefits.heading }}</heading><p>{{ article.benefits.items[0].text }}</p>{% endblock %}'
    (templates / "leaflet.xml.j2").write_text('{% extends "builtin/leaflet.xml.j2" %}' + (emptied if "benefits" in blocks else short + emptied), encoding="utf-8")
    pdf = Renderer(load_brand(), "a4", [templates]).leaflet(load_article(), layout="trifold")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    assert normalise(reader.pages[1].extract_text()) == ""
    assert check_structure(pdf).problems == []
    assert "Find out more" in panel_text(pdf, 0, sheet_for("a4").outside[1])


def test_a_title_too_long_for_the_cover_is_a_one_line_error(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    long_title = '{% extends "builtin/leaflet.xml.j2" %}{% block title %}<title>' + "A very long title indeed " * 12 + "</title>{% endblock %}"
    (templates / "leaflet.xml.j2").write_text(long_title, encoding="utf-8")
    target = tmp_path / "trifold.pdf"
    result = runner.invoke(app, ["leaflet", "--layout", "trifold", "--templates", str(templates), "-o", str(target)])
    assert result.exit_code == 1
    assert one_line_error(result) == f"handout: error: {TOO_LONG['cover']}"
    assert not target.exists()


def test_large_print_does_not_go_with_a_trifold(tmp_path: Path) -> None:
    target = tmp_path / "trifold.pdf"
    result = runner.invoke(app, ["leaflet", "--layout", "trifold", "--large-print", "-o", str(target)])
    assert result.exit_code == 2
    assert "--large-print does not go with --layout trifold" in one_line_error(result)
    assert not target.exists()
    with pytest.raises(HandoutError, match="large print"):
        Renderer(load_brand(), "a4", large_print=True).leaflet(load_article(), layout="trifold")


def test_brand_values_too_long_for_the_back_panel_say_so_in_one_line(brand_dir: Path, tmp_path: Path) -> None:
    # The longest values brand.toml accepts, in the widest letters: the standard layout takes them, a 77 mm panel cannot.
    for key, limit in LIMITS.items():
        set_brand_value(brand_dir, key, f'"{longest(key, limit)}"')
    target = tmp_path / "trifold.pdf"
    result = runner.invoke(app, ["leaflet", "--layout", "trifold", "--brand", str(brand_dir), "-o", str(target)])
    assert result.exit_code == 1
    assert one_line_error(result) == f"handout: error: {TOO_LONG['back']}"
    assert not target.exists()


def test_long_but_ordinary_brand_values_still_fit(brand_dir: Path) -> None:
    words = "Northside Physiotherapy and Sports Injury Clinic of Greater Exampleton, Unit 4 The Old Mill, Harbour Street, Exampleshire " * 2
    for key in ("name", "address", "disclaimer"):
        set_brand_value(brand_dir, key, f'"{words[: LIMITS[key]].rsplit(" ", 1)[0]}"')
    set_brand_value(brand_dir, "email", '"reception@northside-physiotherapy-and-sports-injury.org"')
    pdf = Renderer(load_brand(brand_dir), "letter").leaflet(load_article(language="es"), layout="trifold")
    sheet = sheet_for("letter")
    back = panel_text(pdf, 0, sheet.outside[1])
    assert "Unit 4 The Old Mill" in back and "Harbour Street" in back
    assert min(text_sizes(pdf)) >= 11


# ---------------------------------------------------------------- the command


def test_the_command_writes_a_trifold_and_says_how_to_print_it(tmp_path: Path) -> None:
    target = tmp_path / "trifold.pdf"
    result = runner.invoke(app, ["leaflet", "--layout", "TRIFOLD", "--paper", "letter", "--lang", "es", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    assert "tri-fold" in result.stdout and "flip on short edge" in result.stdout
    reader = pypdf.PdfReader(target)
    assert len(reader.pages) == 2
    assert (float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)) == pytest.approx(LANDSCAPE["letter"], abs=0.5)


def test_help_names_the_layouts_and_how_to_print_a_trifold() -> None:
    result = runner.invoke(app, ["leaflet", "--help"])
    assert result.exit_code == 0
    text = normalise(result.stdout)
    assert "--layout <standard|trifold>" in text and "[default: standard]" in text
    assert "flip on short edge" in text


def test_an_unknown_layout_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["leaflet", "--layout", "zfold", "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "--layout" in one_line_error(result)
