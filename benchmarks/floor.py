"""The canvas floor: a 12-week plan's six A4 pages drawn with plain ReportLab canvas calls, the least work those pages can cost.

No templates, no platypus, no tagging: fixed positions, greedy line breaks with the font's
widths, one text object per block, the grids as paths. The diary pages take their geometry
from handout/diary/layout.py (the positions the diary reader expects: marks, page code,
boxes, circles) but draw it here, each day's circles placed from one form and each QR code
as one image mask, as handout does. It draws the same words on the same
pages as handout (tests/test_benchmark_floor.py compares them), with the same embedded
TrueType subsets (handout's, without hinting) and the same page compression, so `draw_plan()` against handout's
render is the price of handout's own pipeline. `draw_plan(patient)` draws any `Patient` (name, dates,
minutes, walks, 10 to 12 weeks: always six pages); `varied_patients(seed)` is the benchmark's
deterministic stream of different patients, so neither side renders from a per-patient cache.
`python benchmarks/floor.py out.pdf` writes one.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

import fontpkg
from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import PDFTextObject

from handout.diary.code import PageCode, plan_tag
from handout.diary.layout import BOX_LINE, CIRCLE_LINE, QR_MASK, QR_MODULE, QR_QUIET, QR_VERSION, PageLayout, WeekLayout, minutes_values, weeks_layout
from handout.plan import PlanRequest, Week, build_plan
from handout.qr import QUIET_ZONE
from handout.render.fonts import register_lean
from handout.render.graphics import code_image

# What the benchmark's plan is for: handout's defaults for Jane Doe, seen by Sam Lee.
PATIENT, CLINICIAN = "Jane Doe", "Sam Lee"
START, ISSUED = dt.date(2026, 12, 7), dt.date(2026, 11, 27)
MINUTES = (10, 12, 14, 16, 18, 20, 21, 23, 25, 27, 29, 30)  # handout's plan rule for 10 → 30 minutes over 12 weeks
WALKS = 5
CLINIC, ADDRESS, PHONE, WEBSITE = "Example Physiotherapy Clinic", "12 Harbour Street, Exampleton EX1 2AB", "01632 960 123", "www.example-physio.org"
URL = "https://example-physio.org/back"
DISCLAIMER = "General information only. It does not replace advice from your physiotherapist or doctor."
PRIMARY, ACCENT, INK, GREY, RED = HexColor("#1D5C7A"), HexColor("#E38B2C"), HexColor("#1A1A1A"), HexColor("#404040"), HexColor("#A1241B")
PALE, PALE_RED, RULE = HexColor("#EEF4F7"), HexColor("#FBEDEC"), HexColor("#8C8C8C")
OUTLINE, DIARY_RULE, HEADER_FILL = HexColor("#6B6B6B"), HexColor("#9A9A9A"), HexColor("#EEF1F4")  # the diary's, as handout prints them
REGULAR, BOLD = "Floor-Regular", "Floor-Bold"
WIDTH, HEIGHT = A4
MARGIN = 42.52
TEXT_WIDTH = WIDTH - 2 * MARGIN

Runs = list[tuple[str, bool]]  # (text, bold)


@dataclass(frozen=True)
class Patient:
    """One patient's plan as the benchmark asks for it; the weekly minutes follow handout's plan rule (handout.plan)."""

    name: str = PATIENT
    clinician: str = CLINICIAN
    start: dt.date = START
    issued: dt.date = ISSUED
    start_minutes: int = 10
    target_minutes: int = 30
    walks: int = WALKS
    weeks: int = 12
    minutes: tuple[int, ...] = field(init=False)
    step: int = field(init=False)  # minutes added in a typical week, as the summary says it

    def __post_init__(self) -> None:
        assert 10 <= self.weeks <= 12, "the floor draws six pages: 10 to 12 weeks"
        plan = build_plan(self.request())
        assert plan.target_reached and self.start_minutes < self.target_minutes, "the floor writes the summary of a plan that reaches its goal"
        object.__setattr__(self, "minutes", tuple(week.minutes_per_walk for week in plan.weeks))
        object.__setattr__(self, "step", plan.typical_weekly_increase)

    def request(self) -> PlanRequest:
        return PlanRequest(self.start_minutes, self.target_minutes, self.walks, self.weeks, self.start)

    @property
    def with_year(self) -> bool:
        """Handout's dates carry the year only when the plan runs into a new one."""
        return self.start.year != (self.start + dt.timedelta(weeks=self.weeks, days=-1)).year


