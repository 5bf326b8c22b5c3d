"""The batch journal: an SQLite file recording each row's state, so a re-run sends only what is unsent."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from handout.errors import HandoutError
from handout.journal_files import (
    GO_ON,
    NEW_JOURNAL_OPTION,
    JournalUnusable,
    check_pair,
    create_journal_file,
    journal_paths,
    make_private,
    new_secret,
    read_secrets,
    set_aside,
    write_secrets,
)
from handout.patients import PatientRow

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
    state TEXT NOT NULL,          -- sending (not handed over yet) | maybe (handed over, no reply) | sent
    message_id TEXT NOT NULL,
    sent_at TEXT,
    updated_at TEXT NOT NULL
)"""
_META_TABLE = "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
_PLANS_TABLE = """
CREATE TABLE IF NOT EXISTS plans (
    file TEXT PRIMARY KEY,        -- keyed hash of the plan's absolute path
    made_from TEXT NOT NULL,      -- keyed hash of the row and everything else the plan was made from
    file_state TEXT NOT NULL,     -- keyed size, time and inode of the file as written: a file changed since is made again
    document_hmac TEXT NOT NULL
)"""
_KEY_CHECK = b"handout journal key check"
_PREVIOUS_ROW_COLUMNS = ["key", "row", "state", "document_sha256", "reason", "sent_fingerprint", "message_id", "sent_at", "updated_at"]  # handout 0.1
_ROW_COLUMNS = ["key", "row", "state", "document_hmac", "reason", "updated_at"]
_DELIVERY_COLUMNS = ["fingerprint", "patient_id", "state", "message_id", "sent_at", "updated_at"]
_UPGRADED_FROM_0_1 = 1  # the journal's PRAGMA user_version once it has been upgraded from handout 0.1's
# Writes a crash may lose (`lazily`) are committed together: at most this many, or this old, or with
# the next write that may not be lost. Each commit is a flush to disk (synchronous=FULL): one a row's
# state made a batch of plans to print wait on the disk about 3 times a plan.
LAZY_WRITES = 64
LAZY_SECONDS = 0.5


@dataclass(frozen=True)
class MailRecord:
    """What the journal knows about one plan handed to the mail server."""

    state: str
    message_id: str


