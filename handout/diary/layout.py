"""Where everything on a diary page is, in PDF points from the paper's bottom-left corner: the one geometry the drawing and the reader share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from handout.diary.code import FORMAT, PageCode
from handout.plan import Week

MM = 72 / 25.4
PAPER_POINTS = {"a4": (595.2756, 841.8898), "letter": (612.0, 792.0)}
MARGIN = 15 * MM  # the page margin of every handout PDF (render/pdf.py checks it is the same)
QR_VERSION = 3  # 29 modules: room for the page code (about 40 letters) at error correction M
QR_MODULES = 17 + 4 * QR_VERSION
QR_MODULE = 0.6 * MM  # 17.4 mm: decodes at 150 dpi from a slightly blurred scan
QR_QUIET = 4  # modules of white around the code
# The code's mask, fixed: qrcode's search tries all eight for every page (the largest single cost of a plan's render).
# Mask 2 scored the lowest penalty (qrcode.util.lost_point) over the page codes of every paper, print size and length.
QR_MASK = 2
MARK_SIDE = 4 * MM
CIRCLE_LINE = 0.8  # points: the printed circles' outline
BOX_LINE = 1.0  # and the walked box's
MARK_INSET = 10 * MM  # alignment marks at least 10 mm from every edge: a 4° skew on the glass keeps them


Rect = tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True)
class Sizes:
    """A print size's measures, in millimetres and points."""

    text: float  # points: the diary's type, the body minimum for its print size
    bubble: float  # diameter of a printed circle
    pitch: float  # from one circle's centre to the next
    minutes_pitch: float  # the same for the minutes circles: their two-digit numbers above them need a gap between them
    area: float  # side of the square whose ink counts for a circle
    box: float  # side of the printed "walked" box
    box_area: float
    band: float  # height of the title and instructions band at the top of each page
    heading: float  # a week's heading line
    header_line: float  # each of the header's two lines
    min_day: float  # a day's row may not be lower than this; spare space makes it taller (more room to write), never white at the foot
    two_lines: bool  # large print: pain and steps on a day's first line, minutes and notes on its second
    label_cols: tuple[float, float]  # mm: standard, the day and walked columns; large print, the day/walked and pain/minutes columns
    spread_minutes: bool  # large print: the minutes circles spread under the pain circles' whole width


STANDARD_SIZES = Sizes(
    text=12, bubble=3.9, pitch=5.8, minutes_pitch=6.5, area=4.8, box=5.5, box_area=7.0, band=37, heading=6.2, header_line=5.0, min_day=7.8, two_lines=False,
    label_cols=(16, 23), spread_minutes=False,  # "¿Caminó?" in 12 pt bold needs 22 mm
)
LARGE_SIZES = Sizes(
    text=18, bubble=5.4, pitch=8.0, minutes_pitch=8.0, area=7.0, box=7.0, box_area=8.5, band=56, heading=16, header_line=8.0, min_day=18, two_lines=True,
    label_cols=(34, 28), spread_minutes=True,  # "¿Caminó?" and "Minutos" in 18 pt bold, with room to spare
)
# Pages printed with format 1 (page codes "HD1:…") are read back at the places they were printed: their minutes
# numbers stood too close ("102030" in large print), so format 2 moved the minutes circles and widened the label columns.
FORMAT_1_SIZES = {
    False: replace(STANDARD_SIZES, minutes_pitch=5.8, label_cols=(16, 21)),
    True: replace(LARGE_SIZES, label_cols=(32, 26), spread_minutes=False),
}
PAIN_VALUES = tuple(range(11))
MINUTE_BUBBLES = 6


def sizes_for(large_print: bool, page_format: int = FORMAT) -> Sizes:
    if page_format == 1:
        return FORMAT_1_SIZES[large_print]
    return LARGE_SIZES if large_print else STANDARD_SIZES


