"""The batch floor: a plain multiprocessing Pool calling handout.api.render_plan for each row of a patient list and writing PATIENT_ID.pdf.

`python benchmarks/plain_pool.py patients.csv OUT_DIR WORKERS`; benchmarks/compare.py runs it against `handout batch` on the same list.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from multiprocessing import Pool
from pathlib import Path


def render(job: tuple[dict[str, str], str]) -> int:
    from handout.api import render_plan

    row, out_dir = job
    pdf = render_plan(patient=row["name"], start_minutes=int(row["start_minutes"]), weeks=int(row["weeks"]), issued=dt.date.today())
    (Path(out_dir) / f"{row['patient_id']}.pdf").write_bytes(pdf)
    return len(pdf)


def preload() -> None:
    import handout.api  # noqa: F401  (each worker pays its imports once, before the first plan)


def main() -> None:
    patients, out_dir, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    out_dir.mkdir(parents=True, exist_ok=True)
    with patients.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with Pool(workers, initializer=preload) as pool:
        sum(pool.imap(render, [(row, str(out_dir)) for row in rows], chunksize=1))


if __name__ == "__main__":
    main()
