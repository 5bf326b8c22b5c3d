"""Where `-o` points: a new or regular file (atomic), standard output, a pipe or device (streamed), never replaced."""

from __future__ import annotations

import os
import pty
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout.cli import app
from handout.errors import HandoutError
from handout.output import write_atomic

runner = CliRunner()


def _one_line_error(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("handout: error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_dash_writes_the_pdf_to_standard_output_and_the_message_to_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["leaflet", "-o", "-"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(b"%PDF-") and result.stdout_bytes.rstrip().endswith(b"%%EOF")
    assert "standard output" in result.stderr
    assert not list(tmp_path.iterdir()), "no file named '-' (or anything else) is written"


def test_dash_works_for_a_plan_piped_to_another_program(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "handout", "plan", "--patient", "Jane Doe", "-o", "-"], capture_output=True, cwd=tmp_path, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"%PDF-")
    assert b"Jane" not in done.stderr


def test_dash_refuses_a_terminal_rather_than_print_binary_on_screen(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "handout", "leaflet", "-o", "-"], stdout=follower, stderr=subprocess.PIPE, cwd=tmp_path, timeout=120, check=False
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2
    _one_line_error(done.stderr.decode(), "terminal")


def test_a_named_pipe_is_written_to_and_stays_a_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "printer-queue"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as stream:
            received.append(stream.read())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        result = runner.invoke(app, ["leaflet", "-o", str(fifo)])
    finally:
        reader.join(timeout=60)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the named pipe was replaced by a file"
    assert received and received[0].startswith(b"%PDF-")


def test_a_named_pipe_nobody_reads_is_one_line_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "nobody-reads"
    os.mkfifo(fifo)
    result = runner.invoke(app, ["leaflet", "-o", str(fifo)])
    assert result.exit_code == 1
    _one_line_error(result.stderr, str(fifo), "nothing is reading")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_character_device_is_written_to_and_stays_a_device(tmp_path: Path) -> None:
    # A private copy of /dev/null: the real one must never be at risk in a test.
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("this machine does not allow creating device nodes")
    result = runner.invoke(app, ["leaflet", "-o", str(null)])
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.stat(null).st_mode), "the device was replaced by a regular file"
    assert [p.name for p in tmp_path.iterdir()] == ["null"], "no temporary file is left beside it"


def test_a_socket_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        result = runner.invoke(app, ["leaflet", "-o", str(path)])
    finally:
        server.close()
    assert result.exit_code == 1
    _one_line_error(result.stderr, str(path), "socket")
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_a_symlink_to_a_file_keeps_the_link_and_updates_its_target(tmp_path: Path) -> None:
    target = tmp_path / "shared" / "leaflet-current.pdf"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "leaflet.pdf"
    link.symlink_to(target)
    result = runner.invoke(app, ["leaflet", "-o", str(link)])
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink(), "the link was replaced by a file"
    assert target.read_bytes().startswith(b"%PDF-")


def test_files_handout_names_itself_are_never_streamed_into_pipes(tmp_path: Path) -> None:
    # Batch plans and outbox messages are handout's own files: a pipe or device in their place is refused.
    fifo = tmp_path / "P0001.pdf"
    os.mkfifo(fifo)
    with pytest.raises(HandoutError, match="named pipe"):
        write_atomic(fifo, b"%PDF-")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
