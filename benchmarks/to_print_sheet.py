"""Measures the to-print sheet of a long list: how many parts, how long, and the peak memory, for N rows to print.

`python benchmarks/to_print_sheet.py [--rows 100000]` makes the sheet (to-print-list-N.pdf, in parts of
printing.SHEET_ROWS) for N made-up entries, as a batch does after its plans are merged, in a temporary
folder, and prints the number of parts, the time and the process's peak RSS. Only the sheet is made:
the plans and to-print-N.pdf files it lists are named, not rendered.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from handout.batch import Reporter, _with_sheet
from handout.brand import load_brand
from handout.pipeline import Renderer
from handout.printing import PLANS_PER_FILE, PrintEntry, ToPrint


@dataclass(frozen=True)
class Row:
    """What the sheet reads from a patient row: the name."""

    name: str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    entries = tuple(
        PrintEntry(i + 2, f"P{i:06d}", f"to-print-{i // PLANS_PER_FILE + 1}.pdf", f"{(i % PLANS_PER_FILE) * 4 + 1}-{(i % PLANS_PER_FILE) * 4 + 4}")
        for i in range(rows)
    )
    names = {i + 2: Row(f"Patient Name {i}") for i in range(rows)}
    with tempfile.TemporaryDirectory() as folder:
        files = tuple(Path(folder) / f"to-print-{k + 1}.pdf" for k in range(-(-rows // PLANS_PER_FILE)))
        started = time.monotonic()
        made = _with_sheet(Renderer(load_brand(), "a4"), ToPrint(files, rows * 4, entries), names, dt.date(2026, 12, 4), Reporter())  # type: ignore[arg-type]
        seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{rows:,} rows: {len(made.sheets)} sheet parts in {seconds:.0f} s, peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
