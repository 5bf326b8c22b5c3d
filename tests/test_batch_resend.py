"""Re-running `handout batch --send`: never a second email when rows move, one run per folder, a keyed journal, a clean stop."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from handout.batch import BatchOptions, BatchResult, Reporter, run_batch
from handout.brand import load_brand
from handout.cli import app
from handout.patients import read_patient_list

from smtp_server import Certificates, SmtpServer, make_certificates

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 27)
HEADER = "name,patient_id,email,consent_email,weeks"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def shared_server(certificates: Certificates) -> Iterator[SmtpServer]:
    """One server for the property test's many examples; each example clears what it received."""
    smtp = SmtpServer(certificates).start()
    yield smtp
    smtp.stop()


@pytest.fixture
def server(certificates: Certificates) -> Iterator[SmtpServer]:
    smtp = SmtpServer(certificates).start()
    yield smtp
    smtp.stop()


class Collect(Reporter):
    """Keeps the warnings a run gives, as the terminal would show them."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)


@dataclass(frozen=True)
class Patient:
    """One row as the clinic typed it."""

    name: str
    patient_id: str
    email: str
    weeks: int

    def line(self) -> str:
        return f"{self.name},{self.patient_id},{self.email},yes,{self.weeks}"


def write_list(path: Path, patients: list[Patient]) -> Path:
    path.write_text("\n".join([HEADER, *(p.line() for p in patients)]) + "\n", encoding="utf-8")
    return path


def send(csv_path: Path, out: Path, server: SmtpServer, reporter: Reporter | None = None, data_dir: Path | None = None) -> BatchResult:
    return run_batch(BatchOptions(csv_path, out_dir=out, send=True, workers=1, today=TODAY, data_dir=data_dir), server.env(), reporter)


# ---------------------------------------------------------------------------
# Item 3: "already sent" does not depend on where a row sits


def test_a_row_added_above_rows_without_an_id_sends_only_the_new_row(server: SmtpServer, tmp_path: Path) -> None:
    ann, ben = Patient("Ann Able", "", "ann@example.org", 1), Patient("Ben Bold", "", "ben@example.org", 1)
    out = tmp_path / "plans"
    assert send(write_list(tmp_path / "a.csv", [ann, ben]), out, server).emailed == [2, 3]
    cat = Patient("Cat Cole", "", "cat@example.org", 1)
    again = send(write_list(tmp_path / "b.csv", [cat, ann, ben]), out, server)
    assert again.emailed == [2] and again.already_sent == [3, 4]
    assert [m["To"] for m in server.recorder.messages] == ["ann@example.org", "ben@example.org", "cat@example.org"]


def test_the_same_patient_listed_twice_without_an_id_gets_one_email_and_a_warning(server: SmtpServer, tmp_path: Path) -> None:
    ann, ben = Patient("Ann Able", "", "ann@example.org", 1), Patient("Ben Bold", "", "ben@example.org", 1)
    reporter = Collect()
    result = send(write_list(tmp_path / "a.csv", [ann, ben, ann]), tmp_path / "plans", server, reporter)
    assert result.ok and result.emailed == [2, 3] and result.repeated == [4]
    assert [m["To"] for m in server.recorder.messages] == ["ann@example.org", "ben@example.org"]
    assert any("row 4 repeats row 2" in w for w in reporter.warnings), reporter.warnings
    assert all("Ann" not in w and "ann@" not in w for w in reporter.warnings)


POOL = [
    Patient(name, patient_id, f"{name.split()[0].lower()}@example.org", 1)
    for name, patient_id in (
        ("Ann Able", "P1"),
        ("Ben Bold", "P2"),
        ("Cat Cole", ""),
        ("Dan Dale", ""),
        ("Eve East", ""),
        ("Fay Ford", ""),
        ("Gus Gray", "P7"),
        ("Hal Hunt", ""),
    )
]


@st.composite
def sent_list_and_edit(draw: st.DrawFn) -> tuple[list[Patient], list[Patient]]:
    """A list that was sent, and the same list after a clinic's edits: insert, delete, reorder, change a field, repeat a row."""
    first = [POOL[i] for i in draw(st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=5, unique=True))]
    edited = list(first)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["insert", "delete", "move", "change", "repeat"]))
        if action == "insert":
            unused = [p for p in POOL if p.name not in {e.name for e in edited}]
            if unused:
                edited.insert(draw(st.integers(0, len(edited))), draw(st.sampled_from(unused)))
        elif action == "delete" and len(edited) > 1:
            del edited[draw(st.integers(0, len(edited) - 1))]
        elif action == "move" and edited:
            moved = edited.pop(draw(st.integers(0, len(edited) - 1)))
            edited.insert(draw(st.integers(0, len(edited))), moved)
        elif action == "change" and edited:
            at = draw(st.integers(0, len(edited) - 1))
            old = edited[at]
            if draw(st.booleans()):
                edited[at] = replace(old, weeks=3 - old.weeks)  # 1 <-> 2
            else:
                edited[at] = replace(old, email=old.email.replace("@", ".new@"))
        elif action == "repeat":
            # The same patient twice without an id is one patient: listed twice, sent once.
            no_id = [p for p in edited if not p.patient_id]
            if no_id:
                edited.insert(draw(st.integers(0, len(edited))), draw(st.sampled_from(no_id)))
    return first, edited


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lists=sent_list_and_edit())
def test_after_any_edit_a_rerun_sends_exactly_the_new_or_changed_rows_once(shared_server: SmtpServer, lists: tuple[list[Patient], list[Patient]]) -> None:
    first, edited = lists
    received = shared_server.recorder
    received.messages.clear()
    received.envelopes.clear()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        out = folder / "plans"
        data = folder / "data"  # each example its own journal
        assert send(write_list(folder / "first.csv", first), out, shared_server, data_dir=data).ok
        assert Counter(m["To"] for m in received.messages) == Counter(p.email for p in first)
        received.messages.clear()

        result = send(write_list(folder / "edited.csv", edited), out, shared_server, data_dir=data)
        assert result.ok
        wanted = list(dict.fromkeys(p for p in edited if p not in first))  # new or changed, each once
        by_row = {number: patient for number, patient in enumerate(edited, start=2)}
        assert sorted(by_row[r].line() for r in result.emailed) == sorted(p.line() for p in wanted)
        assert Counter(m["To"] for m in received.messages) == Counter(p.email for p in wanted)
        # Every row is accounted for: emailed, already sent, or a repeat of an earlier row.
        assert sorted(result.emailed + result.already_sent + result.repeated) == sorted(by_row)


