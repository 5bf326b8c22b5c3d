"""Measures `handout serve` under the issue's flood: 1,100 connections that send half a request, while staff open the sign-in page.

`python benchmarks/web_flood.py [connections]` starts the server on a free loopback port with its default limits,
opens the connections from 127.0.0.2–127.0.0.9 (all this computer), times 20 sign-in pages from 127.0.0.1 meanwhile,
and reports those times, how many of the idle connections the server closed, and how large its log grew.
Run it with enough open files for the connections (`ulimit -n 4096`). Nothing leaves this computer.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HALF_A_REQUEST = b"GET /sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sign_in_page(port: int) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=30) as response:
        response.read()
    return time.perf_counter() - start


def main(connections: int) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "serve.log"
        with log_path.open("w") as log:
            server = subprocess.Popen([sys.executable, "-m", "handout", "serve", "--port", str(port), "--data-dir", folder], stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:
                try:
                    sign_in_page(port)
                    break
                except OSError:
                    time.sleep(0.2)
            quiet = [sign_in_page(port) for _ in range(20)]

            def half_a_request(n: int) -> socket.socket:
                connection = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(f"127.0.0.{2 + n % 8}", 0))
                connection.sendall(HALF_A_REQUEST)
                return connection

            start = time.perf_counter()
            with ThreadPoolExecutor(32) as pool:
                idle = list(pool.map(half_a_request, range(connections)))
            opened = time.perf_counter() - start
            during = [sign_in_page(port) for _ in range(20)]
            closed = 0
            for connection in idle:
                connection.settimeout(0)
                try:
                    closed += connection.recv(1) == b""
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    closed += 1
                connection.close()
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
        log_bytes = os.path.getsize(log_path)
    print(f"sign-in page, quiet: median {statistics.median(quiet) * 1000:.1f} ms, slowest {max(quiet) * 1000:.1f} ms")
    print(f"{connections:,} half-requests opened in {opened:.1f} s; sign-in page meanwhile: median {statistics.median(during) * 1000:.1f} ms, slowest {max(during) * 1000:.1f} ms")
    print(f"idle connections the server had closed by then: {closed:,} of {connections:,}; its log: {log_bytes:,} bytes")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1100)
