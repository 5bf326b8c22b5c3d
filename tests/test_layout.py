"""Layout read back from real PDFs: nothing off the page, no lone headings or stranded lines, true dates, no empty or unsafe documents."""

from __future__ import annotations

import ctypes
import datetime as dt
import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pikepdf
import pypdfium2
import pypdfium2.raw as pdfium
import pytest
from typer.testing import CliRunner

from handout.brand import load_brand
from handout.cli import app
from handout.content import load_article
from handout.document import Block, BulletList, Keep, Panel, Paragraph, QRCode, plain_text
from handout.errors import HandoutError
from handout.pipeline import Patient, Renderer
from handout.plan import PlanRequest, build_plan

from conftest import set_brand_value
from helpers import content_operations

MM = 72 / 25.4
MARGIN = 15 * MM  # the page margin every glyph must stay inside (render/pdf.py)
ISSUED = dt.date(2026, 11, 27)
START = dt.date(2026, 12, 7)
HEADING_SIZES = (26.0, 18.0, 14.5)  # title, heading level 1, heading level 2 (render/styles.py)
TOLERANCE = 0.5  # points: glyph boxes are measured, not declared


# ---------------------------------------------------------------- reading glyphs back


@dataclass(frozen=True)
class Glyph:
    char: str
    left: float
    bottom: float
    right: float
    top: float
    baseline: float
    size: float
    bold: bool


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    glyphs: tuple[Glyph, ...]


def read_pages(pdf: bytes) -> list[Page]:
    """Every visible character of every page with its tight box, font size and weight, as PDFium reads them."""
    document = pypdfium2.PdfDocument(pdf)
    pages: list[Page] = []
    buffer = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    x, y = ctypes.c_double(), ctypes.c_double()
    try:
        for index in range(len(document)):
            page = document[index]
            width, height = page.get_size()
            text = page.get_textpage()
            glyphs: list[Glyph] = []
            for i in range(text.count_chars()):
                char = chr(pdfium.FPDFText_GetUnicode(text.raw, i))
                if char.isspace() or pdfium.FPDFText_IsGenerated(text.raw, i):
                    continue
                left, bottom, right, top = text.get_charbox(i)
                pdfium.FPDFText_GetFontInfo(text.raw, i, buffer, len(buffer), ctypes.byref(flags))
                pdfium.FPDFText_GetCharOrigin(text.raw, i, ctypes.byref(x), ctypes.byref(y))
                bold = b"Bold" in buffer.value
                glyphs.append(Glyph(char, left, bottom, right, top, y.value, round(pdfium.FPDFText_GetFontSize(text.raw, i), 2), bold))
            pages.append(Page(width, height, tuple(glyphs)))
    finally:
        document.close()
    return pages


def misplaced_glyphs(pdf: bytes) -> list[str]:
    """Every glyph outside the page or its margins, and every pair of glyphs drawn over each other."""
    problems: list[str] = []
    for number, page in enumerate(read_pages(pdf), start=1):
        for g in page.glyphs:
            if g.left < -TOLERANCE or g.bottom < -TOLERANCE or g.right > page.width + TOLERANCE or g.top > page.height + TOLERANCE:
                problems.append(f"page {number}: {g.char!r} off the page at ({g.left:.0f}, {g.bottom:.0f})")
            elif g.left < MARGIN - TOLERANCE or g.bottom < MARGIN - TOLERANCE or g.right > page.width - MARGIN + TOLERANCE or g.top > page.height - MARGIN + TOLERANCE:
                problems.append(f"page {number}: {g.char!r} in the margin at ({g.left:.0f}, {g.bottom:.0f})")
        problems += [f"page {number}: {a.char!r} drawn over {b.char!r} at ({a.left:.0f}, {a.bottom:.0f})" for a, b in overlapping(page.glyphs)]
    return problems


