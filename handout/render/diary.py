"""Draws the machine-readable diary pages: page code, alignment marks, instructions, and each week's circles and boxes."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import replace
from functools import lru_cache
from typing import overload

from reportlab.lib.colors import Color, HexColor
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from handout import document as doc
from handout.diary.code import PageCode
from handout.diary.layout import (
    BOX_LINE,
    CIRCLE_LINE,
    MARGIN,
    QR_MASK,
    QR_MODULE,
    QR_QUIET,
    QR_VERSION,
    PageLayout,
    WeekLayout,
    minutes_values,
    page_count,
    page_layout,
    weeks_layout,
    weeks_per_page,
)
from handout.errors import HandoutError
from handout.plan import PlanRequest, Week, build_plan
from handout.render.diary_kept import kept_places, write_furniture, write_texts
from handout.render.fonts import MAIN, MAIN_BOLD
from handout.render.graphics import code_image
from handout.render.reused import placed_again, reused_artifact
from handout.render.structure import Node
from handout.render.styles import INK
from handout.render.tagging import artifact, tagged

OUTLINE = HexColor("#6B6B6B")  # the circles and boxes: plain to see, lighter than any pen's ink
RULE = HexColor("#9A9A9A")
HEADER_FILL = HexColor("#EEF1F4")
BLACK = HexColor("#000000")
# Diary pages from which each page's repeated furniture is a form placed on each (reused_artifact): zlib already
# finds a repeat within one page's content, so a form pays for its own dictionary only across two pages or more.
REUSED_FROM = 3
GRID_REACH = 2.0  # points a week's form reaches past its rules on every side: their strokes' outer halves, drawn in full


@lru_cache(maxsize=256)
def qr_modules(text: str) -> tuple[tuple[bool, ...], ...]:
    """The page code's modules, version 3 at error correction M with a fixed mask, without its quiet zone (the layout keeps that white).

    Kept per code text: a batch that prints one plan again, or a reprint, draws the same pages. Each new patient's
    codes are encoded by render/page_code.py: qrcode's very modules, a third of the time (its layout of the
    symbol is worked out once, and its Reed-Solomon arithmetic done on plain lists).
    """
    from qrcode.constants import ERROR_CORRECT_M

    from handout.render.page_code import encode

    return encode(text.encode("ascii"), QR_VERSION, ERROR_CORRECT_M, QR_MASK)


def instruction_keys(large_print: bool) -> tuple[str, ...]:
    """The instructions at the top of each page; large print keeps to how to mark and correct (there is no room for more)."""
    return ("mark", "correct") if large_print else ("mark", "correct", "write")


def _words(text: str) -> list[str]:
    # Lines break at plain spaces only: a value's no-break spaces ("16\u00a0minutes", "3\u00a0Jan\u00a02027") hold it on one line.
    from handout.render.fonts import keep_values_whole  # here, not with the imports above: a line other branches change

    return [word for word in re.split(r"[^\S\u00a0\u202f]+", keep_values_whole(text)) if word]


def wrap_lines(text: str, size: float, width_at: Callable[[float], float], y: float, leading: float) -> list[str]:
    """Words broken into lines as wide as the band is at each line's height (narrower beside the page code)."""
    lines: list[str] = []
    words = _words(text)
    while words:
        width = width_at(y)
        line = words.pop(0)
        while words and pdfmetrics.stringWidth(f"{line} {words[0]}", MAIN, size) <= width:
            line += " " + words.pop(0)
        lines.append(line)
        y -= leading
    return lines


@lru_cache(maxsize=256)
def instruction_lines(text: str, size: float, band: tuple[float, float, float, float], y: float, leading: float) -> tuple[str, ...]:
    """An instruction's lines in the band (left, right, the page code's foot, the right edge beside the code), from
    `y` down: kept per process, as every plan's diary pages say the same words in the same places."""
    left, right, beside_code, narrow_right = band
    return tuple(wrap_lines(text, size, lambda y: (right if y - leading > beside_code else narrow_right) - left, y, leading))


