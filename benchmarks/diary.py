"""Measures the diary reader on a fixed set of synthetic scans: `python benchmarks/diary.py [--quick]` prints accuracy and speed, writes JSON.

The scans are real plan pages with pen-like marks (tests/diary_scans.py) and a scanner's damage:
a turn of up to 5°, 94–100 % scale, a shift, blur, noise and JPEG. Per resolution it counts the
fields (walked, pain, minutes of every day) read as drawn, the ones read as unclear that were
clear, and the ones read confidently wrong (a value other than the one drawn, or a value where
the drawing was deliberately ambiguous): the goal is 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from diary_scans import degrade, fill_page, render_page  # noqa: E402

from handout.diary.align import place_page  # noqa: E402
from handout.diary.layout import diary_map_page  # noqa: E402
from handout.diary.marks import read_marks  # noqa: E402
from handout.service import Clinic, PlanForm, check_plan_form  # noqa: E402

FIELDS = ("walked", "pain", "minutes")


def plan_pages(folder: Path) -> tuple[Path, list[dict]]:
    order = check_plan_form(PlanForm(patient="Benchmark Patient", weeks="12", start_date="2026-01-05"), dt.date(2026, 1, 2))
    pdf, pages = Clinic(None).plan_with_diary(order, dt.date(2026, 1, 2))
    path = folder / "plan.pdf"
    path.write_bytes(pdf)
    return path, [diary_map_page(p) for p in pages]


def measure(dpi: int, seeds: range, plan: Path, pages: list[dict]) -> dict[str, float]:
    fields = correct = unclear = wrong = 0
    seconds: list[float] = []
    for seed in seeds:
        rng = random.Random(seed * 1000 + dpi)
        for page in pages:
            image = render_page(str(plan), page["page"], dpi)
            truth = fill_page(image, page, dpi, rng)
            scan = degrade(
                image, rng, rotate=rng.uniform(-5, 5), scale=rng.uniform(0.94, 1.0), shift=(rng.randrange(-40, 40), rng.randrange(-40, 40)),
                blur=rng.uniform(0.3, 1.2), noise=rng.uniform(0, 8), jpeg=rng.choice([None, 50, 80]), upside_down=rng.random() < 0.25,
            )
            pixels = np.asarray(scan, dtype=np.float32)
            start = time.perf_counter()
            placed = place_page(pixels)
            assert placed is not None
            days, _ = read_marks(pixels, placed)
            seconds.append(time.perf_counter() - start)
            for day in days:
                want = truth[day.date.isoformat()]
                for name in FIELDS:
                    fields += 1
                    if name in want.unclear:
                        correct += name in day.unclear
                        wrong += name not in day.unclear
                    elif name in day.unclear:
                        unclear += 1
                    elif getattr(day, name) == getattr(want, name):
                        correct += 1
                    else:
                        wrong += 1
    return {
        "fields": fields,
        "read_correctly_percent": round(100 * correct / fields, 2),
        "unclear_that_were_clear": unclear,
        "confidently_wrong": wrong,
        "seconds_per_page": round(sum(seconds) / len(seconds), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one filled copy of each page instead of four")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "diary-results.json")
    args = parser.parse_args()
    seeds = range(1) if args.quick else range(4)
    with tempfile.TemporaryDirectory() as folder:
        plan, pages = plan_pages(Path(folder))
        results = {"machine": f"{platform.machine()}, Python {platform.python_version()}, {platform.system()}", "date": dt.date.today().isoformat()}
        print(f"{'dpi':>4} {'fields':>7} {'correct %':>10} {'unclear':>8} {'wrong':>6} {'s/page':>7}")
        for dpi in (150, 200, 300):
            row = measure(dpi, seeds, plan, pages)
            results[f"grey_{dpi}_dpi"] = row
            print(f"{dpi:>4} {row['fields']:>7} {row['read_correctly_percent']:>10} {row['unclear_that_were_clear']:>8} {row['confidently_wrong']:>6} {row['seconds_per_page']:>7}")
    args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
