"""Every form measured as a print designer would: no holes, boxes apart, values never broken, no type under the minimum."""

from __future__ import annotations

import datetime as dt
import io
import re
from functools import cache
from pathlib import Path

import pypdfium2
import pytest
from page_space import holes, page_spaces, scrap
from test_layout import Line, longest, page_break_problems, paragraph_texts, read_pages

from handout.brand import MAX_LENGTHS, load_brand
from handout.content import load_article
from handout.pipeline import Patient, Renderer
from handout.plan import PlanRequest, build_plan

from conftest import set_brand_value

START = dt.date(2026, 12, 7)  # runs into 2027: dates carry the year, the widest they get
ISSUED = dt.date(2026, 12, 1)
BODY_TOP_MM = 15.0  # render/pdf.py MARGIN
PLANS = ((1, True), (12, False), (26, True))  # (weeks, with the article): the shortest, the usual, the longest
FORMS = [
    (kind, paper, lang, large)
    for large in (False, True)
    for paper in ("a4", "letter")
    for lang in ("en", "es")
    for kind in ("leaflet", *(f"plan{weeks}{'+article' if article else ''}" for weeks, article in PLANS))
]
MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)\.?"
UNITS = r"(?:minutes?|minutos?|days?|días?|walks?|paseos?)"


@cache
def renderer(paper: str, large: bool, brand_dir: Path | None = None) -> Renderer:
    return Renderer(load_brand(brand_dir), paper, large_print=large)


@cache
def form(kind: str, paper: str, lang: str, large: bool, brand_dir: Path | None = None) -> bytes:
    r = renderer(paper, large, brand_dir)
    article = load_article(language=lang)
    if kind == "leaflet":
        return r.leaflet(article)
    weeks, with_article = int(kind[4:].split("+")[0]), kind.endswith("+article")
    return r.plan(Patient("Jane Doe", "Sam Lee"), build_plan(PlanRequest(start_date=START, weeks=weeks)), article, ISSUED, with_article)


@cache
def glyph_pages(kind: str, paper: str, lang: str, large: bool) -> list:
    """Every glyph of a form, read once for the tests that need them."""
    return read_pages(form(kind, paper, lang, large))


def form_id(value: tuple[str, str, str, bool]) -> str:
    kind, paper, lang, large = value
    return f"{kind}-{paper}-{lang}{'-large' if large else ''}"


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text with its line breaks, as PDFium reads it."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


DIARY_TITLES = {"en": "Your walking diary", "es": "Su diario de paseos"}


def diary_pages(pdf: bytes, lang: str) -> frozenset[int]:
    """Pages (0-based) of the machine-readable diary: each is a page of its own, its marks where its code says."""
    return frozenset(i for i, text in enumerate(page_texts(pdf)) if " ".join(text.split()).startswith(DIARY_TITLES[lang]))


def before_diary_pages(pdf: bytes, lang: str) -> frozenset[int]:
    """Pages whose next page is a diary page: a diary page cannot start part-way down a page, so what is left is no hole."""
    return frozenset(i - 1 for i in diary_pages(pdf, lang) if i > 0)


def article_pages(pdf: bytes, lang: str) -> frozenset[int]:
    """Pages whose next page starts the appended article: a page break the template asks for, not a hole."""
    title = " ".join(load_article(language=lang).title.split())
    texts = page_texts(pdf)
    return frozenset(i for i in range(len(texts) - 1) if " ".join(texts[i + 1].split()).startswith(title))


# ---------------------------------------------------------------- no holes


@pytest.mark.parametrize("case", FORMS, ids=form_id)
def test_no_page_but_the_last_ends_with_a_hole(case: tuple[str, str, str, bool]) -> None:
    kind, paper, lang, large = case
    pdf = form(*case)
    assert holes(pdf, BODY_TOP_MM, article_pages(pdf, lang) | before_diary_pages(pdf, lang), large) == []


DIARY_MAX_BLANK_MM = 8.0  # a diary page fills its body: below its last row only the footer's own gap (4–7 mm) is white


