"""`handout serve` as a process: restarting at once on the same port, connections that never finish, and who counts as which computer."""

from __future__ import annotations

import io
import logging
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import uvicorn
from browser import free_port
from test_web import PASSWORD, Clock, front_desk

from handout.web.app import create_app
from handout.web.connections import ConnectionLimits, limits_from
from handout.web.log_lines import LineBudget
from handout.web.pages import TOO_MANY_ATTEMPTS
from handout.web.server import server_config, trusted_proxies
from handout.web.sessions import MAX_WAITING_PER_ADDRESS


def start_serving(data_dir: Path, port: int, env: dict[str, str] | None = None, *extra: str, open_files: int | None = None) -> subprocess.Popen[str]:
    """`handout serve` on `port`, started as a user starts it, once it answers (its output goes to serve.log beside `data_dir`).

    `open_files`: how many files the process may open at most (as a system with a low limit would allow).
    """
    log = (data_dir.parent / "serve.log").open("a", encoding="utf-8")

    def limit_open_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    process = subprocess.Popen(
        [sys.executable, "-m", "handout", "serve", "--port", str(port), "--data-dir", str(data_dir), *extra],
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=limit_open_files,
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
def serving(data_dir: Path, port: int, env: dict[str, str] | None = None, *extra: str, open_files: int | None = None) -> Iterator[subprocess.Popen[str]]:
    process = start_serving(data_dir, port, env, *extra, open_files=open_files)
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


# -- connections that never finish (issue 14 item 9) ---------------------------------------

HALF_A_REQUEST = b"GET /sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\n"  # the blank line that ends it never comes


def test_connections_that_never_finish_their_request_neither_block_others_nor_flood_the_log(tmp_path: Path) -> None:
    port = free_port()
    env = {"HANDOUT_WEB_MAX_CONNECTIONS": "24", "HANDOUT_WEB_REQUEST_SECONDS": "2"}
    # 200 open files at most: without limits of its own, the server runs out of them ("Too many open files").
    with serving(tmp_path / "data", port, env, open_files=200):

        def half_a_request(n: int) -> socket.socket:
            # From this computer's usual address and from four others (every 127.x is this computer).
            source = "127.0.0.1" if n % 2 else f"127.0.0.{2 + n % 4}"
            connection = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
            connection.sendall(HALF_A_REQUEST)
            return connection

        idle: list[socket.socket] = []
        try:
            with ThreadPoolExecutor(16) as pool:  # (at once, as an attack would: one by one waits on the listening queue)
                idle += pool.map(half_a_request, range(200))
            # Staff pages still open, from the same address as half the idle ones.
            for _ in range(10):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=10) as response:
                    assert response.status == 200
            # Every idle connection is closed by the server: made room for, or timed out.
            deadline = time.monotonic() + 30
            for connection in idle:
                connection.settimeout(max(0.1, deadline - time.monotonic()))
                answer = b""
                try:
                    while chunk := connection.recv(4096):
                        answer += chunk
                except ConnectionResetError:
                    pass  # closed with what it had sent unread: a reset rather than an orderly close
                assert answer == b"" or answer.startswith(b"HTTP/1.1 503 "), answer[:80]
        finally:
            for connection in idle:
                connection.close()
        # A form whose body stops coming is cut off too, and is no error of handout's.
        with socket.create_connection(("127.0.0.1", port), timeout=15) as slow:
            slow.sendall(b"POST /plan HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\npatient=J")
            assert slow.recv(4096) == b""
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=10) as response:
            assert response.status == 200
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert "Too many open files" not in log and "Traceback" not in log and "unexpected" not in log
    assert len(log) < 20_000, len(log)
    assert "too many connections" in log  # said, within the log's budget


def test_the_log_writes_at_most_so_many_lines_a_minute_and_says_how_many_it_held_back() -> None:
    clock = Clock()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(LineBudget(most=50, most_of_a_kind=5, clock=clock))
    logger = logging.getLogger("test.flood")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for _ in range(10_000):  # a flood of the same error, each with its traceback
            try:
                raise OSError(24, "Too many open files")
            except OSError:
                logger.exception("socket.accept() out of system resource")
        for n in range(100):
            logger.error("request %d", n)  # the same kind: one message, whatever its arguments
        clock.now += 60
        logger.error("a minute later")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert out.getvalue().count("Traceback") == 1 and len(out.getvalue()) < 3_000
    assert sum(line == "socket.accept() out of system resource" for line in lines) == 5
    assert sum(line.startswith("request ") for line in lines) == 5
    assert "request 0  (9,995 log lines before this one were not written: too many a minute)" in lines
    assert lines[-1] == "a minute later  (95 log lines before this one were not written: too many a minute)"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HANDOUT_WEB_MAX_CONNECTIONS": "lots"}, "HANDOUT_WEB_MAX_CONNECTIONS must be a whole number from 4 to 100000, not 'lots'"),
        ({"HANDOUT_WEB_MAX_CONNECTIONS": "2"}, "HANDOUT_WEB_MAX_CONNECTIONS must be a whole number from 4 to 100000, not '2'"),
        ({"HANDOUT_WEB_REQUEST_SECONDS": "0"}, "HANDOUT_WEB_REQUEST_SECONDS must be a number of seconds from 0.1 to 600, not '0'"),
    ],
)
def test_a_bad_limit_setting_is_one_line(env: dict[str, str], message: str) -> None:
    from handout.errors import UsageError

    with pytest.raises(UsageError) as raised:
        limits_from(env)
    assert raised.value.message == message


