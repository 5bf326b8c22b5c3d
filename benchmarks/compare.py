"""handout against its floors, in one interleaved run: `python benchmarks/compare.py [--quick]` prints medians and ratios.

  plan      a 10- to 12-week plan (6 pages) from handout.api.render_plan vs benchmarks/floor.py drawing the
            same pages with plain canvas calls: in this process, taking turns in shuffled order, CPU time;
            a different patient each round (name, dates, minutes, walks, weeks: floor.varied_patients),
            both sides drawing that round's patient, as a clinic renders them; then the same patient
            every round (what a reprint costs, every per-patient cache hit), labelled as such
  start     `handout leaflet` as a whole process vs benchmarks/bare_start.py (bare ReportLab, two TTF
            pages): shuffled, CPU time of the child (user + system) and wall time
  batch     `handout batch` vs benchmarks/plain_pool.py (a plain Pool calling the same render and writing
            the same plans), same list, same number of workers: shuffled, wall time (and the CPU time of
            every process each starts, which a busy machine disturbs less)
  web       `handout serve` answering plan form → PDF download at concurrency 1 and 4: plans/s, latency

Every figure is a median over rounds, and the ratios are what to compare between machines and
runs; absolute times depend on the machine and on what else runs on it (the load average is
printed). `--quick` skips batch and web; `--web-only` and `--batch-only` run that part alone.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import http.cookiejar
import os
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

import floor  # noqa: E402

from handout.api import render_plan  # noqa: E402


def interleaved(jobs: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Each job once per round, in a fresh random order each round, so the machine's mood hits all alike; the median of each."""
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    order = list(jobs)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            samples[name].append(jobs[name]())
    return {name: statistics.median(values) for name, values in samples.items()}


def cpu_seconds(function: Callable[[], object]) -> Callable[[], float]:
    def timed() -> float:
        start = time.process_time()
        function()
        return time.process_time() - start

    return timed


def plan_against_floor(rounds: int, seed: int | None = None) -> dict[str, float]:
    """Handout's render and the floor's drawing of one plan; with a seed, each round's patient differs from every other's."""
    patients = floor.varied_patients(seed) if seed is not None else iter(lambda: floor.DEFAULT, None)
    patient = floor.DEFAULT

    def handout_plan() -> bytes:
        return render_plan(**floor.plan_options(patient))  # type: ignore[arg-type]

    def floor_plan() -> bytes:
        return floor.draw_plan(patient)

    def next_patient() -> float:
        nonlocal patient
        patient = next(patients)
        return 0.0

    warm = floor.varied_patients(-1 if seed is None else seed + 1)  # other patients than the timed ones
    for _ in range(5):  # fonts, templates, QR and caches ready on both sides: the steady state a batch or a server sees
        patient = next(warm)
        handout_plan(), floor_plan()
    patient = floor.DEFAULT
    handout_plan(), floor_plan()
    samples: dict[str, list[float]] = {"handout": [], "floor": []}
    jobs = {"handout": cpu_seconds(handout_plan), "floor": cpu_seconds(floor_plan)}
    order = list(jobs)
    for _ in range(rounds):
        next_patient()  # both sides draw this round's patient, in a fresh random order
        random.shuffle(order)
        for name in order:
            samples[name].append(jobs[name]())
    return {name: statistics.median(values) for name, values in samples.items()}


def child_times(command: list[str], cwd: Path) -> tuple[float, float]:
    """CPU seconds (user + system) and wall seconds of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {process.returncode}")
    return usage.ru_utime + usage.ru_stime, wall


def bare_fonts() -> list[str]:
    """The two Atkinson Hyperlegible files the bare script draws with, found here so its timed process need not look."""
    import fontpkg

    return [str(fontpkg.path("Atkinson Hyperlegible", weight, "normal")) for weight in (400, 700)]


def start_against_bare(rounds: int, scratch: Path) -> dict[str, float]:
    script = Path(sys.executable).with_name("handout")
    handout = [str(script)] if script.exists() else [sys.executable, "-m", "handout"]
    commands = {"handout": [*handout, "leaflet", "-o", str(scratch / "leaflet.pdf")], "bare": [sys.executable, str(HERE / "bare_start.py"), str(scratch / "bare.pdf"), *bare_fonts()]}
    walls: dict[str, list[float]] = {name: [] for name in commands}

    def job(name: str) -> Callable[[], float]:
        def run() -> float:
            cpu, wall = child_times(commands[name], scratch)
            walls[name].append(wall)
            return cpu

        return run

    for name in commands:
        child_times(commands[name], scratch)  # the page cache warm for both
    cpu = interleaved({name: job(name) for name in commands}, rounds)
    return {**{f"{name}_cpu": value for name, value in cpu.items()}, **{f"{name}_wall": statistics.median(values) for name, values in walls.items()}}


def write_patients(path: Path, count: int) -> None:
    """A list of plans to print (no email): every plan rendered, written and merged into to-print files."""
    names = ["Jane Doe", "Zoë O'Brien-Smith", "Łukasz Żółć", "Σοφία Παπαδοπούλου", "José Ñúñez"]
    lines = ["name,patient_id,start_minutes,weeks"] + [f'"{names[i % 5]} {i}",P{i:05d},{5 + i % 10},12' for i in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def tree_times(command: list[str], cwd: Path) -> tuple[float, float]:
    """CPU seconds (user + system) of a child and of every process under it, and its wall seconds.

    A batch's fork server and workers are not the batch's to wait for; this process is made their
    subreaper, so they are handed to it when their parent ends and their time is counted here too.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if process.wait() != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {process.returncode}")
    wall = time.perf_counter() - start
    while True:  # the orphans, once they end
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, wall


