"""Stop signals against a real, slow mail server: a second one stops at once and still says where the run got to; none waits on retries."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtp_server import SmtpServer, make_certificates


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(certificates) -> Iterator[SmtpServer]:
    smtp = SmtpServer(certificates).start()
    yield smtp
    smtp.recorder.release.set()
    smtp.stop()


def patients(folder: Path, emailed: int, printed: int = 0) -> Path:
    rows = [f"Printed Patient {i},R{i},,,1" for i in range(printed)]
    rows += [f"Mailed Patient {i},P{i},patient{i}@example.org,yes,1" for i in range(emailed)]
    path = folder / "patients.csv"
    path.write_text("name,patient_id,email,consent_email,weeks\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def start_batch(csv_path: Path, out: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "handout", "batch", str(csv_path), "--out-dir", str(out), "--send", "--workers", "1"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def finish(process: subprocess.Popen[bytes], timeout: float = 60) -> tuple[int, str, str]:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"the batch did not stop: {stderr.decode()}")
    return process.returncode, stdout.decode(), stderr.decode()


def test_a_second_ctrl_c_during_a_slow_send_stops_at_once_and_says_where_the_run_got_to(server: SmtpServer, tmp_path: Path) -> None:
    server.recorder.hold_at_mail = 2  # the second message waits on the server, as on a slow one
    process = start_batch(patients(tmp_path, 4), tmp_path / "plans", {**server.env(), "HANDOUT_SMTP_TIMEOUT": "120"})
    try:
        assert server.recorder.held.wait(60), "the batch never reached the second message"
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        code, stdout, stderr = finish(process, timeout=30)  # not the 120 s the server could keep it waiting
    finally:
        server.recorder.release.set()
    assert code == 130 and "Traceback" not in stderr, stderr
    assert "Interrupted (Ctrl-C): 1 sent, 3 not yet; run the same command to go on" in stderr
    assert "handout batch" in stdout and "Not done (interrupted)" in stdout  # the summary too


def test_sighup_is_a_clean_stop_with_a_summary_and_no_to_print_files(server: SmtpServer, tmp_path: Path) -> None:
    server.recorder.hold_at_mail = 2
    out = tmp_path / "plans"
    process = start_batch(patients(tmp_path, 4, printed=2), out, server.env())
    try:
        assert server.recorder.held.wait(60)
        os.kill(process.pid, signal.SIGHUP)  # the terminal was closed
        server.recorder.release.set()  # the server then refuses it for now (421) and hangs up: no retry, as a stop was asked for
        code, stdout, stderr = finish(process)
    finally:
        server.recorder.release.set()
    assert code == 129 and "Traceback" not in stderr, stderr
    assert "Interrupted (SIGHUP, the terminal was closed): 1 sent, 3 not yet; run the same command to go on" in stderr
    assert "handout batch" in stdout
    assert not list(out.glob("to-print*")) and not (out / ".handout-to-print").exists()  # half a list would look like all of it
    assert len(server.recorder.messages) == 1


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """Accepts every connection and never says a word: a server that is there but does not answer."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    connections: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connections.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1], connections
    listener.close()
    for connection in connections:
        connection.close()


def test_ctrl_c_while_the_server_does_not_answer_makes_no_further_attempt(tmp_path: Path, silent_server: tuple[int, list[socket.socket]]) -> None:
    port, connections = silent_server
    env = {
        "HANDOUT_SMTP_HOST": "localhost",
        "HANDOUT_SMTP_PORT": str(port),
        "HANDOUT_SMTP_SECURITY": "starttls",
        "HANDOUT_MAIL_FROM": "plans@example-physio.org",
        "HANDOUT_SMTP_TIMEOUT": "2",
        "HANDOUT_SMTP_ATTEMPTS": "4",
        "HANDOUT_SMTP_BACKOFF": "5",  # four attempts would take about 50 s
    }
    process = start_batch(patients(tmp_path, 2), tmp_path / "plans", env)
    deadline = time.monotonic() + 60
    while not connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connections, "the batch never connected"
    process.send_signal(signal.SIGINT)
    code, _, stderr = finish(process)
    assert code == 130 and "Traceback" not in stderr, stderr
    assert len(connections) == 1, "an attempt was made after Ctrl-C"
    assert "Interrupted (Ctrl-C): 0 sent, 2 not yet; run the same command to go on" in stderr