# ---------------------------------------------------------------------------
# Item 16: the journal cannot confirm who is a patient


def journal_bytes(*folders: Path) -> bytes:
    return b"".join(p.read_bytes() for folder in folders for p in sorted(folder.glob("handout-journal*.sqlite*")))


def test_the_journal_holds_only_keyed_fingerprints_and_still_recognises_sent_rows(server: SmtpServer, tmp_path: Path, own_data_folder: Path) -> None:
    csv_path = write_list(tmp_path / "p.csv", [Patient("Jane Doe", "P1", "jane@example.org", 1), Patient("Ann Able", "", "ann@example.org", 2)])
    out = tmp_path / "plans"
    args = ["batch", str(csv_path), "--out-dir", str(out), "--send", "--workers", "1"]
    first = CliRunner().invoke(app, args, env=server.env())
    assert first.exit_code == 0, first.stderr

    stored = journal_bytes(own_data_folder)
    rows = read_patient_list(csv_path, TODAY).rows
    brand = load_brand(None)
    for row in rows:
        # Anyone can hash a candidate's details; without the folder's secret they match nothing in the journal.
        plain = row.fingerprint
        assert plain.encode() not in stored and bytes.fromhex(plain) not in stored
        recomputed_id = hashlib.sha256("\0".join((brand.name, row.key, plain)).encode()).hexdigest()[:32]
        assert all(recomputed_id not in m["Message-ID"] for m in server.recorder.messages)
        plan = hashlib.sha256((out / f"{row.key}.pdf").read_bytes()).hexdigest()
        assert plan.encode() not in stored and bytes.fromhex(plan) not in stored
    secret = own_data_folder / "handout-journal.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert secret.read_bytes().strip() not in stored

    again = CliRunner().invoke(app, args, env=server.env())
    assert again.exit_code == 0 and "Already sent" in again.stdout
    assert len(server.recorder.messages) == 2


