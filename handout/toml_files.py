"""TOML text parsed as tomllib parses it, remembered between runs in the private per-user cache (brand.toml, articles)."""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from handout import private_cache

# A command reads the same brand.toml and article every run; tomllib (imported and run) is about a
# fiftieth of `handout leaflet`. What it made of a text is kept under a key of the text itself and
# Python's version (tomllib comes with it), and only when it is plain JSON data (no TOML dates,
# which JSON cannot carry): anything else is parsed every time.
FORMAT = 1
MAX_ENTRIES = 32


def parse_toml(text: str) -> dict[str, Any]:
    """tomllib.loads(text); raises tomllib.TOMLDecodeError (a ValueError) as it does."""
    key = hashlib.sha256(f"{FORMAT}|{sys.version}|".encode() + text.encode("utf-8", "surrogatepass")).hexdigest()
    folder = private_cache.cache_folder("toml")
    kept = private_cache.load(folder, key)
    if kept is not None and isinstance(kept.get("data"), dict):
        return kept["data"]
    import tomllib

    data = tomllib.loads(text)
    if _plain(data) and json.loads(json.dumps(data)) == data:
        private_cache.store(folder, key, {"data": data}, MAX_ENTRIES)
    return data


def _plain(value: object) -> bool:
    """Only JSON's own types, so what is read back is exactly what tomllib gave (a TOML array is a list, never a tuple)."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    return type(value) in (str, int, float, bool)