def only_pages(pdf: bytes, pages: list[int]) -> bytes:
    """A PDF of just these pages (0-based), so a test renders the pages it measures and no others."""
    source, part = pypdfium2.PdfDocument(pdf), pypdfium2.PdfDocument.new()
    try:
        part.import_pages(source, pages)
        out = io.BytesIO()
        part.save(out)
        return out.getvalue()
    finally:
        part.close()
        source.close()


@pytest.mark.parametrize("case", [c for c in FORMS if c[0] != "leaflet"], ids=form_id)
def test_diary_pages_give_their_spare_space_to_the_rows(case: tuple[str, str, str, bool]) -> None:
    """Every diary page ends at the footer, the plan's last one (fewer weeks) and a one-week plan's included: no white foot."""
    pdf = form(*case)
    diary = sorted(diary_pages(pdf, case[2]))
    # The first diary page holds as many weeks as a page can; the last holds what is left. Those between are the first's twins.
    measured = sorted({diary[0], diary[-1]})
    blanks = [round(space.blank_above_footer, 1) for space in page_spaces(only_pages(pdf, measured))]
    assert all(blank <= DIARY_MAX_BLANK_MM for blank in blanks), dict(zip((n + 1 for n in measured), blanks))


def test_the_hole_finder_sees_a_hole(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    # A page break after the title: page 1 is nearly empty while page 2's first block would fit under the title.
    (templates / "leaflet.xml.j2").write_text('{% extends "builtin/leaflet.xml.j2" %}{% block benefits %}<pagebreak/>{{ super() }}{% endblock %}', encoding="utf-8")
    pdf = Renderer(load_brand(), "a4", [templates]).leaflet(load_article())
    found = holes(pdf, BODY_TOP_MM)
    assert found and found[0].startswith("page 1: ")


def test_the_hole_finder_sees_a_hole_before_a_table_that_could_have_started_there(tmp_path: Path) -> None:
    # The weekly table moved to page 2 by a page break: 26 rows do not fit page 1, but its heading, header and
    # first two rows do (a table splits after two rows), so page 1's white is a hole.
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "plan.xml.j2").write_text(
        '{% extends "builtin/plan.xml.j2" %}{% block warnings %}{% endblock %}{% block schedule %}<pagebreak/>{{ super() }}{% endblock %}', encoding="utf-8"
    )
    pdf = Renderer(load_brand(), "a4", [templates]).plan(Patient("Jane Doe"), build_plan(PlanRequest(start_date=START, weeks=26)), load_article(), ISSUED)
    found = holes(pdf, BODY_TOP_MM)
    assert found and found[0].startswith("page 1: ")


@cache
def blocks(kind: str, paper: str, lang: str, large: bool) -> tuple:
    r = renderer(paper, large)
    article = load_article(language=lang)
    if kind == "leaflet":
        return r.leaflet_document(article).blocks
    weeks, with_article = int(kind[4:].split("+")[0]), kind.endswith("+article")
    return r.plan_document(Patient("Jane Doe", "Sam Lee"), build_plan(PlanRequest(start_date=START, weeks=weeks)), article, ISSUED, with_article).blocks


@pytest.mark.parametrize("case", FORMS, ids=form_id)
def test_no_heading_ends_a_page_and_no_line_is_stranded(case: tuple[str, str, str, bool]) -> None:
    kind, paper, lang, large = case
    styles = renderer(paper, large).pdf.styles
    headings = (styles.title.fontSize, styles.h1.fontSize, styles.h2.fontSize)
    footer_top = renderer(paper, large).pdf.body_bottom
    pages: list[list[Line]] = []
    for page in glyph_pages(*case):
        rows: dict[float, list] = {}
        for glyph in page.glyphs:
            if glyph.baseline > footer_top and glyph.char != "•":
                rows.setdefault(round(glyph.baseline, 1), []).append(glyph)
        lines = []
        for baseline in sorted(rows, reverse=True):
            glyphs = sorted(rows[baseline], key=lambda g: g.left)
            heading = all(g.bold and any(abs(g.size - size) < 0.05 for size in headings) for g in glyphs)
            lines.append(Line("".join(g.char for g in glyphs), baseline, heading))
        pages.append(lines)
    assert page_break_problems(pages, paragraph_texts(blocks(*case))) == []


