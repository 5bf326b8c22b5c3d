"""Decides each mark: a day's walked box, pain and minutes as marked, empty or unclear, never guessed; corrections honoured."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from handout.diary.align import PlacedPage
from handout.diary.layout import BOX_LINE, CIRCLE_LINE, MM, Area, Cell
from handout.diary.sampling import Darkness

STEP_MM = 0.2  # page-space sampling step inside a mark area (a 150 dpi pixel is 0.17 mm)
INK_FROM, INK_FULL = 0.10, 0.35  # darkness where a sample starts to count as ink, and counts fully (light pencil is about 0.3)
PRINT_TOLERANCE_MM = 0.35  # samples this much beyond a printed outline's half width are left out too: alignment and blur spread it
MIN_MARKED = 0.028  # an area's ink share that is a mark however clean the scan
MIN_FAINT = 0.012
BOX_MARKED = 0.05  # a walked box's ink that is a tick whatever the circles say (an empty box on a 150 dpi phone photo: up to 0.045)
OUTLINE_NOISE = 0.045  # a bare outline half's ink varies this much from circle to circle on one scan (measured: up to 0.035 on a fax; a ring adds 0.08 or more)
OUTLINE_SPREADS = 2.5  # or this many times the page's own spread (interquartile) of bare outlines, if wider
SOLID, NOT_SOLID = 0.85, 0.65  # share of a circle's inside inked: filled in / crossed out (a correction)
WRITTEN = 0.012  # ink share of a steps or notes cell that has writing, in its densest line
WRITING_LINE_MM = 5.4  # a line of handwriting: the height of the lowest standard cell inside its inset


@dataclass(frozen=True)
class Measure:
    area: Area
    ink: float  # share of the area (outline left out) that is ink
    inside: float  # share of the inside of the circle or box that is ink
    left: float  # ink in the gap left of the area, on the same scale as `ink`
    right: float  # and right of it
    outline: tuple[float, float] = (0.0, 0.0)  # ink on the printed outline's band (left out of `ink`), its left and right halves, print included, on the scale of `ink`


@dataclass(frozen=True)
class DayMarks:
    """What one day's marks say."""

    date: dt.date
    walked: bool | None
    pain: int | None
    minutes: int | None
    unclear: tuple[str, ...]  # fields whose marks could not be decided
    corrected: tuple[str, ...]  # fields with a crossed-out mark and a filled one
    written: tuple[str, ...]  # "steps", "notes": cells with handwriting


@dataclass(frozen=True)
class Thresholds:
    faint: float
    marked: float
    outline: tuple[float, float] = (float("inf"), float("inf"))  # a circle's outline half with more ink than this has pen on it too


def _offsets(area: Area) -> tuple[np.ndarray, ...]:
    """Sample offsets from the area's centre (page points) over its share of the row, and which count: in the area, inside the outline, in the gaps, on the outline."""
    x0, y0, x1, y1 = area.rect
    half = (x1 - x0) / 2
    step = STEP_MM * MM
    across = np.arange(-area.cell / 2 + step / 2, area.cell / 2, step)
    down = np.arange(-half + step / 2, half, step)
    grid = np.stack(np.meshgrid(across, down), axis=-1).reshape(-1, 2)
    tolerance = PRINT_TOLERANCE_MM * MM + (BOX_LINE if area.field == "walked" else CIRCLE_LINE) / 2
    if area.field == "walked":
        distance = np.abs(grid).max(axis=1)  # to the box's centre, in the square's own measure
    else:
        distance = np.sqrt((grid**2).sum(axis=1))
    edge = area.size / 2
    counted = np.abs(distance - edge) > tolerance
    in_area = np.abs(grid[:, 0]) <= half
    band = ~counted & in_area
    return grid, counted & in_area, distance < edge - tolerance, counted & (grid[:, 0] < -half), counted & (grid[:, 0] > half), band & (grid[:, 0] < 0), band & (grid[:, 0] >= 0)


def measure(darkness: Darkness, areas: tuple[Area, ...]) -> list[Measure]:
    """Every area's ink, all sampled in one pass."""
    cache: dict[tuple[str, float, float, float], tuple[np.ndarray, ...]] = {}
    grids, keys = [], []
    for area in areas:
        key = ("box" if area.field == "walked" else "circle", round(area.rect[2] - area.rect[0], 3), round(area.size, 3), round(area.cell, 3))
        if key not in cache:
            cache[key] = _offsets(area)
        grids.append(cache[key][0] + np.array(area.centre))
        keys.append(key)
    values = darkness.at_points(np.concatenate(grids))
    weights = ((values - INK_FROM) / (INK_FULL - INK_FROM)).clip(0, 1)
    result, start = [], 0
    for area, key in zip(areas, keys):
        grid, counted, inside, left, right, band_left, band_right = cache[key]
        w = weights[start : start + len(grid)]
        start += len(grid)
        n = counted.sum()
        result.append(Measure(area, float(w[counted].mean()), float(w[inside].mean()), float(w[left].sum() / n), float(w[right].sum() / n), (float(w[band_left].sum() / n), float(w[band_right].sum() / n))))
    return result


