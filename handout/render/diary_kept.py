"""A diary week's furniture (rules, tick boxes, circle rows) and its strings' places, kept from the first time a week geometry was drawn.

What a week's furniture writes depends only on its geometry, which diary.drawn_layout keeps per
process whoever's plan it is: the same operators in every plan of that paper, print size and shape.
They are drawn once with ReportLab's calls and their operators kept; later weeks of that geometry
write the kept operators (the same bytes). The circles' numbers, the column labels and the day names
are shown at kept places, each as drawString would show it; their words (a clinic's template's) and
character codes are the document's. A string with a character that has no code yet in the document,
or a page whose opacity is not the default, is drawn through ReportLab as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TypeVar

from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from handout.diary.layout import WeekLayout
from handout.render.fonts import MAIN
from handout.render.reused import Box, place_drawn, reused_artifact
from handout.render.structure import Node
from handout.render.tagging import TaggedCanvas, tagged, text_start

_K = TypeVar("_K")
_UNTAGGED = nullcontext()
MAX_WEEKS = 256  # week geometries kept (diary._drawn keeps 64 pages of at most a few weeks each)


Shown = tuple[str, float, float, str]  # a one-line text: its words, where it is drawn (x, baseline y), its text object's start ("BT 1 0 0 1 x y Tm")


@dataclass(frozen=True)
class KeptPlaces:
    """Where one week geometry's strings are shown: the circles' numbers (words and all), and each label's and day's start."""

    size: float
    # The circles' numbers in runs of one field (pain, minutes), centred in their boxes as drawCentredString centres them.
    numbers: tuple[tuple[str, tuple[Shown, ...]], ...]
    labels: tuple[tuple[str, float, float, str], ...]  # (label key, x, y, start)
    days: tuple[tuple[float, float, str], ...]  # (x, y, start) of each day's name


@dataclass(frozen=True)
class KeptRules:
    """The operators one week geometry's rules, boxes and circle rows wrote from its corner, and the circle rows' forms they place."""

    content: str  # one operator a line, as a page or form writes them (one string: its hash is worked out once, to find its form)
    used: tuple[str, ...]  # the forms it places, in order
    rows: tuple[tuple[str, list[tuple[float, float, float]]], ...]  # each circle row's form: its name, and its circles as circle_row_form takes them


_PLACES: dict[int, tuple[WeekLayout, KeptPlaces]] = {}  # by id of the week geometry (kept with it: the id stays its own)
_RULES: dict[int, tuple[WeekLayout, KeptRules]] = {}
_LOCK = threading.Lock()


def _keep(table: dict[int, tuple[WeekLayout, _K]], week: WeekLayout, kept: _K) -> None:
    with _LOCK:
        if len(table) >= MAX_WEEKS:
            table.clear()  # a process meeting many geometries starts again: each is worked out in a few tenths of a millisecond
        table[id(week)] = (week, kept)


def _found(table: dict[int, tuple[WeekLayout, _K]], week: WeekLayout) -> _K | None:
    entry = table.get(id(week))
    return entry[1] if entry is not None and entry[0] is week else None


def kept_places(week: WeekLayout, size: float) -> KeptPlaces:
    """Where this week's circle numbers, labels and day names are shown, worked out as diary.py's drawing places them."""
    kept = _found(_PLACES, week)
    if kept is not None and kept.size == size:
        return kept
    numbers: list[tuple[str, list[Shown]]] = []
    for field, value, (nx0, ny0, nx1, ny1) in week.numbers:
        text, x, y = str(value), (nx0 + nx1) / 2, ny0 + (ny1 - ny0) / 2 - size * 0.35
        if not numbers or numbers[-1][0] != field:
            numbers.append((field, []))
        numbers[-1][1].append((text, x, y, text_start(x - 0.5 * stringWidth(text, MAIN, size), y)))
    labels = [(key, lx0 + 4, ly0 + (ly1 - ly0) / 2 - size * 0.35) for key, (lx0, ly0, _, ly1) in week.labels]
    days = [(cell.rect[0] + 4, cell.rect[1] + (cell.rect[3] - cell.rect[1]) / 2 - size * 0.35) for cell in week.cells if cell.field == "day"]
    kept = KeptPlaces(size, tuple((field, tuple(shown)) for field, shown in numbers), tuple((key, x, y, text_start(x, y)) for key, x, y in labels), tuple((x, y, text_start(x, y)) for x, y in days))
    _keep(_PLACES, week, kept)
    return kept


def write_texts(
    c: Canvas, font: str, size: float, colour: Color, shown: Sequence[Shown], draw: Callable[[str, float, float], None], tags: Sequence[Node] | None = None
) -> None:
    """Show each one-line text in `font`, `size` and `colour` (each as its tag's content when `tags` are given), the
    operators drawString would write; `draw(text, x, y)` draws one through ReportLab, in the same font and colour, when it must."""
    fill = c.fill_operator(colour) if isinstance(c, TaggedCanvas) else None
    if fill is not None:
        c.setFont(font, size)  # a TrueType font: sets the canvas's font, writes nothing
    for index, (text, x, y, start) in enumerate(shown):
        with tagged(c, tags[index]) if tags is not None else _UNTAGGED:
            if fill is None or not c.show_placed(start, text, fill):
                draw(text, x, y)
    if fill is not None:
        c._fillColorObj = colour


def write_furniture(
    c: Canvas,
    week: WeekLayout,
    box: Box,
    at: tuple[float, float],
    reuse: bool,
    draw: Callable[[list[tuple[tuple[float, float, float], str]]], None],
    form: Callable[[Canvas, list[tuple[float, float, float]]], str],
) -> None:
    """Write the week's rules, boxes and circle rows, from its corner `at`, as a form each page places (reused.py;
    in place when not `reuse`). `draw(rows)` draws them through ReportLab the first time (`rows`: each circle row's
    first circle and form), and their operators are kept; `form(c, circles)` makes a row's form in this document.
    Once kept, a week whose form this document has already written is placed without drawing anything."""
    kept = _found(_RULES, week)
    plain = c._extgstate._d.get("CA", 1) == 1  # strokes opaque, as when kept: no opacity operator is written
    if kept is None or not plain:
        each = circle_rows(week)
        rows = [(circles[0], form(c, circles)) for circles in each]  # made first: a form is not begun inside another
        with reused_artifact(c, "DiaryWeek", box, at=at, reuse=reuse):
            start, used = len(c._code), len(c._formsinuse)
            draw(rows)
            drawn, forms = c._code[start:], c._formsinuse[used:]
        if plain:
            _keep(_RULES, week, KeptRules("\n".join(drawn), tuple(forms), tuple((name, circles) for (_, name), circles in zip(rows, each))))
        return
    for name, circles in kept.rows:
        if not c.hasForm(name):
            form(c, circles)  # made in the order the drawing made them: the same object numbers
    place_drawn(c, "DiaryWeek", box, kept.content, kept.used, at, reuse=reuse)


def circle_rows(week: WeekLayout) -> list[list[tuple[float, float, float]]]:
    """Each day's circles (centre x, centre y, diameter): its pain and minutes rows together, in the week's order."""
    by_day: dict[object, list[tuple[float, float, float]]] = {}
    for area in week.areas:
        if area.field != "walked":
            cx, cy = area.centre
            by_day.setdefault(area.date, []).append((cx, cy, area.size))
    return list(by_day.values())
