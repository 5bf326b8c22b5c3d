"""Reads a set of scans into one diary record: finds the diary pages, checks they are one plan's, and decides every day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handout.diary.align import MIN_DPI, NEEDED_DPI, PageProblem, PlacedPage, place_page
from handout.diary.code import PageCode
from handout.diary.images import load_scans
from handout.diary.layout import page_count
from handout.diary.marks import DayMarks, read_marks
from handout.errors import HandoutError

PAPER_INCHES = 8.27  # an A4 page's width; a Letter page's is 8.5: near enough to tell a scan's resolution
# Steepest edge of a page, as a share of its contrast per mm. Measured on plan pages: 2.2–5.8 in focus (150–300 dpi, with noise
# and JPEG), 0.7–1.8 blurred by 0.38 mm or more, where the diary's code no longer decodes. It only words why no diary page was found.
SHARP_PER_MM = 1.8
MIN_CONTRAST = 40  # grey levels between paper and ink: below it a page is blank, not blurred


@dataclass(frozen=True)
class PageRead:
    """One diary page found in the scans, and its days."""

    file: str
    page: int  # in that file
    placed: PlacedPage
    days: tuple[DayMarks, ...]
    pixels: np.ndarray  # kept for the report's crops


@dataclass(frozen=True)
class Skipped:
    file: str
    page: int
    reason: str


@dataclass(frozen=True)
class DiaryReading:
    """Everything read from one plan's diary pages."""

    code: PageCode  # the plan's (any of its pages')
    pages: tuple[PageRead, ...]  # in diary order
    skipped: tuple[Skipped, ...]
    missing: tuple[int, ...]  # diary pages of the plan not among the scans

    @property
    def days(self) -> tuple[DayMarks, ...]:
        return tuple(d for p in self.pages for d in p.days)

    def day(self, date: dt.date) -> DayMarks | None:
        return next((d for d in self.days if d.date == date), None)


def read_diary(paths: Sequence[Path]) -> DiaryReading:
    """The diary in the scans; HandoutError (one line, naming the file) when there is none or it cannot be read."""
    found: list[PageRead] = []
    skipped: list[Skipped] = []
    low_resolution: tuple[str, float] | None = None
    blurred: str | None = None
    for scan in load_scans(list(paths)):
        where = f"{scan.file} page {scan.page}" if scan.page > 1 or scan.file.lower().endswith(".pdf") else scan.file
        try:
            placed = place_page(scan.pixels)
        except PageProblem as problem:
            raise HandoutError(f"{where}: a diary page, but {problem}") from None
        if placed is None:
            dpi = scan.pixels.shape[1] / PAPER_INCHES
            if dpi < MIN_DPI and low_resolution is None:
                low_resolution = (where, dpi)
            elif dpi >= MIN_DPI and blurred is None and _too_blurred(scan.pixels, dpi):
                blurred = where
            skipped.append(Skipped(scan.file, scan.page, "not a diary page"))
            continue
        if found and placed.code.plan_key != found[0].placed.code.plan_key:
            raise HandoutError(
                f"{where}: this diary page is from a different plan than {found[0].file}'s (plan {placed.code.tag}, not {found[0].placed.code.tag}); "
                "read each patient's diary on its own"
            )
        twin = next((p for p in found if p.placed.code.diary_page == placed.code.diary_page), None)
        if twin is not None:
            skipped.append(Skipped(scan.file, scan.page, f"the same diary page as {twin.file} page {twin.page}"))
            continue
        days, _ = read_marks(scan.pixels, placed)
        found.append(PageRead(scan.file, scan.page, placed, tuple(sorted(days, key=lambda d: d.date)), scan.pixels))
    if not found:
        names = ", ".join(dict.fromkeys(p.name for p in paths))
        if low_resolution is not None:
            raise HandoutError(f"{low_resolution[0]}: the scan is about {low_resolution[1]:.0f} dpi, too small to find a diary page; scan at {NEEDED_DPI} dpi or more")
        if blurred is not None:
            raise HandoutError(f"{blurred}: the scan is too blurred to find a diary page; scan it again in focus (flat on the glass, or a steady photo) at {NEEDED_DPI} dpi or more")
        raise HandoutError(f"{names}: no diary page found (each diary page has a square code at its top right; scan whole pages at {NEEDED_DPI} dpi or more)")
    found.sort(key=lambda p: p.placed.code.diary_page)
    code = found[0].placed.code
    present = {p.placed.code.diary_page for p in found}
    missing = tuple(i for i in range(1, page_count(code) + 1) if i not in present)
    return DiaryReading(code, tuple(found), tuple(skipped), missing)


def _too_blurred(pixels: np.ndarray, dpi: float) -> bool:
    """Whether a page's sharpest edges are too soft to read (measured on 2×2 averages, so a noisy scan's grain does not look sharp)."""
    low, high = np.percentile(pixels, [1, 99.5])
    if high - low < MIN_CONTRAST:
        return False
    h, w = pixels.shape[0] // 2 * 2, pixels.shape[1] // 2 * 2
    p = pixels[:h, :w]
    half = (p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]) / 4
    steepest = np.maximum(np.abs(np.diff(half, axis=0))[:, :-1], np.abs(np.diff(half, axis=1))[:-1, :])
    per_mm = float(np.percentile(steepest, 99.9)) / (high - low) * (dpi / 2) / 25.4
    return per_mm < SHARP_PER_MM
