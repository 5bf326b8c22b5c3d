"""Large print read back from real PDFs: type sizes, contrast, nothing off the page or stranded, the diary, the QR code, the CLI and batch."""

from __future__ import annotations

import colorsys
import datetime as dt
import io
import re
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
from test_layout import (  # noqa: F401 - longest_brand is a fixture
    MM,
    Glyph,
    Line,
    Page,
    horizontal_rules,
    longest_brand,
    misplaced_glyphs,
    page_break_problems,
    paragraph_texts,
    read_pages,
)
from typer.testing import CliRunner

from handout.brand import Colour, load_brand
from handout.cli import app
from handout.content import load_article
from handout.document import Block, Heading, Keep, Panel, QRCode, Title, plain_text
from handout.pipeline import Patient, Renderer
from handout.plan import PlanRequest, build_plan

from conftest import set_brand_value
from page_space import MAX_BLANK_MM, page_spaces
from helpers import content_operations, decode_qr_codes

ISSUED = dt.date(2026, 11, 27)
START = dt.date(2026, 12, 7)
BODY, HEADING, FURNITURE = 18, 22, 14  # the smallest sizes large print allows (points)
LONG_NAME = " ".join(["Bartholomew-Alexander"] * 8) + " " + "Q" * 24  # 200 characters, the longest accepted


@cache
def renderer(paper: str = "a4", large_print: bool = True) -> Renderer:
    return Renderer(load_brand(), paper, (), large_print=large_print)


def plan_pdf(weeks: int = 12, with_article: bool = False, paper: str = "a4", name: str = "Jane Doe", large_print: bool = True) -> tuple[bytes, tuple[Block, ...]]:
    r = renderer(paper, large_print)
    plan = build_plan(PlanRequest(start_date=START, weeks=weeks))
    patient = Patient(name, "Sam Lee")
    return r.plan(patient, plan, load_article(), ISSUED, with_article), r.plan_document(patient, plan, load_article(), ISSUED, with_article).blocks


def leaflet_pdf(large_print: bool = True) -> tuple[bytes, tuple[Block, ...]]:
    r = renderer("a4", large_print)
    return r.leaflet(load_article()), r.leaflet_document(load_article()).blocks


def lines(page: Page, above: float = 0) -> list[Line]:
    """The page's text lines (above `above` points), top to bottom; a line is a heading when all its glyphs are bold and at least 22 pt."""
    rows: dict[float, list] = {}
    for g in page.glyphs:
        if g.baseline > above and g.char != "•":
            rows.setdefault(round(g.baseline, 1), []).append(g)
    found: list[Line] = []
    for baseline in sorted(rows, reverse=True):
        glyphs = sorted(rows[baseline], key=lambda g: g.left)
        text = glyphs[0].char
        for before, glyph in zip(glyphs, glyphs[1:]):
            text += (" " if glyph.left - before.right > glyph.size * 0.2 else "") + glyph.char
        found.append(Line(text, baseline, all(g.bold and g.size >= HEADING - 0.05 for g in glyphs)))
    return found


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def heading_texts(blocks: tuple[Block, ...]) -> list[str]:
    texts: list[str] = []
    for block in blocks:
        if isinstance(block, Title | Heading):
            texts.append(squeeze(plain_text(block.text)))
        elif isinstance(block, Panel | QRCode | Keep):
            texts += heading_texts(block.children)
    return texts


def reading_sizes(pdf: bytes, blocks: tuple[Block, ...]) -> tuple[list[float], list[float], list[float]]:
    """Font sizes of (body text, headings, furniture) as drawn, told apart by what the text says."""
    brand = load_brand()
    body_bottom = renderer().pdf.body_bottom
    contact = {squeeze(brand.address), squeeze(f"{brand.phone} · {brand.website}")}
    headings = heading_texts(blocks)
    body: list[float] = []
    heads: list[float] = []
    furniture: list[float] = []
    for number, page in enumerate(read_pages(pdf), start=1):
        for glyph in page.glyphs:
            if glyph.baseline < body_bottom:
                furniture.append(glyph.size)
        for line in lines(page, body_bottom):
            text = squeeze(line.text)
            glyphs = [g for g in page.glyphs if round(g.baseline, 1) == line.baseline]
            if number == 1 and text in contact:
                furniture += [g.size for g in glyphs]
            elif all(g.bold for g in glyphs) and any(text in h for h in headings) and len(text) > 3:
                heads += [g.size for g in glyphs]
            else:
                body += [g.size for g in glyphs]
    return body, heads, furniture


