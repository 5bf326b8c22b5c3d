"""The journal's lazy writes (a row's state, a plan's record): committed in batches or with the next write that may not be lost, never left behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pikepdf
import pytest

from handout.errors import HandoutError
from handout.journal import LAZY_WRITES, Journal


def committed(folder: Path, table: str) -> int:
    """Rows another connection sees: only what was committed."""
    with sqlite3.connect(folder / "handout-journal.sqlite") as reader:
        return reader.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_a_lazy_write_is_committed_with_the_next_write_that_may_not_be_lost(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.mark("P1", 1, "rendered", lazily=True)
        journal.mark("P1", 1, "to_print", lazily=True)
        assert committed(tmp_path, "rows") == 0
        journal.mark_sending("fingerprint", "P2", "<id@example.org>")  # an email about to go: never lazily, and it takes the lazy ones with it
        assert committed(tmp_path, "rows") == 1 and committed(tmp_path, "deliveries") == 1


def test_an_email_record_after_a_failed_lazy_write_is_still_committed_at_once(tmp_path: Path) -> None:
    """A lazy write that fails after its transaction began leaves the transaction open: the email's record must still not wait in it."""
    with Journal(tmp_path) as journal:
        with pytest.raises(HandoutError):
            journal.mark("P1", object(), "rendered", lazily=True)  # type: ignore[arg-type]  # SQLite cannot bind it: fails inside the transaction
        journal.mark_sending("fingerprint", "P2", "<id@example.org>")
        assert committed(tmp_path, "deliveries") == 1  # a crash now must not lose that P2's email may have gone


def test_lazy_writes_are_committed_in_batches_and_on_close(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    for n in range(LAZY_WRITES):
        journal.mark(f"P{n}", n, "to_print", lazily=True)
    assert committed(tmp_path, "rows") == LAZY_WRITES
    journal.mark("P-last", LAZY_WRITES, "to_print", lazily=True)
    assert committed(tmp_path, "rows") == LAZY_WRITES
    journal.close()
    assert committed(tmp_path, "rows") == LAZY_WRITES + 1


def test_plans_to_print_killed_mid_batch_are_all_made_and_listed_by_the_rerun(tmp_path: Path) -> None:
    """kill -9 loses the lazy writes since the last commit: the re-run makes those plans again, and the to-print file has every plan once."""
    patients = tmp_path / "patients.csv"
    count = 40
    patients.write_text("name,patient_id,weeks\n" + "".join(f"Patient {i},P{i:03d},1\n" for i in range(count)), encoding="utf-8")
    out = tmp_path / "plans"
    command = [sys.executable, "-m", "handout", "batch", str(patients), "--out-dir", str(out), "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("P*.pdf"))) < 8:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert 8 <= len(list(out.glob("P*.pdf"))) < count

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    listed = (out / "to-print.txt").read_text(encoding="utf-8").splitlines()[1:]
    assert sorted(line.split("\t")[0] for line in listed) == [f"P{i:03d}" for i in range(count)]
    with pikepdf.open(out / "to-print.pdf") as merged:
        assert len(merged.pages) == count * 4  # each 1-week plan's 3 pages and its blank back
