"""Writes finished files: atomically into regular files, streamed to standard output, pipes and devices."""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from handout.errors import HandoutError, UsageError

STANDARD_OUTPUT = "-"
_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV)


def is_standard_output(path: Path) -> bool:
    """True for `-o -`, the conventional name for standard output."""
    return str(path) == STANDARD_OUTPUT


def write_output(path: Path, data: bytes, private: bool = False) -> str:
    """Write a document where the user's `-o` points, and say where it went.

    A regular file (or a new path) is replaced atomically: never half-written.
    `-` is standard output. A named pipe or a character device (a print
    queue's pipe, /dev/null) is written to as a stream, as the user clearly
    meant; it is never replaced by a file. Anything else is refused.
    """
    if is_standard_output(path):
        _write_standard_output(data)
        return "standard output"
    mode = _mode(path)
    if mode is not None and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        _write_stream(path, data, stat.S_ISFIFO(mode))
        return str(path)
    write_atomic(path, data, private)
    return str(path)


def write_atomic(path: Path, data: bytes, private: bool = True) -> Path:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it into place.

    `private` (patient data: plans, messages, lists): readable by this user only
    (0600) whatever the umask; otherwise the user's usual permissions.

    Only for regular files: a symbolic link keeps pointing where it did (its
    target is replaced), and a pipe, device, socket or folder is refused
    rather than replaced by a file.
    """
    path = _regular_file(path)
    return _renamed(_write_temporary(path.parent, f".{path.name}.", data, private, path), path)


@dataclass(frozen=True)
class Unsynced:
    """A file `write_unsynced` wrote under a temporary name and not yet flushed to disk: `commit_written` makes it `path`."""

    temp: Path
    path: Path  # where it goes: the name asked for, or the file a symbolic link there points to


def write_unsynced(path: Path, data: bytes) -> Unsynced:
    """Write `data` privately (0600) to a temporary file beside `path`, checked as write_atomic checks it, but neither flushed to disk nor renamed.

    A batch's workers write plans so, and its own process commits each as it takes
    it in: a worker never waits for the disk (1.7-1.9 ms a plan here, more on a
    spinning disk), and a file under a plan's name is still always whole, even
    after a power cut. A `.part` file nobody committed is swept up by the batch.
    """
    path = _regular_file(path)
    return Unsynced(_write_temporary(path.parent, f".{path.name}.", data, True, path, flush=False), path)


def commit_written(written: Unsynced) -> Path:
    """Flush a file `write_unsynced` wrote to disk, then rename it into place: atomically, as write_atomic; removed if either fails."""
    try:
        try:
            handle = os.open(written.temp, os.O_RDONLY)
            try:
                os.fsync(handle)  # a write the disk refuses (EIO, a network share's full quota) can show only here
            finally:
                os.close(handle)
        except OSError as exc:
            from handout.terminal import write_error_message

            raise HandoutError(write_error_message(exc, str(written.path))) from None
        path = _regular_file(written.path)  # checked again: the worker wrote it a moment ago, and the folder is the user's
    except BaseException:
        written.temp.unlink(missing_ok=True)
        raise
    return _renamed(written.temp, path)


def _regular_file(path: Path) -> Path:
    """Where writing `path` goes (through a symbolic link), or one line saying why it cannot: a pipe, device or folder there, no folder for it."""
    path = _through_links(path)
    mode = _mode(path)
    if mode is not None and not stat.S_ISREG(mode):
        raise HandoutError(f"{path}: is {_kind(mode)}, not a file; give the name of a file to write")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise HandoutError(f"{folder}: output folder not found")
    return path


def _renamed(temp: Path, path: Path) -> Path:
    """The finished temporary file renamed to `path`, or removed and one line saying why not."""
    try:
        os.replace(temp, path)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise HandoutError(f"{path}: cannot write the file ({exc.strerror})") from None
        raise
    return path


def write_exclusive(folder: Path, new_name: Callable[[], str], data: bytes) -> Path:
    """Write `data` in full under a temporary name, then give it a name that did not exist yet (from `new_name`).

    Never replaces a file, even when two processes write into `folder` at the
    same moment: the name is taken by a hard link, which fails rather than replaces.
    """
    temp = _write_temporary(folder, ".handout.", data, private=True)  # a name batch.remove_partial_files knows as handout's
    try:
        for _ in range(100):
            target = folder / new_name()
            try:
                os.link(temp, target)
                return target
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:
                    raise
                # A USB stick or network share without hard links: create the name exclusively and write into it.
                try:
                    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as stream:
                        stream.write(data)
                        stream.flush()
                        os.fsync(stream.fileno())
                except FileExistsError:
                    continue
                except BaseException:
                    target.unlink(missing_ok=True)
                    raise
                return target
        raise HandoutError(f"{folder}: could not find a free file name")
    except OSError as exc:
        raise HandoutError(f"{folder}: cannot write the file ({exc.strerror})") from None
    finally:
        temp.unlink(missing_ok=True)


def _write_temporary(folder: Path, prefix: str, data: bytes, private: bool, target: Path | None = None, flush: bool = True) -> Path:
    """`data` in a new `.part` file in `folder` (what a batch sweeps up if the writer dies), flushed to disk unless not to `flush`; mkstemp makes it 0600; errors name `target`."""
    try:
        handle, temp_name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".part")
    except OSError as exc:
        raise HandoutError(f"{folder}: cannot write here ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            if flush:
                os.fsync(stream.fileno())
        if not private:
            os.chmod(temp_name, 0o666 & ~_umask())
    except BaseException as exc:
        Path(temp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            from handout.terminal import write_error_message

            raise HandoutError(write_error_message(exc, str(target or folder))) from None
        raise
    return Path(temp_name)


def _through_links(path: Path) -> Path:
    # Renaming onto a symbolic link would replace the link itself with a file.
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _mode(path: Path) -> int | None:
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HandoutError(f"{path}: cannot be checked ({exc.strerror})") from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _write_standard_output(data: bytes) -> None:
    """All of `data` on standard output, or one line saying why not; a regular file it was redirected to is left as it was."""
    if sys.stdout.isatty():
        raise UsageError("-o - writes the PDF to standard output, which is a terminal here; redirect it (> file.pdf, | lp) or give a file name")
    sys.stdout.flush()
    try:
        handle = sys.stdout.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation: a stream in memory (a test's, an embedding program's)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    regular = stat.S_ISREG(os.fstat(handle).st_mode)
    start = os.lseek(handle, 0, os.SEEK_CUR) if regular else 0
    try:
        # os.write, not sys.stdout.buffer: a write cut short by a file-size limit (ulimit -f) must not pass for a whole one.
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
        if regular:
            os.fsync(handle)  # a full disk can show only here
    except BrokenPipeError:
        # The reading program stopped early (`| head`): its choice, and nothing on disk is affected.
        _silence_broken_pipe()
        raise HandoutError("standard output: the program reading the PDF stopped before the end") from None
    except OSError as exc:
        if regular:
            _cut_back(handle, start)  # a half PDF would open as a damaged one, or not at all
        _silence_broken_pipe()
        from handout.terminal import write_error_message

        raise HandoutError(write_error_message(exc, "standard output")) from None


def _cut_back(handle: int, size: int) -> None:
    try:
        os.ftruncate(handle, size)
    except OSError:
        pass


def _silence_broken_pipe() -> None:
    # Python would report the broken pipe again when it flushes stdout at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _write_stream(path: Path, data: bytes, pipe: bool) -> None:
    # O_NONBLOCK makes opening a pipe nobody reads fail at once instead of waiting for ever.
    flags = os.O_WRONLY | (os.O_NONBLOCK if pipe else 0)
    try:
        handle = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise HandoutError(f"{path}: is a named pipe and nothing is reading from it; start the reading program first") from None
        raise HandoutError(f"{path}: cannot be opened for writing ({exc.strerror})") from None
    try:
        if pipe:
            os.set_blocking(handle, True)
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
    except OSError as exc:
        from handout.terminal import write_error_message

        raise HandoutError(write_error_message(exc, str(path))) from None
    finally:
        os.close(handle)


def _umask() -> int:
    # mkstemp makes files private (0600); a finished file gets the user's usual permissions.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ensure_folder(folder: Path, private: bool = False) -> Path:
    """Create an output folder, or fail in one line saying why; `private`: 0700 when new, whatever the umask."""
    try:
        if not private:
            folder.mkdir(parents=True, exist_ok=True)
        else:
            missing = [folder, *(parent for parent in folder.parents if not parent.exists())]
            for new in reversed([path for path in missing if not path.is_dir()]):
                try:
                    new.mkdir(mode=0o700)
                except FileExistsError:
                    if not new.is_dir():
                        raise
                    continue  # made a moment ago by another process
                os.chmod(new, 0o700)  # mkdir's mode is filtered by the umask; a missing parent is made private too
    except FileExistsError:
        raise HandoutError(f"{folder}: is a file, not a folder") from None
    except OSError as exc:
        raise HandoutError(f"{folder}: cannot create the folder ({exc.strerror})") from None
    return folder


def private_folder(folder: Path, what: str) -> Path:
    """A folder for patient data: made 0700 when new; refused in one line when other users can write to it.

    Whoever can write to the folder can replace or link what handout writes
    there, or read a file in the moment before it is in place.
    """
    ensure_folder(folder, private=True)
    try:
        info = folder.stat()
    except OSError as exc:
        raise HandoutError(f"{folder}: cannot be checked ({exc.strerror})") from None
    if _writable_by_others(info):
        raise HandoutError(
            f"{folder} ({what}): other users can write to this folder, and it would hold patient data; "
            f"make it yours alone (chmod 700 {folder}) or choose another folder"
        )
    return folder


def _writable_by_others(info: os.stat_result) -> bool:
    if info.st_mode & stat.S_IWOTH:
        return True
    # Group-writable is fine for the user's own private group (the usual umask 002 on Debian and Ubuntu), not for a shared one.
    return bool(info.st_mode & stat.S_IWGRP) and not _own_private_group(info.st_gid)


def _own_private_group(gid: int) -> bool:
    import grp
    import pwd

    try:
        group, user = grp.getgrgid(gid), pwd.getpwuid(os.getuid())
    except KeyError:
        return False
    return group.gr_name == user.pw_name and gid == user.pw_gid and set(group.gr_mem) <= {user.pw_name}


def writable_folder(folder: Path, private: bool = False) -> Path:
    """An existing or new folder this user can write in, or one line saying why not (checked by making a folder there)."""
    if private:
        private_folder(folder, "the data folder")
    else:
        ensure_folder(folder)
    try:
        probe = Path(tempfile.mkdtemp(prefix=".handout-probe-", dir=folder))
        probe.rmdir()
    except OSError as exc:
        raise HandoutError(f"{folder}: cannot write here ({exc.strerror})") from None
    return folder
