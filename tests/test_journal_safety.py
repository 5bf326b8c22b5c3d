"""Issue 15, items 1, 2 and 12: "already sent" lives in one journal per user, and a journal that is lost, damaged,
read-only or paired with the wrong key stops the run with one line instead of emailing everyone again.
Real SMTP server on 127.0.0.1, no mocks."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout.cli import app

from helpers import one_line_error
from smtp_server import Certificates, SmtpServer, make_certificates

HEADER = "name,patient_id,email,consent_email,weeks"
ROWS = ["Ann Able,P1,ann@example.org,yes,1", "Ben Bold,,ben@example.org,yes,1"]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(certificates: Certificates) -> Iterator[SmtpServer]:
    smtp = SmtpServer(certificates).start()
    yield smtp
    smtp.stop()


def patient_list(tmp_path: Path) -> Path:
    path = tmp_path / "patients.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def send(server: SmtpServer, csv_path: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, ["batch", str(csv_path), "--out-dir", str(out), "--send", "--workers", "1", *extra], env=server.env())


@pytest.fixture
def sent_once(server: SmtpServer, tmp_path: Path, own_data_folder: Path) -> tuple[Path, Path]:
    """A list emailed once: its CSV and output folder; the journal is in the user's data folder."""
    csv_path = patient_list(tmp_path)
    first = send(server, csv_path, tmp_path / "plans")
    assert first.exit_code == 0, first.stderr
    assert len(server.recorder.messages) == 2
    assert (own_data_folder / "handout-journal.sqlite").is_file() and (own_data_folder / "handout-journal.key").is_file()
    return csv_path, tmp_path / "plans"


# ---------------------------------------------------------------------------
# Item 1: a lost or damaged journal, or a key that is not its own, stops the run


def _empty_key(data: Path, other: Path) -> None:
    (data / "handout-journal.key").write_text("")


def _key_from_another_folder(data: Path, other: Path) -> None:
    (data / "handout-journal.key").write_bytes((other / "handout-journal.key").read_bytes())


def _zero_byte_journal(data: Path, other: Path) -> None:
    for side in ("-wal", "-shm"):
        (data / f"handout-journal.sqlite{side}").unlink(missing_ok=True)
    (data / "handout-journal.sqlite").write_bytes(b"")


def _deleted_journal(data: Path, other: Path) -> None:
    for name in ("handout-journal.sqlite", "handout-journal.sqlite-wal", "handout-journal.sqlite-shm"):
        (data / name).unlink(missing_ok=True)


def _garbage_journal(data: Path, other: Path) -> None:
    _deleted_journal(data, other)
    (data / "handout-journal.sqlite").write_bytes(b"this is not a database, a backup tool wrote over it" * 100)


def _deleted_key(data: Path, other: Path) -> None:
    (data / "handout-journal.key").unlink()


