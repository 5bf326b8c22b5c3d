"""`handout batch` starts the workers' fork server before the command line is read, unless the run plainly renders in its own process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from handout import worker_server


@pytest.mark.parametrize(
    ("args", "starts"),
    [
        (["patients.csv"], True),
        (["patients.csv", "--workers", "2"], True),
        (["patients.csv", "--workers=3", "--send"], True),
        (["patients.csv", "--workers", "1"], False),
        (["--workers=1", "patients.csv"], False),
        (["patients.csv", "--help"], False),
        (["-h"], False),
        (["patients.csv", "--workers", "two"], True),  # Typer says what is wrong; the server only started early for nothing
        (["--", "--workers", "1"], True),  # after "--" it is a file name
    ],
)
def test_the_server_starts_early_unless_one_worker_or_help(args: list[str], starts: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[bool] = []
    monkeypatch.setattr(worker_server, "start_worker_server", lambda **_: started.append(True))
    monkeypatch.setattr(worker_server.os, "cpu_count", lambda: 2)
    worker_server.start_for_batch_command(args)
    assert started == ([True] if starts else [])


def test_one_core_and_no_workers_option_renders_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[bool] = []
    monkeypatch.setattr(worker_server, "start_worker_server", lambda **_: started.append(True))
    monkeypatch.setattr(worker_server.os, "cpu_count", lambda: 1)
    worker_server.start_for_batch_command(["patients.csv"])
    assert started == []


# A program that starts the server as `handout batch` does, has a worker report its parent, and leaves.
_SERVED = """
import multiprocessing, os, sys, threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver
from handout.worker_server import start_worker_server

if __name__ == '__main__':  # the workers of a server started anew import this program
    if sys.argv[1] == "thread":
        threading.Thread(target=threading.Event().wait, daemon=True).start()
    start_worker_server(fork_here=True)
    server = forkserver._forkserver._forkserver_pid
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        worker_parent = pool.submit(os.getppid).result()
    with open(f"/proc/{server}/cmdline", "rb") as handle:  # read once it has served: a new interpreter has started by then
        started_anew = b"-c" in handle.read().split(b"\\0")
    print(server, started_anew, worker_parent == server)
"""


def _served(tmp_path: Path, how: str) -> tuple[int, bool, bool]:
    program = tmp_path / "served.py"
    program.write_text(_SERVED, encoding="utf-8")
    said = tmp_path / "said.txt"
    with said.open("w") as stdout:  # not a pipe: a server that never left would hold it open, and the test would wait on it
        subprocess.run([sys.executable, str(program), how], stdout=stdout, timeout=120, check=True)
    server, started_anew, served = said.read_text().split()
    return int(server), started_anew == "True", served == "True"


def _gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/status").read_text().find("State:\tZ") >= 0:
            return True
        time.sleep(0.05)
    return False


def test_the_batch_forks_its_server_which_serves_the_workers_and_leaves_with_the_batch(tmp_path: Path) -> None:
    server, started_anew, served = _served(tmp_path, "alone")
    assert not started_anew  # this process forked, not a new interpreter
    assert served  # the worker was forked from that server
    assert _gone(server)  # it holds no end of the pipe that tells it the batch has left


def test_a_process_with_threads_starts_a_new_server_as_before(tmp_path: Path) -> None:
    server, started_anew, served = _served(tmp_path, "thread")
    assert started_anew and served
    assert _gone(server)