def table_rows_per_page(pdf: bytes) -> list[int]:
    """How many of the weekly table's rows (lines starting with a week number below its header) each page holds."""
    import subprocess

    counts = []
    pages = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode().split("\f")
    for text in pages:
        lines = text.splitlines()
        header = next((i for i, line in enumerate(lines) if re.search(r"\b(Dates|Fechas)\b", line)), None)
        counts.append(0 if header is None else sum(1 for line in lines[header:] if re.match(r"^\s{0,3}\d{1,2}\s{2,}\S", line)))
    return counts


@pytest.mark.parametrize("case", [c for c in FORMS if c[0].startswith(("plan12", "plan26"))], ids=form_id)
def test_a_table_split_over_pages_leaves_two_rows_on_each(case: tuple[str, str, str, bool]) -> None:
    rows = [n for n in table_rows_per_page(form(*case)) if n]
    assert sum(rows) == int(case[0][4:].split("+")[0])  # every week once
    assert min(rows) >= 2, rows


def test_the_row_counter_sees_a_lone_row() -> None:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    c = Canvas(out)
    for page_rows in ((1, 2, 3), (4,)):
        c.drawString(50, 800, "Week   Dates           Minutes")
        for n, week in enumerate(page_rows):
            c.drawString(50, 780 - 20 * n, f"{week}      7–13 Dec 2026    10")
        c.showPage()
    c.save()
    assert table_rows_per_page(out.getvalue())[:2] == [3, 1]  # (pdftotext ends with a form feed: an empty last part)


def closing_page(pdf: bytes, lang: str) -> int:
    """The page (0-based) holding the disclaimer: the last of the reading part, before any diary pages."""
    disclaimer = " ".join(load_brand().words("disclaimer", lang)[0].split())
    return max(i for i, text in enumerate(page_texts(pdf)) if disclaimer in " ".join(text.split()))


@pytest.mark.parametrize("case", FORMS, ids=form_id)
def test_the_last_page_is_never_a_scrap_the_page_before_could_take(case: tuple[str, str, str, bool]) -> None:
    """The page that ends the reading (the document's last, or the one before its diary) is a page, not a scrap: when it
    holds under a quarter of the body and the page before, set a little tighter, has room for it, it goes there."""
    kind, paper, lang, large = case
    pdf = form(*case)
    last = closing_page(pdf, lang)
    if last == 0 or last in article_pages(pdf, lang) | diary_pages(pdf, lang) or last - 1 in diary_pages(pdf, lang):
        return  # page 1, or a page the template starts (the article), or after a diary page: no page before to take it
    before, closing = page_spaces(only_pages(pdf, [last - 1, last]))
    assert scrap(before, closing, BODY_TOP_MM) is None


def test_the_scrap_finder_sees_a_scrap(tmp_path: Path) -> None:
    # A page break before the tips' last item: the last page holds that item and the disclaimer, which fit the page before.
    templates = tmp_path / "templates"
    templates.mkdir()
    article = load_article()
    items = "".join(f"<item>{item.text}</item>" for item in article.tips.items[:-1])
    (templates / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}{% block tips %}<heading level="1">Tips</heading><list>' + items + "</list><pagebreak/><p>One more tip.</p>"
        "{% endblock %}{% block warnings %}{% endblock %}{% block resources %}{% endblock %}",
        encoding="utf-8",
    )
    pdf = Renderer(load_brand(), "a4", [templates]).leaflet(article)
    before, closing = page_spaces(pdf)[-2:]
    found = scrap(before, closing, BODY_TOP_MM)
    assert found and found.startswith("the last page holds ")


# ---------------------------------------------------------------- boxes apart


BOX_MM = 12.0  # an ink run taller than this is a box (a line of text is 5–9 mm)


@pytest.mark.parametrize("case", [c for c in FORMS if c[0] != "leaflet"], ids=form_id)
def test_stacked_boxes_are_at_least_6_mm_apart(case: tuple[str, str, str, bool]) -> None:
    page = page_spaces(form(*case))[0]
    runs = page.ink_runs(BODY_TOP_MM, page.rule or page.height)
    boxes = [(top, bottom) for top, bottom in runs if bottom - top > BOX_MM]
    gaps = [round(below[0] - above[1], 1) for above, below in zip(runs, runs[1:]) if above in boxes and below in boxes]
    assert all(gap >= 6 - 0.2 for gap in gaps), gaps
    if case[1:] == ("a4", "en", False):
        assert gaps  # here page 1 stacks the bad-day box over the warning box (elsewhere the warning box may start page 2)