# ---------------------------------------------------------------- type sizes


@pytest.mark.parametrize("kind", ["leaflet", "plan"])
def test_body_text_is_at_least_18_pt_headings_22_pt_and_furniture_14_pt(kind: str) -> None:
    pdf, blocks = leaflet_pdf() if kind == "leaflet" else plan_pdf(12, with_article=True)
    body, heads, furniture = reading_sizes(pdf, blocks)
    assert len(body) > 1000 and len(heads) > 100 and len(furniture) > 100
    assert min(body) >= BODY - 0.05, min(body)
    assert min(heads) >= HEADING - 0.05, min(heads)
    assert min(furniture) >= FURNITURE - 0.05, min(furniture)
    assert max(heads) > max(body), "the title is the largest text on the page"


def test_standard_print_is_smaller_than_large_print() -> None:
    pdf, blocks = leaflet_pdf(large_print=False)
    body, heads, _ = reading_sizes(pdf, blocks)
    assert min(body) < BODY and min(heads) < HEADING  # the checker tells them apart: standard print fails it


def test_large_print_is_flush_left_and_never_italic() -> None:
    pdf, _ = plan_pdf(4, with_article=True)
    document = pikepdf.open(io.BytesIO(pdf))
    fonts = {str(f.get("/BaseFont")) for page in document.pages for f in page.Resources.get("/Font", {}).values()}
    assert fonts and not any("Italic" in f or "Oblique" in f for f in fonts), fonts
    left = MM * 15
    for page in read_pages(pdf):
        # every line of body text starts at the margin, a bullet's indent, a cell or the QR's text column: never centred or justified right
        starts = {round(min(g.left for g in page.glyphs if round(g.baseline, 1) == line.baseline) - left) for line in lines(page, renderer().pdf.body_bottom)}
        assert min(starts) >= -1


def test_line_spacing_is_at_least_1_2() -> None:
    pdf, _ = leaflet_pdf()
    for page in read_pages(pdf):
        baselines = sorted({round(g.baseline, 1) for g in page.glyphs if abs(g.size - BODY) < 0.05 and not g.bold}, reverse=True)
        gaps = [a - b for a, b in zip(baselines, baselines[1:])]
        assert gaps and min(gaps) >= 1.2 * BODY - 0.1, min(gaps)


# ---------------------------------------------------------------- contrast


def relative(rgb: tuple[float, float, float]) -> float:
    return 1.05 / Colour("#" + "".join(f"{round(c * 255):02X}" for c in rgb)).contrast_with_white()


def text_colours(pdf: bytes) -> list[tuple[tuple[float, float, float], tuple[float, float, float] | None]]:
    """(fill colour of each text-showing operator, the last rectangle fill painted before it) from the content streams."""
    found = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            fill: tuple[float, float, float] = (0.0, 0.0, 0.0)
            stack: list[tuple[float, float, float]] = []
            background: tuple[float, float, float] | None = None
            rect = False
            for operands, operator in content_operations(page):
                op = str(operator)
                if op == "q":
                    stack.append(fill)
                elif op == "Q":
                    fill = stack.pop()
                elif op == "rg":
                    fill = tuple(float(v) for v in operands)  # type: ignore[assignment]
                elif op == "g":
                    fill = (float(operands[0]),) * 3  # type: ignore[assignment]
                elif op == "k":
                    c, m, y, k = (float(v) for v in operands)
                    fill = ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
                elif op == "re":
                    rect = True
                elif op in ("f", "f*", "B", "b") and rect:
                    background, rect = fill, False
                elif op in ("S", "n"):
                    rect = False
                elif op in ("Tj", "TJ", "'", '"'):
                    found.append((fill, background))
    return found


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = relative(a) - 0.05, relative(b) - 0.05
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def assert_text_contrast(pdf: bytes, ratio: float) -> set[tuple[float, float, float]]:
    colours = text_colours(pdf)
    white = (1.0, 1.0, 1.0)
    assert colours
    for fill, background in colours:
        if fill == white:  # white words on the panels' coloured bands
            assert background is not None and contrast(fill, background) >= ratio, (fill, background)
        else:
            assert contrast(fill, white) >= ratio, fill
    return {fill for fill, _ in colours}


