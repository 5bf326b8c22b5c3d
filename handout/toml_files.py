"""TOML text parsed as tomllib parses it, remembered in the process and between runs in the private per-user cache (brand.toml, articles)."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from typing import Any

from handout import private_cache

# A command reads the same brand.toml and article every run; tomllib (imported and run) is about a
# fiftieth of `handout leaflet`. What it made of a text is kept under a key of the text itself and
# Python's version (tomllib comes with it), and only when it is plain JSON data (no TOML dates,
# which JSON cannot carry): anything else is parsed every time.
FORMAT = 1
MAX_ENTRIES = 32


# Within a process too (an API caller or the front desk reads brand.toml for every document): the same text's data
# as JSON, read back into new objects each time, so a caller changing what it was given changes nothing kept.
_IN_PROCESS: dict[str, str] = {}
_LOCK = threading.Lock()


def parse_toml(text: str) -> dict[str, Any]:
    """tomllib.loads(text); raises tomllib.TOMLDecodeError (a ValueError) as it does."""
    seen = _IN_PROCESS.get(text)
    if seen is not None:
        return json.loads(seen)  # type: ignore[no-any-return]
    key = hashlib.sha256(f"{FORMAT}|{sys.version}|".encode() + text.encode("utf-8", "surrogatepass")).hexdigest()
    folder = private_cache.cache_folder("toml")
    kept = private_cache.load(folder, key)
    if kept is not None and isinstance(kept.get("data"), dict):
        _remember(text, kept["data"])
        return kept["data"]
    import tomllib

    data = tomllib.loads(text)
    if _plain(data) and json.loads(json.dumps(data)) == data:
        private_cache.store(folder, key, {"data": data}, MAX_ENTRIES)
        _remember(text, data)
    return data


def _remember(text: str, data: dict[str, Any]) -> None:
    with _LOCK:
        if len(_IN_PROCESS) >= MAX_ENTRIES:
            _IN_PROCESS.clear()
        _IN_PROCESS[text] = json.dumps(data)


def _plain(value: object) -> bool:
    """Only JSON's own types, so what is read back is exactly what tomllib gave (a TOML array is a list, never a tuple)."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    return type(value) in (str, int, float, bool)