# ---------------------------------------------------------------- values never break


BROKEN_VALUE = re.compile(
    rf"\d\r?\n\s*{UNITS}\b"  # "100 / minutes"
    rf"|\d\r?\n\s*{MONTHS}"  # "24 / Dec"
    rf"|{MONTHS}\r?\n\s*\d{{4}}"  # "Dec / 2026"
    r"|\d–\r?\n"  # "4– / 10 Dec 2026": a range in one month is one value (across months, " – " may end a line)
    r"|\d\r?\n\s*[–-]"  # a break before a range's dash
)


def wrapped_lines(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Each place where a line of text goes on in the line below it, as "end of the line\nthe line below", from the glyphs' places.

    A run is text on one baseline with no gap wider than its type; a run goes on in the run below it when that run starts
    at the same left edge one line's spacing lower. So a diary cell's words are read as their cell holds them: a
    circle's "3" above the next row's weekday "mar" is not a broken date (a different left edge, a row's height apart).
    """
    rows: dict[float, list] = {}
    for glyph in page.glyphs:
        rows.setdefault(round(glyph.baseline, 1), []).append(glyph)
    runs: list[tuple[float, float, float, str]] = []  # (left, baseline, size, text)
    for baseline, glyphs in rows.items():
        glyphs.sort(key=lambda g: g.left)
        start = text = None
        for before, glyph in zip([None, *glyphs], glyphs):
            gap = glyph.left - before.right if before else None
            if gap is None or gap > glyph.size:
                if text:
                    runs.append((start.left, baseline, start.size, text))
                start, text = glyph, glyph.char
            else:
                text += (" " if gap > glyph.size * 0.15 else "") + glyph.char
        runs.append((start.left, baseline, start.size, text))
    joins = []
    for left, baseline, size, text in runs:
        below = [r for r in runs if abs(r[0] - left) < 1.0 and abs(r[2] - size) < 0.05 and 0.9 * size < baseline - r[1] < 1.5 * size]
        joins += [f"{text}\n{r[3]}" for r in below]
    return joins


@pytest.mark.parametrize("case", FORMS, ids=form_id)
def test_dates_and_numbers_with_their_units_never_break(case: tuple[str, str, str, bool]) -> None:
    pdf = form(*case)
    # As PDFium reads the text: every page but the diary's, whose cells it runs together across the row.
    diary = diary_pages(pdf, case[2])
    for number, text in enumerate(page_texts(pdf), start=1):
        if number - 1 in diary:
            continue
        broken = [m.group(0) for m in BROKEN_VALUE.finditer(text)]
        assert broken == [], (number, broken)
    # The clinic's phone number, wherever it is printed, is on one line.
    phone = r"\s*".join(re.escape(group) for group in load_brand().phone.split())
    assert [m.group(0) for text in page_texts(pdf) for m in re.finditer(phone, text) if "\n" in m.group(0)] == []
    # From the glyphs' places: every page, the diary's headings, instructions and cells included.
    for number, page in enumerate(glyph_pages(*case), start=1):
        broken = [m.group(0) for join in wrapped_lines(page) for m in BROKEN_VALUE.finditer(join)]
        assert broken == [], (number, broken)


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_value_breaks_on_the_tri_fold(paper: str, lang: str) -> None:
    pdf = renderer(paper, False).leaflet(load_article(language=lang), layout="trifold")
    broken = [m.group(0) for text in page_texts(pdf) for m in BROKEN_VALUE.finditer(text)]
    broken += [m.group(0) for page in read_pages(pdf) for join in wrapped_lines(page) for m in BROKEN_VALUE.finditer(join)]
    assert broken == []


def test_the_broken_value_finder_reads_lines_by_their_places() -> None:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    c = Canvas(out)
    c.setFont("Helvetica", 18)
    c.drawString(60, 700, "Week 3: 21–27 Dec 2026. Goal: 5 walks of 10")  # goes on below, at the same left edge: broken
    c.drawString(60, 679, "minutes")
    c.drawCentredString(300, 600, "3")  # a circle's number above another cell's weekday: not one value
    c.drawString(60, 578, "mar 8")
    c.drawString(60, 500, "Mon 14")  # a row's height above the next row's day: not a line going on
    c.drawString(60, 460, "Dec 2026")
    c.showPage()
    c.save()
    page = read_pages(out.getvalue())[0]
    found = [m.group(0) for join in wrapped_lines(page) for m in BROKEN_VALUE.finditer(join)]
    assert found == ["0\nminutes"]  # "…of 10" / "minutes"


def test_a_week_in_one_month_reads_as_one_range() -> None:
    english = " ".join(" ".join(t.split()) for t in page_texts(render_week(dt.date(2026, 12, 28), "en")))
    spanish = " ".join(" ".join(t.split()) for t in page_texts(render_week(dt.date(2026, 12, 28), "es")))
    assert "28 Dec 2026 – 3 Jan 2027" in english and "4–10 Jan 2027" in english  # the plan runs into 2027: with years
    assert "28 dic 2026 – 3 ene 2027" in spanish and "4–10 ene 2027" in spanish
    assert "4–10 Dec" in " ".join(page_texts(render_week(dt.date(2026, 12, 4), "en")))  # within one year: no year


def render_week(start: dt.date, lang: str) -> bytes:
    return renderer("a4", False).plan(Patient("Jane Doe"), build_plan(PlanRequest(start_date=start, weeks=2)), load_article(language=lang), ISSUED)


# ---------------------------------------------------------------- type sizes


@pytest.mark.parametrize("case", FORMS, ids=form_id)
def test_no_patient_text_is_under_the_body_minimum(case: tuple[str, str, str, bool]) -> None:
    kind, paper, lang, large = case
    footer_top = renderer(paper, large).pdf.body_bottom
    least = 16 - 0.05 if large else 12 - 0.05  # large print: 18 pt text, 16 pt masthead contact lines (the issue asks 14)
    small = {(n, g.size) for n, page in enumerate(glyph_pages(*case), start=1) for g in page.glyphs if g.baseline > footer_top and g.size < least}
    assert small == set()


# ---------------------------------------------------------------- the longest brand values


@pytest.fixture(scope="module")
def longest_brand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    from handout.resources import default_brand_dir

    brand = tmp_path_factory.mktemp("brand") / "longest"
    shutil.copytree(default_brand_dir(), brand)
    for key in ("name", "phone", "email", "website", "disclaimer"):
        set_brand_value(brand, key, f'"{longest(key, MAX_LENGTHS[key])}"')
    return brand


LONGEST_BRAND_FORMS = [c for c in FORMS if c[0] in ("leaflet", "plan12")]


@pytest.mark.parametrize("case", LONGEST_BRAND_FORMS, ids=form_id)
def test_the_longest_brand_values_leave_no_hole_and_no_dangling_separator(longest_brand: Path, case: tuple[str, str, str, bool]) -> None:
    kind, paper, lang, large = case
    pdf = form(kind, paper, lang, large, longest_brand)
    assert holes(pdf, BODY_TOP_MM, article_pages(pdf, lang) | before_diary_pages(pdf, lang), large) == []
    diary = diary_pages(pdf, lang)
    texts = [text for number, text in enumerate(page_texts(pdf)) if number not in diary]  # (a diary's cells are read from the glyphs)
    assert [m.group(0) for text in texts for m in BROKEN_VALUE.finditer(text)] == []
    assert [m.group(0) for page in read_pages(pdf) for join in wrapped_lines(page) for m in BROKEN_VALUE.finditer(join)] == []
    footer_top = renderer(paper, large, longest_brand).pdf.body_bottom
    for page in read_pages(pdf):
        lines: dict[int, list] = {}
        for glyph in page.glyphs:
            if glyph.baseline < footer_top:
                lines.setdefault(round(glyph.baseline), []).append(glyph)
        ends = [max(line, key=lambda g: g.right).char for line in lines.values()]
        assert "·" not in ends  # the footer breaks between its parts, never after a separator
