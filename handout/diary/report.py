"""The diary report as a document: the weeks, the chart, the adherence sentence, and crops of what a person must look at."""

from __future__ import annotations

import datetime as dt
import io

from handout.diary.layout import PageLayout, Rect
from handout.diary.reading import DiaryReading, PageRead
from handout.diary.sampling import upright_crop
from handout.diary.summary import adherence, week_summaries
from handout.document import Cell, Chart, Document, Heading, Keep, Masthead, Paragraph, Picture, Span, Table, Title

CROP_PIXELS_PER_MM = 6
FIELD_NAMES = {"walked": "walked box", "pain": "pain", "minutes": "minutes", "steps": "steps", "notes": "notes"}


def _text(words: str, bold: bool = False) -> tuple[Span, ...]:
    return (Span(words, bold),)


def _date(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _png(page: PageRead, rect: Rect) -> tuple[bytes, float]:
    from PIL import Image

    pixels = upright_crop(page.pixels, page.placed, rect, margin_mm=1.0, pixels_per_mm=CROP_PIXELS_PER_MM)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", optimize=True)
    return buffer.getvalue(), pixels.shape[1] / CROP_PIXELS_PER_MM


def _row_rect(layout: PageLayout, day: dt.date) -> Rect:
    for week in layout.weeks:
        for date, row in zip(week.week.days(), week.rows):
            if date == day:
                return row
    raise KeyError(day)


def report_document(reading: DiaryReading, made: dt.date) -> Document:
    """The report's blocks; numbers and images only, never advice."""
    r = reading.code.request
    summaries = week_summaries(reading)
    done, planned = adherence(summaries)
    blocks: list = [Masthead(), Title(_text("Walking diary: what was read"))]
    found = ", ".join(str(p.placed.code.pdf_page) for p in reading.pages)
    intro = (
        f"Plan starting {_date(r.start_date)}: {r.weeks} weeks, {r.walks_per_week} walks a week, "
        f"{r.start_minutes} building up to {r.target_minutes} minutes a walk. Read on {_date(made)} from the diary pages {found} of the plan."
    )
    blocks.append(Paragraph(_text(intro)))
    if reading.missing:
        blocks.append(Paragraph(_text("Diary pages not in the scans: " + ", ".join(str(m) for m in reading.missing) + " (their days are not counted).")))
    if reading.skipped:
        skipped = "; ".join(f"{s.file} page {s.page} ({s.reason})" for s in reading.skipped)
        blocks.append(Paragraph(_text(f"Pages skipped: {skipped}.")))
    blocks.append(Paragraph(_text(f"Walked on {done} of {planned} planned days in the weeks read.", bold=True), "summary"))
    unclear_days = [d for d in reading.days if d.unclear]
    if unclear_days:
        blocks.append(Paragraph(_text(f"{sum(len(d.unclear) for d in unclear_days)} marks could not be read for certain; they are shown below to check by eye, and left out of the numbers.")))

    blocks.append(Heading(1, _text("Week by week")))
    rows = [tuple(Cell(_text(t)) for t in ("Week", "Dates", "Walks (done of planned)", "Minutes (walked of aim)", "Average pain", "Unclear"))]
    for s in summaries:
        rows.append(
            tuple(
                Cell(_text(t))
                for t in (
                    str(s.week.number),
                    f"{s.week.start_date.day} {s.week.start_date:%b} – {s.week.end_date.day} {s.week.end_date:%b}",
                    f"{s.walks} of {s.planned}",
                    f"{s.minutes} of {s.aim}",
                    "–" if s.pain is None else f"{s.pain:g}",
                    str(s.unclear),
                )
            )
        )
    blocks.append(Table(tuple(rows), 1, (8, 24, 20, 22, 14, 12), "grid", "Walks, minutes and pain each week"))
    alt = (
        "Chart: minutes walked each week as bars beside the plan's aim, and average pain each week as a line on a scale of 0 to 10. "
        "The numbers are in the table above."
    )
    blocks.append(
        Chart(
            tuple(f"W{s.week.number}" for s in summaries),
            tuple(s.minutes for s in summaries),
            tuple(s.aim for s in summaries),
            tuple(s.pain for s in summaries),
            alt,
            ("Minutes walked", "Aim", "Average pain (0–10, right)"),
        )
    )

    blocks.append(Heading(1, _text("Marks to check by eye")))
    if not unclear_days:
        blocks.append(Paragraph(_text("None: every mark was read.")))
    for page in reading.pages:
        for day in page.days:
            if not day.unclear:
                continue
            fields = ", ".join(FIELD_NAMES[f] for f in day.unclear)
            png, width = _png(page, _row_rect(page.placed.layout, day.date))
            picture = Picture(png, width, f"The diary's row for {_date(day.date)} as scanned ({fields} unclear)")
            blocks.append(Keep((Paragraph(_text(f"{_date(day.date)}: {fields}", bold=True)), picture)))

    blocks.append(Heading(1, _text("Steps and notes written")))
    written = [(page, day) for page in reading.pages for day in page.days if day.written]
    if not written:
        blocks.append(Paragraph(_text("None.")))
    for page, day in written:
        for cell in page.placed.layout.cells:
            if cell.date == day.date and cell.field in day.written:
                png, width = _png(page, cell.rect)
                picture = Picture(png, width, f"The {cell.field} written for {_date(day.date)}, as scanned")
                blocks.append(Keep((Paragraph(_text(f"{_date(day.date)}: {cell.field}", bold=True)), picture)))
    return Document(title="Walking diary report", subject="Walking diary: what was read", keywords=("walking diary", "report"), lang="en", blocks=tuple(blocks))