@pytest.mark.parametrize("kind", ["leaflet", "plan"])
def test_every_text_colour_reaches_7_to_1(kind: str) -> None:
    pdf, _ = leaflet_pdf() if kind == "leaflet" else plan_pdf(4, with_article=True)
    assert len(assert_text_contrast(pdf, 7)) >= 3  # ink, grey, the brand's colour at least


def hue(rgb: tuple[float, float, float]) -> float:
    return colorsys.rgb_to_hls(*rgb)[0]


def test_a_light_brand_colour_is_darkened_in_its_own_hue_to_7_to_1(brand_dir: Path) -> None:
    light = "#2A7AA3"  # 4.8:1 on white: accepted for standard print
    assert 4.5 < Colour(light).contrast_with_white() < 7
    set_brand_value(brand_dir, "primary_colour", f'"{light}"')
    brand = load_brand(brand_dir)
    brand_rgb = Colour(light).rgb
    standard = Renderer(brand, "a4").leaflet(load_article())
    assert brand_rgb in {tuple(round(c, 4) for c in fill) for fill, _ in text_colours(standard)} or any(
        max(abs(a - b) for a, b in zip(fill, brand_rgb)) < 0.003 for fill, _ in text_colours(standard)
    ), "standard print keeps the brand's own colour"
    with pytest.raises(AssertionError):
        assert_text_contrast(standard, 7)  # the check sees the light colour
    large = Renderer(brand, "a4", (), large_print=True).leaflet(load_article())
    fills = assert_text_contrast(large, 7)
    in_brand_hue = [f for f in fills if max(f) - min(f) > 0.05 and abs(hue(f) - hue(brand_rgb)) < 0.02]  # not grey, black or the warning red
    assert in_brand_hue, "headings keep the brand's hue: not switched to black"
    for fill in in_brand_hue:
        assert 7 <= contrast(fill, (1.0, 1.0, 1.0)) < 9, "darkened just enough, not to near-black"


# ---------------------------------------------------------------- layout: inside the page, no lone headings


def large_print_pagination_problems(pdf: bytes, blocks: tuple[Block, ...], paper: str) -> list[str]:
    return page_break_problems([lines(page, renderer(paper).pdf.body_bottom) for page in read_pages(pdf)], paragraph_texts(blocks))


@pytest.mark.parametrize("with_article", [False, True], ids=["plan", "with-article"])
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_large_print_plans_of_many_lengths_have_no_lone_heading_and_stay_inside_the_page(paper: str, with_article: bool) -> None:
    problems: list[str] = []
    for weeks in (1, 2, 3, 4, 6, 9, 12, 16, 20, 26):
        pdf, blocks = plan_pdf(weeks, with_article, paper)
        problems += [f"{weeks} weeks: {p}" for p in large_print_pagination_problems(pdf, blocks, paper)]
        problems += [f"{weeks} weeks: {p}" for p in misplaced_glyphs(pdf)]
    assert problems == []


def test_the_large_print_line_reader_tells_22_pt_bold_headings_from_bold_body_text() -> None:
    def glyph(char: str, left: float, baseline: float, size: float, bold: bool) -> Glyph:
        return Glyph(char, left, baseline, left + size * 0.5, baseline + size * 0.7, baseline, size, bold)

    page = Page(595, 842, (glyph("A", 50, 700, 22, True), glyph("B", 62, 700, 22, True), glyph("C", 50, 650, 18, True), glyph("D", 50, 600, 22, False)))
    assert [(line.text, line.heading) for line in lines(page)] == [("AB", True), ("C", False), ("D", False)]
    found = page_break_problems([lines(page)[:1], [Line("Week 1", 700, False)]], [])
    assert found == ["page 1 ends with the heading 'AB'"]


def test_the_large_print_leaflet_stays_inside_the_page_with_no_lone_heading() -> None:
    pdf, blocks = leaflet_pdf()
    assert misplaced_glyphs(pdf) == []
    assert large_print_pagination_problems(pdf, blocks, "a4") == []


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("kind", ["leaflet", "plan"])
def test_longest_name_and_brand_values_fit_in_large_print(longest_brand: Path, paper: str, kind: str) -> None:  # noqa: F811
    assert len(LONG_NAME) == 200
    brand = load_brand(longest_brand)
    r = Renderer(brand, paper, (), large_print=True)
    if kind == "leaflet":
        pdf = r.leaflet(load_article())
    else:
        plan = build_plan(PlanRequest(start_date=START, weeks=26))
        pdf = r.plan(Patient(LONG_NAME, "Sam Lee"), plan, load_article(), ISSUED, True)
    assert misplaced_glyphs(pdf) == []
    text = "".join(g.char for page in read_pages(pdf) for g in page.glyphs)
    for word in (*brand.name.split(), *brand.disclaimer.split(), *(LONG_NAME.split() if kind == "plan" else ())):
        assert word in text, word


