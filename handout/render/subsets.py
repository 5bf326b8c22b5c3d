"""Keeps each embedded font subset and its compressed bytes per process: consecutive plans mostly embed the same subsets."""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from reportlab.pdfbase.pdfdoc import PDFZCompress

_LIMIT = 32  # subsets kept per font face, and compressed font files kept in all (each about 14 KB)


class _Kept(OrderedDict[Any, Any]):
    """A small least-recently-used map."""

    def get_or_make(self, key: Any, make: Callable[[], Any]) -> Any:
        # Each step stands alone: a render in another thread may drop an entry between two of them.
        value = self.get(key)
        if value is not None:
            try:
                self.move_to_end(key)
            except KeyError:
                pass
            return value
        value = self[key] = make()
        if len(self) > _LIMIT:
            try:
                self.popitem(last=False)
            except KeyError:
                pass
        return value


class _KeptFlate:
    """ReportLab's Flate filter (the same bytes, zlib's default level) for font files, remembering what it compressed last."""

    pdfname = "FlateDecode"

    def __init__(self) -> None:
        # Keyed by the subset's own bytes (a kept subset is the same bytes object, its hash computed once).
        self._kept = _Kept()

    def encode(self, content: bytes) -> bytes:
        return self._kept.get_or_make(content, lambda: zlib.compress(content))  # type: ignore[no-any-return]


_FLATE = _KeptFlate()


def keep_subsets(doc: Any) -> None:
    """Make the subsets of the fonts this document uses from a per-process memo (call before the document is written).

    A subset's bytes depend only on the face and its list of character codes, in order: a code gets
    its glyph once and keeps it (ReportLab adds codes, never changes one), so the list is a full key.
    Whatever builds a face's subsets (ReportLab's makeSubset, or one put in its place) is what is
    kept: it is wrapped, not replaced.
    """
    for font in doc.delayedFonts:
        face = getattr(font, "face", None)
        if face is None or not hasattr(face, "makeSubset") or face.__dict__.get("_handout_kept"):
            continue
        _wrap(face)


def _wrap(face: Any) -> None:
    make_subset, add_objects = face.makeSubset, face.addSubsetObjects
    kept = _Kept()

    def kept_subset(subset: list[int]) -> bytes:
        key = tuple(subset)
        return kept.get_or_make(key, lambda: make_subset(list(key)))  # type: ignore[no-any-return]

    def kept_objects(doc: Any, fontname: str, subset: list[int]) -> Any:
        reference = add_objects(doc, fontname, subset)  # calls face.makeSubset: the kept one
        stream = doc.idToObject.get(f"fontFile:{face.filename}({fontname})")
        if stream is not None and stream.filters == [PDFZCompress]:
            stream.filters = [_FLATE]
        return reference

    face.makeSubset, face.addSubsetObjects = kept_subset, kept_objects
    face._handout_kept = True
