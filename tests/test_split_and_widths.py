"""Two of issue 16's layout rules measured on the printed page: a block taller than a page starts at once, and table columns are as wide as their widest value."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from page_space import MM, ROOM_TAKEN_LARGE_PRINT_MM, ROOM_TAKEN_MM, page_spaces
from reportlab.platypus import KeepTogether
from test_layout import Glyph, read_pages
from test_print_quality import FORMS, blocks, diary_pages, form, form_id, glyph_pages, page_texts, table_rows_per_page

from handout import document as doc
from handout.brand import load_brand
from handout.content import load_article
from handout.pipeline import Renderer
from handout.render import flowables

from helpers import content_operations

PLANS = [c for c in FORMS if c[0] != "leaflet"]
WEEKLY_TIMES = {"en": "Your weekly times", "es": "Sus tiempos semanales"}
TOLERANCE = 0.5  # points: glyph boxes are measured, not declared


# ---------------------------------------------------------------- a block taller than a page starts at once


def heading_glyphs(page, text: str) -> list[Glyph]:  # type: ignore[no-untyped-def]
    """The glyphs of the line that reads `text` (a heading), or none."""
    lines: dict[float, list[Glyph]] = {}
    for glyph in page.glyphs:
        lines.setdefault(round(glyph.baseline, 1), []).append(glyph)
    wanted = "".join(text.split())
    for line in lines.values():
        if "".join(g.char for g in sorted(line, key=lambda g: g.left)) == wanted:
            return line
    return []


def moved_whole(pdf: bytes, heading: str, large: bool) -> str | None:
    """Why the block under `heading` (a block longer than a page) went whole to a new page when the page before had
    room for its heading and first lines or rows; else None.

    Measured: the heading is the first text on its page (or has only headings above it, kept with it), and the page before has more blank above its footer than the
    heading and the block's start (two lines or two rows) plus the spacing a block cannot use.
    """
    pages = read_pages(pdf)
    found = [(n, heading_glyphs(page, heading)) for n, page in enumerate(pages)]
    number, glyphs = next(((n, g) for n, g in found if g), (None, []))
    assert number is not None, f"no heading {heading!r}"
    page = pages[number]
    top = max(g.top for g in glyphs)
    above = [g for g in page.glyphs if g.bottom > top + TOLERANCE]
    size = min(g.size for g in glyphs)
    if number == 0 or any(not g.bold or g.size < size - 0.05 for g in above):
        return None  # text is above the heading on its page: the block started below what came before it
    top = max(g.top for g in page.glyphs)  # the heading and the headings it is kept with (a title) moved together
    # What a start needs: from the heading's top to the foot of a table's second row (its fourth rule: top, under the
    # header, under two rows), or to the foot of a paragraph's second line.
    below = min(g.bottom for g in glyphs)
    rules = sorted({round(y, 1) for y, _, _ in segments(pdf, number)[0] if y < below}, reverse=True)
    if len(rules) >= 4:
        bottom = rules[3]
    else:
        lines = sorted({round(g.baseline, 1) for g in page.glyphs if g.top < below}, reverse=True)
        bottom = lines[1] - 1.5 * MM  # the second line's descent
    need = (top - bottom) / MM
    blank = page_spaces(pdf)[number - 1].blank_above_footer
    room_taken = ROOM_TAKEN_LARGE_PRINT_MM if large else ROOM_TAKEN_MM
    if blank >= need + room_taken:
        return f"page {number + 1} starts with {heading!r}; page {number} has {blank:.0f} mm blank, and {need:.0f} mm would start it there"
    return None


@pytest.mark.parametrize("case", PLANS, ids=form_id)
def test_a_table_longer_than_a_page_starts_below_what_is_before_it(case: tuple[str, str, str, bool]) -> None:
    """The weekly table, where it runs over pages, starts on the page where the block before it ends, not whole on a new one."""
    pdf = form(*case)
    if sum(1 for rows in table_rows_per_page(pdf) if rows) < 2:
        return  # fits one page: this rule is about blocks that cannot
    assert moved_whole(pdf, WEEKLY_TIMES[case[2]], case[3]) is None


def long_text_leaflet(tmp_path: Path, body: str) -> bytes:
    """A leaflet whose benefits are replaced by `body` (a heading and a block longer than a page)."""
    templates = tmp_path / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "leaflet.xml.j2").write_text('{% extends "builtin/leaflet.xml.j2" %}{% block benefits %}' + body + "{% endblock %}", encoding="utf-8")
    return Renderer(load_brand(), "a4", [templates]).leaflet(load_article())


LONG_PARAGRAPH = '<heading level="1">A long section</heading><p>' + " ".join(["Walk a little further each week."] * 260) + "</p>"
LONG_GRID = '<heading level="1">A long table</heading><table widths="30,70" header="1"><row><cell>Day</cell><cell>Walk</cell></row>' + "".join(
    f"<row><cell>{n}</cell><cell>10 minutes</cell></row>" for n in range(1, 90)
) + "</table>"


@pytest.mark.parametrize("body", [LONG_PARAGRAPH, LONG_GRID], ids=["paragraph", "grid"])
def test_a_heading_and_a_block_longer_than_a_page_start_under_the_title(tmp_path: Path, body: str) -> None:
    pdf = long_text_leaflet(tmp_path, body)
    heading = "A long section" if body is LONG_PARAGRAPH else "A long table"
    assert "A long" in " ".join(page_texts(pdf)[0].split())  # on page 1, under the title
    assert moved_whole(pdf, heading, False) is None


@pytest.mark.parametrize("body", [LONG_PARAGRAPH, LONG_GRID], ids=["paragraph", "grid"])
def test_the_checker_sees_a_block_moved_whole_when_start_room_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    # Kept without its start_room: ReportLab's KeepTogether moves the heading and the whole block to a new page.
    monkeypatch.setattr(flowables.Kept, "split", KeepTogether.split)
    pdf = long_text_leaflet(tmp_path, body)
    found = moved_whole(pdf, "A long section" if body is LONG_PARAGRAPH else "A long table", False)
    assert found and found.startswith("page 2 starts with ")


def test_the_checker_sees_the_weekly_table_moved_whole_in_large_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flowables.Kept, "split", KeepTogether.split)
    pdf = form.__wrapped__("plan12", "a4", "es", True)
    found = moved_whole(pdf, WEEKLY_TIMES["es"], True)
    assert found and found.startswith("page 3 starts with ")


# ---------------------------------------------------------------- columns as wide as their widest value


@dataclass(frozen=True)
class Cell:
    """A ruled table's cell as printed: its lines of text (no spaces), top down, and whether a glyph crosses its edges."""

    row: int
    column: int
    lines: tuple[str, ...]
    crossed: bool


