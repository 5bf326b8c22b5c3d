"""Writes a ReportLab document with every object that is not a stream packed into one compressed object stream.

A tagged plan has hundreds of structure elements, one per table cell. As
ReportLab writes them, each is a plain-text object with its own xref
line: the file triples. Packed into an object stream (PDF 1.5) with a
cross-reference stream they cost a tenth of that, and writing them
here, as ready-made bytes, is much faster than ReportLab's formatter.
The page, font and annotation dictionaries go into the same stream: a
page dictionary is alike on every page, so a 12-week large-print plan
is 5 KB smaller for it.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDocument,
    PDFFile,
    PDFFormXObject,
    PDFObject,
    PDFObjectReference,
    PDFResourceDictionary,
    PDFStream,
    PDFZCompress,
)
from reportlab.pdfbase.pdfdoc import format as pdf_format

from handout.xref_rows import up_predicted

if TYPE_CHECKING:
    from handout.plan_merging import PlanObjects

OBJECTS_PER_STREAM = 10_000  # well under the 65,536 an xref row's 2-byte index field can hold


class Packed(PDFObject):
    """An object written as given bytes inside the object stream (never a stream itself)."""

    __RefOnly__ = 1

    def __init__(self) -> None:
        self.body = b""  # filled in once every object it refers to has its number

    def format(self, document: Any) -> bytes:
        return self.body


def register(document: PDFDocument, objects: list[Packed]) -> int:
    """Give objects consecutive numbers in the document, as document.Reference does one at a time; returns the first.

    A plan has hundreds of structure elements: registering them in one pass is measurably faster.
    """
    first = document.objectcounter + 1
    for n, obj in enumerate(objects, start=first):
        name = f"R{n}"
        obj.__InternalName__ = name  # type: ignore[attr-defined]
        document.idToObjectNumberAndVersion[name] = (n, 0)
        document.numberToId[n] = name
        document.idToObject[name] = obj
    document.objectcounter = first + len(objects) - 1
    return first


def reserve(document: PDFDocument, bodies: list[bytes], count: int) -> int:
    """Give `count` consecutive numbers to objects that exist only as the bytes `bodies` will hold when the file is written; returns the first.

    No ReportLab object is made or registered for them: a diary's hundreds of table cells cost a list entry each.
    """
    first = document.objectcounter + 1
    document.objectcounter += count
    blocks: dict[int, tuple[list[bytes], int]] = document.__dict__.setdefault("packed_blocks", {})
    blocks[first] = (bodies, count)
    return first


def number(document: PDFDocument, ref: PDFObjectReference) -> int:
    """The object number ReportLab gave a registered object."""
    return int(document.idToObjectNumberAndVersion[ref.name][0])


class PackingDocument(PDFDocument):
    """A PDFDocument whose Packed objects go into one object stream, listed by a cross-reference stream."""

    def format(self) -> bytes:  # ReportLab's PDFDocument.format, with the packing added
        self.encrypt.prepare(self)
        if self.encrypt.info():
            raise ValueError("handout encrypts with pikepdf after rendering, never with ReportLab")
        catalog, info = self.Reference(self.Catalog), self.Reference(self.info)
        out = self.__accum__ = PDFFile(self._pdfVersion)
        entries: dict[int, tuple[int, int, int]] = {0: (0, 0, 65535)}  # number → (type, field 2, field 3)
        packed: list[tuple[int, bytes]] = []
        plain: dict[int, bytes] = {}  # kept for WrittenFiles: each plain object as a reader finds it between "obj" and "endobj"
        counter = 0
        blocks: dict[int, tuple[list[bytes], int]] = self.__dict__.get("packed_blocks", {})
        while True:  # formatting may register new objects, so the loop reads the table as it grows
            counter += 1
            if counter in blocks:
                bodies, count = blocks[counter]
                if len(bodies) != count:
                    raise ValueError(f"{count} objects reserved at {counter}, {len(bodies)} written")
                packed += zip(range(counter, counter + count), bodies)
                counter += count - 1
                continue
            if counter not in self.numberToId:
                break
            name = self.numberToId[counter]
            obj = self.idToObject[name]
            body = obj.body if isinstance(obj, Packed) else _form(obj, self) or pdf_format(obj, self, toplevel=1)
            # Streams cannot go into an object stream; the Info dictionary stays plain text,
            # where tools that read a file's title and dates without a PDF library find it.
            if obj is not self.info and not body.endswith(b"endstream\n"):
                packed.append((counter, body))
                continue
            plain[counter] = body if body.endswith(b"\n") else body + b"\n"
            entries[counter] = (1, out.add(b"%d 0 obj\n%sendobj\n" % (counter, plain[counter])), 0)
        del self.__accum__
        if counter - 1 != len(self.numberToId) + sum(count for _, count in blocks.values()):  # ReportLab's own check: an object after a gap would be lost
            raise ValueError(f"object numbers have a gap: {counter - 1} written, {len(self.numberToId)} registered and {len(blocks)} blocks reserved")
        stream_number = counter
        # Several streams of at most OBJECTS_PER_STREAM: an object's index in its stream
        # must fit the xref's 2-byte field, and readers handle modest streams best.
        for first in range(0, len(packed), OBJECTS_PER_STREAM):
            chunk = packed[first : first + OBJECTS_PER_STREAM]
            header = b" ".join(b"%d %d" % (n, offset) for n, offset in _offsets(chunk)) + b" "
            data = zlib.compress(header + b"".join(body + b"\n" for _, body in chunk))
            entries[stream_number] = (1, out.add(b"%d 0 obj\n<</Type/ObjStm/N %d/First %d/Filter/FlateDecode/Length %d>>\nstream\n" % (stream_number, len(chunk), len(header), len(data)) + data + b"\nendstream\nendobj\n"), 0)
            for index, (n, _) in enumerate(chunk):
                entries[n] = (2, stream_number, index)
            stream_number += 1
        stream_number -= 1 if packed else 0
        xref_number = stream_number + 1
        if out.offset >= 1 << 32:
            raise ValueError("a PDF over 4 GB cannot be indexed with 4-byte offsets")
        xref_offset = out.offset
        entries[xref_number] = (1, xref_offset, 0)
        rows = _xref_rows([entries.get(n, (0, 0, 0)) for n in range(xref_number + 1)])
        file_id = self.ID().split(b"]")[0].strip() + b"]"  # without ReportLab's trailing comment
        out.add(
            b"%d 0 obj\n<</Type/XRef/Size %d/W[1 4 2]/Root %s/Info %s/ID %s/Filter/FlateDecode/DecodeParms<</Predictor 12/Columns 7>>/Length %d>>\nstream\n"
            % (xref_number, xref_number + 1, catalog.format(self), info.format(self), file_id, len(rows))
            + rows
            + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_offset
        )
        pdf = bytes(out.format(self))
        if _OPEN:
            from handout.plan_merging import PlanObjects

            # As plan_merging.objects_in reads them back: a packed object with the newline after it, a plain one without leading space.
            objects = PlanObjects(xref_number + 1, number(self, catalog), number(self, info), {n: body + b"\n" for n, body in packed}, {n: body.lstrip() for n, body in plain.items()})
            for files in _OPEN:
                files.written.append((pdf, objects))
        return pdf


class WrittenFiles:
    """The files written while it is open (`with WrittenFiles() as written:`), each kept with its objects.

    A batch's worker reads a plan to print from them for the merge, instead of reading back the file it just wrote.
    """

    def __init__(self) -> None:
        self.written: list[tuple[bytes, PlanObjects]] = []

    def __enter__(self) -> WrittenFiles:
        _OPEN.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _OPEN.remove(self)

    def objects(self, pdf: bytes) -> PlanObjects | None:
        """The objects of `pdf` if it was written here (of a document laid out twice, the layout kept), else None."""
        return next((objects for data, objects in reversed(self.written) if data == pdf), None)


_OPEN: list[WrittenFiles] = []


def _offsets(packed: list[tuple[int, bytes]]) -> list[tuple[int, int]]:
    """Each packed object's number and its offset after the stream's header."""
    offsets = accumulate((len(body) + 1 for _, body in packed), initial=0)
    return list(zip((n for n, _ in packed), offsets))


def _xref_rows(entries: list[tuple[int, int, int]]) -> bytes:
    """The cross-reference rows (type, field 2, field 3 as 1 + 4 + 2 bytes), Up-predicted and deflated."""
    return up_predicted(b"".join([(kind << 48 | field2 << 16 | field3).to_bytes(7, "big") for kind, field2, field3 in entries]))


def _form(form: Any, document: PDFDocument) -> bytes | None:
    """A form XObject as ReportLab's PDFFormXObject.format writes it (diary furniture and footers written once, placed
    on each page: a plan has about eight), with its stream already Flate without ASCII85 (tagging.py); None for any
    other object, or a form of another shape, which ReportLab writes. ReportLab's generic formatter took a tenth of
    a millisecond a form."""
    if type(form) is not PDFFormXObject or form.Resources is not None or form.Annots or form.BBox or form.Matrix or form.compression:
        return None
    contents = form.Contents
    if type(contents) is not PDFStream or contents.filters != [PDFZCompress] or contents.dictionary.dict or not isinstance(contents.content, bytes):
        return None
    data = _deflated(contents.content)
    box = PDFArray([form.lowerx, form.lowery, form.upperx, form.uppery]).format(document)
    return b"<<\n/BBox %s /Filter [ /FlateDecode ] /FormType 1 /Length %d /Matrix [ 1 0 0 1 0 0 ] /Resources %s \n  /Subtype /Form /Type /XObject\n>>\nstream\n%sendstream\n" % (
        box, len(data), _resources(form, document), data
    )


@lru_cache(maxsize=128)
def _deflated(content: bytes) -> bytes:
    """A form's content compressed, kept per process by its bytes: a week's furniture, the diary's instructions and the
    footer are the same operators in every plan of their paper, words and clinic, and each compression cost about
    60 microseconds however small (zlib's set-up), more than the form's bytes took to write."""
    return zlib.compress(content)


def _resources(form: Any, document: PDFDocument) -> bytes:
    """The form's resource dictionary as PDFFormXObject.format makes it: the same for every form placing no other form."""
    resources = PDFResourceDictionary()
    resources.basicFonts()
    resources.allProcs()  # PDFFormXObject.hasImages is always set
    if form.XObjects:
        resources.XObject = form.XObjects
        return bytes(pdf_format(resources, document))
    kept: bytes | None = document.__dict__.get("form_resources")
    if kept is None:
        kept = document.__dict__["form_resources"] = bytes(pdf_format(resources, document))
    return kept