def test_limits_leave_room_for_the_servers_own_files() -> None:
    assert ConnectionLimits(256).within(1024).max_connections == 256 and ConnectionLimits(256).within(256).max_connections == 96
    assert ConnectionLimits(24).within(1_048_576).max_connections == 24
    assert ConnectionLimits(24).per_address == 8 and ConnectionLimits(256).per_address == 32


# -- who is which computer: forwarded headers (issue 14 item 10) ---------------------------


@contextmanager
def served_in_thread(tmp_path: Path, proxies: tuple[str, ...]) -> Iterator[str]:
    """The app behind the server's own uvicorn settings, in this process, signed-in pages guarded by PASSWORD, wrong guesses waiting half a second."""
    desk = front_desk(tmp_path / "data", Clock(), password=PASSWORD)
    desk.sessions.wrong_password_delay = 0.5
    port = free_port()
    server = uvicorn.Server(server_config(create_app(desk.clinic, desk.data_dir, desk=desk), "127.0.0.1", port, ConnectionLimits(), proxies))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def wrong_guesses_in_parallel(url: str, count: int) -> list[tuple[int, str, str]]:
    """`count` wrong sign-ins at once, each from its own browser claiming its own address in X-Forwarded-For: (status, Retry-After, page)."""
    openers = []
    tokens = []
    for _ in range(count):
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        with opener.open(f"{url}/sign-in", timeout=10) as page:
            tokens.append(re.search(r'name="csrf" value="([0-9a-f]+)"', page.read().decode()).group(1))  # type: ignore[union-attr]
        openers.append(opener)
    start = threading.Barrier(count)
    results: list[tuple[int, str, str]] = [(0, "", "")] * count

    def guess(n: int) -> None:
        body = f"csrf={tokens[n]}&password=wrong+guess+{n}".encode()
        request = urllib.request.Request(f"{url}/sign-in", data=body, headers={"X-Forwarded-For": f"198.51.100.{n + 1}"})
        start.wait()
        try:
            with openers[n].open(request, timeout=30) as response:
                results[n] = (response.status, "", response.read().decode())
        except urllib.error.HTTPError as answer:
            results[n] = (answer.code, answer.headers.get("Retry-After", ""), answer.read().decode())

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_forwarded_addresses_are_not_believed_unless_a_proxy_is_named(tmp_path: Path) -> None:
    with served_in_thread(tmp_path / "plain", ()) as url:
        results = wrong_guesses_in_parallel(url, MAX_WAITING_PER_ADDRESS + 3)
    # All came from 127.0.0.1, whatever they claimed: a few wait their turn, the rest are told at once to come back later.
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [422] * MAX_WAITING_PER_ADDRESS + [429] * 3, statuses
    busy = [(retry, page) for status, retry, page in results if status == 429]
    assert all(retry == "60" and TOO_MANY_ATTEMPTS in page for retry, page in busy)


def test_forwarded_addresses_from_the_named_proxy_are_each_their_own_computer(tmp_path: Path) -> None:
    with served_in_thread(tmp_path / "proxied", ("127.0.0.1",)) as url:
        results = wrong_guesses_in_parallel(url, MAX_WAITING_PER_ADDRESS + 3)
    assert [status for status, _, _ in results] == [422] * (MAX_WAITING_PER_ADDRESS + 3)


def test_a_trusted_proxy_setting_is_an_address_or_one_clear_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from handout.cli import app as cli

    assert trusted_proxies(" 127.0.0.1, 10.0.0.0/8 ") == ("127.0.0.1", "10.0.0.0/8") and trusted_proxies(None) == ()
    result = CliRunner().invoke(cli, ["serve", "--trusted-proxy", "proxy.example", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == "handout: error: --trusted-proxy must be the proxy's IP address (such as 127.0.0.1), not 'proxy.example'"
    from_env = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path)], env={"HANDOUT_WEB_TRUSTED_PROXY": "*"})
    assert from_env.exit_code == 2 and "not '*'" in from_env.stderr