def thresholds(measures: list[Measure]) -> Thresholds:
    """The page's own idea of empty: most circles on a page are empty, so their ink is this scan's noise."""
    circles = np.array([m.ink for m in measures if m.area.field != "walked"])
    noise = float(np.percentile(circles, 80)) if len(circles) else 0.0
    faint = max(MIN_FAINT, noise + 0.01)
    # The printed outline is left out of `ink`, so a ring drawn tight round a circle, which a black-and-white scan merges
    # with the outline, would leave no ink at all. The page's own circles say how dark a bare outline prints on this scan
    # (most are bare); what a circle's outline holds beyond that is pen. Each half apart: the scan's alignment may favour one.
    outlines = np.array([m.outline for m in measures if m.area.field != "walked"]).reshape(-1, 2)
    if len(outlines):
        # A black-and-white scan at low resolution prints some outlines a pixel thicker than others: where the page's
        # bare outlines spread wider, the margin widens with them (a doubtful ring is then unclear, not a value).
        low, middle, high = np.percentile(outlines, (25, 50, 75), axis=0)
        outline = tuple(float(m + max(OUTLINE_NOISE, OUTLINE_SPREADS * (h - lo))) for lo, m, h in zip(low, middle, high))
    else:
        outline = (float("inf"), float("inf"))
    return Thresholds(faint, max(MIN_MARKED, faint * 2.5), outline)  # type: ignore[arg-type]


def pen_ink(m: Measure, t: Thresholds) -> float:
    """A circle's ink with any ring drawn round it added: pen on both halves of its outline counts as the mark it is.

    Pen on one half only is a mark that grazes the circle from beside it (a dot between two circles): that stays
    out, so the gap between the circles keeps the larger share and the mark stays unclear, as before.
    """
    if m.area.field == "walked":
        return m.ink
    left, right = (max(0.0, v - limit) for v, limit in zip(m.outline, t.outline))
    return m.ink + 2 * min(left, right)


def decide_row(row: list[Measure], t: Thresholds) -> tuple[int | None, bool, bool]:
    """A pain or minutes row: (value, unclear, corrected). Two marks are unclear unless one is filled in and the other crossed out."""
    ink = {m.area.value: pen_ink(m, t) for m in row}
    marked = [m for m in row if ink[m.area.value] >= t.marked]
    faint = [m for m in row if t.faint <= ink[m.area.value] < t.marked]
    # The gaps between circles (not the row's two ends, where the table's rules are), each seen from both sides.
    stray = (sum(m.right for m in row[:-1]) + sum(m.left for m in row[1:])) / 2
    if not marked:
        return None, bool(faint) or stray >= t.faint, False
    if faint:
        return None, True, False  # a second, lighter mark, or a mark straying over two circles
    if len(marked) == 1:
        if stray >= ink[marked[0].area.value]:
            return None, True, False  # no more of the mark in the circle than between circles: between two values
        return marked[0].area.value, False, False
    if len(marked) == 2:
        solid = [m for m in marked if m.inside >= SOLID]
        crossed = [m for m in marked if m.inside < NOT_SOLID]
        if len(solid) == 1 and len(crossed) == 1:
            return solid[0].area.value, False, True
    return None, True, False


def decide_box(box: Measure, t: Thresholds) -> tuple[bool | None, bool]:
    """The walked box: (walked, unclear)."""
    # The box's black outline rings under JPEG and blur more than the circles' grey ones, so an empty box on a
    # compressed low-resolution photo can hold more noise than the circles say: up to BOX_MARKED it is unclear, not a walk.
    if box.ink >= max(t.marked, BOX_MARKED):
        return True, False
    if box.ink >= t.faint:
        return None, True
    return False, False


def written_cells(darkness: Darkness, cells: tuple[Cell, ...]) -> set[tuple[dt.date, str]]:
    """The steps and notes cells that have handwriting in them (the reader shows them; it does not read them)."""
    found = set()
    inset = 1.2 * MM
    for cell in cells:
        if cell.field == "day":
            continue
        x0, y0, x1, y1 = cell.rect
        xs = np.arange(x0 + inset, x1 - inset, 0.3 * MM)
        ys = np.arange(y0 + inset, y1 - inset, 0.3 * MM)
        if len(xs) == 0 or len(ys) == 0:
            continue
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        rows = ((darkness.at_points(grid) - INK_FROM) / (INK_FULL - INK_FROM)).clip(0, 1).reshape(len(ys), len(xs)).mean(axis=1)
        # The densest band of a line's height, not the whole cell: a tall row (spare space on the page) holds the
        # same few words as a low one, and they must not thin out below the threshold.
        window = min(len(rows), max(1, round(WRITING_LINE_MM / 0.3)))
        ink = float(np.convolve(rows, np.ones(window) / window, mode="valid").max())
        if ink >= WRITTEN:
            found.add((cell.date, cell.field))
    return found


def read_marks(pixels: np.ndarray, placed: PlacedPage) -> tuple[list[DayMarks], list[Measure]]:
    """Every day on the page, decided, and the measures behind the decisions."""
    darkness = Darkness(pixels, placed)
    measures = measure(darkness, placed.layout.areas)
    t = thresholds(measures)
    by_day: dict[dt.date, dict[str, list[Measure]]] = defaultdict(lambda: defaultdict(list))
    for m in measures:
        by_day[m.area.date][m.area.field].append(m)
    written = written_cells(darkness, placed.layout.cells)
    days = []
    for date, fields in by_day.items():
        walked, walked_unclear = decide_box(fields["walked"][0], t)
        pain, pain_unclear, pain_corrected = decide_row(fields["pain"], t)
        minutes, minutes_unclear, minutes_corrected = decide_row(fields["minutes"], t)
        unclear = tuple(name for name, flag in (("walked", walked_unclear), ("pain", pain_unclear), ("minutes", minutes_unclear)) if flag)
        corrected = tuple(name for name, flag in (("pain", pain_corrected), ("minutes", minutes_corrected)) if flag)
        days.append(DayMarks(date, walked, pain, minutes, unclear, corrected, tuple(f for f in ("steps", "notes") if (date, f) in written)))
    return days, measures