def batch_against_pool(rows: int, workers: int, rounds: int, scratch: Path) -> dict[str, float]:
    patients = scratch / "patients.csv"
    write_patients(patients, rows)
    runs = iter(range(10**6))
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: see tree_times
    cpu: dict[str, list[float]] = {"batch": [], "pool": []}

    def command(name: str) -> list[str]:
        out = scratch / f"{name}-{next(runs)}"
        if name == "batch":
            return [sys.executable, "-m", "handout", "batch", str(patients), "--out-dir", str(out), "--workers", str(workers)]
        return [sys.executable, str(HERE / "plain_pool.py"), str(patients), str(out), str(workers)]

    def job(name: str) -> Callable[[], float]:
        def run() -> float:
            seconds, wall = tree_times(command(name), scratch)
            cpu[name].append(seconds)
            return wall

        return run

    walls = interleaved({name: job(name) for name in ("batch", "pool")}, rounds)
    return {**walls, **{f"{name}_cpu": statistics.median(values) for name, values in cpu.items()}}


def print_batch(batch: dict[str, float], args: argparse.Namespace) -> None:
    print(f"batch, {args.rows} plans to print, {args.workers} workers, wall median of {args.batch_rounds}:")
    print(f"  handout batch {batch['batch']:.2f} s   plain pool {batch['pool']:.2f} s   ratio {batch['batch'] / batch['pool']:.2f}x   (goal ≤ 1.1x)")
    print(f"  CPU of all their processes: handout batch {batch['batch_cpu']:.2f} s   plain pool {batch['pool_cpu']:.2f} s   ratio {batch['batch_cpu'] / batch['pool_cpu']:.2f}x")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def pss_mb(pid: int) -> float:
    """A process's proportional set size: its share of the memory it uses, shared pages divided among their users."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0
    return int(rollup.split("\nPss:")[1].split()[0]) / 1024


def descendants(pid: int) -> list[int]:
    """Every process started by `pid`, and by those (the server's fork server and render workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
            except OSError:
                continue
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def web_throughput(plans: int, concurrency_levels: tuple[int, ...], scratch: Path, rounds: int = 4) -> dict[str, float]:
    """Plans a second and the median and 95th-percentile time from submitting the form to the PDF, at each concurrency (`plans` each, in `rounds`)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "handout", "serve", "--port", str(port), "--data-dir", str(scratch / "web")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # "handout is serving …" is printed just before uvicorn listens: wait for the port itself
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("handout serve did not start") from None
                time.sleep(0.1)

        def desk(count: int, latencies: list[float]) -> None:
            """One person at the front desk: their own session, one plan after another."""
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirects())
            token = re.search(r'name="csrf" value="([0-9a-f]+)"', opener.open(f"{base}/plan").read().decode()).group(1)  # type: ignore[union-attr]
            for number in range(count):
                start = time.perf_counter()
                form = urllib.parse.urlencode({"csrf": token, "patient": f"Jane Doe {number}", "weeks": "12"}).encode()
                try:
                    opener.open(f"{base}/plan", form)
                    raise SystemExit("the plan form did not answer with a redirect")
                except urllib.error.HTTPError as redirect:
                    location = redirect.headers["location"]
                pdf = opener.open(urllib.parse.urljoin(base, f"{location}/pdf"), urllib.parse.urlencode({"csrf": token, "action": "download"}).encode()).read()
                latencies.append(time.perf_counter() - start)
                assert pdf.startswith(b"%PDF")

        def desk_at(concurrency: int, count: int, latencies: list[float]) -> None:
            """`count` plans made by `concurrency` people at once, each their share."""
            threads = [threading.Thread(target=desk, args=(count // concurrency, latencies)) for _ in range(concurrency)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        desk(3, [])  # warm: templates compiled, fonts loaded
        for concurrency in concurrency_levels:
            desk_at(concurrency, concurrency, [])  # every render worker warm too
        # In rounds, the levels taking turns (in alternating order), so a change in the machine's load
        # between them falls on both: the ratio compares like with like.
        latencies: dict[int, list[float]] = {c: [] for c in concurrency_levels}
        elapsed = dict.fromkeys(concurrency_levels, 0.0)
        for number in range(rounds):
            for concurrency in concurrency_levels if number % 2 == 0 else concurrency_levels[::-1]:
                start = time.perf_counter()
                desk_at(concurrency, plans // rounds, latencies[concurrency])
                elapsed[concurrency] += time.perf_counter() - start
        results: dict[str, float] = {}
        for concurrency in concurrency_levels:
            results[f"c{concurrency}_plans_per_s"] = len(latencies[concurrency]) / elapsed[concurrency]
            results[f"c{concurrency}_median_ms"] = statistics.median(latencies[concurrency]) * 1000
            results[f"c{concurrency}_p95_ms"] = statistics.quantiles(latencies[concurrency], n=20)[-1] * 1000
        if Path("/proc/self/smaps_rollup").exists():  # Linux: the memory the render workers add, beside the server's own
            results["server_pss_mb"] = pss_mb(server.pid)
            results["workers_pss_mb"] = sum(pss_mb(pid) for pid in descendants(server.pid))
        return results
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the plan and start-up comparisons")
    parser.add_argument("--web-only", action="store_true", help="only the web throughput at concurrency 1 and 4")
    parser.add_argument("--batch-only", action="store_true", help="only the batch comparison")
    parser.add_argument("--rounds", type=int, default=60, help="renders of each side for the plan comparison")
    parser.add_argument("--seed", type=int, default=18, help="seed of the plan comparison's patients (floor.varied_patients)")
    parser.add_argument("--starts", type=int, default=11, help="whole processes of each side for the start-up comparison")
    parser.add_argument("--rows", type=int, default=120, help="rows of the batch comparison's patient list")
    parser.add_argument("--batch-rounds", type=int, default=2, help="runs of each side for the batch comparison")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"handout vs its floors: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {dt.date.today()}, load average {load:.1f} at start")
    if load > (os.cpu_count() or 1) * 0.5:
        print("  (the machine is busy: the ratios are indicative; compare runs made under the same load)")
    if args.web_only:
        with tempfile.TemporaryDirectory() as folder:
            print_web(web_throughput(80, (1, 4), Path(folder)))
        return
    if args.batch_only:
        with tempfile.TemporaryDirectory() as folder:
            print_batch(batch_against_pool(args.rows, args.workers, args.batch_rounds, Path(folder)), args)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        return

    plan = plan_against_floor(args.rounds, args.seed)
    print(f"plan, 10-12 weeks, 6 pages, in-process, CPU median of {args.rounds}, a different patient each round (seed {args.seed}):")
    print(f"  handout.api.render_plan {plan['handout'] * 1000:6.1f} ms   canvas floor {plan['floor'] * 1000:6.1f} ms   ratio {plan['handout'] / plan['floor']:.2f}x   (goal ≤ 1.5x)")
    same = plan_against_floor(args.rounds)
    print(f"plan, repeated patient (the same plan every round: a reprint, every per-patient cache hit), CPU median of {args.rounds}:")
    print(f"  handout.api.render_plan {same['handout'] * 1000:6.1f} ms   canvas floor {same['floor'] * 1000:6.1f} ms   ratio {same['handout'] / same['floor']:.2f}x")

    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        start = start_against_bare(args.starts, scratch)
        print(f"start, whole process, median of {args.starts}:")
        print(f"  handout leaflet   CPU {start['handout_cpu']:.3f} s  wall {start['handout_wall']:.3f} s")
        print(f"  bare ReportLab    CPU {start['bare_cpu']:.3f} s  wall {start['bare_wall']:.3f} s")
        print(f"  ratio             CPU {start['handout_cpu'] / start['bare_cpu']:.2f}x   wall {start['handout_wall'] / start['bare_wall']:.2f}x   (goal ≤ 2x)")
        if args.quick:
            return

        print_batch(batch_against_pool(args.rows, args.workers, args.batch_rounds, scratch), args)

        print_web(web_throughput(80, (1, 4), scratch))


def print_web(web: dict[str, float]) -> None:
    print(f"web, plan form → PDF download, 80 plans at each concurrency in 4 rounds taking turns (load average {os.getloadavg()[0]:.1f} after):")
    for concurrency in (1, 4):
        print(f"  concurrency {concurrency}: {web[f'c{concurrency}_plans_per_s']:5.1f} plans/s   median {web[f'c{concurrency}_median_ms']:5.0f} ms   p95 {web[f'c{concurrency}_p95_ms']:5.0f} ms")
    print(f"  concurrency 4 ÷ 1 throughput {web['c4_plans_per_s'] / web['c1_plans_per_s']:.2f}x   (goal about 2x on 2 cores)")
    if "server_pss_mb" in web:
        print(f"  memory (PSS) after: server {web['server_pss_mb']:.0f} MB, its render workers and fork server {web['workers_pss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