DEFAULT = Patient()
assert DEFAULT.minutes == MINUTES
FIRST_NAMES = ("Zoë", "José", "Łukasz", "Siobhán", "Björn", "Chloé", "Ana", "Søren", "Jane", "Renée", "Çağla", "Jiří")
LAST_NAMES = ("Núñez", "Müller", "Dvořák", "Kowalska", "Lee", "Nyström", "Doe", "Çelik", "Weiß", "Żółć", "Ó Briain", "Novák")


def plan_options(p: Patient) -> dict[str, object]:
    """handout.api.render_plan's arguments for the same patient's plan."""
    return {
        "patient": p.name, "clinician": p.clinician, "start_date": p.start, "issued": p.issued,
        "start_minutes": p.start_minutes, "target_minutes": p.target_minutes, "walks_per_week": p.walks, "weeks": p.weeks,
    }  # fmt: skip


def varied_patients(seed: int = 18) -> Iterator[Patient]:
    """A deterministic stream of different patients: names (most not ASCII), issue and start dates, minutes, walks and weeks."""
    rng = random.Random(seed)
    while True:
        issued = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(730))
        yield Patient(
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            start=issued + dt.timedelta(days=rng.randrange(21)),
            issued=issued,
            start_minutes=rng.randint(5, 15),
            target_minutes=rng.randint(25, 35),
            walks=rng.randint(3, 6),
            weeks=rng.randint(10, 12),
        )


@cache
def register_fonts() -> None:
    """Atkinson Hyperlegible, regular and bold, as handout embeds it (subsets without hinting: handout.render.fonts.register_lean)."""
    family = "Atkinson Hyperlegible"
    register_lean(TTFont(REGULAR, str(fontpkg.path(family, 400, "normal"))))
    register_lean(TTFont(BOLD, str(fontpkg.path(family, 700, "normal"))))


@cache
def qr_modules() -> tuple[tuple[bool, ...], ...]:
    """The QR code for URL, quiet zone included (computed once, as handout does per process)."""
    import qrcode

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(URL)
    code.make(fit=True)
    return tuple(tuple(bool(m) for m in row) for row in code.get_matrix())


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sept", "Oct", "Nov", "Dec")  # CLDR's English abbreviations, as handout writes them


def month(d: dt.date) -> str:
    return MONTHS[d.month - 1]


def day(d: dt.date) -> str:
    return f"{d:%a} {d.day} {month(d)}"


def short(d: dt.date) -> str:
    return f"{d.day} {month(d)} {d.year}"


def span(first: dt.date, last: dt.date, with_year: bool = True) -> str:
    """A week's dates as handout writes them: '7–13 Dec 2026', '28 Dec 2026 – 3 Jan 2027' (without the years in a plan within one year)."""
    end = short(last) if with_year else f"{last.day} {month(last)}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{end}"
    return f"{short(first) if with_year else f'{first.day} {month(first)}'} – {end}"


