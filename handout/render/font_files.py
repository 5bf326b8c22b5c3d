"""Where an installed font family's file is, remembered between runs so a command need not ask every installed package."""

from __future__ import annotations

import hashlib
import os
import sys
from functools import cache
from pathlib import Path

from handout import private_cache

# fontpkg finds a family by loading every installed package's entry points and font metadata
# (about a tenth of `handout leaflet`'s start, for two file names). The answer is kept under a key
# of the installed font packages (their dist-info names, so an upgrade, a new or a removed one is
# another key) and fontpkg's version, and used only while the file it names is there.
FORMAT = 1
MAX_ENTRIES = 32


def _installed_font_packages() -> str:
    names: list[str] = []
    for folder in sys.path:
        try:
            names.extend(entry.name for entry in os.scandir(folder or ".") if entry.name.lower().startswith("fontpkg") and entry.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue  # a zip, or a folder that is gone
    return "|".join(sorted(names))


@cache
def font_path(family: str, weight: int) -> Path:
    """The upright file of `family` at `weight`, as fontpkg.path(family, weight, "normal") answers."""
    key = hashlib.sha256(f"{family}|{weight}|normal|{FORMAT}|{_installed_font_packages()}".encode()).hexdigest()
    folder = private_cache.cache_folder("fonts")
    kept = private_cache.load(folder, key)
    path = kept.get("path") if kept is not None else None
    if isinstance(path, str) and os.path.isfile(path):
        return Path(path)
    import fontpkg

    found = fontpkg.path(family, weight, "normal")
    private_cache.store(folder, key, {"path": str(found)}, MAX_ENTRIES)
    return found
