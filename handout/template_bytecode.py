"""Keeps compiled templates between runs in a private per-user folder, so a command does not compile them again."""

from __future__ import annotations

import hashlib
import os
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Jinja is imported when a template is first compiled, not with this module
    from jinja2.bccache import FileSystemBytecodeCache

from handout import private_cache

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

    HANDOUT_TEMPLATE_CACHE=off turns it off. `root`: another folder for handout's caches (the tests').
    """
    if os.environ.get("HANDOUT_TEMPLATE_CACHE", "").strip().lower() in private_cache.OFF:
        return None
    if root is None:
        root = private_cache.user_cache_root()
        if root is None:
            return None
    folder = private_cache.made_private(root / f"templates-{_fingerprint()}", root)
    return None if folder is None else _private_bytecode_cache()(str(folder), "%s.jinja")


def _fingerprint() -> str:
    import jinja2

    digest = hashlib.sha256(f"{jinja2.__version__}|{sys.version}".encode())
    here = Path(__file__).parent
    for name in _COMPILER_FILES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]
