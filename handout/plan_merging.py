"""Merges handout's own plan PDFs into one tagged to-print file by copying their objects, renumbered, without re-parsing them.

A batch's plans come from handout's own writer (render/packing.py): a
cross-reference stream, the page, font, annotation and structure
dictionaries packed into an object stream, and each page's content, the
font files and forms as plain streams. Merging them with pikepdf parses
every plan's objects into its model, structure element by element, and
holds all of a file's plans open until it is saved: 12-14 ms of CPU a
plan in the batch's main process, competing with the workers for the
cores, in a burst every 50 plans that stalled the batch, and 170 MB.
Here each plan is read once as bytes, every reference in it is moved by
the same offset, and its objects are appended as they are, as the plans
arrive: 4-5 ms a plan (measured side by side), and a file's bytes held.

Each plan's structure tree becomes a Part of the merged Document in its
own language, its ParentTree keys moved up past the plans before it, and
an odd-length plan gets a blank back so the next starts on a new sheet:
the same file printing.merge_plans makes with pikepdf, which remains for
any plan not laid out as handout's writer lays it out (NotOurLayout).

A batch's worker hands over each plan to print already read (`readable`,
from the objects its writer kept as it wrote the file: render/packing.py's
WrittenFiles), so the batch's own process, which competes with the workers
for the cores, only moves the references and compresses: about a third of
reading the file back and merging it.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from dataclasses import dataclass
from itertools import accumulate, chain, count
from operator import add

from handout.xmp import xmp_packet
from handout.xref_rows import up_predicted

HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"  # 1.7: the version PDF/UA is defined on; the comment marks the file binary
# The merged file's own objects, at fixed numbers below any plan's.
CATALOG, PAGES, TREE_ROOT, DOCUMENT, PARENT_TREE, INFO, METADATA, TREE_STREAM, XREF = range(1, 10)
# How a plan's catalog and structure tree root may look: keys, and the names they may have as values.
# Anything else (outlines, page labels, forms, a role map) is not a plan this merger knows how to carry over.
_CATALOG_NAMES = {b"Type", b"Catalog", b"Lang", b"MarkInfo", b"Metadata", b"PageMode", b"UseNone", b"Pages", b"StructTreeRoot", b"ViewerPreferences"}
_TREE_ROOT_NAMES = {b"Type", b"StructTreeRoot", b"K", b"ParentTree", b"ParentTreeNextKey"}

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*\Z")
_XREF = re.compile(rb"(\d+) 0 obj\s*<<(.*?)>>\s*stream\r?\n", re.S)
_OBJECT_HEAD = re.compile(rb"(\d+) 0 obj\s*")
_OBJECT_STREAM = re.compile(rb"<<[^>]*/Type\s*/ObjStm")
_STREAM_START = re.compile(rb">>\s*stream\r?\n")
_STREAM_END = re.compile(rb"endstream\s*\Z")
_NAME = re.compile(rb"/([A-Za-z0-9]+)")
_LANG = re.compile(rb"/Lang\s*(\([A-Za-z0-9-]{1,35}\))")
_MEDIA_BOX = re.compile(rb"/MediaBox\s*(\[[0-9.\s-]*\])")
_NUMS = re.compile(rb"<<\s*/Nums\s*\[(.*)\]\s*>>\s*", re.S)
_NUMS_ENTRY = re.compile(rb"\s*(\d+)\s*(\[[^\[\]()]*\]|\d+ 0 R)")
_DOCUMENT_TYPE = re.compile(rb"/S\s*/Document(?![A-Za-z0-9])")
_STRING = re.compile(rb"\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\)", re.S)  # ReportLab escapes parentheses; one level of balanced ones is read too
# " 0 R" that is not a reference: after something other than a number, or run into what follows.
_NOT_A_REFERENCE = re.compile(rb" 0 R(?:(?<=[^0-9] 0 R)|[A-Za-z0-9_.])")
_STRUCT_PARENT = re.compile(rb"(/StructParents?\s*)(\d+)\b(?!\s+\d+\s+R)")
_DIGITS = b"0123456789"
_LOW_BYTE = (0xFF).__and__


class NotOurLayout(Exception):
    """A plan this merger does not read as handout's writer lays it out: the caller merges it with pikepdf instead."""


