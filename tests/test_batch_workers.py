"""A batch's render workers start from a fork server that has loaded ReportLab, handout and the fonts once, and they render the same bytes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pikepdf
from typer.testing import CliRunner

from handout import batch
from handout.cli import app


# A program that starts the worker server as `handout batch` does, in a process of its own: the server is the
# process's one fork server, so in the test process it may already be another test's (the web page's, with other preloads).
_NEW_WORKER = """
import json, multiprocessing, sys
from concurrent.futures import ProcessPoolExecutor
from handout import worker_server

def what_a_new_worker_has():
    # Run in a freshly forked worker, before it has done anything of its own.
    from handout.render import fonts

    return {
        "preloaded": "handout.worker_preload" in sys.modules,
        "reportlab": "reportlab.platypus" in sys.modules and "handout.render.pdf" in sys.modules,
        "fonts": fonts.register_fonts.cache_info().currsize == 1 and fonts.register_face.cache_info().currsize >= 1,
        # ReportLab's web-address pattern, deferred (lazy_patterns.py) when the server imported ReportLab, not compiled since.
        "patterns deferred": getattr(sys.modules["reportlab.platypus.paragraph"].uri_pat, "_compiled", "compiled at import") is None,
    }

if __name__ == "__main__":
    worker_server.start_worker_server(fork_here=sys.argv[1] == "forked")
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        print(json.dumps(pool.submit(what_a_new_worker_has).result()))
"""


def test_workers_start_with_reportlab_handout_and_the_fonts_loaded(tmp_path: Path) -> None:
    program = tmp_path / "new_worker.py"
    program.write_text(_NEW_WORKER, encoding="utf-8")
    for how in ("forked", "started"):  # the server as `handout batch` makes it, and as a program with threads gets it
        done = subprocess.run([sys.executable, str(program), how], capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"preloaded": True, "reportlab": True, "fonts": True, "patterns deferred": True}, how


def test_plans_from_preloaded_workers_are_byte_identical_to_plans_made_in_one_process(tmp_path: Path) -> None:
    names = ["Jane Doe", "Σοφία Παπαδοπούλου", "Łukasz Żółć", "Ana García"]
    patients = tmp_path / "patients.csv"
    patients.write_text(
        "name,patient_id,weeks,language,large_print\n" + "".join(f'"{n}",P{i},{(1, 12, 4, 26)[i]},{"es" if i == 3 else ""},{"yes" if i == 2 else ""}\n' for i, n in enumerate(names)),
        encoding="utf-8",
    )
    made = {}
    for workers in ("1", "2"):
        out = tmp_path / f"workers-{workers}"
        result = CliRunner().invoke(app, ["batch", str(patients), "--out-dir", str(out), "--workers", workers])
        assert result.exit_code == 0, result.output
        made[workers] = {path.name: path.read_bytes() for path in sorted(out.glob("*.pdf"))}
    assert len(made["1"]) == len(names) + 2  # the plans, to-print.pdf and its sheet
    assert made["1"] == made["2"]


def test_ctrl_c_mid_batch_leaves_whole_plans_only_and_the_rerun_finishes_the_list(tmp_path: Path) -> None:
    """Stopped while two workers render and the to-print file is being built: no half-written file, no partial to-print file."""
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id,weeks\n" + "".join(f"Patient {i},P{i:03d},12\n" for i in range(60)), encoding="utf-8")
    out = tmp_path / "plans"
    command = [sys.executable, "-m", "handout", "batch", str(patients), "--out-dir", str(out), "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("P*.pdf"))) < 5:  # under way: plans made, the first to-print file half built in memory
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode() if process.stderr else ""
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole group, workers too, as in a terminal
        process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode != 0
    assert not list(out.glob(".*.part")) and not list(out.glob("to-print*"))
    made = sorted(out.glob("P*.pdf"))
    assert 5 <= len(made) < 60
    for plan in made:
        with pikepdf.open(plan) as opened:
            assert len(opened.pages) == 6

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert len(list(out.glob("P*.pdf"))) == 60
    with pikepdf.open(out / "to-print-1.pdf") as first, pikepdf.open(out / "to-print-2.pdf") as second:
        assert len(first.pages) + len(second.pages) == 60 * 6


def test_a_parallel_batch_never_loads_the_fallback_fonts_in_its_own_process(tmp_path: Path) -> None:
    """Names are checked against the fonts' kept coverage, templates are only compiled, and the to-print sheet is drawn by a worker: no font is loaded here."""
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id,weeks\nJane Doe,P1,1\nΣοφία Παπαδοπούλου,P2,1\nAna García,P3,1\n", encoding="utf-8")
    program = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from handout.batch import BatchOptions, run_batch\n"
        f"result = run_batch(BatchOptions(Path({str(patients)!r}), out_dir=Path({str(tmp_path / 'plans')!r}), workers=2, data_dir=Path({str(tmp_path / 'data')!r})), os.environ)\n"
        "assert result.ok and result.to_print_files is not None and result.to_print_files.sheet is not None, result\n"
        "from reportlab.pdfbase import pdfmetrics\n"
        "print(sorted(pdfmetrics.getRegisteredFontNames()))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # the fonts (a Greek name's Noto Sans, about 10 MB) only in the workers