def minutes_values(aim: int) -> tuple[int, ...]:
    """The minutes a week's circles offer: round steps around the week's minutes a walk, with room above it, never more than two digits."""
    step = 5 if aim <= 25 else 10 if aim <= 50 else 15
    return tuple(step * k for k in range(1, MINUTE_BUBBLES + 1))


@dataclass(frozen=True)
class Area:
    """A place for a mark: a day's walked box or one circle of its pain or minutes row."""

    date: dt.date
    field: str  # "walked", "pain" or "minutes"
    value: int | None  # the circle's number; None for the walked box
    rect: Rect  # the square whose ink counts for this mark
    centre: tuple[float, float]
    size: float  # the printed circle's diameter or the box's side
    cell: float  # width of the circle's share of its row, gaps included (the box's area width)


@dataclass(frozen=True)
class Cell:
    """A place for text: a day's name, or the steps and notes written by hand."""

    date: dt.date
    field: str  # "day", "steps" or "notes"
    rect: Rect


@dataclass(frozen=True)
class WeekLayout:
    """One week's block: heading, two header lines, and its days."""

    week: Week
    heading: Rect
    header: Rect
    labels: tuple[tuple[str, Rect], ...]  # header words: "day", "walked", "pain", "minutes", "steps", "notes" and where each sits
    numbers: tuple[tuple[str, int, Rect], ...]  # the circles' numbers over their columns: field, value, box
    rows: tuple[Rect, ...]  # each day's row
    columns: tuple[float, ...]  # x of the vertical rules
    line_rules: tuple[float, ...]  # y of the rule between a day's two lines (large print)
    areas: tuple[Area, ...]
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class PageLayout:
    """A whole diary page."""

    code: PageCode
    width: float
    height: float
    sizes: Sizes
    marks: tuple[Rect, ...]  # alignment squares: top-left, top-right, bottom-right, bottom-left
    qr: Rect  # the code's modules, quiet zone outside it
    band: Rect  # title and instructions
    weeks: tuple[WeekLayout, ...]

    @property
    def areas(self) -> tuple[Area, ...]:
        return tuple(a for w in self.weeks for a in w.areas)

    @property
    def cells(self) -> tuple[Cell, ...]:
        return tuple(c for w in self.weeks for c in w.cells)

    @property
    def qr_corners(self) -> tuple[tuple[float, float], ...]:
        """The code's corners as a decoder names them: top-left, top-right, bottom-right, bottom-left."""
        x0, y0, x1, y1 = self.qr
        return ((x0, y1), (x1, y1), (x1, y0), (x0, y0))


def mark_rects(paper: str) -> tuple[Rect, ...]:
    width, height = PAPER_POINTS[paper]
    lo, hi = MARK_INSET, MARK_INSET + MARK_SIDE
    return (
        (lo, height - hi, hi, height - lo),
        (width - hi, height - hi, width - lo, height - lo),
        (width - hi, lo, width - lo, hi),
        (lo, lo, hi, hi),
    )


def _day_height(room: float, weeks: int, sizes: Sizes) -> float:
    fixed = weeks * (sizes.heading + 2 * sizes.header_line) * MM
    return (room - fixed) / (7 * weeks)


def weeks_per_page(paper: str, large_print: bool, bottom: int) -> int:
    """Three weeks a page when a day's row keeps its least height (A4), else fewer."""
    sizes = sizes_for(large_print)
    room = PAPER_POINTS[paper][1] - MARGIN - sizes.band * MM - bottom
    for weeks in (3, 2, 1):
        if _day_height(room, weeks, sizes) >= sizes.min_day * MM:
            return weeks
    # A clinic footer long enough to leave less: a week a page, its rows a little lower, rather than no diary.
    if _day_height(room, 1, sizes) >= 0.72 * sizes.min_day * MM:
        return 1
    raise ValueError("the page has no room for a week of the diary")


