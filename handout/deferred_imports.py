"""Libraries ReportLab imports but a plain leaflet seldom uses, loaded on first use instead of at start (the command line's process only)."""

from __future__ import annotations

import importlib
import sys
import threading
import types
from typing import Any

# ReportLab imports each of these when it is imported, and they cost a tenth of `handout leaflet`'s
# start between them, yet a leaflet in a Latin script uses none: HarfBuzz (uharfbuzz, imported by
# reportlab.pdfbase.ttfonts) shapes only scripts whose letters join or stack and makes fallback-font
# subsets; pyphen (reportlab.platypus.paragraph) hyphenates only a style with a hyphenationLang,
# which handout never sets; Pillow's Image (reportlab.lib.utils) reads only raster logos. What
# ReportLab does at import with each is take it as a true value (`if not uharfbuzz:`, `haveImages
# = Image is not None`): a stand-in module is one, and the first attribute asked of it loads the
# library itself. So whatever runs, and with which bytes, is what runs with the library imported.
DEFERRED = ("uharfbuzz", "pyphen", "PIL.Image")

_LOCK = threading.Lock()


class DeferredModule(types.ModuleType):
    """Stands in for a library in sys.modules until an attribute of it is asked for, then becomes it.

    The import system asks only for __spec__ (set here from the library's own, so `import x` takes the
    stand-in as loaded); any other attribute the stand-in lacks, __path__ and __file__ included, loads
    the library, after which the stand-in holds every name the library has.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(load(self), name)

    # Names are copied from the library once, when it loads: a name set through the stand-in afterwards
    # (`Image.MAX_IMAGE_PIXELS = …`) would not reach the library. Only the leaflet command has stand-ins,
    # and nothing it runs sets one; read-diary, which does, never has them.


def load(stand_in: DeferredModule) -> types.ModuleType:
    """The library `stand_in` stands for, imported now if it is not yet, its names copied into the stand-in."""
    name = stand_in.__name__
    with _LOCK:  # two threads asking at once import it once
        real = stand_in.__dict__.get("_deferred_module")
        if real is None:
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]  # so that importing it runs its code rather than find the stand-in
            real = importlib.import_module(name)  # also sets the parent package's attribute to the real module
            stand_in.__dict__.update(real.__dict__)
            stand_in.__dict__["_deferred_module"] = real
    return real


def defer(name: str) -> None:
    """Put a stand-in for `name` in sys.modules, unless it is imported already or not installed (ReportLab then sees None, as ever)."""
    if name in sys.modules:
        return
    parent, _, child = name.rpartition(".")
    package = importlib.import_module(parent) if parent else None  # a package's own module (PIL's) is small: imported as usual
    if package is not None and child in package.__dict__:
        return
    from importlib.util import find_spec

    spec = find_spec(name)
    if spec is None:
        return
    stand_in = DeferredModule(name)
    stand_in.__spec__, stand_in.__loader__, stand_in.__package__ = spec, spec.loader, spec.parent
    sys.modules[name] = stand_in
    if package is not None:
        setattr(package, child, stand_in)  # `from PIL import Image` takes the attribute when the package has it


def defer_unused_libraries() -> None:
    """Stand-ins for DEFERRED: call before ReportLab is imported, in a process that makes one document (not in handout.api's callers')."""
    for name in DEFERRED:
        defer(name)


def loaded(name: str) -> bool:
    """Whether `name` was really imported (not only stood in for)."""
    module = sys.modules.get(name)
    return module is not None and (not isinstance(module, DeferredModule) or "_deferred_module" in module.__dict__)
