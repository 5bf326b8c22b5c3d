"""The batch journal: an SQLite file recording each row's state, so a re-run sends only what is unsent."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from handout.errors import HandoutError
from handout.patients import PatientRow

JOURNAL_NAME = "handout-journal.sqlite"
SECRET_NAME = "handout-journal.key"

_ROWS_TABLE = """
CREATE TABLE IF NOT EXISTS rows (
    key TEXT PRIMARY KEY,        -- patient_id, or row-N: never a name
    row INTEGER NOT NULL,
    state TEXT NOT NULL,         -- rendered | sending | sent | outbox | to_print | repeated | failed
    document_hmac TEXT,          -- keyed hash of the latest unencrypted plan: identical plans, identical hashes
    reason TEXT,                 -- why it failed
    updated_at TEXT NOT NULL
)"""
_DELIVERIES_TABLE = """
CREATE TABLE IF NOT EXISTS deliveries (
    fingerprint TEXT PRIMARY KEY, -- keyed hash of the patient_id and what the row asks for, recipient included
    patient_id TEXT NOT NULL,     -- '' for rows without one
    state TEXT NOT NULL,          -- sending | sent
    message_id TEXT NOT NULL,
    sent_at TEXT,
    updated_at TEXT NOT NULL
)"""
_PREVIOUS_ROW_COLUMNS = ["key", "row", "state", "document_sha256", "reason", "sent_fingerprint", "message_id", "sent_at", "updated_at"]  # handout 0.1
_ROW_COLUMNS = ["key", "row", "state", "document_hmac", "reason", "updated_at"]
_DELIVERY_COLUMNS = ["fingerprint", "patient_id", "state", "message_id", "sent_at", "updated_at"]
_UPGRADED_FROM_0_1 = 1  # the journal's PRAGMA user_version once it has been upgraded from handout 0.1's


@dataclass(frozen=True)
class MailRecord:
    """What the journal knows about one plan handed to the mail server."""

    state: str
    message_id: str


class Journal:
    """Row states by key, deliveries by keyed fingerprint; each change is committed at once, so a kill -9 loses nothing.

    A plan counts as sent when the mail server accepted one with the same
    fingerprint: the patient_id (or none) and what the row asks for, never its
    position, so inserting, deleting or reordering rows re-sends nothing.
    Fingerprints are HMAC-SHA256 with a random secret kept beside the journal:
    someone holding only the journal cannot test candidate names against it.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL_NAME
        is_new = not self.path.exists()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise HandoutError(f"{self.path}: cannot open the batch journal ({exc})") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")  # what is replaced or deleted is overwritten, not left in free pages
            previous_version = self._columns("rows") == _PREVIOUS_ROW_COLUMNS
            if not previous_version:
                self._check_version()
                self._db.execute(_ROWS_TABLE)
            self._db.execute(_DELIVERIES_TABLE)
            self._db.execute("BEGIN IMMEDIATE")  # fails now, not mid-batch, if the journal is read-only
            self._db.execute("ROLLBACK")
            self._secret = _journal_secret(folder / SECRET_NAME, create=is_new or previous_version or self._is_empty())
            if previous_version:
                self._upgrade_plain_fingerprints()
            self._upgraded_from_0_1 = self._db.execute("PRAGMA user_version").fetchone()[0] == _UPGRADED_FROM_0_1
        except sqlite3.Error as exc:
            self._db.close()
            raise HandoutError(f"{self.path}: cannot open the batch journal ({exc})") from None
        except BaseException:
            self._db.close()
            raise

    def _columns(self, table: str) -> list[str]:
        return [column[1] for column in self._db.execute(f"PRAGMA table_info({table})")]

    def _check_version(self) -> None:
        tables = {name: self._columns(name) for name in ("rows", "deliveries")}
        if any(tables.values()) and tables != {"rows": _ROW_COLUMNS, "deliveries": _DELIVERY_COLUMNS}:
            raise HandoutError(f"{self.path}: this journal was written by another version of handout; move it aside to start afresh")

    def _upgrade_plain_fingerprints(self) -> None:
        """handout 0.1 kept plain SHA-256 fingerprints: key them under the new secret, then wipe the plain ones from the file.

        0.1 fingerprinted names as typed; rows keep that fingerprint beside
        today's (see `sent_before_upgrade`), so every plan it sent is still
        recognised: upgrading handout never emails anyone again.
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            old = db.execute("SELECT key, row, state, reason, sent_fingerprint, message_id, sent_at, updated_at FROM rows").fetchall()
            db.execute("DROP TABLE rows")
            db.execute(_ROWS_TABLE)
            for key, row, state, reason, plain, message_id, sent_at, updated_at in old:
                db.execute("INSERT INTO rows (key, row, state, reason, updated_at) VALUES (?, ?, ?, ?, ?)", (key, row, state, reason, updated_at))
                if plain:
                    patient_id = "" if key.startswith("row-") else key
                    db.execute(
                        "INSERT OR IGNORE INTO deliveries VALUES (?, ?, 'sent', ?, ?, ?)",
                        (self.keyed(f"{patient_id}\0{plain}"), patient_id, message_id or "", sent_at, updated_at),
                    )
            db.execute(f"PRAGMA user_version = {_UPGRADED_FROM_0_1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("VACUUM")  # rewrites every page: nothing of the old table survives in the file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _is_empty(self) -> bool:
        return self._db.execute("SELECT (SELECT COUNT(*) FROM rows) + (SELECT COUNT(*) FROM deliveries)").fetchone()[0] == 0

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()

    def keyed(self, text: str) -> str:
        """HMAC-SHA256 under this folder's secret: stable here, meaningless without the secret."""
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def fingerprint(self, row: PatientRow) -> str:
        """Who the plan is for and what it says: the patient_id (or none) and the row's inputs, recipient included."""
        return self.keyed(f"{row.patient_id}\0{row.fingerprint}")

    def _write(self, statement: str, values: tuple[object, ...]) -> None:
        try:
            self._db.execute(statement, values)
        except sqlite3.Error as exc:
            raise HandoutError(f"{self.path}: cannot write the batch journal ({exc})") from None

    def mark(self, key: str, row: int, state: str, document_hmac: str | None = None, reason: str | None = None) -> None:
        """Record a row's latest state."""
        self._write(
            """
            INSERT INTO rows (key, row, state, document_hmac, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET
                row = excluded.row, state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at,
                document_hmac = COALESCE(excluded.document_hmac, rows.document_hmac)
            """,
            (key, row, state, document_hmac, reason, _now()),
        )

    def delivery(self, fingerprint: str) -> MailRecord | None:
        """The plan with this fingerprint was handed to the mail server ('sending') or accepted by it ('sent')."""
        found = self._db.execute("SELECT state, message_id FROM deliveries WHERE fingerprint = ?", (fingerprint,)).fetchone()
        return MailRecord(*found) if found else None

    def sent_before_upgrade(self, row: PatientRow, fingerprint: str) -> MailRecord | None:
        """The plan handout 0.1 sent for this row, if this journal came from 0.1; recorded under `fingerprint` from now on.

        0.1 fingerprinted the name as typed: decomposed accents (as Macs save
        them) or direction marks gave another fingerprint than today's NFC one.
        """
        if not self._upgraded_from_0_1 or not row.legacy_fingerprint:
            return None
        found = self._db.execute(
            "SELECT message_id, sent_at FROM deliveries WHERE fingerprint = ? AND state = 'sent'",
            (self.keyed(f"{row.patient_id}\0{row.legacy_fingerprint}"),),
        ).fetchone()
        if found is None:
            return None
        message_id, sent_at = found
        self._write(
            "INSERT OR IGNORE INTO deliveries VALUES (?, ?, 'sent', ?, ?, ?)", (fingerprint, row.patient_id, message_id, sent_at, _now())
        )
        return MailRecord("sent", message_id)

    def sent_to_patient(self, patient_id: str) -> bool:
        """A plan for this patient_id was accepted before (perhaps with other details)."""
        return self._db.execute("SELECT 1 FROM deliveries WHERE patient_id = ? AND state = 'sent'", (patient_id,)).fetchone() is not None

    def mark_sending(self, fingerprint: str, patient_id: str, message_id: str) -> None:
        """About to hand the plan to the server: if the run dies now, the next one knows it may have arrived."""
        self._write(
            """
            INSERT INTO deliveries (fingerprint, patient_id, state, message_id, updated_at) VALUES (?, ?, 'sending', ?, ?)
            ON CONFLICT(fingerprint) DO UPDATE SET message_id = excluded.message_id, updated_at = excluded.updated_at,
                state = CASE state WHEN 'sent' THEN 'sent' ELSE 'sending' END  -- a forced re-send that fails was still sent once
            """,
            (fingerprint, patient_id, message_id, _now()),
        )

    def mark_sent(self, fingerprint: str) -> None:
        """The mail server accepted the plan."""
        now = _now()
        self._write("UPDATE deliveries SET state = 'sent', sent_at = ?, updated_at = ? WHERE fingerprint = ?", (now, now, fingerprint))

    def forget_sending(self, fingerprint: str) -> None:
        """The server refused the plan for good or before taking it: nothing arrived."""
        self._write("DELETE FROM deliveries WHERE fingerprint = ? AND state = 'sending'", (fingerprint,))


def _journal_secret(path: Path, create: bool) -> bytes:
    """The folder's random HMAC key, readable by its owner only; made once, atomically, with the first journal."""
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        if not create:
            raise HandoutError(
                f"{path} is missing: without it the journal cannot tell which plans were sent; "
                "restore it from a backup, or move the journal aside to start afresh"
            ) from None
    except (OSError, ValueError):
        raise HandoutError(f"{path}: cannot read the journal's key; restore it from a backup, or move the journal aside to start afresh") from None
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        # Made 0600 from the start (not chmod-ed later) and linked into place, so it is never seen half-written or readable by others.
        handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write(secrets.token_hex(32) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.link(temp, path)
    except FileExistsError:
        pass  # made a moment ago by another process: use that one
    except OSError as exc:
        raise HandoutError(f"{path}: cannot create the journal's key ({exc.strerror})") from None
    finally:
        temp.unlink(missing_ok=True)
    return _journal_secret(path, create=False)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
