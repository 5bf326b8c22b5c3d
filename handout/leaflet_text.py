"""A leaflet's filled template kept between runs in a private per-user folder, so `handout leaflet` makes it again without Jinja."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from handout import private_cache
from handout.resources import templates_dir

# A leaflet holds no patient's data: its filled template depends only on the template files, the brand,
# the article and the language, yet filling it took importing Jinja and its sandbox (about a tenth of the
# command). The text the sandbox filled is kept under a key made of everything that decides it: every
# file in every folder a template can be read from (a clinic's --templates folders and brand templates/,
# then the built-ins, message catalogs included), the context's plain values, handout's code that fills
# (the sandbox, its filters, the context, the message lookup), the Jinja, MarkupSafe and Babel
# installed, and Python. A change to any of them is another key, so a stale text is never read. Only a
# leaflet with the brand's own resources address is kept (pipeline.Renderer.leaflet_document): an
# address given with --qr-url may carry a patient's token, and a kept text would hold it.
FORMAT = 1
MAX_ENTRIES = 16  # a clinic keeps a few: brands × languages
MAX_FILES = 1000  # in one template folder: a bigger folder is read each time rather than hashed (it would cost more than it saves)
MAX_BYTES = 10_000_000
# handout's code that decides what a fill prints, beside this file.
FILLING_CODE = (
    "templating.py", "template_parts.py", "template_values.py", "part_markers.py", "no_break.py", "pipeline.py", "i18n.py", "brand.py", "content.py",
    "resources.py", "leaflet_text.py",
)  # fmt: skip
LIBRARIES = (("jinja2", "__init__.py"), ("markupsafe", "__init__.py"), ("babel", "__init__.py"))


@dataclasses.dataclass(frozen=True)
class FilledLeaflet:
    """A leaflet's template as the sandbox filled it, whole (no kept-block markers), and the file it came from (errors name it)."""

    text: str
    source: str


def filled_leaflet(folders: Sequence[Path], context: Mapping[str, object], fill: Callable[[], FilledLeaflet]) -> FilledLeaflet:
    """The kept text for this leaflet, or `fill()` (then kept) when there is none, or nothing can key it (a huge folder, an unusual value)."""
    cache = private_cache.cache_folder("leaflets")
    key = cache_key(folders, context) if cache is not None else None
    if key is not None:
        kept = private_cache.load(cache, key)
        if kept is not None and isinstance(kept.get("text"), str) and isinstance(kept.get("source"), str):
            return FilledLeaflet(kept["text"], kept["source"])
    made = fill()
    if key is not None:
        private_cache.store(cache, key, {"text": made.text, "source": made.source}, MAX_ENTRIES)
    return made


def cache_key(folders: Sequence[Path], context: Mapping[str, object]) -> str | None:
    """The key of the text a fill of the leaflet with `context` makes, templates searched in `folders` then the built-ins; None: not to be kept."""
    values = plain(dict(context))
    if values is None:
        return None
    digest = hashlib.sha256(f"{FORMAT}|{sys.version}|{values}|".encode())
    for package, module in LIBRARIES:
        digest.update(f"{private_cache.installed_version(package, module)}|".encode())
    here = Path(__file__).parent
    for name in FILLING_CODE:
        digest.update((here / name).read_bytes())
    for folder in (*folders, templates_dir()):
        if not _add_folder(digest, folder):
            return None
    return digest.hexdigest()


def _add_folder(digest: hashlib._Hash, folder: Path) -> bool:
    """Add every file a template could be read from in `folder`: its name and bytes. False when the folder is too big or unreadable."""
    top_folder = os.fspath(folder)
    digest.update(f"\0folder {top_folder}\0".encode())
    files = total = 0
    try:
        # Links followed, as Jinja follows them; a loop of links ends at MAX_FILES or the system's path limit (an OSError).
        for top, dirs, names in os.walk(top_folder, followlinks=True, onerror=_raise):
            inside = top[len(top_folder) :]  # the folder's path below `folder`, as templates name it
            dirs.sort()
            for name in sorted(names):
                path = os.path.join(top, name)
                # Without blocking: a named pipe or device among the templates would wait for a writer forever.
                with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as stream:
                    if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                        return False  # not a file a template is read from: this leaflet is simply not kept
                    data = stream.read(MAX_BYTES + 1)
                files, total = files + 1, total + len(data)
                if files > MAX_FILES or total > MAX_BYTES:
                    return False
                digest.update(f"\0{inside}/{name}\0{len(data)}\0".encode())
                digest.update(data)
    except (OSError, UnicodeEncodeError):
        return False
    return True


def _raise(error: OSError) -> None:
    raise error  # a folder that cannot be listed: not kept, rather than keyed without it


def plain(value: object) -> str | None:
    """A text that stands for `value` and only it: plain values, sequences, mappings and data classes (every field); None for anything else."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, (tuple, list)):
        items = [plain(item) for item in value]
        return None if None in items else f"{type(value).__name__}[{','.join(items)}]"  # type: ignore[arg-type]
    if isinstance(value, Mapping):
        pairs = [(plain(key), plain(item)) for key, item in value.items()]
        return None if any(None in pair for pair in pairs) else "{" + ",".join(f"{key}={item}" for key, item in pairs) + "}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [(field.name, plain(getattr(value, field.name))) for field in dataclasses.fields(value)]
        if any(item is None for _, item in fields):
            return None
        return f"{type(value).__module__}.{type(value).__qualname__}(" + ",".join(f"{name}={item}" for name, item in fields) + ")"
    return None