def overlapping(glyphs: tuple[Glyph, ...]) -> list[tuple[Glyph, Glyph]]:
    """Pairs of glyphs whose boxes overlap by more than a sliver (footer on body text, text on text)."""
    cells: dict[tuple[int, int], list[Glyph]] = {}
    for g in glyphs:
        for x in range(int(g.left // 20), int(g.right // 20) + 1):
            for y in range(int(g.bottom // 20), int(g.top // 20) + 1):
                cells.setdefault((x, y), []).append(g)
    found: set[tuple[Glyph, Glyph]] = set()
    for members in cells.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                dx = min(a.right, b.right) - max(a.left, b.left)
                dy = min(a.top, b.top) - max(a.bottom, b.bottom)
                if dx > 1 and dy > 1:
                    found.add((a, b))
    return sorted(found, key=lambda pair: (pair[0].bottom, pair[0].left))


def shifted(pdf: bytes, dy: float, duplicate: bool = False) -> bytes:
    """The same PDF with every page's drawing moved down by dy points (and optionally drawn twice)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            page.contents_coalesce()
            original = page.Contents.read_bytes()
            body = b"q 1 0 0 1 0 %.2f cm\n" % -dy + original + b"\nQ\n"
            if duplicate:
                body += b"q 1 0 0 1 3 -2 cm\n" + original + b"\nQ\n"
            page.Contents.write(body)
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()


# ---------------------------------------------------------------- item 10: nothing runs off the page

# The longest value brand.toml accepts for each printed key, in wide letters, with
# one long unbroken "word" each so wrapping has to split words too.
LIMITS = {"name": 60, "address": 120, "phone": 30, "email": 80, "website": 60, "disclaimer": 180}


def longest(key: str, limit: int) -> str:
    # Addresses break only after ".", "/" or "@": their parts are as long as brand.toml accepts (MAX_ADDRESS_PART).
    if key == "email":
        return ("w" * 30 + "@" + "W" * 29 + "." + "W" * 29)[: limit - 4] + ".org"
    if key == "website":
        return ("www." + "W" * 29 + "." + "W" * limit)[: limit - 4] + ".org"
    words = ("WWWWWWWWWWWWWWWWWWWWWWWW " + "Wide Mmmm Wwww " * 20)
    return words[:limit].strip().ljust(limit, "M")


@pytest.fixture
def longest_brand(brand_dir: Path) -> Path:
    for key, limit in LIMITS.items():
        value = longest(key, limit)
        assert len(value) == limit
        set_brand_value(brand_dir, key, f'"{value}"')
    set_brand_value(brand_dir, "resources_url", '"https://example-physio.org/' + "a" * 270 + '"')
    return brand_dir


def test_the_checker_finds_glyphs_off_the_page_in_the_margin_and_on_each_other() -> None:
    good = Renderer(load_brand(), "a4").leaflet(load_article())
    assert misplaced_glyphs(good) == []
    below_the_page = misplaced_glyphs(shifted(good, 120))
    assert any("off the page" in p for p in below_the_page), below_the_page[:3]
    assert any("in the margin" in p for p in misplaced_glyphs(shifted(good, 20)))
    assert any("drawn over" in p for p in misplaced_glyphs(shifted(good, 0, duplicate=True)))


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("kind", ["leaflet", "plan"])
def test_longest_accepted_brand_values_stay_inside_the_margins(longest_brand: Path, paper: str, kind: str) -> None:
    brand = load_brand(longest_brand)
    renderer = Renderer(brand, paper)
    if kind == "leaflet":
        pdf = renderer.leaflet(load_article())
    else:
        plan = build_plan(PlanRequest(start_date=START, weeks=26))
        pdf = renderer.plan(Patient("Jane Doe", "Sam Lee"), plan, load_article(), ISSUED, True)
    assert misplaced_glyphs(pdf) == []
    text = "".join(g.char for page in read_pages(pdf) for g in page.glyphs)
    for key in ("name", "phone", "disclaimer"):  # every word of them reaches the page, however they wrap
        for word in getattr(brand, key).split():
            assert word in text, (key, word)


@pytest.mark.parametrize("key", sorted(LIMITS))
def test_a_brand_value_over_its_limit_is_refused_naming_the_key_and_limit(brand_dir: Path, tmp_path: Path, key: str) -> None:
    set_brand_value(brand_dir, key, f'"{longest(key, LIMITS[key] + 1)}"')
    target = tmp_path / "l.pdf"
    result = CliRunner().invoke(app, ["leaflet", "--brand", str(brand_dir), "-o", str(target)])
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "brand.toml" in lines[0] and f"key '{key}'" in lines[0] and str(LIMITS[key]) in lines[0], lines[0]
    assert not target.exists()


# ---------------------------------------------------------------- item 11: no empty or unsafe documents


def one_line_error(args: list[str], *fragments: str) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, (result.exit_code, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("handout: error: ") and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.mark.parametrize(
    "body",
    [
        "",
        '<spacer mm="20"/><pagebreak/>',
        "<p> </p><keep><heading level=\"1\"></heading></keep>",
        '<panel kind="note" label=""></panel>',
    ],
    ids=["no blocks", "only space", "empty text", "empty panel"],
)
def test_a_document_with_nothing_to_print_is_an_error_naming_the_template(tmp_path: Path, body: str) -> None:
    (tmp_path / "leaflet.xml.j2").write_text(f'<document title="Empty" lang="en">{body}</document>', encoding="utf-8")
    target = tmp_path / "l.pdf"
    one_line_error(["leaflet", "--templates", str(tmp_path), "-o", str(target)], "leaflet.xml.j2", "nothing to print")
    assert not target.exists()


@pytest.mark.parametrize(
    "element",
    [
        '<p><a href="javascript:alert(1)">x</a></p>',
        '<p><a href="file:///etc/passwd">x</a></p>',
        '<p><a href=" JavaScript:alert(1)">x</a></p>',
        '<p><a href="data:text/html,hi">x</a></p>',
        '<p><a href="../secret.html">x</a></p>',
        '<qr url="ftp://example.org/x" alt="code"><p>x</p></qr>',
        '<qr url="javascript:alert(1)" alt="code"><p>x</p></qr>',
    ],
)
def test_links_other_than_http_https_mailto_tel_name_template_and_line(tmp_path: Path, element: str) -> None:
    (tmp_path / "leaflet.xml.j2").write_text(f'<document title="Links" lang="en">\n<p>Hello</p>\n{element}\n</document>', encoding="utf-8")
    target = tmp_path / "l.pdf"
    one_line_error(["leaflet", "--templates", str(tmp_path), "-o", str(target)], "leaflet.xml.j2", "line 3", "http, https, mailto or tel")
    assert not target.exists()


def test_http_https_mailto_and_tel_links_are_kept(tmp_path: Path) -> None:
    links = ["https://example.org/a", "http://example.org/b", "mailto:hello@example.org", "tel:+441632960123"]
    anchors = "".join(f'<a href="{link}">link {n}</a> ' for n, link in enumerate(links))
    (tmp_path / "leaflet.xml.j2").write_text(f'<document title="Links" lang="en"><p>{anchors}</p></document>', encoding="utf-8")
    pdf = Renderer(load_brand(), "a4", [tmp_path]).leaflet(load_article())
    with pikepdf.open(io.BytesIO(pdf)) as document:
        uris = [str(a.A.URI) for page in document.pages for a in page.get("/Annots", [])]
    assert uris == links


SVG_HEAD = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">'


@pytest.mark.parametrize(
    "inside",
    [
        '<image xlink:href="../secret.png" width="10" height="10"/>',
        '<image href="/etc/passwd" width="10" height="10"/>',
        '<image href="file:///etc/hostname" width="10" height="10"/>',
        '<image href="logo.png" width="10" height="10"/>',
        '<use xlink:href="other.svg#shape"/>',
        '<rect width="10" height="10" style="fill: url(file:///etc/passwd#a)"/>',
        '<rect width="10" height="10" fill="url(../x.svg#g)"/>',
        "<style>rect { fill: url('https://example.org/x.svg#g') }</style>",
        '<style>@import "https://example.org/a.css";</style>',
    ],
)
def test_an_svg_logo_with_an_external_reference_is_refused(brand_dir: Path, tmp_path: Path, inside: str) -> None:
    (brand_dir / "logo.svg").write_text(SVG_HEAD + inside + "</svg>", encoding="utf-8")
    with pytest.raises(HandoutError) as caught:
        load_brand(brand_dir)
    message = caught.value.message
    assert "brand.toml" in message and "key 'logo'" in message and "outside" in message and "\n" not in message, message


def test_an_svg_logo_with_an_external_entity_is_refused(brand_dir: Path) -> None:
    (brand_dir / "logo.svg").write_text(
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + SVG_HEAD + "<text>&x;</text></svg>", encoding="utf-8"
    )
    with pytest.raises(HandoutError, match="key 'logo'"):
        load_brand(brand_dir)


def test_an_svg_logo_with_data_uris_and_inner_references_loads(brand_dir: Path) -> None:
    pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    (brand_dir / "logo.svg").write_text(
        SVG_HEAD
        + '<defs><linearGradient id="g"><stop offset="0" stop-color="#000"/></linearGradient><rect id="r" width="5" height="5"/></defs>'
        + '<use xlink:href="#r"/><rect x="5" width="5" height="5" fill="url(#g)"/>'
        + f'<image href="data:image/png;base64,{pixel}" x="0" y="5" width="5" height="5"/></svg>',
        encoding="utf-8",
    )
    pdf = Renderer(load_brand(brand_dir), "a4").leaflet(load_article())
    assert pdf.startswith(b"%PDF")


# ---------------------------------------------------------------- item 13: pagination


@cache
def plan_renderer(paper: str) -> Renderer:
    return Renderer(load_brand(), paper)


def plan_pdf(paper: str, weeks: int, with_article: bool) -> tuple[bytes, tuple[Block, ...]]:
    renderer = plan_renderer(paper)
    plan = build_plan(PlanRequest(start_date=START, weeks=weeks))
    patient = Patient("Jane Doe", "Sam Lee")
    document = renderer.plan_document(patient, plan, load_article(), ISSUED, with_article)
    return renderer.plan(patient, plan, load_article(), ISSUED, with_article), document.blocks


@dataclass(frozen=True)
class Line:
    text: str
    baseline: float
    heading: bool


def body_lines(page: Page) -> list[Line]:
    """The page's text lines above the footer rule, top to bottom."""
    footer_top = (15 + 13) * MM
    rows: dict[float, list[Glyph]] = {}
    for g in page.glyphs:
        if g.baseline > footer_top and g.char != "•":
            rows.setdefault(round(g.baseline, 1), []).append(g)
    lines: list[Line] = []
    for baseline in sorted(rows, reverse=True):
        glyphs = sorted(rows[baseline], key=lambda g: g.left)
        heading = all(g.bold and any(abs(g.size - size) < 0.05 for size in HEADING_SIZES) for g in glyphs)
        text = glyphs[0].char
        for before, glyph in zip(glyphs, glyphs[1:]):
            text += (" " if glyph.left - before.right > glyph.size * 0.2 else "") + glyph.char
        lines.append(Line(text, baseline, heading))
    return lines


def paragraph_texts(blocks: tuple[Block, ...]) -> list[str]:
    """The text of every paragraph and list item, whitespace removed, as the lines on the page give it."""
    texts: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            texts.append(plain_text(block.text))
        elif isinstance(block, BulletList):
            texts += [plain_text(item) for item in block.items]
        elif isinstance(block, Panel | QRCode | Keep):
            texts += paragraph_texts(block.children)
    return [re.sub(r"\s+", "", t) for t in texts if t.strip()]


def pagination_problems(pdf: bytes, blocks: tuple[Block, ...]) -> list[str]:
    return page_break_problems([body_lines(page) for page in read_pages(pdf)], paragraph_texts(blocks))


def page_break_problems(pages: list[list[Line]], paragraphs: list[str]) -> list[str]:
    """A heading last on a page, or a paragraph's single first line (orphan) or last line (widow) alone on a page."""
    problems: list[str] = []

    def squeeze(text: str) -> str:
        return re.sub(r"\s+", "", text)

    for number, lines in enumerate(pages, start=1):
        if not lines:
            problems.append(f"page {number} has no body text")
            continue
        last = lines[-1]
        if number < len(pages) and pages[number]:
            if last.heading:
                problems.append(f"page {number} ends with the heading {last.text!r}")
            if any(p.startswith(squeeze(last.text) + squeeze(pages[number][0].text)) for p in paragraphs):
                problems.append(f"page {number} ends with the single first line {last.text!r} of a paragraph")
        if number > 1 and pages[number - 2]:
            previous, first = squeeze(pages[number - 2][-1].text), squeeze(lines[0].text)
            if any(p.endswith(previous + first) for p in paragraphs):
                problems.append(f"page {number} starts with the single last line {lines[0].text!r} of a paragraph")
    return problems


def test_the_page_break_checker_sees_lone_headings_orphans_and_widows() -> None:
    def page(*texts: str, heading_last: bool = False) -> list[Line]:
        return [Line(text, 700 - 20 * i, heading_last and i == len(texts) - 1) for i, text in enumerate(texts)]

    paragraph = ["Filloneline", "Fillthisineachday.Ithelpsyouandyourphysio", "Aline.Bline.Cline."]
    assert page_break_problems([page("Intro", "Your weekly times", heading_last=True), page("Week 1")], paragraph) == [
        "page 1 ends with the heading 'Your weekly times'"
    ]
    assert page_break_problems([page("x", "Fill this in each day. It helps you"), page("and your physio", "y")], paragraph) == [
        "page 1 ends with the single first line 'Fill this in each day. It helps you' of a paragraph",
        "page 2 starts with the single last line 'and your physio' of a paragraph",
    ]
    assert page_break_problems([page("x", "A line."), page("B line.", "C line.")], paragraph) == [
        "page 1 ends with the single first line 'A line.' of a paragraph"
    ]
    assert page_break_problems([page("x", "A line.", "B line."), page("C line.", "y")], paragraph) == [
        "page 2 starts with the single last line 'C line.' of a paragraph"
    ]
    assert page_break_problems([page("Fill one line"), page("Week 1")], paragraph) == []


@pytest.mark.parametrize("with_article", [False, True], ids=["plan", "with-article"])
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_no_lone_heading_or_stranded_line_in_plans_of_every_length(paper: str, with_article: bool) -> None:
    problems: list[str] = []
    for weeks in range(1, 27):
        pdf, blocks = plan_pdf(paper, weeks, with_article)
        problems += [f"{weeks} weeks: {p}" for p in pagination_problems(pdf, blocks)]
    assert problems == []


def test_the_pagination_checker_sees_a_heading_at_the_foot_of_a_page(tmp_path: Path) -> None:
    # Push "Your weekly times" to the foot of page 1 with loose spacing the checker must catch.
    (tmp_path / "plan.xml.j2").write_text(
        '{% extends "builtin/plan.xml.j2" %}{% block schedule %}<spacer mm="100"/><spacer mm="55"/>'
        '<p>Filler.</p><heading level="1">Your weekly times</heading><pagebreak/><p>Overleaf.</p>{% endblock %}',
        encoding="utf-8",
    )
    renderer = Renderer(load_brand(), "a4", [tmp_path])
    plan = build_plan(PlanRequest(start_date=START, weeks=4))
    document = renderer.plan_document(Patient("Jane Doe"), plan, load_article(), ISSUED)
    pdf = renderer.plan(Patient("Jane Doe"), plan, load_article(), ISSUED)
    assert any("ends with the heading 'Your weekly times'" in p for p in pagination_problems(pdf, document.blocks))


def horizontal_rules(pdf: bytes, page_index: int) -> list[tuple[float, float, float]]:
    """(y, x0, x1) of every horizontal line segment drawn on a page, in page coordinates."""
    rules: list[tuple[float, float, float]] = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        page = document.pages[page_index]
        matrix = pikepdf.Matrix()
        stack: list[pikepdf.Matrix] = []
        start: tuple[float, float] | None = None
        for operands, operator in content_operations(page):
            op = str(operator)
            if op == "q":
                stack.append(matrix)
            elif op == "Q":
                matrix = stack.pop()
            elif op == "cm":
                matrix = pikepdf.Matrix(*[float(v) for v in operands]) @ matrix
            elif op == "m":
                start = matrix.transform((float(operands[0]), float(operands[1])))
            elif op == "l" and start is not None:
                end = matrix.transform((float(operands[0]), float(operands[1])))
                if abs(end[1] - start[1]) < 0.01 and abs(end[0] - start[0]) > 20:
                    rules.append((start[1], min(start[0], end[0]), max(start[0], end[0])))
                start = end
    return rules


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_diary_writing_rows_are_at_least_7_8_mm_tall(paper: str) -> None:
    """7.8 mm: three weeks to an A4 page (issue 17) with circles to mark; only steps and notes are written."""
    pdf, _ = plan_pdf(paper, 12, False)
    day = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d")
    measured: list[float] = []
    for index, page in enumerate(read_pages(pdf)):
        rules = sorted({round(y, 2) for y, _, _ in horizontal_rules(pdf, index)})
        for line in body_lines(page):
            if day.match(line.text):
                above = min(y for y in rules if y > line.baseline)
                below = max(y for y in rules if y < line.baseline)
                measured.append((above - below) / MM)
    assert len(measured) == 12 * 7
    assert min(measured) >= 7.8 - 0.01, min(measured)


# ---------------------------------------------------------------- item 17: true dates


def pdf_dates(pdf: bytes) -> tuple[str, str]:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return str(document.docinfo["/CreationDate"]), str(document.docinfo["/ModDate"])


def test_a_plan_is_dated_its_issue_day_and_identical_inputs_give_identical_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    pdf, _ = plan_pdf("a4", 4, False)
    assert pdf_dates(pdf) == ("D:20261127000000+00'00'", "D:20261127000000+00'00'")
    again, _ = plan_pdf("a4", 4, False)
    assert again == pdf
    with pikepdf.open(io.BytesIO(pdf)) as document:
        # The XMP packet carries the same date, and nothing in the file a random ID.
        xmp = document.Root.Metadata.read_bytes().decode()
        assert "<xmp:CreateDate>2026-11-27T00:00:00Z</xmp:CreateDate>" in xmp
        assert "<xmp:ModifyDate>2026-11-27T00:00:00Z</xmp:ModifyDate>" in xmp
        assert "uuid" not in xmp.lower() and "DocumentID" not in xmp
    renderer = plan_renderer("a4")
    plan = build_plan(PlanRequest(start_date=START, weeks=4))
    later = renderer.plan(Patient("Jane Doe", "Sam Lee"), plan, load_article(), dt.date(2027, 3, 1))
    assert pdf_dates(later)[0] == "D:20270301000000+00'00'"
    with pikepdf.open(io.BytesIO(pdf)) as first, pikepdf.open(io.BytesIO(later)) as second:
        assert bytes(first.trailer.ID[0]) != bytes(second.trailer.ID[0])  # the file ID follows the date


def test_source_date_epoch_wins_over_the_issue_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    pdf, _ = plan_pdf("a4", 2, False)
    assert pdf_dates(pdf) == ("D:20260101000000+00'00'", "D:20260101000000+00'00'")
    leaflet = Renderer(load_brand(), "a4").leaflet(load_article())
    assert pdf_dates(leaflet) == ("D:20260101000000+00'00'", "D:20260101000000+00'00'")


def test_a_leaflet_is_dated_the_day_it_was_made(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = dt.date.today()
    target = tmp_path / "leaflet.pdf"
    result = CliRunner().invoke(app, ["leaflet", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    after = dt.date.today()
    created, modified = pdf_dates(target.read_bytes())
    assert created == modified
    assert created in {f"D:{day:%Y%m%d}000000+00'00'" for day in (before, after)}


def test_a_plan_from_the_command_line_is_dated_today(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    target = tmp_path / "plan.pdf"
    result = CliRunner().invoke(app, ["plan", "--patient", "Jane Doe", "--weeks", "1", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    assert pdf_dates(target.read_bytes())[0] == f"D:{dt.date.today():%Y%m%d}000000+00'00'"


def test_a_bad_source_date_epoch_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["leaflet", "-o", str(tmp_path / "l.pdf")], env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["handout: error: SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 UTC, not 'yesterday'"]
    assert not (tmp_path / "l.pdf").exists()