def wrap_lines_bold(text: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    for word in _words(text):
        if lines and pdfmetrics.stringWidth(f"{lines[-1]} {word}", MAIN_BOLD, size) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def diary_flowables(
    block: doc.Diary, paper: str, large_print: bool, frame: tuple[float, float], parent: Node, placed: Callable[[PageLayout], None]
) -> list[Flowable]:
    """One flowable per diary page, each filling a whole page's body: its geometry is the layout's, whatever comes before it.

    `frame` is the body's (bottom, height) on the page; `placed` hears each page's code as it is drawn
    (PlacedPages turns them into layouts when asked).
    """
    bottom, height = frame
    if abs(MARGIN - 15 * 72 / 25.4) > 1e-6:
        raise AssertionError("diary/layout.py and render/pdf.py disagree on the margin")
    request = PlanRequest(block.start_minutes, block.target_minutes, block.walks_per_week, block.weeks, dt.date.fromisoformat(block.start_date))
    base = PageCode(paper, large_print, int(-(-bottom // 1)), request, block.tag, 1, 1)
    section = parent.add("Sect")
    count = page_count(base)
    per = weeks_per_page(paper, large_print, base.bottom)
    minutes = tuple(week.minutes_per_walk for week in build_plan(request).weeks)
    title = section.add("H2")
    instructions = [section.add("P") for _ in instruction_keys(large_print)]
    pages: list[Flowable] = []
    for index in range(1, count + 1):
        weeks = block.week_blocks[(index - 1) * per : index * per]
        tags = []
        for _ in weeks:
            heading = section.add("H3")
            table = section.add("Table")
            tags.append((heading, table))
        shape = tuple((number, minutes_values(aim)) for number, aim in enumerate(minutes[(index - 1) * per : index * per], (index - 1) * per + 1))
        pages.append(DiaryPage(block, weeks, base, (index, count), height, title if index == 1 else None, instructions if index == 1 else None, tags, placed, section, shape))
    return pages


class PlacedPages(Sequence[PageLayout]):
    """The layouts of the diary pages drawn, in order, each worked out (its dates and areas) only when asked for.

    `append` takes a page's code as it is drawn. Only `--diary-map` and the tests read the layouts:
    a plan's PDF alone never needs them, and working one out was a sixth of a diary page.
    """

    def __init__(self) -> None:
        self._codes: list[PageCode] = []

    def append(self, code: PageCode) -> None:
        self._codes.append(code)

    def __len__(self) -> int:
        return len(self._codes)

    @overload
    def __getitem__(self, index: int) -> PageLayout: ...

    @overload
    def __getitem__(self, index: slice) -> list[PageLayout]: ...

    def __getitem__(self, index: int | slice) -> PageLayout | list[PageLayout]:
        if isinstance(index, slice):
            return [kept_page_layout(code) for code in self._codes[index]]
        return kept_page_layout(self._codes[index])

    def __iter__(self) -> Iterator[PageLayout]:
        return (kept_page_layout(code) for code in self._codes)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None  # type: ignore[assignment]


def kept_page_layout(code: PageCode) -> PageLayout:
    """layout.page_layout(code), its geometry kept per process: a page's geometry does not depend on whose plan it is.

    The geometry comes from the paper, print size, diary region, plan request and page number; the code
    also names the plan (its tag) and the PDF page, which only the code's text carries. Plans made for the
    same request (a batch starting the same Monday) share it: working it out was a sixth of a diary page.
    """
    return replace(_geometry(replace(code, tag="", pdf_page=0)), code=code)


@lru_cache(maxsize=16)  # a page's geometry holds about 110 KB (every circle's area): the pages of the last few requests
def _geometry(code: PageCode) -> PageLayout:
    return page_layout(code)


_ANY_REQUEST = PlanRequest()  # stands in for the plan in a drawn geometry's key and code: the weeks are given instead
_ANY_MONDAY = dt.date(2026, 1, 5)


def drawn_layout(code: PageCode, shape: tuple[tuple[int, tuple[int, ...]], ...]) -> PageLayout:
    """The page's geometry for drawing it, kept per process whoever's plan it is and whenever it starts.

    `shape` is each week's number and circle values (layout.minutes_values). Positions depend on the paper,
    print size, diary region, format and these only; the weeks' dates, minutes a walk and the page's areas'
    dates are stand-ins (drawing reads the areas' dates only to tell one day's row from the next). A new
    start date or a new climb of minutes reuses it: working it out was a sixth of a diary page. What the
    page says in words (headings, day names) comes from the document, and the map of a page
    (`PlacedPages`, kept_page_layout) is the plan's own.
    """
    return replace(_drawn(replace(code, request=_ANY_REQUEST, tag="", diary_page=1, pdf_page=0), shape), code=code)


@lru_cache(maxsize=64)  # the shapes of the last few lengths, papers and print sizes: a few distinct ones cover most plans
def _drawn(code: PageCode, shape: tuple[tuple[int, tuple[int, ...]], ...]) -> PageLayout:
    weeks = tuple(Week(number, _ANY_MONDAY + dt.timedelta(weeks=number - 1), _ANY_MONDAY + dt.timedelta(weeks=number - 1, days=6), 0, 0) for number, _ in shape)
    return weeks_layout(code, weeks, tuple(values for _, values in shape))


class DiaryPage(Flowable):
    """A whole diary page, drawn where the layout says: it always starts a page, and fills its body."""

    role = doc.Role.SECTION

    def __init__(
        self,
        block: doc.Diary,
        weeks: tuple[doc.DiaryWeek, ...],
        base: PageCode,
        place: tuple[int, int],
        height: float,
        title: Node | None,
        instructions: list[Node] | None,
        week_tags: list[tuple[Node, Node]],
        placed: Callable[[PageLayout], None],
        section: Node,
        shape: tuple[tuple[int, tuple[int, ...]], ...],
    ) -> None:
        super().__init__()
        self.block, self.weeks, self.base, self.height = block, weeks, base, height
        self.index, self.count = place  # its number among the diary's pages, and how many there are
        self.title, self.instructions, self.week_tags, self.placed = title, instructions, week_tags, placed
        self.section = section  # the diary's Sect element, which all its pages share
        self.shape = shape  # its weeks' numbers and circle values (drawn_layout)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        return available_width, self.height  # more than a part-filled page has: it moves to the next

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        return []

    def draw(self) -> None:
        c = self.canv
        code = self.base.on_page(self.index, c.getPageNumber())
        layout = drawn_layout(code, self.shape)
        self.placed(code)
        c.saveState()
        x, y = c.absolutePosition(0, 0)
        c.translate(-x, -y)  # draw in the page's own coordinates, as the layout gives them
        with artifact(c):
            self._marks_and_code(layout, code.text())
        self._band(layout)
        for week, block, (heading, table) in zip(layout.weeks, self.weeks, self.week_tags):
            self._week(layout, week, block, heading, table)
        c.restoreState()

    def _marks_and_code(self, layout: PageLayout, text: str) -> None:
        c = self.canv
        c.setFillColor(BLACK)
        for x0, y0, x1, y1 in layout.marks:
            c.rect(x0, y0, x1 - x0, y1 - y0, stroke=0, fill=1)
        x0, y0, x1, y1 = layout.qr
        # One image mask, one module a pixel, scaled onto the code's square: about 130 bytes a page, where a path
        # of its dark runs was about 450 (4 KB of a large-print 12-week plan).
        c.saveState()
        c.transform(x1 - x0, 0, 0, y1 - y0, x0, y0)
        c.doForm(code_image(c, qr_modules(text)))
        c.restoreState()

    def _text(self, text: str, x: float, y: float, size: float, bold: bool = False, colour: Color = INK, align: str = "left") -> None:
        c = self.canv
        c.setFillColor(colour)
        c.setFont(MAIN_BOLD if bold else MAIN, size)
        {"left": c.drawString, "centre": c.drawCentredString, "right": c.drawRightString}[align](x, y, text)

    def _band(self, layout: PageLayout) -> None:
        size = layout.sizes.text
        x0, y0, x1, y1 = layout.band
        title = self.block.text("title")
        weeks = layout.weeks
        if len(weeks) > 1:
            title += " · " + self.block.text("pages").replace("{first}", str(weeks[0].week.number)).replace("{last}", str(weeks[-1].week.number))
        top = y1 - size * 1.2
        # The title and instructions are read on the diary's first page. On the others they are furniture, the same
        # on each (a title naming its page's weeks aside): written once, placed on each page.
        alike = self.title is None and len(weeks) == 1
        if not alike:
            with tagged(self.canv, self.title) if self.title is not None else artifact(self.canv):
                self._text(title, x0, top, size * 1.2, bold=True)
        y = top - size * 0.5
        beside_code = layout.qr[1] - QR_QUIET * QR_MODULE  # below this the band runs the page's full width
        leading = size * 1.15
        page = (0, 0, layout.width, layout.height)
        reuse = self.count >= REUSED_FROM
        texts = tuple(self.block.text(key) for key in instruction_keys(layout.code.large_print))
        # What the band draws when it is furniture: a later page with the same words in the same places places its form.
        known = ("DiaryBand", page, title if alike else None, layout.band, size, beside_code, layout.weeks[0].heading[2], texts)
        if self.instructions is None and reuse and placed_again(self.canv, known):
            return  # drawn before in this document as it is: it fitted then
        with nullcontext() if self.instructions is not None else reused_artifact(self.canv, "DiaryBand", page, reuse=reuse, known=known):
            if alike:
                self._text(title, x0, top, size * 1.2, bold=True)
            for index, text in enumerate(texts):
                lines = instruction_lines(text, size, (x0, x1, beside_code, layout.weeks[0].heading[2]), y, leading)
                with tagged(self.canv, self.instructions[index]) if self.instructions is not None else nullcontext():
                    for number, line in enumerate(lines):
                        y -= leading
                        # A space ends each line but the last: the words at line ends stay apart for a reader of the text.
                        self._text(line if number == len(lines) - 1 else line + " ", x0, y, size)
        if y < y0:
            raise HandoutError("the diary's instructions are too long for the top of its pages; shorten them in the template")

    def _week(self, layout: PageLayout, week: WeekLayout, block: doc.DiaryWeek, heading: Node, table: Node) -> None:
        c = self.canv
        size = layout.sizes.text
        hx0, hy0, hx1, hy1 = week.heading
        with tagged(c, heading):
            # Large print may take two lines (a plan into a new year writes its dates in full).
            lines = wrap_lines_bold(block.heading, size, hx1 - hx0)
            y = hy1 - (hy1 - hy0 - len(lines) * size * 1.15) / 2 - size * 0.9
            for number, line in enumerate(lines):
                self._text(line if number == len(lines) - 1 else line + " ", hx0, y, size, bold=True)
                y -= size * 1.15
        table.title = block.caption or None
        header_row = table.add("TR")
        cells = {key: header_row.add("TH", scope="Column") for key, _ in week.labels}
        x0, y0, x1, y1 = week.header
        with artifact(c):
            c.setFillColor(HEADER_FILL)
            c.rect(x0, y0, x1 - x0, y1 - y0, stroke=0, fill=1)
        # The labels', numbers' and day names' places are the week geometry's, worked out once (diary_kept.py).
        places = kept_places(week, size)
        labels = [(self.block.text(key), x, y, start) for key, x, y, start in places.labels]
        write_texts(c, MAIN_BOLD, size, INK, labels, lambda text, x, y: self._text(text, x, y, size, bold=True), [cells[key] for key, *_ in places.labels])
        reuse = self.count >= REUSED_FROM
        for field, shown in places.numbers:
            # The circles' numbers: pain's are the same every week (the minutes' change with the aim: a form for each
            # would be used about once). Text stays in the page's coordinates, a form placed where it was drawn:
            # a reader that does not carry a page's transformation into a form still places it.
            # Pain's numbers in the same places as a week drawn before in this document: its form is placed as it is.
            alike = reuse and field == "pain"
            known = ("DiaryNumbers", (x0, y0, x1, y1), shown)
            if not (alike and placed_again(c, known)):
                with reused_artifact(c, "DiaryNumbers", (x0, y0, x1, y1), known=known) if alike else artifact(c):
                    write_texts(c, MAIN, size, INK, shown, lambda text, x, y: self._text(text, x, y, size, align="centre"))
        days = list(zip(block.days, places.days))
        # Each day's header cell; its other cells hold only artifacts.
        tags = [table.add_row(len(week.labels) - 1) for _ in days]
        write_texts(c, MAIN, size, INK, [(name, x, y, start) for name, (x, y, start) in days], lambda text, x, y: self._text(text, x, y, size), tags)
        # A week's rules, boxes and circles are the same on every page (and for each week of a page): drawn from
        # the header's top-left corner, they are written once and placed there.
        left, top = week.header[0], week.header[3]
        bottom = min(row[1] for row in week.rows)
        box = (-GRID_REACH, _off(bottom, top) - GRID_REACH, _off(week.header[2], left) + GRID_REACH, GRID_REACH)
        write_furniture(c, week, box, (left, top), reuse, lambda rows: self._grid_and_circles(week, rows), circle_row_form)

    def _grid_and_circles(self, week: WeekLayout, rows: list[tuple[tuple[float, float, float], str]]) -> None:
        left, top = week.header[0], week.header[3]
        self._grid(week, left, top)
        self._circles(week, rows, left, top)

    def _grid(self, week: WeekLayout, left: float, top: float) -> None:
        """The week's rules, drawn from its top-left corner (left, top)."""
        c = self.canv
        c.setStrokeColor(RULE)
        c.setLineWidth(0.6)
        x0, x1, y1 = _off(week.header[0], left), _off(week.header[2], left), _off(week.header[3], top)
        header, bottom = _off(week.header[1], top), _off(week.rows[-1][1], top)
        path = c.beginPath()
        for y in (y1, header, *(_off(r[1], top) for r in week.rows)):
            path.moveTo(x0, y)
            path.lineTo(x1, y)
        for x in week.columns:
            path.moveTo(_off(x, left), bottom)
            path.lineTo(_off(x, left), y1)
        c.drawPath(path, stroke=1, fill=0)
        if week.line_rules:
            c.setDash(1, 2)
            path = c.beginPath()
            for y in week.line_rules:
                path.moveTo(_off(week.columns[2], left), _off(y, top))
                path.lineTo(x1, _off(y, top))
            c.drawPath(path, stroke=1, fill=0)
            c.setDash()
        c.setStrokeColor(INK)
        c.setLineWidth(1.2)
        c.line(x0, header, x1, header)

    def _circles(self, week: WeekLayout, rows: list[tuple[tuple[float, float, float], str]], left: float, top: float) -> None:
        """The walked boxes and each day's row of circles (`rows`: its first circle and its form), from the week's top-left corner."""
        c = self.canv
        c.setStrokeColor(INK)
        c.setLineWidth(BOX_LINE)
        boxes = c.beginPath()
        for area in week.areas:
            if area.field == "walked":
                cx, cy = area.centre
                boxes.rect(_off(cx - area.size / 2, left), _off(cy - area.size / 2, top), round(area.size, 3), round(area.size, 3))
        c.drawPath(boxes, stroke=1, fill=0)
        # Every day's circles are the same drawing moved down a row: drawn once as a form and placed per day.
        # A plan has about 1,500 circles; written one by one as curves they took half its bytes.
        for (ox, oy, _), name in rows:
            c.saveState()
            c.translate(_off(ox, left), _off(oy, top))
            c.doForm(name)
            c.restoreState()


def _off(at: float, origin: float) -> float:
    """A coordinate from a week's corner, to a thousandth of a point: every week of a page drawn the same is one form (unrounded, they differ in the last bits)."""
    return round(at - origin, 3)


def circle_row_form(c: Canvas, circles: list[tuple[float, float, float]]) -> str:
    """The name of a form that draws `circles` (centre x, centre y, diameter) relative to the first one's centre, made once per document."""
    name, shape = _circle_row(tuple(circles))
    if not c.hasForm(name):
        reach = max(size for *_, size in shape)  # the form's box holds every circle, stroke included (outside it is clipped)
        xs, ys = [x for x, *_ in shape], [y for _, y, _ in shape]
        c.beginForm(name, min(xs) - reach, min(ys) - reach, max(xs) + reach, max(ys) + reach)
        c.setStrokeColor(OUTLINE)
        c.setLineWidth(CIRCLE_LINE)
        path = c.beginPath()
        for x, y, size in shape:
            path.circle(x, y, size / 2)
        c.drawPath(path, stroke=1, fill=0)
        c.endForm()
    return name


@lru_cache(maxsize=1024)
def _circle_row(circles: tuple[tuple[float, float, float], ...]) -> tuple[str, tuple[tuple[float, float, float], ...]]:
    """A row of circles' form name and its circles relative to the first one's centre.

    Kept per process, by the row's own coordinates (a plan has about 80 rows, the same in every plan of its
    paper, print size and length): rounding and hashing them was a tenth of a diary page's drawing.
    """
    ox, oy, _ = circles[0]
    shape = tuple((round(x - ox, 3), round(y - oy, 3), round(size, 3)) for x, y, size in circles)
    return "DiaryCircles" + hashlib.sha256(repr(shape).encode()).hexdigest()[:12], shape