def segments(pdf: bytes, index: int) -> tuple[list[tuple[float, float, float]], list[tuple[float, float, float]]]:
    """Every straight line drawn on a page: horizontal as (y, x0, x1), vertical as (x, y0, y1), in page coordinates."""
    across: list[tuple[float, float, float]] = []
    down: list[tuple[float, float, float]] = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        matrix = pikepdf.Matrix()
        stack: list[pikepdf.Matrix] = []
        start: tuple[float, float] | None = None
        for operands, operator in content_operations(document.pages[index]):
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
                if abs(end[1] - start[1]) < 0.01 and abs(end[0] - start[0]) > 5:
                    across.append((start[1], min(start[0], end[0]), max(start[0], end[0])))
                elif abs(end[0] - start[0]) < 0.01 and abs(end[1] - start[1]) > 5:
                    down.append((start[0], min(start[1], end[1]), max(start[1], end[1])))
                start = end
    return across, down


def ruled_tables(pdf: bytes, index: int, glyphs: tuple[Glyph, ...]) -> list[list[list[Cell]]]:
    """Each table on a page ruled into a grid (rows and columns between lines), as rows of cells holding their glyphs."""
    across, down = segments(pdf, index)
    groups: dict[tuple[float, float], set[float]] = {}
    for y, x0, x1 in across:
        groups.setdefault((round(x0, 1), round(x1, 1)), set()).add(round(y, 1))
    tables = []
    for (x0, x1), all_ys in groups.items():
        # A table's left rule runs down its whole height: each run of it is one table (a page's footer rule, as wide, is none).
        extents: list[list[float]] = []
        for _, y0, y1 in sorted((d for d in down if abs(d[0] - x0) <= 0.5), key=lambda d: d[1]):
            if extents and y0 <= extents[-1][1] + 0.5:
                extents[-1][1] = max(extents[-1][1], y1)
            else:
                extents.append([y0, y1])
        for low, high in extents:
            ys = {y for y in all_ys if low - 0.5 <= y <= high + 0.5}
            if len(ys) < 3:
                continue
            rows = sorted(ys, reverse=True)
            xs = sorted({round(x, 1) for x, y0, y1 in down if x0 - 0.5 <= x <= x1 + 0.5 and y0 < high - 0.5 and y1 > low + 0.5})
            if len(xs) < 2:
                continue
            tables.append(_cells(rows, xs, glyphs))
    return tables


def _cells(rows: list[float], xs: list[float], glyphs: tuple[Glyph, ...]) -> list[list[Cell]]:
    """The glyphs of a grid of rows (top down) and column edges, cell by cell."""
    table = []
    for r, (top, bottom) in enumerate(zip(rows, rows[1:])):
        cells = []
        for c, (left, right) in enumerate(zip(xs, xs[1:])):
            inside = [g for g in glyphs if left <= (g.left + g.right) / 2 <= right and bottom <= (g.bottom + g.top) / 2 <= top]
            lines: dict[float, list[Glyph]] = {}
            for g in inside:
                lines.setdefault(round(g.baseline, 1), []).append(g)
            texts = tuple("".join(g.char for g in sorted(lines[b], key=lambda g: g.left)) for b in sorted(lines, reverse=True))
            band = [g for g in glyphs if bottom <= (g.bottom + g.top) / 2 <= top]
            crossed = any(g.left < edge - TOLERANCE and g.right > edge + TOLERANCE for g in band for edge in (left, right))  # a glyph over a rule
            cells.append(Cell(r, c, texts, crossed))
        table.append(cells)
    return table


