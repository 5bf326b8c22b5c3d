"""The methods `dataclasses` writes for each data class, compiled once and kept between runs as Python keeps a module's .pyc."""

from __future__ import annotations

import atexit
import dataclasses
import marshal
import os
import sys
import zlib
from pathlib import Path
from types import CodeType
from typing import Any

from handout import private_cache
from handout.errors import HandoutError

# A command's start makes about sixty frozen data classes (handout's own, Typer's), and for each one
# `dataclasses` writes __init__, __repr__, __eq__, __hash__, __setattr__ and __delattr__ as source text
# and compiles it: about 340 compilations, a tenth of `handout leaflet`'s CPU time and more than any
# other start-up work of handout's. The code a text compiles to depends only on that text and the
# interpreter, so each is kept under its full text in one file per interpreter build; running the kept
# code in the class's own namespaces makes the very same methods. Nothing else about the classes changes.
_KEEP = 4000  # at most this many texts (a release of handout and Typer together need about 350)
_MAGIC = b"handout-dataclass-code-1\n"


def _file(root: Path) -> Path:
    tag = f"{sys.implementation.cache_tag}-{sys.version}-{sys.executable}"  # code is kept per interpreter build
    return root / f"dataclass-code-{zlib.crc32(tag.encode()):08x}.bin"


def _load(path: Path) -> dict[str, CodeType]:
    try:
        with path.open("rb") as stream:
            if os.fstat(stream.fileno()).st_uid != os.getuid() or stream.read(len(_MAGIC)) != _MAGIC:
                return {}
            kept = marshal.loads(stream.read())
    except (OSError, ValueError, EOFError, TypeError):
        return {}  # none yet, or damaged: compile again (and write it whole)
    if not isinstance(kept, dict) or not all(type(key) is str and type(code) is CodeType for key, code in kept.items()):
        return {}
    return kept


def _store(path: Path, kept: dict[str, CodeType], made: dict[str, CodeType]) -> None:

    entries = {**kept, **made} if len(kept) + len(made) <= _KEEP else dict(list(made.items())[-_KEEP:])
    try:
        from handout.output import write_atomic  # only when new code was compiled: a warm start writes nothing

        write_atomic(path, _MAGIC + marshal.dumps(entries))  # 0600, whole or not at all
    except (OSError, HandoutError):
        pass  # a full disk or a read-only home: this run simply keeps nothing


def keep_dataclass_code() -> None:
    """Have `dataclasses` run kept code for each method text it has compiled before: call before the data classes are made.

    HANDOUT_CACHE=off turns it off. `dataclasses` calls exec() on each text; a module-level name `exec`
    in it is found before the built-in, so only its own calls see this, and every other text is compiled
    exactly as exec() would (the module has no __future__ flags to inherit).
    """
    if "exec" in vars(dataclasses):
        return  # already on
    # handout's private cache folder (private_cache.cache_root: off, or not this user's alone, means None), found
    # without platformdirs: off plain Linux, finding the folder costs more than this saves. Kept code runs as this user.
    root = private_cache.cache_root(ask_platformdirs=False)
    if root is None:
        return
    path = _file(root)
    kept = _load(path)
    made: dict[str, CodeType] = {}

    def compiled_once(source: Any, /, globals: Any = None, locals: Any = None, **options: Any) -> None:  # noqa: A002 - exec's names
        if type(source) is not str or type(globals) is not dict or options:
            exec(source, globals, locals, **options)  # not how dataclasses calls it (it always passes its namespace): exec's own way
            return
        code = kept.get(source)
        if code is None:
            code = made[source] = compile(source, "<string>", "exec", dont_inherit=True)
        exec(code, globals, locals)  # noqa: S102 - dataclasses' own text, compiled as exec() compiles it

    dataclasses.exec = compiled_once  # type: ignore[attr-defined]
    atexit.register(lambda: made and _store(path, kept, made))
