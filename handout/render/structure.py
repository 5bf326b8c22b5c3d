"""A tagged PDF's structure tree: the elements made while a document is drawn, and the tree, ParentTree, MarkInfo and XMP written at save."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reportlab.pdfbase.pdfdoc import PDFDictionary, PDFName, PDFObject, PDFObjectReference, PDFString

from handout.render.packing import Packed, number, register


@dataclass(frozen=True)
class Mark:
    """A marked-content sequence: the page it is on and its MCID there."""

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

    __slots__ = ("kind", "parent", "kids", "alt", "actual_text", "scope", "bbox", "title", "lang", "tree")

    def __init__(self, kind: str, parent: Node | None = None, alt: str | None = None, actual_text: str | None = None, scope: str | None = None) -> None:
        self.kind = kind
        self.parent = parent
        self.kids: list[Node | Mark | AnnotationRef] = []
        self.alt = alt
        self.actual_text = actual_text
        self.scope = scope  # "Column" or "Row" on a table header cell
        self.bbox: tuple[float, float, float, float] | None = None  # a figure's place on its page
        self.title: str | None = None  # a name for the element that is not printed (a table's caption)
        self.lang: str | None = None  # the element's language when not the document's (a brand's English on a Spanish page)
        # Every element of the tree in the order made, shared by all of them: the tree is
        # written in that order (object numbers need not follow reading order).
        self.tree: list[Node] = parent.tree if parent is not None else []
        self.tree.append(self)

    def add(self, kind: str, alt: str | None = None, actual_text: str | None = None, scope: str | None = None) -> Node:
        """A new child element, after the ones already added (reading order)."""
        child = Node(kind, self, alt, actual_text, scope)
        self.kids.append(child)
        return child


def write_tree(
    doc: Any,
    root: Node,
    page_marks: dict[int, list[Node]],
    page_refs: dict[int, PDFObjectReference],
    annotations: list[tuple[Node, AnnotationRef]],
    metadata: bytes,
) -> None:
    """Add the structure tree, MarkInfo and the XMP packet to the document (call after the last page is written)."""
    nodes = root.tree
    objects = [Packed() for _ in range(len(nodes) + 2)]  # the tree root, the ParentTree, then every element
    first = register(doc, objects)
    tree_root, parent_tree = objects[0], objects[1]
    numbers = {id(node): first + 2 + index for index, node in enumerate(nodes)}
    numbers[id(None)] = first  # the Document element's parent is the tree root
    pages = {index: number(doc, ref) for index, ref in page_refs.items()}
    total_pages = len(pages)
    annotation_keys: dict[str, int] = {}
    for index, (_, ref) in enumerate(annotations):
        annotation_keys[ref.name] = total_pages + index
        doc.idToObject[doc.annotationName(ref.name)]["StructParent"] = total_pages + index
    for node, obj in zip(nodes, objects[2:]):
        obj.body = _element(doc, node, numbers, pages)
    nums = [b"%d[%s]" % (page, b" ".join(b"%d 0 R" % numbers[id(node)] for node in page_marks.get(page, []))) for page in range(total_pages)]
    nums += [b"%d %d 0 R" % (annotation_keys[ref.name], numbers[id(link)]) for link, ref in annotations]
    parent_tree.body = b"<</Nums[" + b" ".join(nums) + b"]>>"
    tree_root.body = b"<</Type/StructTreeRoot/K %d 0 R/ParentTree %d 0 R/ParentTreeNextKey %d>>" % (
        numbers[id(root)],
        first + 1,
        total_pages + len(annotations),
    )
    catalog = doc.Catalog
    catalog.StructTreeRoot = tree_root
    catalog.MarkInfo = PDFDictionary({"Marked": "true"})
    catalog.Metadata = _MetadataStream(metadata)

def _element(doc: Any, node: Node, numbers: dict[int, int], pages: dict[int, int]) -> bytes:
    """A structure element's dictionary, as PDF bytes (/Type /StructElem is optional: left out, it is a tenth of the tree)."""
    head = b"<</S/%s/P %d 0 R" % (node.kind.encode(), numbers[id(node.parent)])
    kids = node.kids
    plain = node.alt is None and node.actual_text is None and node.title is None and node.scope is None and node.bbox is None and node.lang is None
    if plain and not kids:
        return head + b">>"  # an empty table cell
    if plain and len(kids) == 1 and isinstance(kids[0], Mark):
        return head + b"/Pg %d 0 R/K %d>>" % (pages[kids[0].page], kids[0].mcid)  # most cells and paragraphs
    out = [head]
    page = _first_page(node)
    if page is not None:
        out.append(b"/Pg %d 0 R" % pages[page])
    parts: list[bytes] = []
    for kid in kids:
        if isinstance(kid, Node):
            parts.append(b"%d 0 R" % numbers[id(kid)])
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
        if isinstance(kid, Mark | AnnotationRef):
            return kid.page
    return None
