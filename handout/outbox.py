"""The outbox: plan emails written as .eml files for the clinic to send later, named without any patient's name."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from email.message import EmailMessage
from pathlib import Path

from handout.mail import message_bytes
from handout.output import ensure_folder, write_atomic, write_exclusive
from handout.runcontrol import folder_lock

BATCH_BUSY = "a handout batch is writing to that outbox; wait for it to finish, or use another --outbox"


def write_outbox(folder: Path, patient_id: str, message: EmailMessage) -> Path:
    """A batch row's message as an .eml file named by its patient_id and Message-ID, never by the row's position.

    The same plan for the same patient makes the same message, so a re-run (or
    a row that moved) rewrites its own file. A new message for a patient_id (a
    corrected address, new dates) replaces that patient's older ones, so the
    clinic can never send the stale one.
    """
    ensure_folder(folder, private=True)
    written = write_atomic(folder / outbox_name(patient_id, message["Message-ID"]), message_bytes(message))
    if not patient_id:
        return written
    superseded = re.compile(re.escape(patient_id) + r"-[0-9a-f]{12}\.eml")
    for older in folder.glob(f"{patient_id}-*.eml"):
        if older.name != written.name and superseded.fullmatch(older.name):
            older.unlink(missing_ok=True)
    return written


def outbox_name(patient_id: str, message_id: str) -> str:
    """A batch row's .eml name: its patient_id and its Message-ID's digest (a row without a patient_id: `plan-` and a longer digest)."""
    digest = hashlib.sha256(message_id.strip().encode()).hexdigest()
    # Not of the form ID-<12 hex>: never taken for a patient's superseded message.
    return f"{patient_id}-{digest[:12]}.eml" if patient_id else f"plan-{digest[:16]}.eml"


def remove_from_outbox(folder: Path, patient_id: str, message_id: str) -> None:
    """The message was sent: its .eml file leaves the outbox, which shows only what is still to send."""
    (folder / outbox_name(patient_id, message_id)).unlink(missing_ok=True)


def write_new_outbox_file(folder: Path, message: EmailMessage) -> Path:
    """One plan's message under a new random name, created exclusively: it never replaces another message.

    Holds the outbox's lock (shared) while it writes, so a batch starting on the
    same outbox cannot sweep up its temporary file; refuses while a batch runs there.
    """
    ensure_folder(folder, private=True)
    with folder_lock(folder, BATCH_BUSY, shared=True):
        return write_exclusive(folder, lambda: f"walking-plan-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}.eml", message_bytes(message))