class Journal:
    """Row states by key, deliveries by keyed fingerprint; each change is committed at once, so a kill -9 loses nothing (but what is written `lazily`).

    A plan counts as sent when the mail server accepted one with the same
    fingerprint: the patient_id (or none) and what the row asks for, never its
    position, so inserting, deleting or reordering rows re-sends nothing.
    Fingerprints are HMAC-SHA256 with a random secret kept beside the journal:
    someone holding only the journal cannot test candidate names against it.
    The key file may also hold the secrets of journals taken in from older
    handouts' output folders (see `take_in`); their deliveries keep their
    fingerprints and are recognised under their own secret.

    A row's state and a plan's record may be written `lazily`: committed with
    the next write that may not be lost, or within LAZY_WRITES writes or
    LAZY_SECONDS, or on close. A kill -9 can lose those, and losing one
    costs a re-run no more than rendering that plan again: what was handed
    to a mail server (`deliveries`) is never written lazily, and commits
    whatever lazy writes came before it.
    """

    def __init__(self, folder: Path, start_afresh: bool = False) -> None:
        self.folder = folder
        self._lazy = 0  # lazy writes not yet committed
        self._lazy_since = 0.0
        self.path, self.key_path = journal_paths(folder)
        if not start_afresh:
            self._open()
            return
        try:
            self._open()
        except JournalUnusable:
            set_aside(folder, "set-aside")
            self._open()
            return
        self._db.close()
        raise HandoutError(
            f"{self.path} is in order: {NEW_JOURNAL_OPTION} is only for a journal that is lost or damaged (to email sent plans again, use --resend)"
        )

    def _open(self) -> None:
        make_private(self.folder)
        if check_pair(self.folder):
            create_journal_file(self.path)
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
            for table in (_DELIVERIES_TABLE, _META_TABLE, _PLANS_TABLE):
                self._db.execute(table)
            self._db.execute("BEGIN IMMEDIATE")  # fails now, not mid-batch, if the journal is read-only
            self._db.execute("ROLLBACK")
            self._secrets = self._load_secrets(may_create=previous_version or self._is_empty())
            if previous_version:
                self._upgrade_plain_fingerprints()
            self._settle_old_sending()
            self._upgraded_from_0_1 = self._db.execute("PRAGMA user_version").fetchone()[0] == _UPGRADED_FROM_0_1 or self._meta("from_0_1") == "1"
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
                raise JournalUnusable(f"{self.path}: the journal is damaged ({exc}); {GO_ON}") from None
            if "readonly" in str(exc) or "read-only" in str(exc):
                raise HandoutError(f"{self.path}: handout cannot write the journal ({exc}); make it and its folder writable by you and run again") from None
            # A full disk, a file size limit, an I/O error: the journal is fine, writing it is not.
            raise HandoutError(f"{self.path}: cannot write the batch journal ({exc})") from None
        except BaseException:
            self._db.close()
            raise

    def _meta(self, name: str) -> str | None:
        found = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return found[0] if found else None

    def _load_secrets(self, may_create: bool) -> list[bytes]:
        """The journal's secret first, then those of journals taken in; refuses a key that is not this journal's."""
        if not self.key_path.exists():
            if not may_create:
                raise JournalUnusable(f"{self.key_path} is missing: without it the journal cannot tell which plans were sent; {GO_ON}")
            write_secrets(self.key_path, [new_secret()])
            self._db.execute("DELETE FROM meta WHERE name = 'key_check' OR name LIKE 'imported:%'")  # a journal that recorded nothing: its new key is its own
        own, *others = read_secrets(self.key_path)
        recorded = self._meta("key_check")
        if recorded is None:
            self._db.execute("INSERT INTO meta VALUES ('key_check', ?)", (_key_check(own),))  # a journal from before keys were checked
        elif not hmac.compare_digest(recorded, _key_check(own)):
            raise JournalUnusable(
                f"{self.key_path} does not belong to {self.path.name} (a key copied from another folder?): put back this journal's own key; "
                f"or, to treat every patient as not yet sent, run handout batch again with {NEW_JOURNAL_OPTION}"
            )
        needed = {row[0].removeprefix("imported:") for row in self._db.execute("SELECT name FROM meta WHERE name LIKE 'imported:%'")}
        # A secret whose journal was not yet taken in (a run stopped half-way) is left out: the next run takes it in again.
        taken = [secret for secret in others if _key_check(secret) in needed]
        if needed - {_key_check(secret) for secret in taken}:
            raise JournalUnusable(f"{self.key_path} lacks the key of a journal taken in from an output folder: restore the key file from a backup; {GO_ON}")
        return [own, *taken]

    def _settle_old_sending(self) -> None:
        """Before this version 'sending' also meant "handed over, no reply": such a plan may have arrived, so it is 'maybe'."""
        if self._meta("handover") is None:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("UPDATE deliveries SET state = 'maybe' WHERE state = 'sending'")
            self._db.execute("INSERT INTO meta VALUES ('handover', '1')")
            self._db.execute("COMMIT")

    def take_in(self, older: Path) -> int:
        """Take in the journal an older handout kept in an output folder: its deliveries and its secret; then set its files aside.

        Returns how many plans it recorded as handed over. Safe to repeat: a run
        stopped half-way takes it in again.
        """
        with Journal(older) as old:
            deliveries = old._db.execute("SELECT fingerprint, patient_id, state, message_id, sent_at, updated_at FROM deliveries WHERE state != 'sending'").fetchall()
            lines = read_secrets(self.key_path)
            write_secrets(self.key_path, lines + [secret for secret in old._secrets if secret not in lines])
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT OR IGNORE INTO deliveries VALUES (?, ?, ?, ?, ?, ?)", deliveries)
                db.executemany("INSERT OR IGNORE INTO meta VALUES (?, '1')", [(f"imported:{_key_check(secret)}",) for secret in old._secrets])
                if old._upgraded_from_0_1:
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('from_0_1', '1')")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._secrets += [secret for secret in old._secrets if secret not in self._secrets]
            self._upgraded_from_0_1 = self._upgraded_from_0_1 or old._upgraded_from_0_1
        set_aside(older, "taken-in")
        return len(deliveries)

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
        self.close()

    def close(self) -> None:
        try:
            self.commit()  # lazy writes record what happened; a run stopped by an error still keeps them
        finally:
            self._db.close()

    def commit(self) -> None:
        """Commit the lazy writes not yet committed."""
        self._lazy = 0
        if self._db.in_transaction:  # SQLite's own answer: a count kept here can miss a BEGIN whose first write failed
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise HandoutError(f"{self.path}: cannot write the batch journal ({exc})") from None

    def keyed(self, text: str) -> str:
        """HMAC-SHA256 under this journal's secret: stable here, meaningless without the secret."""
        return _keyed(self._secrets[0], text)

    def fingerprint(self, row: PatientRow) -> str:
        """Who the plan is for and what it says: the patient_id (or none) and the row's inputs, recipient included."""
        return self.keyed(f"{row.patient_id}\0{row.fingerprint}")

    def _every_key(self, text: str) -> list[str]:
        return [_keyed(secret, text) for secret in self._secrets]

    def _write(self, statement: str, values: tuple[object, ...], lazily: bool = False) -> None:
        try:
            if lazily and not self._db.in_transaction:
                self._db.execute("BEGIN IMMEDIATE")
                self._lazy_since = time.monotonic()
            self._db.execute(statement, values)
        except sqlite3.Error as exc:
            raise HandoutError(f"{self.path}: cannot write the batch journal ({exc})") from None
        if lazily:
            self._lazy += 1
            if self._lazy < LAZY_WRITES and time.monotonic() - self._lazy_since < LAZY_SECONDS:
                return
        self.commit()  # a write that may not be lost is committed now, with the lazy ones before it

    def mark(self, key: str, row: int, state: str, document_hmac: str | None = None, reason: str | None = None, lazily: bool = False) -> None:
        """Record a row's latest state (`lazily`: a crash may lose it, see the class)."""
        self._write(
            """
            INSERT INTO rows (key, row, state, document_hmac, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET
                row = excluded.row, state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at,
                document_hmac = COALESCE(excluded.document_hmac, rows.document_hmac)
            """,
            (key, row, state, document_hmac, reason, _now()),
            lazily,
        )

    def plan_made(self, path: Path, made_from: str) -> str | None:
        """The keyed hash of the plan at `path` if an earlier run made it from `made_from` and the file is as that run left it."""
        found = self._db.execute("SELECT made_from, file_state, document_hmac FROM plans WHERE file = ?", (self._plan_file(path),)).fetchone()
        if found is None or not hmac.compare_digest(found[0], made_from):
            return None
        state = self._file_state(path)
        return found[2] if state is not None and hmac.compare_digest(found[1], state) else None

    def record_plan(self, path: Path, made_from: str, document_hmac: str, lazily: bool = False) -> None:
        """The plan at `path` is made from `made_from`: a re-run keeps it while neither changes (lost in a crash: made again)."""
        state = self._file_state(path)
        if state is not None:
            self._write("INSERT OR REPLACE INTO plans VALUES (?, ?, ?, ?)", (self._plan_file(path), made_from, state, document_hmac), lazily)

    def _plan_file(self, path: Path) -> str:
        return self.keyed(f"file\0{path.resolve()}")

    def _file_state(self, path: Path) -> str | None:
        """Size, modification time and inode: a file replaced or edited since is made again."""
        try:
            info = path.stat()
        except OSError:
            return None
        return self.keyed(f"state\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ino}")

    def delivery(self, row: PatientRow) -> MailRecord | None:
        """What became of this row's plan: about to be handed over ('sending'), handed over with no reply ('maybe'), or accepted ('sent').

        Looked up under every secret (journals taken in keep theirs), and under the
        fingerprint without the PDF password that earlier versions used, so an
        upgrade sends nothing again; the best-known state wins.
        """
        texts = [f"{row.patient_id}\0{row.fingerprint}"]
        if row.fingerprint_without_password:
            texts.append(f"{row.patient_id}\0{row.fingerprint_without_password}")
        fingerprints = [keyed for text in texts for keyed in self._every_key(text)]
        found = self._db.execute(
            f"SELECT state, message_id FROM deliveries WHERE fingerprint IN ({','.join('?' * len(fingerprints))}) "
            "ORDER BY CASE state WHEN 'sent' THEN 0 WHEN 'maybe' THEN 1 ELSE 2 END LIMIT 1",
            fingerprints,
        ).fetchone()
        return MailRecord(*found) if found else None

    def sent_before_upgrade(self, row: PatientRow, fingerprint: str) -> MailRecord | None:
        """The plan handout 0.1 sent for this row, if this journal came from 0.1; recorded under `fingerprint` from now on.

        0.1 fingerprinted the name as typed: decomposed accents (as Macs save
        them) or direction marks gave another fingerprint than today's NFC one.
        """
        if not self._upgraded_from_0_1 or not row.legacy_fingerprint:
            return None
        legacy = self._every_key(f"{row.patient_id}\0{row.legacy_fingerprint}")
        found = self._db.execute(
            f"SELECT message_id, sent_at FROM deliveries WHERE fingerprint IN ({','.join('?' * len(legacy))}) AND state = 'sent'", legacy
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
            ON CONFLICT(fingerprint) DO UPDATE SET message_id = excluded.message_id, updated_at = excluded.updated_at
            """,  # a forced re-send keeps what is known ('sent', 'maybe') until this attempt settles it
            (fingerprint, patient_id, message_id, _now()),
        )

    def mark_handed_over(self, fingerprint: str) -> None:
        """The message's content starts to go over: until the server replies, it may arrive."""
        self._write("UPDATE deliveries SET state = 'maybe', updated_at = ? WHERE fingerprint = ? AND state != 'sent'", (_now(), fingerprint))

    def mark_sent(self, fingerprint: str) -> None:
        """The mail server accepted the plan."""
        now = _now()
        self._write("UPDATE deliveries SET state = 'sent', sent_at = ?, updated_at = ? WHERE fingerprint = ?", (now, now, fingerprint))

    def not_delivered(self, fingerprint: str, before: MailRecord | None) -> None:
        """The server refused this attempt or never took it: back to what was known before it (nothing, 'maybe' or 'sent')."""
        if before is None or before.state == "sending":
            self._write("DELETE FROM deliveries WHERE fingerprint = ? AND state != 'sent'", (fingerprint,))
        else:
            self._write("UPDATE deliveries SET state = ? WHERE fingerprint = ? AND state != 'sent'", (before.state, fingerprint))


def _keyed(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def _key_check(secret: bytes) -> str:
    """Stored in the journal to tell its own key from another folder's; says nothing about the key itself."""
    return hmac.new(secret, _KEY_CHECK, hashlib.sha256).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
