"""Regenerates the README's pictures of the diary read back: `python tests/readme_diary_pictures.py` (a filled, scanned page and the report)."""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
from pathlib import Path

import pypdfium2
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from diary_scans import PEN, Pen, degrade, fill_page, render_page  # noqa: E402

from handout.diary.layout import diary_map_page  # noqa: E402
from handout.diary.reading import read_diary  # noqa: E402
from handout.service import Clinic, PlanForm, check_plan_form  # noqa: E402

OUT = ROOT / "assets" / "readme"


def main() -> None:
    today = dt.date(2026, 1, 2)
    clinic = Clinic(None)
    order = check_plan_form(PlanForm(patient="Jane Doe", weeks="6", start_date="2026-01-05"), today)
    pdf, pages = clinic.plan_with_diary(order, today)
    with tempfile.TemporaryDirectory() as folder:
        plan = Path(folder) / "plan.pdf"
        plan.write_bytes(pdf)
        rng = random.Random(12)
        scans = []
        for number, layout in enumerate(pages):
            image = render_page(str(plan), layout.code.pdf_page, 150)
            fill_page(image, diary_map_page(layout), 150, rng)
            pen = Pen(image, layout.height, 150, rng)
            for cell in layout.cells[3::5]:  # a steps number or a note on some days
                if cell.field != "day":
                    pen.scribble(cell.rect, PEN["ballpoint"], 2)
            scan = degrade(image, rng, rotate=-2.5, scale=0.97, blur=0.6, noise=4, jpeg=75)
            path = Path(folder) / f"scan{number + 1}.png"
            scan.save(path)
            scans.append(path)
        first = Image.open(scans[0])
        first.resize((first.width * 2 // 5, first.height * 2 // 5)).save(OUT / "diary-filled-scan.png", optimize=True)
        report = clinic.diary_report(read_diary(scans), dt.date(2026, 2, 16))
    document = pypdfium2.PdfDocument(report)
    for index in range(min(2, len(document))):
        document[index].render(scale=60 / 72).to_pil().save(OUT / f"diary-report-page{index + 1}.png", optimize=True)


if __name__ == "__main__":
    main()
