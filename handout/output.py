"""Writes files atomically, so no half-written PDF is ever left behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from handout.errors import HandoutError


def write_atomic(path: Path, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it into place."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise HandoutError(f"{path}: is a folder; give a file name such as {path / 'leaflet.pdf'}")
    if not folder.is_dir():
        raise HandoutError(f"{folder}: output folder not found")
    try:
        handle, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise HandoutError(f"{folder}: cannot write here ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_name, 0o666 & ~_umask())
        os.replace(temp_name, path)
    except BaseException as exc:
        Path(temp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise HandoutError(f"{path}: cannot write the file ({exc.strerror})") from None
        raise
    return path


def _umask() -> int:
    # mkstemp makes files private (0600); a finished file gets the user's usual permissions.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ensure_folder(folder: Path) -> Path:
    """Create an output folder, or fail in one line saying why."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise HandoutError(f"{folder}: is a file, not a folder") from None
    except OSError as exc:
        raise HandoutError(f"{folder}: cannot create the folder ({exc.strerror})") from None
    return folder
