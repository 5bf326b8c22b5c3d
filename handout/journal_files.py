"""The journal's files: where they live, their key, their permissions, and what to do when one is lost or damaged."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import stat
from pathlib import Path

from handout.errors import HandoutError

JOURNAL_NAME = "handout-journal.sqlite"
SECRET_NAME = "handout-journal.key"
SIDE_FILES = ("-wal", "-shm")  # SQLite's write-ahead log and its index, beside the journal
NEW_JOURNAL_OPTION = "--new-journal"
GO_ON = f"restore it from a backup, or, to treat every patient as not yet sent, run handout batch again with {NEW_JOURNAL_OPTION}"


class JournalUnusable(HandoutError):
    """The journal or its key is lost, damaged or does not match: going on could email everyone again."""


def default_data_dir() -> Path:
    """The user's data folder for handout (platformdirs: ~/.local/share/handout on Linux), shared by the command line and the page."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("handout", appauthor=False))


def journal_paths(folder: Path) -> tuple[Path, Path]:
    """The journal and its key in `folder`."""
    return folder / JOURNAL_NAME, folder / SECRET_NAME


def has_journal(folder: Path) -> bool:
    """Whether `folder` holds a journal or a key (an older handout kept them in each --out-dir)."""
    return any(path.exists() for path in journal_paths(folder))


def _is_empty_file(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True


def check_pair(folder: Path) -> bool:
    """Whether a new journal may be made here: True when neither file exists; one line when one is there without the other.

    A journal found without its key is usable only when it records nothing (checked by the caller);
    a key without its journal means the record of what was sent is gone.
    """
    journal, key = journal_paths(folder)
    if key.exists() and _is_empty_file(journal):
        state = "is empty" if journal.exists() else "is missing"
        raise JournalUnusable(f"{journal} {state}, but its key {key.name} is there: the record of which plans were sent is lost; {GO_ON}")
    return not key.exists() and _is_empty_file(journal)


def make_private(folder: Path) -> None:
    """The journal and its side files readable and writable by their owner only, or one line saying why handout cannot write them.

    SQLite gives the side files the journal's permissions when it makes them: a run on a read-only journal
    would leave a read-only `-shm` that keeps failing after the journal itself is writable again. So every
    file is checked before SQLite opens anything, and handout's own files are put right (0600).
    """
    journal, _ = journal_paths(folder)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise HandoutError(f"{folder}: handout cannot write in the journal's folder; give your user write permission to it (chmod u+rwx) and run again")
    for path in (journal, *(journal.with_name(journal.name + suffix) for suffix in SIDE_FILES)):
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):
            raise HandoutError(f"{path}: is not a regular file; move it aside and run again")
        if info.st_uid == os.getuid():
            if path == journal and not info.st_mode & stat.S_IWUSR:
                raise HandoutError(f"{path}: the journal is read-only, so handout cannot record what it sends; make it writable (chmod 600 {path}) and run again")
            if stat.S_IMODE(info.st_mode) != 0o600:
                os.chmod(path, 0o600)  # a side file left read-only by a run on a read-only journal, or a journal of an older handout (0644)
        elif not os.access(path, os.R_OK | os.W_OK):
            raise HandoutError(f"{path}: belongs to another user and handout cannot write it; ask them to remove it, or run as that user")


def create_journal_file(path: Path) -> None:
    """Made 0600 before SQLite opens it, so the journal and its side files are private whatever the umask."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # an empty one (checked by the caller), or made a moment ago by another process
    except OSError as exc:
        raise HandoutError(f"{path}: cannot create the batch journal ({exc.strerror})") from None


def read_secrets(path: Path) -> list[bytes]:
    """The key file's secrets, the journal's own first; one line if it is damaged."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
        found = [bytes.fromhex(line) for line in lines]
    except FileNotFoundError:
        raise JournalUnusable(f"{path} is missing: without it the journal cannot tell which plans were sent; {GO_ON}") from None
    except (OSError, ValueError):
        raise JournalUnusable(f"{path}: the journal's key is damaged (not a key handout wrote); {GO_ON}") from None
    if not found or any(len(secret) != 32 for secret in found):
        raise JournalUnusable(f"{path}: the journal's key is {'empty' if not found else 'damaged'}; {GO_ON}")
    return found


def write_secrets(path: Path, values: list[bytes]) -> None:
    """Write the key file (0600 from the start, linked or renamed into place, so it is never seen half-written or readable by others)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write("".join(value.hex() + "\n" for value in values))
            stream.flush()
            os.fsync(stream.fileno())
        if path.exists():
            os.replace(temp, path)
        else:
            os.link(temp, path)  # fails if another process made one a moment ago: theirs is used
    except FileExistsError:
        pass
    except OSError as exc:
        raise HandoutError(f"{path}: cannot write the journal's key ({exc.strerror})") from None
    finally:
        temp.unlink(missing_ok=True)


def new_secret() -> bytes:
    return secrets.token_bytes(32)


def set_aside(folder: Path, why: str) -> Path:
    """Move a journal and its key out of the way under a dated name (never deleted: a backup may still need them); returns the new journal's name."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    journal, key = journal_paths(folder)
    moved = journal.with_name(f"handout-journal-{why}-{stamp}.sqlite")
    for path, target in (
        (journal, moved),
        *((journal.with_name(journal.name + suffix), moved.with_name(moved.name + suffix)) for suffix in SIDE_FILES),
        (key, moved.with_suffix(".key")),
    ):
        try:
            os.rename(path, target)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise HandoutError(f"{path}: cannot move it aside ({exc.strerror})") from None
    return moved
