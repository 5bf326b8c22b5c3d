"""`handout batch` starts the workers' fork server before the command line is read, unless the run plainly renders in its own process."""

from __future__ import annotations

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
    monkeypatch.setattr(worker_server, "start_worker_server", lambda: started.append(True))
    monkeypatch.setattr(worker_server.os, "cpu_count", lambda: 2)
    worker_server.start_for_batch_command(args)
    assert started == ([True] if starts else [])


def test_one_core_and_no_workers_option_renders_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[bool] = []
    monkeypatch.setattr(worker_server, "start_worker_server", lambda: started.append(True))
    monkeypatch.setattr(worker_server.os, "cpu_count", lambda: 1)
    worker_server.start_for_batch_command(["patients.csv"])
    assert started == []
