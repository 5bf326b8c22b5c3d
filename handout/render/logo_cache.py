"""Keeps an SVG logo's drawing operators between runs in a private per-user folder, so a command draws it without svglib and lxml."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Reading an SVG takes svglib and lxml (about a tenth of `handout leaflet`'s start) for a
# picture that is the same every run. The logo's operators, as ReportLab wrote them the first
# time, are kept under a key made of everything that decides them: the SVG's bytes, svglib's
# and ReportLab's versions, this module's format, the body font the drawing starts in and
# Python. A change to any of them is another key, so a stale entry is never read; at most
# MAX_ENTRIES logos are kept (a clinic has one or two), the least recently written go first.
FORMAT = 1
MAX_ENTRIES = 8


@dataclass(frozen=True)
class CachedLogo:
    """An SVG logo as drawn: its natural size in points and the content-stream operators that draw it."""

    width: float
    height: float
    operators: tuple[str, ...]


def _svglib_version() -> str:
    """svglib's installed version, read from its files rather than by importing it (which is what the cache spares)."""
    import importlib.util

    spec = importlib.util.find_spec("svglib")
    if spec is None or not spec.submodule_search_locations:
        return "none"
    package = Path(next(iter(spec.submodule_search_locations)))
    try:
        installed = sorted(entry.name for entry in os.scandir(package.parent) if entry.name.lower().startswith("svglib-"))
        code = (package / "svglib.py").stat()
    except OSError:
        return "unknown"
    # The distribution's version, and the converter's own file as a second witness (an edited or re-installed copy).
    return f"{'|'.join(installed)}|{code.st_size}|{code.st_mtime_ns}"


def cache_key(svg: bytes, font: str) -> str:
    """The key of a logo with these bytes, drawn starting in `font`, by the svglib and ReportLab installed now."""
    from reportlab import Version as reportlab_version

    digest = hashlib.sha256(svg)
    digest.update(f"|{FORMAT}|{font}|{reportlab_version}|{_svglib_version()}|{sys.version}".encode())
    return digest.hexdigest()


def cache_folder() -> Path | None:
    """The logo cache in the user's cache folder (~/.cache/handout/logos on Linux), or None when it cannot be made private.

    HANDOUT_LOGO_CACHE=off turns it off.
    """
    if os.environ.get("HANDOUT_LOGO_CACHE", "").strip().lower() in ("off", "0", "no", "false"):
        return None
    from handout.template_bytecode import private_folder, user_cache_root

    root = user_cache_root()
    folder = root / "logos"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (private_folder(folder) and private_folder(root)):
            return None  # operators read from a folder others can write to would go into the patient's document
    except OSError:
        return None
    return folder


def load(key: str, folder: Path | None) -> CachedLogo | None:
    """The logo kept under `key`, or None when there is none or it is damaged (it is then drawn and written again)."""
    if folder is None:
        return None
    try:
        with (folder / f"{key}.json").open(encoding="utf-8") as stream:
            kept = json.load(stream)
        operators = kept["operators"]
        if kept["key"] != key or not all(isinstance(operator, str) for operator in operators):
            return None
        width, height = float(kept["width"]), float(kept["height"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not (width > 0 and height > 0):
        return None
    return CachedLogo(width, height, tuple(operators))


def store(key: str, folder: Path | None, logo: CachedLogo) -> None:
    """Keep a logo under `key`, written whole or not at all; any trouble only means drawing it with svglib next time."""
    if folder is None:
        return
    text = json.dumps({"key": key, "width": logo.width, "height": logo.height, "operators": list(logo.operators)})
    try:
        handle, scratch = tempfile.mkstemp(dir=folder, prefix=".logo-", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(scratch, folder / f"{key}.json")
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise
        _keep_newest(folder)
    except OSError:
        pass


def _keep_newest(folder: Path) -> None:
    entries = sorted(folder.glob("*.json"), key=lambda path: path.stat().st_mtime_ns, reverse=True)
    for stale in entries[MAX_ENTRIES:]:
        stale.unlink(missing_ok=True)
