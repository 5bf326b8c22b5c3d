"""A tagged PDF's structure tree: the elements made while a document is drawn, and the tree, ParentTree, MarkInfo and XMP written at save."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from reportlab.pdfbase.pdfdoc import PDFDictionary, PDFName, PDFObject, PDFObjectReference, PDFString

from handout.render.packing import Packed, number, register, reserve


class Mark(NamedTuple):
    """A marked-content sequence: the page it is on and its MCID there (a tuple: a plan makes about 1,400, made fast)."""

    page: int
    mcid: int


@dataclass(frozen=True)
class AnnotationRef:
    """A link annotation a structure element owns (an OBJR in the tree)."""

    page: int
    name: str  # ReportLab's internal name of the annotation object


class Node:
    """One structure element while a document is drawn: its standard type, what it hangs under and what it holds.

    Mutable on purpose: marks are added as the element's content is drawn, page by page.
    """

    __slots__ = ("kind", "parent", "kids", "alt", "actual_text", "scope", "bbox", "title", "lang", "tree", "number")

    def __init__(self, kind: str, parent: Node | None = None, alt: str | None = None, actual_text: str | None = None, scope: str | None = None) -> None:
        self.kind = kind
        self.parent = parent
        self.kids: list[Node | Mark | AnnotationRef | EmptyCells] = []
        self.alt = alt
        self.actual_text = actual_text
        self.scope = scope  # "Column" or "Row" on a table header cell
        self.bbox: tuple[float, float, float, float] | None = None  # a figure's place on its page
        self.title: str | None = None  # a name for the element that is not printed (a table's caption)
        self.lang: str | None = None  # the element's language when not the document's (a brand's English on a Spanish page)
        self.number = 0  # its object number, given when the tree is written
        # Every element of the tree in the order made, shared by all of them: the tree is
        # written in that order (object numbers need not follow reading order).
        self.tree: list[Node | EmptyCells] = parent.tree if parent is not None else []
        self.tree.append(self)

    def add(self, kind: str, alt: str | None = None, actual_text: str | None = None, scope: str | None = None) -> Node:
        """A new child element, after the ones already added (reading order)."""
        child = Node(kind, self, alt, actual_text, scope)
        self.kids.append(child)
        return child

    def add_row(self, empty_cells: int, scope: str = "Row") -> Node:
        """A table row (TR) of a header cell, returned to draw into, then `empty_cells` data cells that hold no content.

        A diary has hundreds of such cells (the boxes and circles in them are artifacts):
        they are one record here, written out from it at save, not an element each.
        """
        row = self.add("TR")
        header = row.add("TH", scope=scope)
        if empty_cells:
            row.kids.append(EmptyCells(row, empty_cells))
        return header


class EmptyCells:
    """Consecutive empty data cells (TD) of one row: written as that many elements, made as one record."""

    __slots__ = ("parent", "count", "number")

    def __init__(self, parent: Node, count: int) -> None:
        self.parent, self.count = parent, count
        self.number = 0  # the first cell's object number; the others follow it
        parent.tree.append(self)


def write_tree(
    doc: Any,
    root: Node,
    page_marks: dict[int, list[Node]],
    page_refs: dict[int, PDFObjectReference],
    annotations: list[tuple[Node, AnnotationRef]],
    metadata: bytes,
) -> None:
    """Add the structure tree, MarkInfo and the XMP packet to the document (call after the last page is written)."""
    tree_root, parent_tree = Packed(), Packed()
    first = register(doc, [tree_root, parent_tree])
    entries = root.tree
    n = first + 2
    for entry in entries:  # numbered in the order made, each record of empty cells taking its count
        entry.number = n
        n += entry.count if isinstance(entry, EmptyCells) else 1
    bodies: list[bytes] = []  # every element's dictionary, filled in below now that each has its number
    reserve(doc, bodies, n - first - 2)
    pages = {index: number(doc, ref) for index, ref in page_refs.items()}
    total_pages = len(pages)
    annotation_keys: dict[str, int] = {}
    for index, (_, ref) in enumerate(annotations):
        annotation_keys[ref.name] = total_pages + index
        doc.idToObject[doc.annotationName(ref.name)]["StructParent"] = total_pages + index
    for entry in entries:
        parent = entry.parent.number if entry.parent is not None else first  # the Document element's parent is the tree root
        if isinstance(entry, EmptyCells):
            bodies += [b"<</S/TD/P %d 0 R>>" % parent] * entry.count
            continue
        kids = entry.kids
        if len(kids) == 1 and type(kids[0]) is Mark and _plain(entry, entry.scope):  # most cells and paragraphs
            mark = kids[0]
            scope = b"" if entry.scope is None else b"/A<</O/Table/Scope/%s>>" % entry.scope.encode()
            bodies.append(b"<</S/%s/P %d 0 R/Pg %d 0 R/K %d%s>>" % (entry.kind.encode(), parent, pages[mark.page], mark.mcid, scope))
        else:
            bodies.append(_element(doc, entry, parent, pages))
    nums = [b"%d[%s]" % (page, b" ".join([b"%d 0 R" % node.number for node in page_marks.get(page, ())])) for page in range(total_pages)]
    nums += [b"%d %d 0 R" % (annotation_keys[ref.name], link.number) for link, ref in annotations]
    parent_tree.body = b"<</Nums[" + b" ".join(nums) + b"]>>"
    tree_root.body = b"<</Type/StructTreeRoot/K %d 0 R/ParentTree %d 0 R/ParentTreeNextKey %d>>" % (root.number, first + 1, total_pages + len(annotations))
    catalog = doc.Catalog
    catalog.StructTreeRoot = tree_root
    catalog.MarkInfo = PDFDictionary({"Marked": "true"})
    catalog.Metadata = _MetadataStream(metadata)


def _plain(node: Node, scope: str | None = None) -> bool:
    """Whether an element has no attributes beyond its type, parent, content and (when given) this header scope."""
    return node.alt is None and node.actual_text is None and node.title is None and node.scope is scope and node.bbox is None and node.lang is None


def _element(doc: Any, node: Node, parent: int, pages: dict[int, int]) -> bytes:
    """A structure element's dictionary, as PDF bytes (/Type /StructElem is optional: left out, it is a tenth of the tree)."""
    head = b"<</S/%s/P %d 0 R" % (node.kind.encode(), parent)
    kids = node.kids
    if not kids and _plain(node):
        return head + b">>"  # an empty table cell
    out = [head]
    page = _first_page(node)
    if page is not None:
        out.append(b"/Pg %d 0 R" % pages[page])
    parts: list[bytes] = []
    for kid in kids:
        if isinstance(kid, Node):
            parts.append(b"%d 0 R" % kid.number)
        elif isinstance(kid, EmptyCells):
            parts += [b"%d 0 R" % n for n in range(kid.number, kid.number + kid.count)]
        elif isinstance(kid, Mark):
            parts.append(b"%d" % kid.mcid if kid.page == page else b"<</Type/MCR/Pg %d 0 R/MCID %d>>" % (pages[kid.page], kid.mcid))
        else:
            annotation = number(doc, doc.refAnnotation(kid.name))
            parts.append(b"<</Type/OBJR/Obj %d 0 R/Pg %d 0 R>>" % (annotation, pages[kid.page]))
    if parts:
        # A lone kid as a scalar: the pdfua checker cannot read a one-element array.
        out.append(b"/K " + parts[0] if len(parts) == 1 else b"/K[" + b" ".join(parts) + b"]")
    for key, text in ((b"Alt", node.alt), (b"ActualText", node.actual_text), (b"T", node.title), (b"Lang", node.lang)):
        if text is not None:
            out.append(b"/%s %s" % (key, PDFString(text).format(doc)))
    if node.scope is not None:
        out.append(b"/A<</O/Table/Scope/%s>>" % node.scope.encode())
    if node.bbox is not None:
        out.append(b"/A<</O/Layout/BBox[%s]>>" % " ".join(f"{v:.2f}" for v in node.bbox).encode())
    return b"".join(out) + b">>"


class _MetadataStream(PDFObject):
    """An uncompressed XMP stream (readers and checkers look for the packet as plain text)."""

    __RefOnly__ = 1

    def __init__(self, content: bytes) -> None:
        self.content = content

    def format(self, document: Any) -> bytes:
        content = document.encrypt.encode(self.content)
        header = PDFDictionary({"Type": PDFName("Metadata"), "Subtype": PDFName("XML"), "Length": len(content)})
        return header.format(document) + b"\nstream\n" + content + b"\nendstream\n"


def _first_page(node: Node) -> int | None:
    """The page of an element's first content (its /Pg), or None when it holds only other elements."""
    for kid in node.kids:
        if type(kid) is Mark or type(kid) is AnnotationRef:
            return kid.page
    return None
