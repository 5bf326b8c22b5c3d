"""A diary week's furniture (its circles' numbers, rules, tick boxes and circle rows), written as it was drawn the first time.

What a week's furniture writes depends only on its geometry, which diary.drawn_layout keeps per
process whoever's plan it is: the same operators in every plan of that paper, print size and shape.
They are drawn once with ReportLab's calls and their operators kept; later weeks of that geometry
write the kept operators (the same bytes) and only the numbers' character codes are the document's.
A number whose characters have no code yet in the document, or a page whose opacity is not the
default, is drawn through ReportLab as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reportlab.lib.colors import Color
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from handout.diary.layout import WeekLayout
from handout.render.tagging import TaggedCanvas

_K = TypeVar("_K")
MAX_WEEKS = 256  # week geometries kept (diary._drawn keeps 64 pages of at most a few weeks each)


@dataclass(frozen=True)
class KeptNumbers:
    """The circles' numbers of one week geometry: each one's text, centre and baseline, and its text object's start."""

    font: str
    size: float
    shown: tuple[tuple[str, float, float, str], ...]  # (text, centre x, baseline y, "BT 1 0 0 1 x y Tm")


@dataclass(frozen=True)
class KeptRules:
    """The operators one week geometry's rules, boxes and circle rows wrote, and the circle rows' forms they place."""

    operators: tuple[str, ...]
    rows: tuple[list[tuple[float, float, float]], ...]  # each day's circles, as circle_row_form takes them
    ink: Color  # the stroke colour and line width the drawing ends with
    line_width: float


_NUMBERS: dict[int, tuple[WeekLayout, KeptNumbers]] = {}  # by id of the week geometry (kept with it: the id stays its own)
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


def kept_numbers(week: WeekLayout, font: str, size: float) -> KeptNumbers:
    """Where each circle number of this week is shown, centred in its box as drawCentredString centres it."""
    kept = _found(_NUMBERS, week)
    if kept is not None and kept.font == font and kept.size == size:
        return kept
    shown = []
    for _field, value, (nx0, ny0, nx1, ny1) in week.numbers:
        text, x, y = str(value), (nx0 + nx1) / 2, ny0 + (ny1 - ny0) / 2 - size * 0.35
        shown.append((text, x, y, f"BT 1 0 0 1 {fp_str(x - 0.5 * stringWidth(text, font, size), y)} Tm"))
    kept = KeptNumbers(font, size, tuple(shown))
    _keep(_NUMBERS, week, kept)
    return kept


def write_numbers(c: Canvas, week: WeekLayout, font: str, size: float, colour: Color, draw: Callable[[str, float, float], None]) -> None:
    """Show the week's circle numbers in `colour`; `draw(text, centre x, baseline y)` draws one through ReportLab when it must."""
    kept = kept_numbers(week, font, size)
    fill = c.fill_operator(colour) if isinstance(c, TaggedCanvas) else None
    if fill is None:
        for text, x, y, _ in kept.shown:
            draw(text, x, y)
        return
    c.setFont(font, size)  # a TrueType font: sets the canvas's font, writes nothing
    for text, x, y, placed in kept.shown:
        if not c.show_placed(placed, text, fill):
            draw(text, x, y)
    c._fillColorObj = colour


def write_rules(
    c: Canvas, week: WeekLayout, draw: Callable[[], list[list[tuple[float, float, float]]]], form: Callable[[Canvas, list[tuple[float, float, float]]], str]
) -> None:
    """Write the week's rules, boxes and circle rows: `draw()` draws them through ReportLab (returning the circle rows
    it placed) the first time, and their operators are kept; `form(c, circles)` makes a circle row's form in this document."""
    kept = _found(_RULES, week)
    plain = c._extgstate._d.get("CA", 1) == 1  # strokes opaque, as when kept: no opacity operator is written
    if kept is None or not plain:
        start = len(c._code)
        rows = draw()
        if plain:
            _keep(_RULES, week, KeptRules(tuple(c._code[start:]), tuple(rows), c._strokeColorObj, c._lineWidth))
        return
    names = [form(c, circles) for circles in kept.rows]
    c._code.extend(kept.operators)
    c._formsinuse.extend(names)
    c._strokeColorObj, c._lineWidth = kept.ink, kept.line_width
