"""The batch journal: an SQLite file recording each row's state, so a re-run sends only what is unsent."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from handout.errors import HandoutError

JOURNAL_NAME = "handout-journal.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    key TEXT PRIMARY KEY,        -- patient_id, or row-N: never a name
    row INTEGER NOT NULL,
    state TEXT NOT NULL,         -- rendered | sending | sent | outbox | to_print | failed
    document_sha256 TEXT,        -- of the latest unencrypted plan: identical plans, identical hashes
    reason TEXT,                 -- why it failed
    sent_fingerprint TEXT,       -- what the row asked for (inputs and recipient) when the server accepted it
    message_id TEXT,
    sent_at TEXT,
    updated_at TEXT NOT NULL
);
"""
_COLUMNS = ("key", "row", "state", "document_sha256", "reason", "sent_fingerprint", "message_id", "sent_at", "updated_at")
_ENTRY_FIELDS = _COLUMNS[:-1]


@dataclass(frozen=True)
class Entry:
    """What the journal knows about one row."""

    key: str
    row: int
    state: str
    document_sha256: str | None
    reason: str | None
    sent_fingerprint: str | None
    message_id: str | None
    sent_at: str | None


class Journal:
    """One record per patient key; each change is committed at once, so a kill -9 loses nothing."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL_NAME
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            columns = [column[1] for column in self._db.execute("PRAGMA table_info(rows)")]
            if columns != list(_COLUMNS):
                raise HandoutError(f"{self.path}: this journal was written by another version of handout; move it aside to start afresh")
            self._db.execute("BEGIN IMMEDIATE")  # fails now, not mid-batch, if the journal is read-only
            self._db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise HandoutError(f"{self.path}: cannot open the batch journal ({exc})") from None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()

    def _write(self, statement: str, values: tuple[object, ...]) -> None:
        try:
            self._db.execute(statement, values)
        except sqlite3.Error as exc:
            raise HandoutError(f"{self.path}: cannot write the batch journal ({exc})") from None

    def get(self, key: str) -> Entry | None:
        found = self._db.execute(f"SELECT {', '.join(_ENTRY_FIELDS)} FROM rows WHERE key = ?", (key,)).fetchone()
        return Entry(*found) if found else None

    def mark(self, key: str, row: int, state: str, document_sha256: str | None = None, reason: str | None = None, message_id: str | None = None) -> None:
        """Record a row's latest state; what was sent before is kept."""
        self._write(
            """
            INSERT INTO rows (key, row, state, document_sha256, reason, message_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET
                row = excluded.row, state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at,
                document_sha256 = COALESCE(excluded.document_sha256, rows.document_sha256),
                message_id = COALESCE(excluded.message_id, rows.message_id)
            """,
            (key, row, state, document_sha256, reason, message_id, _now()),
        )

    def mark_sent(self, key: str, row: int, document_sha256: str, fingerprint: str, message_id: str) -> None:
        """The mail server accepted this document for this row."""
        now = _now()
        self._write(
            """
            INSERT INTO rows (key, row, state, document_sha256, sent_fingerprint, message_id, sent_at, updated_at)
            VALUES (?, ?, 'sent', ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET
                state = 'sent', reason = NULL, document_sha256 = excluded.document_sha256, sent_fingerprint = excluded.sent_fingerprint,
                message_id = excluded.message_id, sent_at = excluded.sent_at, updated_at = excluded.updated_at
            """,
            (key, row, document_sha256, fingerprint, message_id, now, now),
        )

    def sent_before(self, key: str, fingerprint: str) -> bool:
        """True when the mail server has accepted this row's plan, as asked for now and to the same address.

        Decided on the row's inputs, not the PDF's bytes: the PDF prints the day
        it was made, and a re-run on another day must not send everyone's plan
        again. A row without a patient_id is known only by its position, which
        moves when rows are added or removed above it, so it is looked for
        under any key.
        """
        anywhere = key.startswith("row-")
        query = "SELECT 1 FROM rows WHERE sent_fingerprint = ?" + ("" if anywhere else " AND key = ?")
        return self._db.execute(query, (fingerprint,) if anywhere else (fingerprint, key)).fetchone() is not None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
