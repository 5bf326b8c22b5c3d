"""Keeps compiled templates between runs in a private per-user folder, so a command does not compile them again."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Jinja is imported when a template is compiled, not by every command that finds the cache folder (private_cache.py)
    from jinja2.bccache import FileSystemBytecodeCache

# The files whose code decides what a template compiles to (the sandbox's checks are compiled into it):
# a change to any of them, or to Jinja or Python, starts a new folder rather than run code compiled by the old.
_COMPILER_FILES = ("templating.py", "template_parts.py", "template_bytecode.py")


@cache
def _private_bytecode_cache() -> type[FileSystemBytecodeCache]:
    from jinja2.bccache import Bucket, FileSystemBytecodeCache

    class PrivateBytecodeCache(FileSystemBytecodeCache):
        """Jinja's file cache, but any trouble reading or writing it only means compiling again: never an error.

        Jinja keys each file by the template's name and full path (a clinic's own template never meets the
        built-in one of the same name) and checks a hash of its source (an edited template is compiled again).
        """

        def load_bytecode(self, bucket: Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # a damaged or foreign file: compile again (and write over it)
                bucket.reset()

        def dump_bytecode(self, bucket: Bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:  # full disk, read-only home, folder removed meanwhile: this run simply keeps nothing
                pass

    return PrivateBytecodeCache


def template_cache(root: Path | None = None) -> FileSystemBytecodeCache | None:
    """The compiled-template cache in the user's cache folder (~/.cache/handout/templates-<fingerprint> on Linux),
    or None when that folder cannot be made, or is not private to this user (compiled code read from a folder others
    can write to would run as this user).

    HANDOUT_TEMPLATE_CACHE=off turns it off.
    """
    if os.environ.get("HANDOUT_TEMPLATE_CACHE", "").strip().lower() in ("off", "0", "no", "false"):
        return None
    if root is None:
        root = user_cache_root()
    folder = root / f"templates-{_fingerprint()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (private_folder(folder) and private_folder(root)):
            return None
    except OSError:
        return None
    return _private_bytecode_cache()(str(folder), "%s.jinja")


def user_cache_root() -> Path:
    """handout's folder in the user's cache folder (~/.cache/handout on Linux, honouring XDG_CACHE_HOME), as platformdirs names it."""
    if sys.platform == "linux" and not hasattr(sys, "getandroidapilevel") and not os.environ.get("ANDROID_DATA"):
        # platformdirs' answer on an everyday Linux, without importing it (a fiftieth of a command's start):
        # an absolute XDG_CACHE_HOME, else the absolute HOME's .cache. Anything less plain is its to answer.
        xdg, home = os.environ.get("XDG_CACHE_HOME", ""), os.environ.get("HOME", "")
        if xdg.startswith("/"):
            return Path(xdg, "handout")
        if home.startswith("/"):
            return Path(os.path.expanduser("~/.cache"), "handout")
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("handout", appauthor=False))


def private_folder(folder: Path) -> bool:
    """A real folder (not a link), this user's own, that nobody else may write to."""
    info = folder.lstat()
    owner_ok = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return stat.S_ISDIR(info.st_mode) and owner_ok and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _fingerprint() -> str:
    import jinja2

    digest = hashlib.sha256(f"{jinja2.__version__}|{sys.version}".encode())
    here = Path(__file__).parent
    for name in _COMPILER_FILES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]