def test_a_journal_whose_secret_is_lost_is_refused_rather_than_sending_everyone_again(server: SmtpServer, tmp_path: Path, own_data_folder: Path) -> None:
    csv_path = write_list(tmp_path / "p.csv", [Patient("Jane Doe", "P1", "jane@example.org", 1)])
    out = tmp_path / "plans"
    args = ["batch", str(csv_path), "--out-dir", str(out), "--send", "--workers", "1"]
    assert CliRunner().invoke(app, args, env=server.env()).exit_code == 0
    (own_data_folder / "handout-journal.key").unlink()
    again = CliRunner().invoke(app, args, env=server.env())
    assert again.exit_code == 1 and len(again.stderr.strip().splitlines()) == 1
    assert "handout-journal.key" in again.stderr
    assert len(server.recorder.messages) == 1


OLD_JOURNAL_SCHEMA = """
CREATE TABLE rows (
    key TEXT PRIMARY KEY, row INTEGER NOT NULL, state TEXT NOT NULL, document_sha256 TEXT, reason TEXT,
    sent_fingerprint TEXT, message_id TEXT, sent_at TEXT, updated_at TEXT NOT NULL
);
"""


def test_a_journal_from_the_previous_version_is_upgraded_without_sending_anyone_again(server: SmtpServer, tmp_path: Path, own_data_folder: Path) -> None:
    import sqlite3

    jane, ann = Patient("Jane Doe", "P1", "jane@example.org", 1), Patient("Ann Able", "", "ann@example.org", 1)
    csv_path = write_list(tmp_path / "p.csv", [jane, ann])
    jane_row, ann_row = read_patient_list(csv_path, TODAY).rows
    out = tmp_path / "plans"
    out.mkdir()
    # What handout 0.1.0 left after emailing both: plain SHA-256 fingerprints of each row.
    with sqlite3.connect(out / "handout-journal.sqlite") as old:
        old.executescript(OLD_JOURNAL_SCHEMA)
        for row in (jane_row, ann_row):
            old.execute(
                "INSERT INTO rows VALUES (?, ?, 'sent', ?, NULL, ?, ?, ?, ?)",
                (row.key, row.row, "0" * 64, row.fingerprint, f"<handout.{row.row}@example-physio.org>", "2026-11-20T10:00:00+00:00", "2026-11-20T10:00:00+00:00"),
            )
    old.close()
    # Ann moved down a row since: she is still recognised.
    moved = write_list(tmp_path / "moved.csv", [Patient("Cat Cole", "", "cat@example.org", 1), jane, ann])
    result = send(moved, out, server)
    assert result.emailed == [2] and result.already_sent == [3, 4]
    assert [m["To"] for m in server.recorder.messages] == ["cat@example.org"]
    stored = journal_bytes(own_data_folder, out)  # the user's journal took it in; the old one is set aside in out
    for row in (jane_row, ann_row):
        assert row.fingerprint.encode() not in stored, "the old plain fingerprints must not stay in the file"
    assert stat.S_IMODE((own_data_folder / "handout-journal.key").stat().st_mode) == 0o600
    assert not (out / "handout-journal.sqlite").exists(), "the old journal was taken in and set aside"


# ---------------------------------------------------------------------------
# Items 4 and 12: real processes


def patients_csv(folder: Path, count: int, weeks: int = 1) -> Path:
    return write_list(folder / "patients.csv", [Patient(f"Patient {i}", f"P{i:03d}", f"patient{i}@example.org", weeks) for i in range(count)])


