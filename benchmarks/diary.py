"""Measures the diary reader on a fixed set of synthetic scans: `python benchmarks/diary.py [--quick]` prints accuracy and speed, writes JSON.

The scans are real plan pages with pen-like marks (tests/diary_scans.py), copied three ways:
- grey: a scanner's copy, a turn of up to 5°, 94–100 % scale, a shift, blur, noise and JPEG, a quarter upside down;
- black and white: a fax or a scanner's "text" mode, turned and shrunk as above, then every pixel black or white;
- phone: a photo held over the page, its top seen narrower (perspective), turned up to 3°, blurred, noisy, JPEG.
Per kind and resolution it counts the fields (walked, pain, minutes of every day) read as drawn,
the ones read as unclear that were clear, and the ones read confidently wrong (a value other than
the one drawn, or a value where the drawing was deliberately ambiguous): the goal is 0.
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
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from diary_scans import degrade, fill_page, render_page  # noqa: E402

from handout.diary.align import PageProblem, place_page  # noqa: E402
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


def damaged(kind: str, image: Image.Image, rng: random.Random) -> Image.Image:
    """The page as one kind of copy makes it, every setting drawn from `rng` (so a seed gives the same scans)."""
    if kind == "grey":
        return degrade(
            image, rng, rotate=rng.uniform(-5, 5), scale=rng.uniform(0.94, 1.0), shift=(rng.randrange(-40, 40), rng.randrange(-40, 40)),
            blur=rng.uniform(0.3, 1.2), noise=rng.uniform(0, 8), jpeg=rng.choice([None, 50, 80]), upside_down=rng.random() < 0.25,
        )  # fmt: skip
    if kind == "bw":
        return degrade(
            image, rng, rotate=rng.uniform(-5, 5), scale=rng.uniform(0.94, 1.0), shift=(rng.randrange(-40, 40), rng.randrange(-40, 40)),
            blur=rng.uniform(0.0, 0.6), threshold=True, upside_down=rng.random() < 0.25,
        )  # fmt: skip
    if kind == "phone":
        return degrade(
            image, rng, rotate=rng.uniform(-3, 3), perspective=rng.uniform(0.01, 0.03), blur=rng.uniform(0.6, 1.4),
            noise=rng.uniform(3, 8), jpeg=rng.choice([50, 70]), upside_down=rng.random() < 0.25,
        )  # fmt: skip
    raise ValueError(kind)


KINDS = {"grey": "grey", "bw": "black and white", "phone": "phone"}


def measure(kind: str, dpi: int, seeds: range, plan: Path, pages: list[dict]) -> dict[str, float]:
    fields = correct = unclear = wrong = unread = 0
    seconds: list[float] = []
    for seed in seeds:
        rng = random.Random(seed * 1000 + dpi)
        for page in pages:
            image = render_page(str(plan), page["page"], dpi)
            truth = fill_page(image, page, dpi, rng)
            scan = damaged(kind, image, rng)
            pixels = np.asarray(scan, dtype=np.float32)
            start = time.perf_counter()
            try:
                placed = place_page(pixels)
            except PageProblem:
                placed = None
            if placed is None:  # a page the reader cannot place is reported, not read: its fields count as not read as drawn
                unread += 1
                fields += len(truth) * len(FIELDS)
                continue
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
        "pages_not_found": unread,
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
        print(f"{'copy':>16} {'dpi':>4} {'fields':>7} {'correct %':>10} {'unclear':>8} {'wrong':>6} {'s/page':>7}")
        for kind, name in KINDS.items():
            for dpi in (150, 200, 300):
                row = measure(kind, dpi, seeds, plan, pages)
                results[f"{kind}_{dpi}_dpi"] = row
                print(f"{name:>16} {dpi:>4} {row['fields']:>7} {row['read_correctly_percent']:>10} {row['unclear_that_were_clear']:>8} {row['confidently_wrong']:>6} {row['seconds_per_page']:>7}", flush=True)  # fmt: skip
    args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
