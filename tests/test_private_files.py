"""Issue 15 item 18 and issue 14 item 3: every file and folder with patient data is private to the user (0600/0700)
whatever the umask, and a folder other users can write to is refused in one line, on the command line and the page."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from test_web import BASE, LIST, Clock, front_desk, held_list, run_list, upload
from typer.testing import CliRunner

from handout.cli import app
from handout.web.app import create_app

from helpers import one_line_error
from smtp_server import free_port

ENV = {"HANDOUT_MAIL_FROM": "plans@example-physio.org"}


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most careless umask there is: whatever handout makes with patient data must still be private."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def every_path(folder: Path) -> list[Path]:
    return [folder, *folder.rglob("*")]


def test_a_batch_makes_every_file_0600_and_every_folder_0700_whatever_the_umask(open_umask: None, tmp_path: Path, own_data_folder: Path) -> None:
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("name,patient_id,email,consent_email,weeks\nAnn Able,P1,ann@example.org,yes,1\nBen Bold,P2,,no,1\nCat Cole,P3,x,yes,1\n", encoding="utf-8")
    out = tmp_path / "plans"
    result = CliRunner().invoke(app, ["batch", str(csv_path), "--out-dir", str(out), "--workers", "1"], env=ENV)
    assert result.exit_code == 1, result.stderr  # row 4 is bad: its reason goes in report.txt
    made = {path.relative_to(tmp_path).as_posix() for path in every_path(out)}
    for name in ("plans/P1.pdf", "plans/P2.pdf", "plans/to-print.pdf", "plans/to-print.txt", "plans/to-print-list.pdf", "plans/report.txt", "plans/outbox"):
        assert name in made, name
    assert any(name.startswith("plans/outbox/P1-") for name in made)
    for path in every_path(out) + every_path(own_data_folder):
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, f"{path.relative_to(tmp_path.parent)} is {oct(mode(path))}"
    assert (own_data_folder / "handout-journal.sqlite").exists() and (own_data_folder / "handout-journal.key").exists()


def test_a_single_plan_and_its_outbox_message_are_private(open_umask: None, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    args = ["plan", "--patient", "Jane Doe", "--email", "jane@example.org", "--consent", "--outbox", str(outbox), "-o", str(tmp_path / "plan.pdf")]
    result = CliRunner().invoke(app, args, env=ENV)
    assert result.exit_code == 0, result.stderr
    assert mode(tmp_path / "plan.pdf") == 0o600
    assert mode(outbox) == 0o700 and [mode(p) for p in outbox.glob("*.eml")] == [0o600]


@pytest.mark.parametrize("which", ["--out-dir", "--outbox", "--data-dir"])
@pytest.mark.parametrize("shared_mode", [0o777, 0o1777, 0o770], ids=["world-writable", "sticky like /tmp", "group-writable"])
def test_a_folder_others_can_write_to_is_refused_in_one_line(tmp_path: Path, which: str, shared_mode: int) -> None:
    if shared_mode == 0o770 and _own_private_group():
        pytest.skip("the folder's group is this user's own private group, which is fine")
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("name,patient_id,email,consent_email\nAnn Able,P1,ann@example.org,yes\n", encoding="utf-8")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(shared_mode)
    folders = {"--out-dir": str(tmp_path / "plans"), "--outbox": str(tmp_path / "outbox"), "--data-dir": str(tmp_path / "data")} | {which: str(shared)}
    result = CliRunner().invoke(app, ["batch", str(csv_path), "--workers", "1", *(item for pair in folders.items() for item in pair)], env=ENV)
    assert result.exit_code == 1
    line = one_line_error(result)
    assert str(shared) in line and "other users can write" in line and "chmod 700" in line
    assert list(shared.iterdir()) == [] or which != "--out-dir"  # no plan written there
    assert not list(shared.glob("*.pdf")) and not list(shared.glob("*.eml")) and not list(shared.glob("handout-journal*"))


def _own_private_group() -> bool:
    import grp
    import pwd

    user = pwd.getpwuid(os.getuid())
    return grp.getgrgid(os.getgid()).gr_name == user.pw_name


def test_serve_refuses_a_data_folder_others_can_write_to(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    # In a process of its own: a server that wrongly started would serve until stopped.
    command = [sys.executable, "-m", "handout", "serve", "--data-dir", str(shared), "--port", str(free_port())]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("handout serve started on a data folder others can write to")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("handout: error: ") and "other users can write" in line


def test_the_pages_lists_zips_and_outbox_are_private_whatever_the_umask(open_umask: None, tmp_path: Path) -> None:
    desk = front_desk(tmp_path / "data", Clock())
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as client:
        location = upload(client, LIST)
        run_list(client, location)
        job = held_list(desk, client, location)
        assert job is not None and job.zip_path.is_file()
        paths = every_path(tmp_path / "data")
        assert any(path.suffix == ".eml" for path in paths) and any(path.name == "handout-journal.sqlite" for path in paths)
        for path in paths:
            if path.name == ".handout-batch.lock":
                continue  # a lock holds no data
            expected = 0o700 if path.is_dir() else 0o600
            assert mode(path) == expected, f"{path.relative_to(tmp_path)} is {oct(mode(path))}"