def start_batch(csv_path: Path, out: Path, env: dict[str, str], *extra: str, name: str = "run") -> tuple[subprocess.Popen[bytes], Path, Path]:
    stdout_path, stderr_path = out.parent / f"{name}.out", out.parent / f"{name}.err"
    with stdout_path.open("w") as stdout, stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "handout", "batch", str(csv_path), "--out-dir", str(out), *extra],
            env={**os.environ, **env},
            stdout=stdout,
            stderr=stderr,
            cwd=ROOT,
            start_new_session=True,  # its own process group, like a job in a terminal
        )
    return process, stdout_path, stderr_path


def test_a_second_run_on_the_same_folder_refuses_at_once(server: SmtpServer, tmp_path: Path) -> None:
    csv_path = patients_csv(tmp_path, 4)
    out = tmp_path / "plans"
    server.recorder.hold_at_mail = 1  # the first run waits on the server with the folder in use
    first, first_out, first_err = start_batch(csv_path, out, server.env(), "--send", "--workers", "1", name="first")
    try:
        assert server.recorder.held.wait(60), "the first run never reached the server"
        started = time.monotonic()
        second, second_out, second_err = start_batch(csv_path, out, server.env(), "--send", "--workers", "1", name="second")
        assert second.wait(timeout=30) == 1
        assert time.monotonic() - started < 10, "the second run waited instead of refusing"
        message = second_err.read_text()
        assert len(message.strip().splitlines()) == 1, message
        assert str(out) in message and "another handout batch is using" in message
        server.recorder.release.set()
        assert first.wait(timeout=60) == 0, first_err.read_text()
    finally:
        if first.poll() is None:
            first.kill()
    assert Counter(to for envelope in server.recorder.envelopes for to in envelope) == Counter(f"patient{i}@example.org" for i in range(4))
    # The folder is free again once the first run is over.
    third, _, third_err = start_batch(csv_path, out, server.env(), "--send", "--workers", "1", name="third")
    assert third.wait(timeout=60) == 0, third_err.read_text()
    assert len(server.recorder.messages) == 4


@pytest.mark.parametrize(
    ("signal_number", "whole_group", "exit_code"),
    [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)],
    ids=["ctrl-c-to-the-terminal-job", "sigterm-to-the-batch"],  # SIGHUP: tests/test_signals.py, on a lighter run
)
def test_an_interrupted_batch_says_what_it_finished_and_how_to_resume(tmp_path: Path, signal_number: int, whole_group: bool, exit_code: int) -> None:
    rows = 60
    csv_path = patients_csv(tmp_path, rows, weeks=26)
    out = tmp_path / "plans"
    process, stdout_path, stderr_path = start_batch(csv_path, out, {}, "--workers", "2")
    try:
        deadline = time.monotonic() + 60
        while len(list(out.glob("*.pdf"))) < 4 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        assert process.poll() is None, "the batch finished before it could be interrupted"
        if whole_group:
            os.killpg(process.pid, signal_number)
        else:
            os.kill(process.pid, signal_number)
        assert process.wait(timeout=60) == exit_code
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    stdout, stderr = stdout_path.read_text(), stderr_path.read_text()
    assert "Traceback" not in stderr and "Warning" not in stderr and "leaked" not in stderr, stderr
    assert "handout batch" in stdout and "Rendered" in stdout  # the summary of what was finished
    assert "not yet; run the same command to go on" in stderr
    assert not list(out.glob("to-print*")) and not (out / ".handout-to-print").exists()
    finished = len(list(out.glob("*.pdf")))
    assert 0 < finished < rows
    assert not list(out.glob(".*.part"))
    time.sleep(1)  # render workers have gone: nothing else appears
    assert len(list(out.glob("*.pdf"))) == finished

    again, _, again_err = start_batch(csv_path, out, {}, "--workers", "2", name="again")
    assert again.wait(timeout=120) == 0, again_err.read_text()
    assert len(list(out.glob("*.pdf"))) == rows