def page_count(code: PageCode) -> int:
    """How many diary pages the plan's weeks fill."""
    per = weeks_per_page(code.paper, code.large_print, code.bottom)
    return -(-code.request.weeks // per)


def page_layout(code: PageCode) -> PageLayout:
    """Everything on diary page `code.diary_page` of the plan the code names."""
    per = weeks_per_page(code.paper, code.large_print, code.bottom)
    plan = code.plan()
    first = (code.diary_page - 1) * per
    if not 0 <= first < len(plan.weeks):
        raise ValueError(f"the plan has no diary page {code.diary_page}")
    return weeks_layout(code, plan.weeks[first : first + per])


def weeks_layout(code: PageCode, weeks: tuple[Week, ...], minutes: tuple[tuple[int, ...], ...] | None = None) -> PageLayout:
    """A diary page holding `weeks`, on the paper, print size and diary region of `code`.

    `minutes`, each week's circle values, defaults to minutes_values of each week's minutes a walk: positions
    depend on the weeks' count and these values only, never on their dates.
    """
    sizes = sizes_for(code.large_print, code.page_format)
    width, height = PAPER_POINTS[code.paper]
    x0, x1, top = MARGIN, width - MARGIN, height - MARGIN
    qr_side = QR_MODULES * QR_MODULE
    qr = (x1 - 2 * MM - qr_side, top - qr_side, x1 - 2 * MM, top)
    band = (x0, top - sizes.band * MM, qr[0] - QR_QUIET * QR_MODULE, top)
    room = top - sizes.band * MM - code.bottom
    # The rows share the whole page between them, however few weeks it holds (a plan's last page, a one-week plan):
    # spare space is room to write a note, not white space at the page's foot.
    day = _day_height(room, len(weeks), sizes)
    y = band[1]
    laid: list[WeekLayout] = []
    for week, values in zip(weeks, minutes or [minutes_values(w.minutes_per_walk) for w in weeks], strict=True):
        laid.append(_week_layout(week, values, x0, x1, y, day, sizes))
        y = laid[-1].rows[-1][1]
    return PageLayout(code, width, height, sizes, mark_rects(code.paper), qr, band, tuple(laid))


def _square(cx: float, cy: float, side: float) -> Rect:
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def _week_layout(week: Week, minutes: tuple[int, ...], x0: float, x1: float, top: float, day: float, s: Sizes) -> WeekLayout:
    heading = (x0, top - s.heading * MM, x1, top)
    header = (x0, heading[1] - 2 * s.header_line * MM, x1, heading[1])
    line = s.header_line * MM
    upper, lower = (header[1] + line, header[3]), (header[1], header[1] + line)
    pitch, minutes_pitch = s.pitch * MM, s.minutes_pitch * MM
    if s.two_lines:
        # | day over walked | "Pain" over "Minutes" | circles | steps over notes |
        first_col, label_col = s.label_cols[0] * MM, s.label_cols[1] * MM
        bubbles_x = x0 + first_col + label_col
        rest_x = bubbles_x + len(PAIN_VALUES) * pitch
        columns = (x0, x0 + first_col, bubbles_x, rest_x, x1)
        labels = (
            ("day", (x0, *upper[:1], x0 + first_col, upper[1])),
            ("walked", (x0, lower[0], x0 + first_col, lower[1])),
            ("pain", (x0 + first_col, upper[0], bubbles_x, upper[1])),
            ("minutes", (x0 + first_col, lower[0], bubbles_x, lower[1])),
            ("steps", (rest_x, upper[0], x1, upper[1])),
            ("notes", (rest_x, lower[0], x1, lower[1])),
        )
        pain_x, minutes_x = bubbles_x, bubbles_x
        pain_band, minutes_band = upper, lower
        if s.spread_minutes:
            # The minutes' line spreads its circles under the pain circles' whole width: at 18 pt, "10 20 30" at the
            # pain circles' pitch ran together into "102030".
            minutes_pitch = len(PAIN_VALUES) * pitch / len(minutes)
    else:
        # | day | walked | pain circles | minutes circles | steps | notes |
        (day_w, walked_w), gap, steps_w = (w * MM for w in s.label_cols), 2 * MM, 15 * MM
        pain_x = x0 + day_w + walked_w
        minutes_x = pain_x + len(PAIN_VALUES) * pitch + gap
        steps_x = minutes_x + len(minutes) * minutes_pitch
        columns = (x0, x0 + day_w, pain_x, minutes_x - gap / 2, steps_x, steps_x + steps_w, x1)
        labels = (
            ("day", (x0, upper[0], x0 + day_w, upper[1])),
            ("walked", (x0 + day_w, upper[0], pain_x, upper[1])),
            ("pain", (pain_x, upper[0], minutes_x - gap / 2, upper[1])),
            ("minutes", (minutes_x - gap / 2, upper[0], steps_x, upper[1])),
            ("steps", (steps_x, upper[0], steps_x + steps_w, upper[1])),
            ("notes", (steps_x + steps_w, upper[0], x1, upper[1])),
        )
        pain_band = minutes_band = lower
    numbers = tuple(
        (field, value, (left + i * step, band[0], left + (i + 1) * step, band[1]))
        for field, values, left, band, step in (("pain", PAIN_VALUES, pain_x, pain_band, pitch), ("minutes", minutes, minutes_x, minutes_band, minutes_pitch))
        for i, value in enumerate(values)
    )
    # Mark areas stay inside their line, clear of its rules, however low a clinic's long footer makes it.
    line_mm = (day / 2 if s.two_lines else day) / MM
    area_mm, box_area_mm = min(s.area, line_mm - 1.2), min(s.box_area, line_mm - 1.0)
    rows: list[Rect] = []
    areas: list[Area] = []
    cells: list[Cell] = []
    rules: list[float] = []
    y = header[1]
    for date in week.days():
        row = (x0, y - day, x1, y)
        rows.append(row)
        if s.two_lines:
            middle = y - day / 2
            rules.append(middle)
            first_cy, second_cy = (middle + y) / 2, (row[1] + middle) / 2
            cells.append(Cell(date, "day", (x0, middle, columns[1], y)))
            walked = (x0 + first_col / 2, second_cy)
            pain_cy, minutes_cy = first_cy, second_cy
            cells.append(Cell(date, "steps", (columns[3], middle, x1, y)))
            cells.append(Cell(date, "notes", (columns[3], row[1], x1, middle)))
        else:
            cy = y - day / 2
            cells.append(Cell(date, "day", (x0, row[1], columns[1], y)))
            walked = ((columns[1] + columns[2]) / 2, cy)
            pain_cy = minutes_cy = cy
            cells.append(Cell(date, "steps", (columns[4], row[1], columns[5], y)))
            cells.append(Cell(date, "notes", (columns[5], row[1], x1, y)))
        areas.append(Area(date, "walked", None, _square(*walked, box_area_mm * MM), walked, s.box * MM, box_area_mm * MM))
        for field, values, left, cy, step in (("pain", PAIN_VALUES, pain_x, pain_cy, pitch), ("minutes", minutes, minutes_x, minutes_cy, minutes_pitch)):
            for i, value in enumerate(values):
                centre = (left + (i + 0.5) * step, cy)
                areas.append(Area(date, field, value, _square(*centre, area_mm * MM), centre, s.bubble * MM, step))
        y -= day
    return WeekLayout(week, heading, header, labels, numbers, tuple(rows), columns, tuple(rules), tuple(areas), tuple(cells))


def diary_map_page(layout: PageLayout) -> dict[str, object]:
    """One page of the `--diary-map` file: every mark area, in points from the bottom-left corner."""
    return {
        "page": layout.code.pdf_page,
        "width": round(layout.width, 2),
        "height": round(layout.height, 2),
        "fields": [
            {"date": a.date.isoformat(), "field": a.field, "value": a.value, "rect": [round(v, 2) for v in a.rect]}
            for a in layout.areas
        ],
    }