def test_a_batch_whose_worker_processes_cannot_start_renders_in_its_own_process(tmp_path: Path) -> None:
    """A TMPDIR too long for the fork server's socket (AF_UNIX paths end at 108 bytes): one warning line, every plan made, no traceback."""
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id,weeks\nJane Doe,P1,1\nAna García,P2,1\n", encoding="utf-8")
    deep = tmp_path / ("t" * 60) / ("m" * 60)
    deep.mkdir(parents=True)
    env = {**os.environ, "TMPDIR": str(deep), "XDG_DATA_HOME": str(tmp_path / "data")}
    out = tmp_path / "plans"
    done = subprocess.run([sys.executable, "-m", "handout", "batch", str(patients), "--out-dir", str(out), "--workers", "2"], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot start worker processes" in done.stderr
    assert sorted(path.name for path in out.glob("P*.pdf")) == ["P1.pdf", "P2.pdf"]
    assert (out / "to-print.pdf").is_file() and (out / "to-print-list.pdf").is_file()


def test_a_to_print_sheet_whose_worker_cannot_start_is_drawn_in_this_process(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The plans are made by then: a worker that cannot be forked for the sheet (no processes left) must not lose the sheet or the run's summary.

    The second run keeps every plan the first made, so it starts its workers only for the sheet, and that start fails.
    """
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id,weeks\nJane Doe,P1,1\nAna García,P2,1\nBen Bold,P3,1\n", encoding="utf-8")
    options = batch.BatchOptions(patients, out_dir=tmp_path / "plans", workers=2, data_dir=tmp_path / "data")
    first = batch.run_batch(options, os.environ)
    sheet = (tmp_path / "plans" / "to-print-list.pdf").read_bytes()
    starts = batch.start_worker_server

    def start_unless_for_the_sheet() -> None:
        if sys._getframe(1).f_code.co_name == "_started":
            raise OSError(11, "Resource temporarily unavailable")  # EAGAIN, as fork gives at the process limit
        starts()

    monkeypatch.setattr(batch, "start_worker_server", start_unless_for_the_sheet)
    again = batch.run_batch(options, os.environ)
    assert first.rendered == again.kept == [2, 3, 4]
    assert again.ok and again.to_print_files is not None and again.to_print_files.sheet is not None, again
    assert (tmp_path / "plans" / "to-print-list.pdf").read_bytes() == sheet  # drawn here, the same sheet


def test_a_long_sheet_is_drawn_once_the_render_workers_have_left_and_is_the_same_sheet(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Drawn beside the render workers, a long sheet's memory added to theirs (the 10,000-row run's peak): it gets a worker of its own after them."""
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id,weeks\nJane Doe,P1,1\nAna García,P2,1\nBen Bold,P3,1\n", encoding="utf-8")
    seen: list[dict[str, object]] = []
    draw = batch.RenderWorkers.sheet

    def watched(self: batch.RenderWorkers, *args: object) -> bytes | None:
        renderers = list(self._pool._processes.values()) if self._pool is not None else []  # type: ignore[union-attr]
        drawn = draw(self, *args)
        sheet_pool = list(self._pool._processes.values()) if self._pool is not None else []  # type: ignore[union-attr]
        seen.append({"renderers": len(renderers), "renderers alive": sum(p.is_alive() for p in renderers), "sheet workers": len(sheet_pool),
                     "own worker": not {p.pid for p in sheet_pool} & {p.pid for p in renderers}, "while finishing": False})  # fmt: skip
        return drawn

    soon = batch.RenderWorkers.sheet_soon

    def watched_soon(self: batch.RenderWorkers, *args: object) -> object:
        started = soon(self, *args)
        if started is not None:  # drawn now, beside the render workers, while this process finishes the to-print files
            renderers = list(self._pool._processes.values())  # type: ignore[union-attr]
            seen.append({"renderers": len(renderers), "renderers alive": sum(p.is_alive() for p in renderers), "sheet workers": len(renderers), "own worker": False, "while finishing": True})
        return started

    monkeypatch.setattr(batch.RenderWorkers, "sheet", watched)
    monkeypatch.setattr(batch.RenderWorkers, "sheet_soon", watched_soon)
    sheets = []
    for beside in (1_000, 2):  # three rows: beside the render workers, then "long"
        monkeypatch.setattr(batch, "SHEET_ROWS_BESIDE_RENDERERS", beside)
        options = batch.BatchOptions(patients, out_dir=tmp_path / f"plans-{beside}", workers=2, data_dir=tmp_path / f"data-{beside}")
        result = batch.run_batch(options, os.environ)
        assert result.ok and result.to_print_files is not None and result.to_print_files.sheet is not None, result
        sheets.append(result.to_print_files.sheet.read_bytes())
    # A short sheet is started as the last plan is in, and drawn while this process writes the last to-print file;
    # started so, it is never drawn a second time (the files written are those it lists).
    assert seen[0] == {"renderers": 2, "renderers alive": 2, "sheet workers": 2, "own worker": False, "while finishing": True}
    assert seen[1] == {"renderers": 2, "renderers alive": 0, "sheet workers": 1, "own worker": True, "while finishing": False}
    assert len(seen) == 2
    assert sheets[0] == sheets[1]


def test_the_batchs_own_process_never_reads_a_plan_back_to_merge_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each worker hands over its plan to print read already, from the objects its writer kept: here they are only copied."""
    from handout import plan_merging

    def refused(pdf: bytes) -> None:
        raise AssertionError("the batch's process read a plan file back to merge it")

    monkeypatch.setattr(plan_merging, "objects_in", refused)
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id,weeks\nJane Doe,P1,1\nΣοφία Παπαδοπούλου,P2,3\nAna García,P3,1\n", encoding="utf-8")
    result = batch.run_batch(batch.BatchOptions(patients, out_dir=tmp_path / "plans", workers=2, data_dir=tmp_path / "data"), os.environ)
    assert result.ok and result.to_print == [2, 3, 4] and result.to_print_files is not None
    pages = []
    for key in ("P1", "P2", "P3"):
        with pikepdf.open(tmp_path / "plans" / f"{key}.pdf") as plan:
            pages.append(len(plan.pages) + len(plan.pages) % 2)  # each plan starts on a new sheet
    with pikepdf.open(tmp_path / "plans" / "to-print.pdf") as merged:
        assert len(merged.pages) == sum(pages)