def pieces(text: str) -> list[str]:
    """A cell's text cut where a line may end (a plain space): a date, a number with its unit are held by no-break spaces."""
    return ["".join(part.split()) for part in text.split(" ") if part.strip()]


def printed_parts(pdf: bytes, pages: list, header: tuple[str, ...]) -> list[tuple[int, list[list[Cell]]]]:  # type: ignore[type-arg]
    """Each part of a table (its header repeated on each page it runs over) as printed, with its page index."""
    wanted = ["".join(t.split()) for t in header]
    return [(i, t) for i, page in enumerate(pages) for t in ruled_tables(pdf, i, page.glyphs) if ["".join(c.lines) for c in t[0]] == wanted]


def broken_values(pdf: bytes, pages: list, expected: tuple[tuple[str, ...], ...]) -> list[str]:  # type: ignore[type-arg]
    """Every cell of the table whose rows are `expected` (header first) that is printed other than as its whole pieces.

    A line of a cell must be one or more whole pieces of its text (never part of a word or value), the lines together
    all of it, and no glyph may cross the cell's rules. Rows are matched by their first cell (a week's number).
    """
    by_first = {"".join(row[0].split()): row for row in expected}
    problems, seen = [], 0
    for index, table in printed_parts(pdf, pages, expected[0]):
        seen += 1
        for row in table:
            first = "".join(row[0].lines)
            texts = expected[0] if row is table[0] else by_first.get(first)
            if texts is None or len(texts) != len(row):
                problems.append(f"page {index + 1}: a row {first!r} not in the table")
                continue
            for cell, text in zip(row, texts):
                parts = pieces(text)
                whole = {"".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)}
                if cell.crossed or "".join(cell.lines) != "".join(parts) or any(line not in whole for line in cell.lines):
                    problems.append(f"page {index + 1}: {text!r} printed as {' / '.join(cell.lines)!r}")
    if not seen:
        problems.append("the table was not found")
    return problems


def weekly_table(kind: str, paper: str, lang: str, large: bool) -> tuple[tuple[str, ...], ...]:
    table = next(b for b in blocks(kind, paper, lang, large) if isinstance(b, doc.Table) and b.header_rows == 1)
    return tuple(tuple(doc.plain_text(cell.text) for cell in row) for row in table.rows)


@pytest.mark.parametrize("case", PLANS, ids=form_id)
def test_the_weekly_tables_columns_hold_their_widest_values_whole(case: tuple[str, str, str, bool]) -> None:
    """Every value, header word included, is printed whole in its column: columns are set from their widest value."""
    expected = weekly_table(*case)
    pdf = form(*case)
    assert broken_values(pdf, glyph_pages(*case), expected) == []
    if not case[3]:
        # Standard print has the width for every value on one line: a week's dates across two months too.
        lines = [cell.lines for _, table in printed_parts(pdf, glyph_pages(*case), expected[0]) for row in table[1:] for cell in row]
        assert lines and [cell for cell in lines if len(cell) != 1] == []


@pytest.mark.parametrize("case", [("plan26+article", "a4", "es", True), ("plan12", "letter", "en", True)], ids=form_id)
def test_the_checker_sees_a_column_narrower_than_its_widest_value(monkeypatch: pytest.MonkeyPatch, case: tuple[str, str, str, bool]) -> None:
    # The template's relative widths as they are, not widened for the widest value: "Semana" and "Week" break mid-word.
    monkeypatch.setattr(flowables, "fit_columns", lambda widths, needs: widths)
    pdf = form.__wrapped__(*case)
    found = broken_values(pdf, read_pages(pdf), weekly_table(*case))
    assert found and any("Semana" in f or "Week" in f for f in found), found


@pytest.mark.parametrize("case", PLANS, ids=form_id)
def test_no_diary_word_crosses_its_cells_rules(case: tuple[str, str, str, bool]) -> None:
    """The diary's columns are fixed (a scanner reads them back): every label and number stays inside its cell's rules."""
    pdf = form(*case)
    diary = sorted(diary_pages(pdf, case[2]))
    pages = glyph_pages(*case)
    crossed = [(i + 1, cell.lines) for i in {diary[0], diary[-1]} for table in ruled_tables(pdf, i, pages[i].glyphs) for row in table for cell in row if cell.crossed]
    assert crossed == []


def test_the_cell_reader_sees_a_value_crossing_its_rule() -> None:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    c = Canvas(out)
    for y in (700, 680, 660):
        c.line(100, y, 300, y)
    for x in (100, 150, 300):
        c.line(x, 660, x, 700)
    c.setFont("Helvetica", 12)
    c.drawString(104, 685, "Wednesday")  # wider than its 50 pt column
    c.drawString(154, 665, "fits")
    c.showPage()
    c.save()
    pdf = out.getvalue()
    table = ruled_tables(pdf, 0, read_pages(pdf)[0].glyphs)[0]
    assert [cell.crossed for row in table for cell in row] == [True, True, False, False]  # both cells beside the crossed rule
