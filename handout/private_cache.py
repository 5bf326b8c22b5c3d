"""Results kept between runs in a private per-user folder (JSON, or bytes with their digest): written whole, bounded, never trusted blindly.

Also the one answer to where handout's user cache folder is and whether it may be used, which every
cache asks (these JSON files, the compiled templates, the data classes' code): dataclass_code.py asks
it first thing at start-up, so this module imports nothing a command does not import anyway.
"""

from __future__ import annotations

import os
import stat
import sys
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


OFF = ("off", "0", "no", "false")  # what HANDOUT_CACHE (and HANDOUT_TEMPLATE_CACHE) may say to turn caches off


def user_cache_root(ask_platformdirs: bool = True) -> Path | None:
    """handout's folder in the user's cache folder: $XDG_CACHE_HOME/handout, else ~/.cache/handout on Linux.

    The XDG specification says a relative XDG_CACHE_HOME is invalid and must be ignored: it is, as
    platformdirs ignores it (a relative one would be a different folder in every working directory).
    The home is an absolute HOME, else the user's entry in the password database; with neither there is
    no folder (None). Off plain Linux, platformdirs names the folder, when `ask_platformdirs` (importing
    it costs more than the code kept at start-up saves, so dataclass_code.py does not).
    """
    if sys.platform == "linux" and not hasattr(sys, "getandroidapilevel") and not os.environ.get("ANDROID_DATA"):
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        if os.path.isabs(xdg):
            return Path(xdg, "handout")
        home = os.environ.get("HOME", "")
        if not os.path.isabs(home):
            try:
                import pwd

                home = pwd.getpwuid(os.getuid()).pw_dir
            except (ImportError, KeyError):
                return None
        return Path(home, ".cache", "handout") if os.path.isabs(home) else None
    if not ask_platformdirs:
        return None
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("handout", appauthor=False))


def private_folder(folder: Path) -> bool:
    """A real folder (not a link), this user's own, that nobody else may write to."""
    info = folder.lstat()
    owner_ok = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return stat.S_ISDIR(info.st_mode) and owner_ok and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def made_private(folder: Path, root: Path | None = None) -> Path | None:
    """`folder`, made if need be (0700), when it and `root` (the folder it is in, if given) are private; else None.

    What a cache reads back goes into a patient's document or runs as this user: never from a folder
    (or a folder inside one) that someone else owns or may write to, nor through a link.
    """
    if root is not None and made_private(root) is None:
        return None  # checked first: nothing is made inside a folder that is not private (or through a link)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if private_folder(folder):
            return folder
    except OSError:
        pass
    return None


def cache_root(ask_platformdirs: bool = True) -> Path | None:
    """handout's user cache folder (user_cache_root), made private, or None when caches are off (HANDOUT_CACHE=off) or it cannot be."""
    if os.environ.get("HANDOUT_CACHE", "").strip().lower() in OFF:
        return None
    root = user_cache_root(ask_platformdirs)
    return None if root is None else made_private(root)


def cache_folder(name: str) -> Path | None:
    """`name` in handout's user cache folder (~/.cache/handout/<name> on Linux), or None when it cannot be made private.

    HANDOUT_CACHE=off turns these caches off (HANDOUT_TEMPLATE_CACHE the compiled templates').
    """
    root = cache_root()
    return None if root is None else made_private(root / name, root)


def load(folder: Path | None, key: str) -> dict[str, Any] | None:
    """The entry kept under `key`, or None when there is none, or it is damaged or another key's (it is made and written again)."""
    if folder is None:
        return None
    import json  # here: dataclass_code.py imports this module at start-up, and reads no JSON

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
    import json

    text = json.dumps({**entry, "key": key})
    try:
        from handout.output import write_atomic  # only when an entry is made: a warm start writes nothing

        write_atomic(folder / f"{key}.json", text.encode("utf-8"))  # 0600, whole or not at all
        _keep_newest(folder, "*.json", keep)
    except (OSError, HandoutError):
        pass


def load_bytes(folder: Path | None, key: str) -> bytes | None:
    """The bytes kept under `key` by store_bytes, or None when there are none or they are not whole (their digest is kept with them)."""
    if folder is None:
        return None
    import hashlib

    try:
        kept = (folder / f"{key}.bin").read_bytes()
    except OSError:
        return None
    digest, data = kept[:32], kept[32:]
    return data if len(kept) > 32 and hashlib.sha256(key.encode() + data).digest() == digest else None


def store_bytes(folder: Path | None, key: str, data: bytes, keep: int) -> None:
    """Keep `data` under `key` with a digest of both (a damaged or another key's file is never read back), and only the `keep` newest."""
    if folder is None:
        return
    import hashlib

    try:
        from handout.output import write_atomic

        write_atomic(folder / f"{key}.bin", hashlib.sha256(key.encode() + data).digest() + data)
        _keep_newest(folder, "*.bin", keep)
    except (OSError, HandoutError):
        pass


def _keep_newest(folder: Path, pattern: str, keep: int) -> None:
    """Remove all but the `keep` newest entries matching `pattern`."""
    entries = sorted(folder.glob(pattern), key=lambda path: path.stat().st_mtime_ns, reverse=True)
    for stale in entries[keep:]:
        stale.unlink(missing_ok=True)