FIND_OUT_MORE = {"en": "Find out more", "es": "Más información"}
STOP = {"en": "STOP AND GET ADVICE", "es": "DEJE DE CAMINAR Y CONSULTE"}
WEEKLY_TIMES = {"en": "Your weekly times", "es": "Sus tiempos semanales"}


def reading_order(pdf: bytes, texts: list[str]) -> list[str]:
    """`texts` in the order a screen reader meets them: the tagged structure, as poppler reads it."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        tree = subprocess.run(["pdfinfo", "-struct-text", handle.name], capture_output=True, text=True, check=True).stdout
    return sorted((t for t in texts if t in tree), key=tree.index)


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_first_large_print_page_is_filled_by_the_clinics_address_not_left_half_empty(paper: str, language: str) -> None:
    """The warning box is taller than what large print leaves under the bad-day note: page 1 ended 62-99 mm
    above its footer and the QR block stood alone on page 3. The QR block fills page 1; the box opens page 2."""
    for weeks in (1, 12, 26):
        plan = build_plan(PlanRequest(start_date=START, weeks=weeks))
        pdf = renderer(paper).plan(Patient("Jane Doe"), plan, load_article(language=language), ISSUED)
        first, second = (" ".join(page.get_textpage().get_text_range().split()) for page in list(pypdfium2.PdfDocument(pdf))[:2])
        assert FIND_OUT_MORE[language] in first and second.startswith(STOP[language]), (weeks, first, second)
        assert page_spaces(pdf)[0].blank_above_footer <= MAX_BLANK_MM, weeks
        words = [FIND_OUT_MORE[language], STOP[language], WEEKLY_TIMES[language]]
        assert reading_order(pdf, words) == words  # read as printed, the address once
    standard = renderer(paper, large_print=False).plan(Patient("Jane Doe"), plan, load_article(language=language), ISSUED)
    words = [STOP[language], WEEKLY_TIMES[language], FIND_OUT_MORE[language]]
    assert reading_order(standard, words) == words  # standard print keeps its order: the box fits on page 1


def test_content_is_never_dropped_it_takes_more_pages() -> None:
    standard, _ = plan_pdf(12, with_article=True, large_print=False)
    large, _ = plan_pdf(12, with_article=True)
    words = lambda pdf: sorted(squeeze("".join(g.char for p in read_pages(pdf) for g in p.glyphs if g.baseline > 130)))  # noqa: E731
    assert len(read_pages(large)) > len(read_pages(standard))
    standard_text = "".join(g.char for p in read_pages(standard) for g in p.glyphs)
    large_text = "".join(g.char for p in read_pages(large) for g in p.glyphs)
    for sentence in ("Tick the box on each day you walk.", "Walk at a pace where you can still talk.", "Score your pain from 0"):
        assert squeeze(sentence) in squeeze(standard_text) and squeeze(sentence) in squeeze(large_text)
    assert len(words(large)) >= len(words(standard)) - 200  # the page labels differ; the body does not lose text


# ---------------------------------------------------------------- the diary and the QR code


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_large_print_diary_rows_are_at_least_12_mm_and_tick_boxes_larger(paper: str) -> None:
    """A large-print day is two lines (pain and steps, then minutes and notes), each at least 9 mm: 18 mm a day."""
    pdf, _ = plan_pdf(4, paper=paper)
    day = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d")
    measured: list[float] = []
    for index, page in enumerate(read_pages(pdf)):
        rules = sorted({round(y, 2) for y, _, _ in horizontal_rules(pdf, index)})
        for line in lines(page, renderer(paper).pdf.body_bottom):
            if day.match(line.text):
                assert min(g.size for g in page.glyphs if round(g.baseline, 1) == line.baseline) >= BODY - 0.05
                measured.append((min(y for y in rules if y > line.baseline) - max(y for y in rules if y < line.baseline)) / MM)
    assert len(measured) == 4 * 7
    assert min(measured) >= 9 - 0.01, min(measured)
    boxes: list[float] = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            for operands, operator in content_operations(page):
                if str(operator) == "re" and abs(float(operands[2]) - float(operands[3])) < 0.01 and 12 < float(operands[2]) < 40:  # not the diary's 4 mm corner marks
                    boxes.append(float(operands[2]))
    assert len(boxes) >= 4 * 7 and min(boxes) >= 7 * MM - 0.1, boxes[:3]  # standard print: 5.4 mm


def test_the_qr_code_still_decodes_in_large_print() -> None:
    pdf, _ = leaflet_pdf()
    assert decode_qr_codes(pdf) == [load_brand().resources_url]
    plan, _ = plan_pdf(2)
    codes = decode_qr_codes(plan)
    assert [c for c in codes if not c.startswith("HD2:")] == [load_brand().resources_url]
    assert len(codes) == 3  # and each of the two large-print diary pages' own code


# ---------------------------------------------------------------- the command line and batch


def smallest_body_size(pdf: bytes) -> float:
    pages = read_pages(pdf)
    return min(g.size for g in pages[0].glyphs if g.baseline > renderer().pdf.body_bottom)


@pytest.mark.parametrize("command", [["leaflet"], ["plan", "--patient", "Jane Doe", "--weeks", "2"]])
def test_large_print_on_the_command_line(tmp_path: Path, command: list[str]) -> None:
    target = tmp_path / "out.pdf"
    result = CliRunner().invoke(app, [*command, "--large-print", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    large = target.read_bytes()
    result = CliRunner().invoke(app, [*command, "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    assert smallest_body_size(large) >= 16 - 0.05  # the masthead's contact lines are the smallest on page 1
    assert smallest_body_size(target.read_bytes()) == 12  # standard print: the contact lines and tables at the 12 pt body minimum
    assert len(read_pages(large)) > len(read_pages(target.read_bytes()))


def batch(tmp_path: Path, csv: str, *args: str) -> dict[str, bytes]:
    patients = tmp_path / "patients.csv"
    patients.write_text(csv, encoding="utf-8")
    out = tmp_path / "plans"
    result = CliRunner().invoke(app, ["batch", str(patients), "--out-dir", str(out), "--workers", "1", *args])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return {path.stem: path.read_bytes() for path in out.glob("*.pdf") if path.stem.startswith("p")}


def is_large(pdf: bytes) -> bool:
    sizes = [g.size for page in read_pages(pdf) for g in page.glyphs]
    return min(sizes) >= FURNITURE - 0.05


CSV = "patient_id,name,weeks,large_print\np1,Ann One,2,yes\np2,Bob Two,2,no\np3,Cat Three,2,\np4,Dan Four,2,Y\n"


def test_batch_gives_large_print_only_to_the_rows_that_ask(tmp_path: Path) -> None:
    plans = batch(tmp_path, CSV)
    assert {key: is_large(pdf) for key, pdf in plans.items()} == {"p1": True, "p2": False, "p3": False, "p4": True}


def test_batch_large_print_option_is_the_default_for_empty_cells(tmp_path: Path) -> None:
    plans = batch(tmp_path, CSV, "--large-print")
    assert {key: is_large(pdf) for key, pdf in plans.items()} == {"p1": True, "p2": False, "p3": True, "p4": True}


def test_a_bad_large_print_cell_is_a_row_problem(tmp_path: Path) -> None:
    patients = tmp_path / "patients.csv"
    patients.write_text("patient_id,name,large_print\np1,Ann One,big\np2,Bob Two,no\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["batch", str(patients), "--out-dir", str(tmp_path / "plans"), "--workers", "1"])
    assert result.exit_code == 1
    assert "large_print must be yes or no" in result.stderr + result.stdout
    assert (tmp_path / "plans" / "p2.pdf").exists() and not (tmp_path / "plans" / "p1.pdf").exists()


def test_a_changed_print_size_is_a_new_plan(tmp_path: Path) -> None:
    first = batch(tmp_path, "patient_id,name,weeks,large_print\np1,Ann One,2,no\n")
    again = batch(tmp_path, "patient_id,name,weeks,large_print\np1,Ann One,2,yes\n")
    assert not is_large(first["p1"]) and is_large(again["p1"])
