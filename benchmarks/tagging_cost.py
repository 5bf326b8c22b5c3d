"""Measures what tagging costs: renders the leaflet and a 12-week plan with this tree and with the last untagged commit, alternating, in one run.

`python benchmarks/tagging_cost.py [--runs 40]` checks the untagged commit out into a
temporary git worktree, renders both in separate processes taking turns (so machine noise
hits both alike), and prints the median render time and the size of each document.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNTAGGED = "f0d2f55"  # the last commit before tagging (28 November 2026)

# Runs inside a child process with the tree to measure first on sys.path.
MEASURE = r"""
import datetime as dt, json, sys, time
sys.path.insert(0, sys.argv[1])
from handout.brand import load_brand
from handout.content import load_article
from handout.pipeline import Patient, Renderer
from handout.plan import PlanRequest, build_plan
renderer = Renderer(load_brand(None))
renderer.prepare()
article = load_article()
schedule = build_plan(PlanRequest(start_date=dt.date(2026, 11, 30), weeks=12))
jobs = {
    "leaflet": lambda: renderer.leaflet(article),
    "plan12": lambda: renderer.plan(Patient("Jane Doe", "Sam Lee"), schedule, article, dt.date(2026, 11, 27)),
}
out = {}
for name, job in jobs.items():
    for _ in range(3):
        pdf = job()
    times = []
    for _ in range(int(sys.argv[2])):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    out[name] = {"times": times, "bytes": len(pdf)}
print(json.dumps(out))
"""


def measure(tree: Path, runs: int) -> dict[str, dict[str, object]]:
    result = subprocess.run([sys.executable, "-c", MEASURE, str(tree), str(runs)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="renders per document per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each measuring both trees in turn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        before_tree = Path(folder) / "untagged"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(before_tree), UNTAGGED], check=True)
        try:
            samples: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
            sizes: dict[str, dict[str, int]] = {"before": {}, "after": {}}
            for _ in range(args.rounds):
                for label, tree in (("before", before_tree), ("after", ROOT)):
                    for name, data in measure(tree, args.runs).items():
                        samples[label].setdefault(name, []).extend(data["times"])  # type: ignore[arg-type]
                        sizes[label][name] = int(data["bytes"])  # type: ignore[call-overload]
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before_tree)], check=True)
    print(f"{'document':<10} {'untagged ms':>12} {'tagged ms':>10} {'time':>7} {'untagged B':>11} {'tagged B':>9} {'size':>7}")
    for name in samples["after"]:
        before_ms = statistics.median(samples["before"][name]) * 1000
        after_ms = statistics.median(samples["after"][name]) * 1000
        before_b, after_b = sizes["before"][name], sizes["after"][name]
        print(f"{name:<10} {before_ms:>12.1f} {after_ms:>10.1f} {after_ms / before_ms - 1:>+7.0%} {before_b:>11} {after_b:>9} {after_b / before_b - 1:>+7.0%}")


if __name__ == "__main__":
    main()
