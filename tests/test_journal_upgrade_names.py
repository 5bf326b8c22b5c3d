"""Upgrading a handout 0.1 journal re-sends nothing, even for names 0.1 kept as typed (decomposed accents, direction marks)."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from handout.batch import BatchOptions, BatchResult, run_batch
from handout.journal import Journal
from handout.patients import read_patient_list

from smtp_server import Certificates, SmtpServer, make_certificates

TODAY = dt.date(2026, 11, 27)
HEADER = "name,patient_id,email,consent_email,weeks"
# As a Mac saves it (the accents as separate marks) and as a right-to-left keyboard leaves it (a left-to-right mark inside).
DECOMPOSED = unicodedata.normalize("NFD", "Zoë Müller")
WITH_MARK = "Anna\u200e Berg"
OLD_JOURNAL_SCHEMA = """
CREATE TABLE rows (
    key TEXT PRIMARY KEY, row INTEGER NOT NULL, state TEXT NOT NULL, document_sha256 TEXT, reason TEXT,
    sent_fingerprint TEXT, message_id TEXT, sent_at TEXT, updated_at TEXT NOT NULL
);
"""


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    certificates: Certificates = make_certificates(tmp_path_factory.mktemp("tls"))
    smtp = SmtpServer(certificates).start()
    yield smtp
    smtp.stop()


def fingerprint_0_1(name: str, email: str, weeks: int) -> str:
    """What handout 0.1 stored for a sent row: SHA-256 of the cells as typed (only spaces collapsed) and the plan's numbers."""
    cells = (" ".join(name.split()), "", email, "True", "", "10", "30", "5", str(weeks))  # clinician, consent, start_date, defaults
    return hashlib.sha256("\0".join(cells).encode()).hexdigest()


def write_list(path: Path, rows: list[tuple[str, str, str, int]]) -> Path:
    path.write_text("\n".join([HEADER, *(f"{name},{pid},{email},yes,{weeks}" for name, pid, email, weeks in rows)]) + "\n", encoding="utf-8")
    return path


def journal_from_0_1(out: Path, sent: list[tuple[str, int, str]]) -> None:
    """The journal handout 0.1 left after emailing these (key, row, plain fingerprint)."""
    out.mkdir()
    with sqlite3.connect(out / "handout-journal.sqlite") as old:
        old.executescript(OLD_JOURNAL_SCHEMA)
        for key, row, plain in sent:
            old.execute(
                "INSERT INTO rows VALUES (?, ?, 'sent', ?, NULL, ?, ?, ?, ?)",
                (key, row, "0" * 64, plain, f"<handout.{row}@example-physio.org>", "2026-11-20T10:00:00+00:00", "2026-11-20T10:00:00+00:00"),
            )
    old.close()


def send(csv_path: Path, out: Path, server: SmtpServer) -> BatchResult:
    return run_batch(BatchOptions(csv_path, out_dir=out, send=True, workers=1, today=TODAY), server.env())


ZOE = (DECOMPOSED, "P1", "zoe@example.org", 1)
ANNA = (WITH_MARK, "", "anna@example.org", 1)


def test_names_saved_decomposed_or_with_direction_marks_are_not_emailed_again_after_upgrading(server: SmtpServer, tmp_path: Path, own_data_folder: Path) -> None:
    csv_path = write_list(tmp_path / "p.csv", [ZOE, ANNA])
    out = tmp_path / "plans"
    journal_from_0_1(out, [("P1", 2, fingerprint_0_1(DECOMPOSED, "zoe@example.org", 1)), ("row-3", 3, fingerprint_0_1(WITH_MARK, "anna@example.org", 1))])

    first = send(csv_path, out, server)
    assert first.emailed == [] and first.already_sent == [2, 3]
    assert server.recorder.messages == []
    # The plans are now known by today's fingerprint too: a later run recognises them the same way.
    with Journal(own_data_folder) as journal:  # the user's journal, which took in the one 0.1 left in the output folder
        for row in read_patient_list(csv_path, TODAY).rows:
            record = journal.delivery(row)
            assert record is not None and record.state == "sent"
    again = send(csv_path, out, server)
    assert again.emailed == [] and again.already_sent == [2, 3] and server.recorder.messages == []


def test_a_row_changed_since_0_1_sent_it_is_still_sent_once(server: SmtpServer, tmp_path: Path) -> None:
    out = tmp_path / "plans"
    journal_from_0_1(out, [("P1", 2, fingerprint_0_1(DECOMPOSED, "zoe@example.org", 1)), ("row-3", 3, fingerprint_0_1(WITH_MARK, "anna@example.org", 1))])
    changed = write_list(tmp_path / "changed.csv", [(DECOMPOSED, "P1", "zoe@example.org", 4), ANNA])  # Zoë's plan is now 4 weeks
    result = send(changed, out, server)
    assert result.emailed == [2] and result.already_sent == [3]
    assert [m["To"] for m in server.recorder.messages] == ["zoe@example.org"]


def test_a_journal_that_never_was_0_1_sends_a_row_whose_0_1_fingerprint_it_happens_to_hold(server: SmtpServer, tmp_path: Path) -> None:
    """Only journals upgraded from 0.1 hold 0.1's fingerprints: today's journals are not searched for them."""
    csv_path = write_list(tmp_path / "p.csv", [ZOE])
    out = tmp_path / "plans"
    out.mkdir()
    with Journal(out) as journal:
        plain = journal.keyed(f"P1\0{fingerprint_0_1(DECOMPOSED, 'zoe@example.org', 1)}")
        journal.mark_sending(plain, "P1", "<x@example.org>")
        journal.mark_sent(plain)
    assert send(csv_path, out, server).emailed == [2]


def test_a_row_now_asking_for_what_0_1_could_not_make_is_sent(server: SmtpServer, tmp_path: Path) -> None:
    """0.1 made English, standard-print plans only: the same row now asking for Spanish or large print is a new plan."""
    out = tmp_path / "plans"
    journal_from_0_1(out, [("P1", 2, fingerprint_0_1(DECOMPOSED, "zoe@example.org", 1)), ("P2", 3, fingerprint_0_1(DECOMPOSED, "zoe2@example.org", 1))])
    csv_path = tmp_path / "p.csv"
    csv_path.write_text(
        f"{HEADER},language,large_print\n{DECOMPOSED},P1,zoe@example.org,yes,1,es,\n{DECOMPOSED},P2,zoe2@example.org,yes,1,,yes\n", encoding="utf-8"
    )
    result = send(csv_path, out, server)
    assert result.emailed == [2, 3] and result.already_sent == []
