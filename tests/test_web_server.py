"""`handout serve` as a process: restarting at once on the same port, connections that never finish, and who counts as which computer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from browser import free_port


def start_serving(data_dir: Path, port: int, env: dict[str, str] | None = None, *extra: str) -> subprocess.Popen[str]:
    """`handout serve` on `port`, started as a user starts it, once it answers (its output goes to serve.log beside `data_dir`)."""
    log = (data_dir.parent / "serve.log").open("a", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "handout", "serve", "--port", str(port), "--data-dir", str(data_dir), *extra],
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log.close()
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"handout serve did not start: {(data_dir.parent / 'serve.log').read_text()}") from None
            time.sleep(0.1)


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)  # Ctrl-C
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


@contextmanager
def serving(data_dir: Path, port: int, env: dict[str, str] | None = None, *extra: str) -> Iterator[subprocess.Popen[str]]:
    process = start_serving(data_dir, port, env, *extra)
    try:
        yield process
    finally:
        if process.poll() is None:
            stop(process)


def fetch_and_wait_for_hang_up(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def test_serve_starts_again_at_once_on_the_same_port_after_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    for _ in range(2):
        process = start_serving(data, port)
        # A page asked for with "Connection: close" and read until the server hangs up: the server's side
        # of the connection then waits (TIME_WAIT) for a minute, and a port check that cannot share the
        # port with it fails until then.
        assert fetch_and_wait_for_hang_up(port, "/plan").startswith(b"HTTP/1.1 200 ")
        assert stop(process) == 0
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert "already in use" not in log and log.count("handout stopped serving.") == 2
