"""Writes a ReportLab document with its small objects (the structure tree) packed into one compressed object stream.

A tagged plan has hundreds of structure elements, one per table cell. As
ReportLab writes them, each is a plain-text object with its own xref
line: the file triples. Packed into an object stream (PDF 1.5) with a
cross-reference stream they cost a tenth of that, and writing them
here, as ready-made bytes, is much faster than ReportLab's formatter.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

from reportlab.pdfbase.pdfdoc import PDFDocument, PDFFile, PDFIndirectObject, PDFObject, PDFObjectReference


class Packed(PDFObject):
    """An object written as given bytes inside the object stream (never a stream itself)."""

    __RefOnly__ = 1

    def __init__(self) -> None:
        self.body = b""  # filled in once every object it refers to has its number

    def format(self, document: Any) -> bytes:
        return self.body


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
        counter = 0
        while True:  # formatting may register new objects, so the loop reads the table as it grows
            counter += 1
            if counter not in self.numberToId:
                break
            name = self.numberToId[counter]
            obj = self.idToObject[name]
            if isinstance(obj, Packed):
                packed.append((counter, obj.body))
                continue
            entries[counter] = (1, out.add(PDFIndirectObject(name, obj).format(self)), 0)
        del self.__accum__
        stream_number = counter
        if packed:
            header = b" ".join(b"%d %d" % (n, offset) for n, offset in _offsets(packed)) + b" "
            data = zlib.compress(header + b"".join(body + b"\n" for _, body in packed))
            entries[stream_number] = (1, out.add(b"%d 0 obj\n<</Type/ObjStm/N %d/First %d/Filter/FlateDecode/Length %d>>\nstream\n" % (stream_number, len(packed), len(header), len(data)) + data + b"\nendstream\nendobj\n"), 0)
            for index, (n, _) in enumerate(packed):
                entries[n] = (2, stream_number, index)
        xref_number = stream_number + 1
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
        return bytes(out.format(self))


def _offsets(packed: list[tuple[int, bytes]]) -> list[tuple[int, int]]:
    """Each packed object's number and its offset after the stream's header."""
    result: list[tuple[int, int]] = []
    offset = 0
    for n, body in packed:
        result.append((n, offset))
        offset += len(body) + 1
    return result


def _xref_rows(entries: list[tuple[int, int, int]]) -> bytes:
    """The cross-reference rows, each stored as its difference from the row above (PNG "Up"), then deflated.

    Packed objects' rows differ by one from each other, so they shrink to almost nothing.
    """
    previous = bytes(7)
    out = bytearray()
    for entry in entries:
        row = struct.pack(">BIH", *entry)
        out.append(2)  # the PNG "Up" filter
        out += bytes((a - b) & 0xFF for a, b in zip(row, previous))
        previous = row
    return zlib.compress(bytes(out))
