"""The command ends without the interpreter's teardown, yet as Python would end it: exit handlers run, output flushed, the exit code kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Ends through handout.__main__._leave with an object whose teardown would say so, an exit handler, and unflushed output.
_ENDING = """
import atexit, sys, threading
from handout.__main__ import _leave

class Witness:
    def __del__(self):
        print(" torn down", end="")

witness = Witness()
atexit.register(print, " handlers ran", end="")
if sys.argv[1] == "thread":
    threading.Thread(target=threading.Event().wait, daemon=True).start()
print("written", end="")
_leave(None if sys.argv[2] == "none" else int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2])
"""


@pytest.mark.parametrize(("code", "exit_code"), [("0", 0), ("3", 3), ("none", 0)])
def test_a_command_ends_with_its_handlers_run_its_output_written_and_no_teardown(code: str, exit_code: int) -> None:
    done = subprocess.run([sys.executable, "-c", _ENDING, "alone", code], capture_output=True, text=True, timeout=60)
    assert (done.stdout, done.returncode) == ("written handlers ran", exit_code)


def test_with_another_thread_running_the_process_ends_the_usual_way() -> None:
    done = subprocess.run([sys.executable, "-c", _ENDING, "thread", "3"], capture_output=True, text=True, timeout=60)
    assert (done.stdout, done.returncode) == ("written handlers ran torn down", 3)


def test_a_message_as_exit_code_ends_the_usual_way() -> None:
    done = subprocess.run([sys.executable, "-c", _ENDING, "alone", "stopped"], capture_output=True, text=True, timeout=60)
    assert (done.stdout, done.stderr, done.returncode) == ("written handlers ran torn down", "stopped\n", 1)


def test_a_batch_leaves_no_multiprocessing_folder_behind(tmp_path: Path) -> None:
    patients_csv = tmp_path / "patients.csv"
    patients_csv.write_text("name,patient_id\nAna Ruiz,P1\nBen Ode,P2\nCai Lin,P3\n", encoding="utf-8")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    done = subprocess.run(
        [sys.executable, "-m", "handout", "batch", str(patients_csv), "--out-dir", str(tmp_path / "plans"), "--workers", "2"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Every row's outcome" in done.stdout  # the summary, flushed
    assert list(temp.iterdir()) == []  # the fork server's socket folder, removed by multiprocessing's exit handler
