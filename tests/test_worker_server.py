"""`handout batch` starts the workers' fork server before the command line is read, unless the run plainly renders in its own process."""

from __future__ import annotations

import os
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


# A program that starts the server as `handout batch` does, with an exit handler of its own and one the server
# loads (markers.py), has a worker report its parent and what it inherited, and leaves.
_SERVED = """
import atexit, multiprocessing, os, sys, threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver, util
from handout import worker_server

def inherited():
    return os.getppid(), forkserver._forkserver._lock.locked(), util.spawnv_passfds.__module__

if __name__ == '__main__':  # the workers of a server started anew import this program
    atexit.register(lambda: open(os.environ["MARKS"], "a").write(f"batch {os.getpid()}\\n"))
    if sys.argv[1] == "thread":
        threading.Thread(target=threading.Event().wait, daemon=True).start()
    worker_server.PRELOAD = [*worker_server.PRELOAD, "markers"]
    worker_server.start_worker_server(fork_here=True)
    server = forkserver._forkserver._forkserver_pid
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        parent, locked, spawner = pool.submit(inherited).result()
    with open(f"/proc/{server}/cmdline", "rb") as handle:  # read once it has served: a new interpreter has started by then
        started_anew = b"-c" in handle.read().split(b"\\0")
    print(os.getpid(), server, started_anew, parent == server, locked, spawner)
"""
_MARKERS = """
import atexit, os
atexit.register(lambda: open(os.environ["MARKS"], "a").write(f"server {os.getpid()}\\n"))
"""


def _served(tmp_path: Path, how: str) -> tuple[int, bool, bool, bool, str]:
    """The server's process id, whether it is a new interpreter, whether it served the worker, whether the worker found
    multiprocessing's lock held, and the module of the worker's spawnv_passfds; checks that each process ran its own exit handlers."""
    program = tmp_path / "served.py"
    program.write_text(_SERVED, encoding="utf-8")
    (tmp_path / "markers.py").write_text(_MARKERS, encoding="utf-8")
    said = tmp_path / "said.txt"
    env = {**os.environ, "MARKS": str(tmp_path / "marks.txt")}
    with said.open("w") as stdout:  # not a pipe: a server that never left would hold it open, and the test would wait on it
        subprocess.run([sys.executable, str(program), how], stdout=stdout, timeout=120, check=True, env=env, cwd=tmp_path)
    batch, server, started_anew, served, locked, spawner = said.read_text().split()
    assert _gone(int(server))  # it holds no end of the pipe that tells it the batch has left
    # Each ran its own exit handlers, once: the server those of what it loaded, not the batch's.
    assert sorted((tmp_path / "marks.txt").read_text().splitlines()) == [f"batch {batch}", f"server {server}"]
    return int(server), started_anew == "True", served == "True", locked == "True", spawner


def _gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/status").read_text().find("State:\tZ") >= 0:
            return True
        time.sleep(0.05)
    return False


def test_the_batch_forks_its_server_which_serves_the_workers_and_leaves_with_the_batch(tmp_path: Path) -> None:
    _, started_anew, served, locked, spawner = _served(tmp_path, "alone")
    assert not started_anew  # this process forked, not a new interpreter
    assert served  # the worker was forked from that server
    assert (locked, spawner) == (False, "multiprocessing.util")  # nothing of the fork's moment left: no lock held, no stand-in


def test_a_process_with_threads_starts_a_new_server_as_before(tmp_path: Path) -> None:
    _, started_anew, served, locked, _ = _served(tmp_path, "thread")
    assert started_anew and served and not locked