def counted(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def long(d: dt.date) -> str:
    return f"{d.day} {d:%B %Y}"


def wrap(runs: Runs, size: float, width: float) -> list[Runs]:
    """Greedy line breaking of bold and regular runs at spaces, with the fonts' own widths."""
    space = pdfmetrics.stringWidth(" ", REGULAR, size)
    lines: list[Runs] = [[]]
    used, spaced = 0.0, False  # spaced: a space comes before the next word
    for text, bold in runs:
        for i, word in enumerate(text.split(" ")):
            spaced = spaced or i > 0
            if not word:
                continue
            w = pdfmetrics.stringWidth(word, BOLD if bold else REGULAR, size)
            joined, spaced = bool(lines[-1]) and spaced, False
            if lines[-1] and used + (space if joined else 0) + w > width:
                lines.append([])
                used, joined = 0.0, False
            lines[-1].append(((" " if joined else "") + word, bold))
            used += (space if joined else 0) + w
    return lines


@dataclass
class Page:
    """One page being drawn: the canvas and how far down the next block starts."""

    canvas: Canvas
    y: float = HEIGHT - MARGIN

    def text(self, runs: Runs, size: float, x: float = MARGIN, width: float = TEXT_WIDTH, colour: object = INK, leading: float = 1.43, after: float = 8) -> None:
        lines = wrap(runs, size, width)
        t = self.canvas.beginText(x, self.y - size)
        t.setFillColor(colour)
        t.setLeading(size * leading)
        for line in lines:
            for chunk, bold in line:
                t.setFont(BOLD if bold else REGULAR, size)
                t.textOut(chunk)
            t.textLine("")
        self.canvas.drawText(t)
        self.y -= len(lines) * size * leading + after

    def bullets(self, items: list[str], size: float, x: float = MARGIN, width: float = TEXT_WIDTH) -> None:
        for item in items:
            top = self.y
            self.text([("•", True)], size, x, 12, after=0)
            self.y = top
            self.text([(item, False)], size, x + 18.2, width - 18.2, after=4)

    def grid(self, rows: list[list[tuple[str, bool]]], widths: list[float], size: float, row_height: float, boxes: int | None = None) -> None:
        """A table: a header row on a tint, ruled cells, text in each, and a tick box per row in column `boxes`."""
        c, top = self.canvas, self.y
        height = row_height * len(rows)
        c.setFillColor(PALE)
        c.rect(MARGIN, top - row_height, sum(widths), row_height, stroke=0, fill=1)
        path = c.beginPath()
        for r in range(len(rows) + 1):
            path.moveTo(MARGIN, top - r * row_height)
            path.lineTo(MARGIN + sum(widths), top - r * row_height)
        x = MARGIN
        for w in [0.0, *widths]:
            x += w
            path.moveTo(x, top)
            path.lineTo(x, top - height)
        if boxes is not None:
            left = MARGIN + sum(widths[:boxes]) + widths[boxes] / 2 - 5
            for r in range(1, len(rows)):
                path.rect(left, top - (r + 0.5) * row_height - 5, 10, 10)
        c.setStrokeColor(RULE)
        c.setLineWidth(0.6)
        c.drawPath(path, stroke=1, fill=0)
        t = c.beginText()
        t.setFillColor(INK)
        for r, row in enumerate(rows):
            x = MARGIN + 6
            for (cell, bold), w in zip(row, widths, strict=True):
                if cell:
                    t.setTextOrigin(x, top - (r + 1) * row_height + row_height * 0.32)
                    t.setFont(BOLD if bold or r == 0 else REGULAR, size)
                    t.textOut(cell)
                x += w
        c.drawText(t)
        self.y = top - height - 14


def logo(c: Canvas, x: float, y: float, size: float) -> None:
    """The example clinic's logo: a disc, a wave and a spine, as its SVG draws them."""
    c.saveState()
    c.translate(x, y + size)
    c.scale(size / 120, -size / 120)
    c.setFillColor(PRIMARY)
    c.circle(60, 60, 58, stroke=0, fill=1)
    c.setFillColor(ACCENT)
    wave = c.beginPath()
    wave.moveTo(16, 88)
    wave.curveTo(40, 70, 80, 70, 104, 88)
    wave.lineTo(104, 96)
    wave.curveTo(80, 80, 40, 80, 16, 96)
    wave.close()
    c.drawPath(wave, stroke=0, fill=1)
    c.setFillColor(white)
    for bx, by, bw in ((52, 18, 22), (49, 31, 23), (46, 44, 24), (46, 57, 25), (49, 70, 26)):
        c.roundRect(bx, by, bw, 10, 5, stroke=0, fill=1)
    c.setStrokeColor(white)
    c.setLineWidth(4)
    c.setLineCap(1)
    for x0, x1, x2, x3 in ((38, 30, 30, 40), (86, 94, 94, 84)):
        c.bezier(x0, 24, x1, 40, x2, 60, x3, 76)
    c.restoreState()


def footer(c: Canvas, number: int, pages: int) -> None:
    c.setStrokeColor(ACCENT)
    c.setLineWidth(1.5)
    c.line(MARGIN, 72, WIDTH - MARGIN, 72)
    t = c.beginText(MARGIN, 58)
    t.setFillColor(GREY)
    t.setFont(REGULAR, 9.5)
    t.textLine(f"{CLINIC} · {PHONE} · {WEBSITE}")
    c.drawText(t)
    c.setFont(BOLD, 10.5)
    c.setFillColor(INK)
    c.drawRightString(WIDTH - MARGIN, 58, f"Page {number} of {pages}")


def first_page(page: Page, p: Patient) -> None:
    c = page.canvas
    logo(c, MARGIN, HEIGHT - MARGIN - 48, 48)
    page.y = HEIGHT - MARGIN - 6
    page.text([(CLINIC, True)], 17, x=110.6, colour=PRIMARY, after=0, leading=1.0)
    page.y -= 4
    page.text([(ADDRESS, False)], 10.5, x=110.6, colour=GREY, after=0, leading=1.35)
    page.text([(f"{PHONE} · {WEBSITE}", False)], 10.5, x=110.6, colour=GREY, after=10, leading=1.35)
    c.setStrokeColor(ACCENT)
    c.setLineWidth(2.5)
    c.line(MARGIN, page.y, WIDTH - MARGIN, page.y)
    page.y -= 10
    page.text([("Your walking plan", True)], 26, colour=PRIMARY, leading=1.15, after=6)
    details = (("For", p.name, True), ("From", f"{p.clinician}, {CLINIC}", False), ("Given on", long(p.issued), False), ("Starts on", long(p.start), False))
    t = c.beginText()
    t.setFillColor(INK)
    for label, value, bold in details:
        page.y -= 23
        t.setTextOrigin(MARGIN, page.y)
        t.setFont(BOLD, 14)
        t.textOut(label)
        t.setTextOrigin(144.6, page.y)
        t.setFont(BOLD if bold else REGULAR, 14)
        t.textOut(value)
    c.drawText(t)
    page.y -= 16
    summary = [
        (f"Walk {counted(p.minutes[0], 'minute')}, {counted(p.walks, 'day')} a week this week.", True),
        (f" Add about {counted(p.step, 'minute')} each week until you reach {counted(p.minutes[-1], 'minute')}.", False),
    ]
    page.text(summary, 16.1)
    page.text([("Walk at a pace where you can still talk.", False)], 14, after=14)
    bad_day = [("On a bad day:", True), (" if your pain is worse the day after a walk, repeat last week's time instead of moving up. Move up again when your back has settled.", False)]
    panel_top = page.y
    lines = wrap(bad_day, 14, TEXT_WIDTH - 28)
    c.setFillColor(PALE)
    c.setStrokeColor(PRIMARY)
    c.setLineWidth(1.5)
    c.rect(MARGIN, panel_top - len(lines) * 20 - 16, TEXT_WIDTH, len(lines) * 20 + 16, stroke=1, fill=1)
    page.y -= 8
    page.text(bad_day, 14, x=MARGIN + 14, width=TEXT_WIDTH - 28, after=16)
    warning(page)


def warning(page: Page) -> None:
    """The boxed 'stop and get advice' panel: a red band with a sign, then the article's warning signs."""
    c, top = page.canvas, page.y
    body = [
        "While walking is excellent for many people, it might not be the best option in every case. Avoid or pause walking if…",
        "These may be signs of a more serious spinal condition such as a herniated disc or nerve impingement. If you’re unsure, speak with a physical therapist or doctor before continuing.",
    ]
    bullets = ["Pain increases during or after your walk", "You experience numbness, tingling, or weakness in the legs", "Your lower back feels unstable or catches during movement"]
    height = 246
    c.setFillColor(PALE_RED)
    c.setStrokeColor(RED)
    c.setLineWidth(1.5)
    c.rect(MARGIN, top - height, TEXT_WIDTH, height, stroke=1, fill=1)
    c.setFillColor(RED)
    c.rect(MARGIN, top - 26, TEXT_WIDTH, 26, stroke=0, fill=1)
    sign = c.beginPath()
    sign.moveTo(MARGIN + 21, top - 6)
    sign.lineTo(MARGIN + 29, top - 20)
    sign.lineTo(MARGIN + 13, top - 20)
    sign.close()
    c.setFillColor(white)
    c.drawPath(sign, stroke=0, fill=1)
    page.y = top - 7
    page.text([("STOP AND GET ADVICE", True)], 14.5, x=84.0, colour=white, after=14, leading=1.0)
    page.text([("When Walking May Not Be Enough", True)], 18, x=MARGIN + 14, colour=RED, leading=1.2, after=4)
    page.text([(body[0], False)], 14, x=MARGIN + 14, width=TEXT_WIDTH - 28)
    page.bullets(bullets, 14, x=MARGIN + 14, width=TEXT_WIDTH - 28)
    page.text([(body[1], False)], 14, x=MARGIN + 14, width=TEXT_WIDTH - 28)


def second_page(page: Page, p: Patient) -> None:
    c = page.canvas
    page.text([("Your weekly times", True)], 18, colour=PRIMARY, leading=1.2, after=6)
    rows = [[("Week", True), ("Dates", True), ("Minutes a walk", True), ("Walks", True), ("Week total", True)]]
    for number, minutes in enumerate(p.minutes, 1):
        first = p.start + dt.timedelta(weeks=number - 1)
        last = first + dt.timedelta(days=6)
        rows.append([(str(number), False), (span(first, last, p.with_year), False), (str(minutes), True), (str(p.walks), False), (counted(minutes * p.walks, "minute"), False)])
    page.grid(rows, [46, 199, 97, 56, 112.2], 12.6, 24)
    qr_top = page.y - 4
    module, side = 2.2, len(qr_modules()) * 2.2
    c.saveState()
    c.setFillColor(INK)
    c.transform(side, 0, 0, side, MARGIN - QUIET_ZONE * module, qr_top + QUIET_ZONE * module - side)  # the dark modules where they were
    c.doForm(code_image(c, qr_modules()))  # a 1-bit image mask, as handout draws it
    c.restoreState()
    page.y = qr_top
    page.text([("Find out more", True)], 14.5, x=144.6, width=TEXT_WIDTH - 102, after=4)
    page.text([("Scan the code with your phone camera, or type this address:", False)], 14, x=144.6, width=TEXT_WIDTH - 102)
    page.text([(URL.split("://", 1)[1], True)], 14, x=144.6, width=TEXT_WIDTH - 102, colour=PRIMARY)
    page.text([("Questions? Call us on ", False), (PHONE, True), (".", False)], 14, x=144.6, width=TEXT_WIDTH - 102, after=18)
    page.text([(DISCLAIMER, False)], 12, colour=GREY)


DIARY_TITLE = "Your walking diary"
INSTRUCTIONS = (
    "Tick the box on each day you walk. Fill one circle for your pain and one for the minutes you walked. Score your pain from 0 (no pain) to 10 (the worst pain).",
    "To change a mark, cross out the wrong circle with a big X and fill the right circle in.",
    "Write your steps and notes by hand.",
)
LABELS = {"day": "Day", "walked": "Walked", "pain": "Pain", "minutes": "Minutes", "steps": "Steps", "notes": "Notes"}
DIARY_BOTTOM = 80  # points: where handout's body frame ends above its footer (the page code carries it)


@cache
def page_code_modules(text: str) -> tuple[tuple[bool, ...], ...]:
    """The page code's modules, top row first: version 3 at M with handout's fixed mask, as handout prints it, with
    handout's encoder (qrcode's modules, its symbol's layout worked out once): the least a new patient's code costs."""
    from qrcode.constants import ERROR_CORRECT_M

    from handout.render.page_code import encode

    return encode(text.encode("ascii"), QR_VERSION, ERROR_CORRECT_M, QR_MASK)


def circle_form(c: Canvas, offsets: tuple[tuple[float, float, float], ...]) -> str:
    """A day's row of circles drawn once as a form (offsets from the first centre), placed on every day as handout does."""
    name = f"FloorCircles{hash(offsets) & 0xFFFFFFFF:x}"
    if not c.hasForm(name):
        reach = max(size for *_, size in offsets)
        c.beginForm(name, min(x for x, *_ in offsets) - reach, -reach, max(x for x, *_ in offsets) + reach, reach)
        c.setStrokeColor(OUTLINE)
        c.setLineWidth(CIRCLE_LINE)
        path = c.beginPath()
        for x, y, size in offsets:
            path.circle(x, y, size / 2)
        c.drawPath(path, stroke=1, fill=0)
        c.endForm()
    return name


@cache
def geometry(shape: tuple[tuple[int, tuple[int, ...]], ...]) -> PageLayout:
    """A diary page's places (handout/diary/layout.py) for weeks of these numbers and circle values, worked out once:
    they do not depend on the patient's dates or exact minutes, so a canvas program drawing many patients keeps them."""
    any_monday = dt.date(2026, 1, 5)
    weeks = tuple(Week(number, any_monday, any_monday, 0, 0) for number, _ in shape)
    return weeks_layout(PageCode("a4", False, DIARY_BOTTOM, PlanRequest(), "", 1, 0), weeks, tuple(values for _, values in shape))


def diary_page(c: Canvas, p: Patient, index: int, pdf_page: int) -> None:
    """One machine-readable diary page at the geometry handout's reader expects: marks, page code, instructions, three weeks."""
    code = PageCode("a4", False, DIARY_BOTTOM, p.request(), plan_tag(p.name, p.issued), index, pdf_page)
    numbers = range(3 * index - 2, min(3 * index, p.weeks) + 1)
    layout = geometry(tuple((number, minutes_values(p.minutes[number - 1])) for number in numbers))
    c.setFillColor(black)
    for x0, y0, x1, y1 in layout.marks:
        c.rect(x0, y0, x1 - x0, y1 - y0, stroke=0, fill=1)
    x0, y0, x1, y1 = layout.qr
    c.saveState()
    c.transform(x1 - x0, 0, 0, y1 - y0, x0, y0)
    c.doForm(code_image(c, page_code_modules(code.text())))  # a 1-bit image mask, one module a pixel, as handout draws it
    c.restoreState()
    size = layout.sizes.text
    bx0, _, bx1, by1 = layout.band
    weeks = layout.weeks
    t = c.beginText(bx0, by1 - size * 1.2)
    t.setFillColor(INK)
    t.setFont(BOLD, size * 1.2)
    t.textOut(DIARY_TITLE + (f" · weeks {weeks[0].week.number} to {weeks[-1].week.number}" if len(weeks) > 1 else ""))
    t.setFont(REGULAR, size)
    y = by1 - size * 1.7
    beside_code, leading = layout.qr[1] - QR_QUIET * QR_MODULE, size * 1.15
    for text in INSTRUCTIONS:
        words = text.split()
        while words:
            width = (bx1 if y - leading > beside_code else weeks[0].heading[2]) - bx0
            line = words.pop(0)
            while words and pdfmetrics.stringWidth(f"{line} {words[0]}", REGULAR, size) <= width:
                line += " " + words.pop(0)
            y -= leading
            t.setTextOrigin(bx0, y)
            t.textOut(line + (" " if words else ""))
    for week in weeks:
        diary_week(c, t, p, week, size)
    c.drawText(t)


def diary_week(c: Canvas, t: PDFTextObject, p: Patient, week: WeekLayout, size: float) -> None:
    """A week: heading, header band with its words and the circles' numbers, day names, rules, walked boxes and circle rows."""
    number = week.week.number
    first = p.start + dt.timedelta(weeks=number - 1)
    hx0, hy0, _, hy1 = week.heading
    t.setFont(BOLD, size)
    t.setTextOrigin(hx0, hy1 - (hy1 - hy0 - size * 1.15) / 2 - size * 0.9)
    t.textOut(f"Week {number}: {span(first, first + dt.timedelta(days=6), p.with_year)}. Aim: {counted(p.walks, 'walk')} of {counted(p.minutes[number - 1], 'minute')}")
    x0, y0, x1, y1 = week.header
    c.setFillColor(HEADER_FILL)
    c.rect(x0, y0, x1 - x0, y1 - y0, stroke=0, fill=1)
    for key, (lx0, ly0, _, ly1) in week.labels:
        t.setTextOrigin(lx0 + 4, ly0 + (ly1 - ly0) / 2 - size * 0.35)
        t.textOut(LABELS[key])
    t.setFont(REGULAR, size)
    # Each circle's number on its own, as handout draws them: run together in one text object, '30' '40' read as '3040'.
    c.setFillColor(INK)
    c.setFont(REGULAR, size)
    for _field, value, (nx0, ny0, nx1, ny1) in week.numbers:
        c.drawCentredString((nx0 + nx1) / 2, ny0 + (ny1 - ny0) / 2 - size * 0.35, str(value))
    for cell, date in zip((cell for cell in week.cells if cell.field == "day"), (first + dt.timedelta(days=i) for i in range(7)), strict=True):
        cx0, cy0, _, cy1 = cell.rect
        t.setTextOrigin(cx0 + 4, cy0 + (cy1 - cy0) / 2 - size * 0.35)
        t.textOut(f"{date:%a} {date.day}")
    c.setStrokeColor(DIARY_RULE)
    c.setLineWidth(0.6)
    bottom = week.rows[-1][1]
    path = c.beginPath()
    for y in (y1, y0, *(r[1] for r in week.rows)):
        path.moveTo(x0, y)
        path.lineTo(x1, y)
    for x in week.columns:
        path.moveTo(x, bottom)
        path.lineTo(x, y1)
    c.drawPath(path, stroke=1, fill=0)
    c.setStrokeColor(INK)
    c.setLineWidth(1.2)
    c.line(x0, y0, x1, y0)
    c.setLineWidth(BOX_LINE)
    boxes = c.beginPath()
    rows: dict[dt.date, list[tuple[float, float, float]]] = {}
    for area in week.areas:
        cx, cy = area.centre
        if area.field == "walked":
            boxes.rect(cx - area.size / 2, cy - area.size / 2, area.size, area.size)
        else:
            rows.setdefault(area.date, []).append((cx, cy, area.size))
    c.drawPath(boxes, stroke=1, fill=0)
    for circles in rows.values():
        ox, oy, _ = circles[0]
        name = circle_form(c, tuple((round(x - ox, 3), round(y - oy, 3), round(d, 3)) for x, y, d in circles))
        c.saveState()
        c.translate(ox, oy)
        c.doForm(name)
        c.restoreState()


def draw_plan(p: Patient = DEFAULT) -> bytes:
    """The six pages as PDF bytes: two pages of plan, then the diary three weeks a page."""
    register_fonts()
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, invariant=1, pageCompression=1, initialFontName=REGULAR)
    c.setTitle("Your walking plan")
    c.setAuthor(CLINIC)
    pages = 2 + -(-p.weeks // 3)
    for number in range(1, pages + 1):
        page = Page(c)
        if number == 1:
            first_page(page, p)
        elif number == 2:
            second_page(page, p)
        else:
            diary_page(c, p, number - 2, number)
        footer(c, number, pages)
        c.showPage()
    c.save()
    return out.getvalue()


if __name__ == "__main__":
    with open(sys.argv[1] if len(sys.argv) > 1 else "floor.pdf", "wb") as target:
        target.write(draw_plan())
