"""Keeps an SVG logo's drawing operators between runs in a private per-user folder, so a command draws it without svglib and lxml."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from handout import private_cache

# Reading an SVG takes svglib and lxml (about a tenth of `handout leaflet`'s start) for a
# picture that is the same every run. The logo's operators, as ReportLab wrote them the first
# time, are kept under a key made of everything that decides them: the SVG's bytes, svglib's
# and ReportLab's versions, the code that reads it (graphics.py, this file), the body font the
# drawing starts in and Python. A change to any of them is another key, so a stale entry is never read; at most
# MAX_ENTRIES logos are kept (a clinic has one or two), the least recently written go first.
FORMAT = 1
MAX_ENTRIES = 8


@dataclass(frozen=True)
class CachedLogo:
    """An SVG logo as drawn: its natural size in points and the content-stream operators that draw it."""

    width: float
    height: float
    operators: tuple[str, ...]


def cache_key(svg: bytes, font: str) -> str:
    """The key of a logo with these bytes, drawn starting in `font`, by the svglib and ReportLab installed now."""
    from reportlab import Version as reportlab_version

    digest = hashlib.sha256(svg)
    digest.update(f"|{FORMAT}|{font}|{reportlab_version}|{private_cache.installed_version('svglib', 'svglib.py')}|{sys.version}|".encode())
    here = Path(__file__).parent
    for code in ("graphics.py", "logo_cache.py", "tagging.py"):  # how handout reads the SVG (its fonts), what it keeps, how colours are written
        digest.update((here / code).read_bytes())
    return digest.hexdigest()


def cache_folder() -> Path | None:
    """The logo cache (~/.cache/handout/logos on Linux), or None when it cannot be made private or HANDOUT_CACHE=off."""
    return private_cache.cache_folder("logos")


def load(key: str, folder: Path | None) -> CachedLogo | None:
    """The logo kept under `key`, or None when there is none or it is damaged (it is then drawn and written again)."""
    kept = private_cache.load(folder, key)
    if kept is None:
        return None
    try:
        operators, width, height = kept["operators"], float(kept["width"]), float(kept["height"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (isinstance(operators, list) and all(isinstance(operator, str) for operator in operators) and width > 0 and height > 0):
        return None
    return CachedLogo(width, height, tuple(operators))


def store(key: str, folder: Path | None, logo: CachedLogo) -> None:
    """Keep a logo under `key`; any trouble only means drawing it with svglib next time."""
    private_cache.store(folder, key, {"width": logo.width, "height": logo.height, "operators": list(logo.operators)}, MAX_ENTRIES)