DAMAGE = {
    "empty key": (_empty_key, "key is empty"),
    "key from another folder": (_key_from_another_folder, "does not belong to"),
    "zero-byte journal": (_zero_byte_journal, "is empty, but its key"),
    "deleted journal": (_deleted_journal, "is missing, but its key"),
    "damaged journal": (_garbage_journal, "damaged"),
    "deleted key": (_deleted_key, "handout-journal.key is missing"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_lost_or_damaged_journal_stops_the_run_and_the_flag_starts_afresh(
    damage: str, server: SmtpServer, sent_once: tuple[Path, Path], own_data_folder: Path, tmp_path: Path
) -> None:
    csv_path, out = sent_once
    other = tmp_path / "other-data"  # another folder's journal, whose key a clinic might copy by mistake
    assert CliRunner().invoke(app, ["batch", str(csv_path), "--out-dir", str(tmp_path / "o2"), "--data-dir", str(other), "--workers", "1"]).exit_code == 0
    spoil, words = DAMAGE[damage]
    spoil(own_data_folder, other)
    again = send(server, csv_path, out)
    assert again.exit_code == 1
    line = one_line_error(again)
    assert words in line and "--new-journal" in line, line
    assert len(server.recorder.messages) == 2, "a damaged journal emailed everyone again"
    # Never silently replaced: what was there is still there for a backup restore.
    assert (own_data_folder / "handout-journal.key").exists() or damage == "deleted key"

    # "I know": the damaged journal is set aside (kept) and every patient counts as not yet sent.
    fresh = send(server, csv_path, out, "--new-journal")
    assert fresh.exit_code == 0, fresh.stderr
    assert len(server.recorder.messages) == 4
    assert list(own_data_folder.glob("handout-journal-set-aside-*")), "the damaged journal must be kept aside, not deleted"
    # And from now on the new journal is in order.
    assert send(server, csv_path, out).exit_code == 0 and len(server.recorder.messages) == 4


def test_the_new_journal_flag_refuses_a_journal_in_order(server: SmtpServer, sent_once: tuple[Path, Path]) -> None:
    csv_path, out = sent_once
    result = send(server, csv_path, out, "--new-journal")
    assert result.exit_code == 1
    assert "--resend" in one_line_error(result)
    assert len(server.recorder.messages) == 2


# ---------------------------------------------------------------------------
# Item 2: one journal per user, whatever folder the batch runs from


def test_the_same_list_from_two_folders_is_emailed_once(server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    patient_list(tmp_path)  # tmp_path/patients.csv, named relatively below
    for day in ("monday", "tuesday"):
        (tmp_path / day).mkdir()
        monkeypatch.chdir(tmp_path / day)
        # The default --out-dir (plans) is relative to the current folder: two output folders, one journal.
        result = CliRunner().invoke(app, ["batch", "../patients.csv", "--send", "--workers", "1"], env=server.env())
        assert result.exit_code == 0, result.stderr
    assert (tmp_path / "tuesday" / "plans").is_dir()
    assert sorted(m["To"] for m in server.recorder.messages) == ["ann@example.org", "ben@example.org"]
    assert "Already sent" in result.stdout


def test_a_journal_an_older_handout_kept_in_the_output_folder_is_taken_in(server: SmtpServer, tmp_path: Path, own_data_folder: Path) -> None:
    csv_path = patient_list(tmp_path)
    out = tmp_path / "plans"
    # The older layout: journal and key in the output folder.
    assert send(server, csv_path, out, "--data-dir", str(out)).exit_code == 0
    assert (out / "handout-journal.sqlite").exists()
    result = send(server, csv_path, out)
    assert result.exit_code == 0, result.stderr
    assert len(server.recorder.messages) == 2, "the plans the old journal recorded were sent again"
    assert "took the journal" in result.stderr
    assert not (out / "handout-journal.sqlite").exists() and not (out / "handout-journal.key").exists()
    assert list(out.glob("handout-journal-taken-in-*.sqlite")), "the old journal is kept aside, not deleted"
    # Taken in for good: from another folder too, nothing is sent again.
    assert send(server, csv_path, tmp_path / "elsewhere").exit_code == 0
    assert len(server.recorder.messages) == 2


# ---------------------------------------------------------------------------
# Item 12: a journal handout cannot write is one line; fixing the permission is enough


def test_a_read_only_journal_is_one_line_and_making_it_writable_is_enough(server: SmtpServer, sent_once: tuple[Path, Path], own_data_folder: Path) -> None:
    csv_path, out = sent_once
    journal = own_data_folder / "handout-journal.sqlite"
    journal.chmod(0o444)
    refused = send(server, csv_path, out)
    assert refused.exit_code == 1
    assert "read-only" in one_line_error(refused) and "chmod" in one_line_error(refused)
    journal.chmod(0o644)
    again = send(server, csv_path, out)
    assert again.exit_code == 0, again.stderr
    assert len(server.recorder.messages) == 2


def test_a_side_file_left_read_only_is_put_right(server: SmtpServer, sent_once: tuple[Path, Path], own_data_folder: Path) -> None:
    csv_path, out = sent_once
    journal = own_data_folder / "handout-journal.sqlite"
    # What a run on a 0444 journal left (SQLite gives its side files the journal's mode), and an older handout's 0644 journal.
    shm = own_data_folder / "handout-journal.sqlite-shm"
    shm.write_bytes(b"")
    shm.chmod(0o444)
    journal.chmod(0o644)
    again = send(server, csv_path, out)
    assert again.exit_code == 0, again.stderr
    for path in own_data_folder.glob("handout-journal.sqlite*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert len(server.recorder.messages) == 2


def test_a_journal_folder_handout_cannot_write_in_is_one_line(server: SmtpServer, sent_once: tuple[Path, Path], own_data_folder: Path) -> None:
    if os.getuid() == 0:
        pytest.skip("root can write in any folder")
    csv_path, out = sent_once
    own_data_folder.chmod(0o500)
    try:
        result = send(server, csv_path, out)
        assert result.exit_code == 1
        one_line_error(result)
    finally:
        own_data_folder.chmod(0o700)
