"""Measures handout's speed, sizes and memory: `python benchmarks/run.py [--quick]` prints a table and writes JSON (handout against its floors: compare.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handout.api import render_leaflet, render_plan  # noqa: E402

ISSUED = dt.date(2026, 11, 27)


def median_ms(function, runs: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def write_patients(path: Path, count: int) -> None:
    names = ["Jane Doe", "Zoë O'Brien-Smith", "Łukasz Żółć", "Σοφία Παπαδοπούλου", "José Ñúñez"]
    lines = ["name,patient_id,email,consent_email,start_minutes,weeks"]
    for i in range(count):
        lines.append(f'"{names[i % 5]} {i}",P{i:05d},p{i}@example.org,{"yes" if i % 3 else "no"},{5 + i % 10},12')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def tree_memory_bytes(pid: int) -> int:
    """Memory of a process and all its descendants (Linux /proc), as proportional set size.

    PSS splits pages shared between processes (Python, ReportLab, fonts) among
    them, so the sum is what the batch really occupies; summed RSS counts
    shared pages once per worker.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, []))
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
        except OSError:
            continue  # it ended between the two looks
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
    return total


def batch_in_subprocess(csv_path: Path, out_dir: Path, workers: int) -> tuple[float, int]:
    """Wall time and peak memory (whole process tree) of `handout batch`."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "handout", "batch", str(csv_path), "--out-dir", str(out_dir), "--workers", str(workers)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak = 0

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, tree_memory_bytes(process.pid))
            time.sleep(0.2)  # sampling costs CPU the batch would otherwise use

    sampler = threading.Thread(target=sample)
    sampler.start()
    process.wait()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"handout batch failed with exit code {process.returncode}")
    return time.perf_counter() - start, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the 10,000-row memory run")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {cores} cores, Python {platform.python_version()}, {platform.system()}",
        "date": dt.date.today().isoformat(),
    }

    # Whole-process time first, while nothing else this script does has warmed or loaded the machine.
    script = Path(sys.executable).with_name("handout")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "handout"]
    with tempfile.TemporaryDirectory() as scratch:
        times = []
        for _ in range(9):
            start = time.perf_counter()
            subprocess.run([*command, "leaflet", "-o", str(Path(scratch) / "leaflet.pdf")], cwd=scratch, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        results["leaflet_whole_process_s"] = statistics.median(times)

    def plan() -> bytes:
        return render_plan(patient="Jane Doe", clinician="Sam Lee", start_date=dt.date(2026, 12, 7), issued=ISSUED)

    leaflet_pdf = render_leaflet()
    plan_pdf = plan()
    results["leaflet_ms"] = median_ms(render_leaflet, runs=40)
    results["plan_ms"] = median_ms(plan, runs=40)
    results["leaflet_kb"] = round(len(leaflet_pdf) / 1024, 1)
    results["plan_kb"] = round(len(plan_pdf) / 1024, 1)

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)

        patients = work / "patients-1000.csv"
        write_patients(patients, 1000)
        for workers in sorted({1, cores}):
            seconds, peak = batch_in_subprocess(patients, work / f"out-{workers}", workers)
            results[f"batch_1000_workers_{workers}_s"] = seconds
            results[f"batch_1000_workers_{workers}_plans_per_s"] = 1000 / seconds
            results[f"batch_1000_workers_{workers}_peak_mb"] = peak / 2**20
        if not args.quick:
            big = work / "patients-10000.csv"
            write_patients(big, 10_000)
            seconds, peak = batch_in_subprocess(big, work / "out-10000", cores)
            results["batch_10000_s"] = seconds
            results["batch_10000_peak_mb"] = peak / 2**20

    rows = [
        ("leaflet, in-process (median of 40)", f"{results['leaflet_ms']:.1f} ms", "≤ 22 ms (guidance)"),
        ("plan, in-process (median of 40)", f"{results['plan_ms']:.1f} ms", "≤ 15 ms"),
        ("handout leaflet, whole process (median of 9)", f"{results['leaflet_whole_process_s']:.2f} s", "≤ 0.4 s"),
        ("leaflet PDF size", f"{results['leaflet_kb']} KB", "≤ 60 KB"),
        ("plan PDF size (12 weeks)", f"{results['plan_kb']} KB", "≤ 60 KB"),
    ]
    for workers in sorted({1, cores}):
        rows.append((f"batch of 1,000 plans, {workers} worker(s)", f"{results[f'batch_1000_workers_{workers}_s']:.1f} s = {results[f'batch_1000_workers_{workers}_plans_per_s']:.0f} plans/s, peak {results[f'batch_1000_workers_{workers}_peak_mb']:.0f} MB", "≥ 100 plans/s on all cores"))
    if "batch_10000_s" in results:
        rows.append(("batch of 10,000 plans, all cores", f"{results['batch_10000_s']:.1f} s, peak {results['batch_10000_peak_mb']:.0f} MB", "≤ 200 MB peak"))
    width = max(len(r[0]) for r in rows)
    print(f"handout benchmarks on {results['machine']}, {results['date']}")
    for name, value, goal in rows:
        print(f"  {name:<{width}}  {value:<40}  goal {goal}")
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
