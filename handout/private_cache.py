"""Small results kept between runs as JSON files in a private per-user folder: written whole, bounded, never trusted blindly."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from handout.errors import HandoutError


def installed_version(package: str, module_file: str) -> str:
    """A package's installed version, read from its files rather than by importing it (importing is what a cache spares).

    The distribution's dist-info name, and the given module file's size and time as a second witness
    (an edited or re-installed copy).
    """
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return "none"
    folder = Path(next(iter(spec.submodule_search_locations)))
    try:
        installed = sorted(entry.name for entry in os.scandir(folder.parent) if entry.name.lower().startswith(f"{package}-"))
        code = (folder / module_file).stat()
    except OSError:
        return "unknown"
    return f"{'|'.join(installed)}|{code.st_size}|{code.st_mtime_ns}"


def cache_folder(name: str) -> Path | None:
    """`name` in handout's user cache folder (~/.cache/handout/<name> on Linux), or None when it cannot be made private.

    HANDOUT_CACHE=off turns these caches off (HANDOUT_TEMPLATE_CACHE the compiled templates').
    """
    if os.environ.get("HANDOUT_CACHE", "").strip().lower() in ("off", "0", "no", "false"):
        return None
    from handout.template_bytecode import private_folder, user_cache_root

    root = user_cache_root()
    folder = root / name
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (private_folder(folder) and private_folder(root)):
            return None  # what is read back goes into a patient's document: never from a folder others can write to
    except OSError:
        return None
    return folder


def load(folder: Path | None, key: str) -> dict[str, Any] | None:
    """The entry kept under `key`, or None when there is none, or it is damaged or another key's (it is made and written again)."""
    if folder is None:
        return None
    try:
        with (folder / f"{key}.json").open(encoding="utf-8") as stream:
            kept = json.load(stream)
    except (OSError, ValueError):
        return None
    return kept if isinstance(kept, dict) and kept.get("key") == key else None


def store(folder: Path | None, key: str, entry: dict[str, Any], keep: int) -> None:
    """Keep `entry` under `key`, written whole or not at all, and only the `keep` newest entries; any trouble only means making it again next time."""
    if folder is None:
        return
    text = json.dumps({**entry, "key": key})
    try:
        from handout.output import write_atomic  # only when an entry is made: a warm start writes nothing

        write_atomic(folder / f"{key}.json", text.encode("utf-8"))  # 0600, whole or not at all
        entries = sorted(folder.glob("*.json"), key=lambda path: path.stat().st_mtime_ns, reverse=True)
        for stale in entries[keep:]:
            stale.unlink(missing_ok=True)
    except (OSError, HandoutError):
        pass