class PlanMerger:
    """Builds one merged to-print file plan by plan: `add` each plan's bytes as it arrives, then `finish` for the file's bytes."""

    def __init__(self, title: str) -> None:
        self.title = title
        self._chunks: list[bytes] = [HEADER]
        self._size = len(HEADER)
        self._digest = hashlib.md5(HEADER, usedforsecurity=False)  # the file ID: derived from the content, as pikepdf's deterministic_id
        self._plain: dict[int, int] = {}  # object number → where it starts in the file
        self._packed: list[tuple[int, list[int]]] = []  # each object stream's number and the numbers of the objects it holds
        self._next = XREF + 1  # the next free object number
        self._next_key = 0  # the next free ParentTree key
        self._pages: list[int] = []
        self._parts: list[int] = []
        self._nums: list[bytes] = []
        self._lang = b""

    @property
    def page_count(self) -> int:
        return len(self._pages)

    def add(self, pdf: bytes | ReadPlan) -> tuple[int, int]:
        """Append a plan, its bytes or as `readable` read them (and a blank back if its page count is odd); returns the first and last page it takes here, from 1.

        Raises NotOurLayout, before anything is appended, for a PDF not laid out as handout's writer lays it out.
        """
        plan = readable(objects_in(pdf)) if isinstance(pdf, bytes) else pdf
        offset, key_offset = self._next - 1, self._next_key
        # Each object n of the plan becomes n + offset, but for the page tree and the structure tree root,
        # which are the merged file's own now; the catalog, ParentTree and the rest are not copied at all.
        table = dict(zip(_decimals(1, plan.size), _decimals(1 + offset, plan.size + offset)))
        for n in plan.dropped:
            del table[b"%d" % n]
        table[b"%d" % plan.pages_number] = b"%d" % PAGES
        table[b"%d" % plan.tree_root_number] = b"%d" % DOCUMENT  # the plan's Document, now a Part, is a child of the merged Document

        def moved(text: bytes) -> bytes:
            """`text` with each reference's number moved: split at " 0 R", the number before each looked up (no regular expression: twice as fast)."""
            pieces = text.split(b" 0 R")
            last = pieces.pop()
            out = []
            try:
                for piece in pieces:
                    head = piece.rstrip(_DIGITS)
                    out.append(head + table[piece[len(head) :]])
            except KeyError:
                raise NotOurLayout("a reference to an object that is not copied") from None
            out.append(last)
            return b" 0 R".join(out)

        text = moved(plan.text)
        keys = text.count(b"/StructParent")
        text, moved_keys = _STRUCT_PARENT.subn(lambda match: _moved_key(match, plan.next_key, key_offset), text)
        if moved_keys != keys:
            raise NotOurLayout("a /StructParent(s) that is not a number")
        bodies = text.split(b"\x00")
        numbers = [n + offset for n in plan.numbers]
        if len(bodies) != len(numbers):
            raise NotOurLayout("an object holds a NUL byte")
        nums = [(int(key) + key_offset, moved(value)) for key, value in plan.nums]
        streams = [(n + offset, moved(head) + rest) for n, (head, rest) in plan.streams.items()]
        part = plan.document_number + offset
        at = numbers.index(part)
        document = bodies[at].rstrip()
        if len(_DOCUMENT_TYPE.findall(document)) != 1 or b"/Lang" in document or not document.endswith(b">>"):
            raise NotOurLayout("the structure tree's Document element is not as handout writes it")
        bodies[at] = _DOCUMENT_TYPE.sub(b"/S/Part", document[:-2], count=1) + b"/Lang " + plan.lang + b">>"
        pages = [n + offset for n in plan.page_numbers]
        object_stream, next_number, next_key = offset + plan.size, offset + plan.size + 1, key_offset + plan.next_key
        if len(pages) % 2:  # a blank back, the size of the plan's last page
            numbers.append(next_number)
            bodies.append(b"<</Type/Page/Parent %d 0 R/MediaBox%s/Resources<<>>/StructParents %d/Tabs/S>>" % (PAGES, plan.last_media_box, next_key))
            nums.append((next_key, b"[]"))
            pages.append(next_number)
            next_number, next_key = next_number + 1, next_key + 1

        # Nothing above has changed the merger: a plan it cannot read leaves the file as it was.
        for n, body in streams:
            self._write_object(n, body)
        self._write_object_stream(object_stream, numbers, bodies)
        first = len(self._pages) + 1
        self._pages += pages
        self._parts.append(part)
        self._nums += [b"%d %s" % pair for pair in nums]
        self._next, self._next_key = next_number, next_key
        self._lang = self._lang or plan.lang
        return first, len(self._pages)

    def finish(self) -> bytes:
        """The merged file: the plans added, the catalog, page tree, structure tree, metadata and cross-reference stream."""
        lang = self._lang or b"(en)"
        tree = {
            CATALOG: b"<</Type/Catalog/Pages %d 0 R/StructTreeRoot %d 0 R/MarkInfo<</Marked true>>/Lang %s/ViewerPreferences<</DisplayDocTitle true>>/Metadata %d 0 R>>"
            % (PAGES, TREE_ROOT, lang, METADATA),
            PAGES: b"<</Type/Pages/Count %d/Kids[%s]>>" % (len(self._pages), _references(self._pages)),
            TREE_ROOT: b"<</Type/StructTreeRoot/K %d 0 R/ParentTree %d 0 R/ParentTreeNextKey %d>>" % (DOCUMENT, PARENT_TREE, self._next_key),
            DOCUMENT: b"<</Type/StructElem/S/Document/P %d 0 R/K[%s]>>" % (TREE_ROOT, _references(self._parts)),
            PARENT_TREE: b"<</Nums[%s]>>" % b" ".join(self._nums),
        }
        self._write_object_stream(TREE_STREAM, list(tree), list(tree.values()))
        self._write_object(INFO, b"<</Title (%s)>>" % self.title.encode("ascii"))  # handout's own words, no parentheses: nothing to escape
        metadata = xmp_packet(self.title, lang[1:-1].decode("ascii"), None).encode("utf-8")
        self._write_object(METADATA, b"<</Type/Metadata/Subtype/XML/Length %d>>\nstream\n%s\nendstream" % (len(metadata), metadata))
        xref_offset = self._size
        self._plain[XREF] = xref_offset
        size = self._next
        rows = _xref_rows(size, self._plain, self._packed)
        file_id = self._digest.hexdigest().encode()
        self._add(
            b"%d 0 obj\n<</Type/XRef/Size %d/W[1 4 2]/Root %d 0 R/Info %d 0 R/ID[<%s><%s>]/Filter/FlateDecode/DecodeParms<</Predictor 12/Columns 7>>/Length %d>>\nstream\n"
            % (XREF, size, CATALOG, INFO, file_id, file_id, len(rows))
            + rows
            + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_offset
        )
        data = b"".join(self._chunks)
        self._chunks = []
        return data

    def _add(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._size += len(chunk)
        self._digest.update(chunk)

    def _write_object(self, number: int, body: bytes) -> None:
        self._plain[number] = self._size
        self._add(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    def _write_object_stream(self, number: int, numbers: list[int], bodies: list[bytes]) -> None:
        offsets = list(map(add, accumulate(map(len, bodies[:-1]), initial=0), count()))  # each body and its newline
        decimal = _decimals_below(max(max(numbers), offsets[-1]) + 1).__getitem__
        header = b" ".join(chain.from_iterable(zip(map(decimal, numbers), map(decimal, offsets)))) + b" "
        self._packed.append((number, numbers))
        # 1: a plan's objects 9 % bigger than at zlib's default (a to-print file about 2 % bigger), in a third of the time,
        # which the batch's process spends while the workers need both cores.
        data = zlib.compress(header + b"\n".join(bodies) + b"\n", 1)
        self._write_object(number, b"<</Type/ObjStm/N %d/First %d/Filter/FlateDecode/Length %d>>\nstream\n%s\nendstream" % (len(numbers), len(header), len(data), data))


def _check_references(text: bytes) -> None:
    """Raise NotOurLayout unless every " 0 R" in the objects' text is a reference: none in a string, none after something that is not a number."""
    if _NOT_A_REFERENCE.search(text) or text.startswith(b" 0 R"):
        raise NotOurLayout('" 0 R" that is not a reference')
    if b"(" in text:
        opened = 0
        for string in _STRING.findall(text):
            if b" 0 R" in string or b"/StructParent" in string or b"\x00" in string:
                raise NotOurLayout("a string that reads like a reference or a key")
            opened += string.count(b"(")
        if opened != text.count(b"("):
            raise NotOurLayout("a string nested deeper than handout's writer writes them")


def _moved_key(match: re.Match[bytes], next_key: int, key_offset: int) -> bytes:
    key = int(match[2])
    if key >= next_key:
        raise NotOurLayout("a ParentTree key beyond ParentTreeNextKey")
    return match[1] + b"%d" % (key + key_offset)


@dataclass(frozen=True, slots=True)
class PlanObjects:
    """A plan's objects as its file lists them: /Size, the catalog's and Info's numbers, and each object's text by number.

    Read back from the file (objects_in), or kept by the writer as it wrote the file (render/packing.py).
    """

    size: int  # the cross-reference stream's /Size: every object number the file uses is below
    root: int
    info: int
    packed: dict[int, bytes]  # the objects in object streams, in file order, each with the newline after it
    plain: dict[int, bytes]  # the others, in file order, each from after "N 0 obj" to just before "endobj": streams and the Info


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """One plan read for merging: the objects to copy, and where its pages, structure tree and language are.

    Made where the plan was written and sent to the batch's process: plain data, no file.
    """

    size: int  # its cross-reference stream's /Size: every object number it uses is below
    numbers: list[int]  # the objects that go into the merged file's object stream, in order
    text: bytes  # their bodies, each ended by a NUL (in no object: checked), references checked to be only references
    streams: dict[int, tuple[bytes, bytes]]  # object number → (its dictionary, the rest from `stream` on): copied as plain objects
    dropped: set[int]  # the catalog, page tree, structure tree root, ParentTree and the like: the merged file has its own
    pages_number: int
    page_numbers: list[int]
    tree_root_number: int
    document_number: int
    nums: list[tuple[bytes, bytes]]  # the ParentTree's (key, value) pairs as written
    next_key: int
    lang: bytes  # the catalog's /Lang, as a PDF string: (en-GB)
    last_media_box: bytes


def objects_in(pdf: bytes) -> PlanObjects:
    """A plan file's objects, read as handout's writer lays them out, or NotOurLayout."""
    tail = _STARTXREF.search(pdf, max(0, len(pdf) - 64))
    if tail is None:
        raise NotOurLayout("no startxref at the end")
    xref_offset = int(tail[1])
    xref = _XREF.match(pdf, xref_offset)
    if xref is None:
        raise NotOurLayout("no cross-reference stream")
    trailer = xref[2]
    if any(key in trailer for key in (b"/Prev", b"/Encrypt", b"/Index")) or not re.search(rb"/Type\s*/XRef", trailer):
        raise NotOurLayout("a cross-reference stream handout's writer does not write")
    size, root, info = (_integer(trailer, rb"/Size\s+(\d+)"), _integer(trailer, rb"/Root\s+(\d+) 0 R"), _integer(trailer, rb"/Info\s+(\d+) 0 R"))
    widths = re.search(rb"/W\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s*\]", trailer)
    if widths is None or int(widths[1]) != 1 or not 1 <= int(widths[2]) <= 8 or int(widths[3]) > 4:
        raise NotOurLayout("cross-reference field widths")
    first, second, third = int(widths[1]), int(widths[2]), int(widths[3])
    columns = first + second + third
    table = _xref_table(pdf[xref.end() : xref.end() + _integer(trailer, rb"/Length\s+(\d+)")], trailer, (first, second, third), size)
    kinds = table[0::columns]
    if kinds.strip(b"\x00\x01\x02"):
        raise NotOurLayout("a cross-reference row of an unknown type")

    # Only the few plain objects' offsets are needed: the packed ones are found from their object streams.
    plain_numbers, at = [], kinds.find(1)
    while at >= 0:
        plain_numbers.append(at)
        at = kinds.find(1, at + 1)
    offsets = sorted((int.from_bytes(table[n * columns + 1 : n * columns + 1 + second], "big"), n) for n in plain_numbers)
    plain: dict[int, bytes] = {}
    ends = [offset for offset, _ in offsets[1:]] + [xref_offset]
    for (start, n), end in zip(offsets, ends):
        head = _OBJECT_HEAD.match(pdf, start)
        if head is None or int(head[1]) != n:
            raise NotOurLayout("an object is not where the cross-reference stream says")
        if start == xref_offset:
            continue
        body = pdf[head.end() : end].rstrip()
        if not body.endswith(b"endobj"):
            raise NotOurLayout("an object without endobj")
        plain[n] = body[:-6]

    packed: dict[int, bytes] = {}
    for n in [n for n, obj in plain.items() if _OBJECT_STREAM.match(obj)]:
        packed.update(_unpack(plain.pop(n), n))
    # Each packed object once (a dict), none also plain, as many as the rows of type 2, all below /Size:
    # the object streams hold what the cross-reference stream says.
    if len(packed) != kinds.count(2) or not packed.keys().isdisjoint(plain) or max(packed, default=0) >= size:
        raise NotOurLayout("the object streams do not hold what the cross-reference stream says")
    return PlanObjects(size, root, info, packed, plain)


def readable(objects: PlanObjects) -> ReadPlan:
    """The facts the merge needs from a plan's objects, its references checked, or NotOurLayout."""
    size, root, info = objects.size, objects.root, objects.info
    packed, plain = dict(objects.packed), dict(objects.plain)  # the caller's objects stay as they were

    def body(n: int) -> bytes:
        found = packed.get(n)
        if found is None:
            raise NotOurLayout("a catalog, page tree or structure tree object that is not in an object stream")
        return found

    catalog = body(root)
    if not {m for m in _NAME.findall(catalog)} <= _CATALOG_NAMES:
        raise NotOurLayout("the catalog holds more than handout's writer puts there")
    lang = _LANG.search(catalog)
    if lang is None:
        raise NotOurLayout("the catalog has no /Lang")
    pages_number = _integer(catalog, rb"/Pages\s+(\d+) 0 R")
    tree_root_number = _integer(catalog, rb"/StructTreeRoot\s+(\d+) 0 R")
    pages = body(pages_number)
    page_numbers = [int(n) for n in re.findall(rb"(\d+) 0 R", _search(pages, rb"/Kids\s*\[([^\]]*)\]"))]
    if _integer(pages, rb"/Count\s+(\d+)") != len(page_numbers) or not page_numbers:
        raise NotOurLayout("a page tree that is not one flat list of pages")
    for n in page_numbers:
        if b"/Kids" in body(n) or b"/StructParents" not in body(n):
            raise NotOurLayout("a page tree that is not one flat list of tagged pages")
    tree_root = body(tree_root_number)
    if not {m for m in _NAME.findall(tree_root)} <= _TREE_ROOT_NAMES:
        raise NotOurLayout("a structure tree root with a role map, class map or several roots")
    parent_tree_number = _integer(tree_root, rb"/ParentTree\s+(\d+) 0 R")
    nums_body = _NUMS.fullmatch(body(parent_tree_number))
    if nums_body is None:
        raise NotOurLayout("a ParentTree that is not one flat /Nums array")
    nums: list[tuple[bytes, bytes]] = []
    position = 0
    content = nums_body[1]
    while position < len(content.rstrip()):
        entry = _NUMS_ENTRY.match(content, position)
        if entry is None:
            raise NotOurLayout("a ParentTree entry handout's writer does not write")
        nums.append((entry[1], entry[2]))
        position = entry.end()

    dropped = {root, info, pages_number, tree_root_number, parent_tree_number}
    for key in (rb"/Metadata", rb"/MarkInfo", rb"/ViewerPreferences"):
        found = re.search(key + rb"\s+(\d+) 0 R", catalog)
        if found:
            dropped.add(int(found[1]))
    streams: dict[int, tuple[bytes, bytes]] = {}
    for n, obj in plain.items():
        if n in dropped:
            continue
        start = _STREAM_START.search(obj)
        if start is None:
            if b"\x00" in obj:
                raise NotOurLayout("a NUL byte in an object")
            packed[n] = obj  # a plain dictionary (none in handout's plans but the Info): into the object stream with the rest
            continue
        head, rest = obj[: start.start() + 2], obj[start.start() + 2 :]
        length = re.findall(rb"/Length\s+(\d+)\b(?!\s+\d+\s+R)", head)
        if len(length) != 1 or _STREAM_END.fullmatch(obj, start.end() + int(length[0])) is None:
            raise NotOurLayout("a stream whose /Length does not end it")
        streams[n] = (head, rest)
    for n in dropped:
        packed.pop(n, None)
    document_number = _integer(tree_root, rb"/K\s+(\d+) 0 R")
    if document_number not in packed:
        raise NotOurLayout("the structure tree's root element is not in an object stream")
    if len(packed) > 65_535:
        raise NotOurLayout("more objects than one object stream can index")
    last_page = body(page_numbers[-1])
    media_box = _MEDIA_BOX.search(last_page)
    if media_box is None:
        raise NotOurLayout("a page without its own /MediaBox")
    text = b"\x00".join(packed.values())  # NUL: in no object (checked), so it marks where each ends
    _check_references(text)
    return ReadPlan(
        size=size, numbers=list(packed), text=text, streams=streams, dropped=dropped, pages_number=pages_number, page_numbers=page_numbers,
        tree_root_number=tree_root_number, document_number=document_number, nums=nums,
        next_key=_integer(tree_root, rb"/ParentTreeNextKey\s+(\d+)"), lang=lang[1], last_media_box=media_box[1],
    )  # fmt: skip


def _integer(text: bytes, pattern: bytes) -> int:
    return int(_search(text, pattern))


def _search(text: bytes, pattern: bytes) -> bytes:
    found = re.findall(pattern, text)
    if len(found) != 1:
        raise NotOurLayout("a key missing, repeated, or not as handout's writer writes it")
    return bytes(found[0])


def _xref_table(stream: bytes, trailer: bytes, widths: tuple[int, int, int], size: int) -> bytes:
    """The cross-reference stream's rows, decoded: `size` rows of sum(widths) bytes."""
    if not re.search(rb"/Filter\s*/FlateDecode", trailer):
        raise NotOurLayout("a cross-reference stream not deflated")
    try:
        raw = zlib.decompress(stream)
    except zlib.error:
        raise NotOurLayout("a damaged cross-reference stream") from None
    columns = sum(widths)
    predictor = re.search(rb"/Predictor\s+(\d+)", trailer)
    if predictor is not None:
        stride = columns + 1
        if int(predictor[1]) != 12 or _integer(trailer, rb"/Columns\s+(\d+)") != columns or len(raw) != stride * size or raw[0::stride].strip(b"\x02"):
            raise NotOurLayout("a cross-reference predictor other than PNG Up")
        # PNG Up: each byte was stored as its difference from the byte above it; add them back up, column by column.
        decoded = bytearray(columns * size)
        for column in range(columns):
            decoded[column::columns] = bytes(map(_LOW_BYTE, accumulate(raw[1 + column :: stride])))
        raw = bytes(decoded)
    if len(raw) != columns * size:
        raise NotOurLayout("a cross-reference stream of the wrong length")
    return raw


def _unpack(container: bytes, number: int) -> dict[int, bytes]:
    """The objects an object stream holds, by number."""
    start = _STREAM_START.search(container)
    if start is None or not re.search(rb"/Type\s*/ObjStm", container[: start.start()]) or not re.search(rb"/Filter\s*/FlateDecode", container[: start.start()]):
        raise NotOurLayout(f"object {number} is not a deflated object stream")
    head = container[: start.start()]
    length, first, count = _integer(head, rb"/Length\s+(\d+)"), _integer(head, rb"/First\s+(\d+)"), _integer(head, rb"/N\s+(\d+)")
    try:
        data = zlib.decompress(container[start.end() : start.end() + length])
    except zlib.error:
        raise NotOurLayout("a damaged object stream") from None
    if b"\x00" in data:
        raise NotOurLayout("a NUL byte in an object stream")
    pairs = data[:first].split()
    if len(pairs) != 2 * count:
        raise NotOurLayout("an object stream's header does not match its /N")
    starts = [first + offset for offset in map(int, pairs[1::2])]
    ends = starts[1:] + [len(data)]
    # Each object with the separator after it (a newline, as handout's writer writes them): copied as it is.
    return dict(zip(map(int, pairs[0::2]), [data[start:end] for start, end in zip(starts, ends)]))


def _decimals_below(stop: int) -> list[bytes]:
    """The numbers as PDF writes them, by value, at least up to `stop`: a list kept per process, grown as files need."""
    if stop > len(_DECIMALS):
        _DECIMALS.extend(b"%d" % n for n in range(len(_DECIMALS), max(stop, 2 * len(_DECIMALS))))
    return _DECIMALS


def _decimals(start: int, stop: int) -> list[bytes]:
    """The numbers from `start` up to `stop` as PDF writes them."""
    return _decimals_below(stop)[start:stop]


_DECIMALS: list[bytes] = [b"0"]


def _references(numbers: list[int]) -> bytes:
    return b" ".join(b"%d 0 R" % n for n in numbers)


def _xref_rows(size: int, plain: dict[int, int], packed: list[tuple[int, list[int]]]) -> bytes:
    """The cross-reference stream's rows (W [1 4 2]), each stored as its difference from the row above (PNG Up), deflated.

    Unused numbers are free rows of zeros, as render/packing.py writes them.
    """
    table = bytearray(7 * size)
    row = struct.Struct(">BIH").pack_into
    row(table, 0, 0, 0, 65535)
    for n, offset in plain.items():
        row(table, 7 * n, 1, offset, 0)
    for stream, numbers in packed:
        for index, n in enumerate(numbers):
            row(table, 7 * n, 2, stream, index)
    return up_predicted(bytes(table))
