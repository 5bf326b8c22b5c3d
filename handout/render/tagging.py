"""Tagged PDF (PDF/UA-1): structure elements, marked content on the canvas, and the structure tree written with the file.

ReportLab writes untagged files. Every flowable that draws carries a `Node`
(its structure element) and opens it on the canvas while it draws; page
furniture is drawn as an artifact. At save the nodes become the structure
tree, and the ParentTree maps each page's marked-content IDs back to them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from reportlab.pdfbase.pdfdoc import PDFDictionary, PDFName, PDFObject, PDFObjectReference, PDFStream, PDFString, PDFZCompress
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import PDFTextObject
from reportlab.platypus import Paragraph, Table

from handout.render.packing import Packed, PackingDocument, number, register
from handout.xmp import xmp_packet


@dataclass(frozen=True)
class DocumentDate:
    """What ReportLab's PDFDate reads from its TimeStamp: the document's date and time in UTC."""

    YMDhms: tuple[int, int, int, int, int, int]  # noqa: N815 - ReportLab's name
    dhh: int = 0
    dmm: int = 0


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

    __slots__ = ("kind", "parent", "kids", "alt", "actual_text", "scope", "bbox", "title", "tree")

    def __init__(self, kind: str, parent: Node | None = None, alt: str | None = None, actual_text: str | None = None, scope: str | None = None) -> None:
        self.kind = kind
        self.parent = parent
        self.kids: list[Node | Mark | AnnotationRef] = []
        self.alt = alt
        self.actual_text = actual_text
        self.scope = scope  # "Column" or "Row" on a table header cell
        self.bbox: tuple[float, float, float, float] | None = None  # a figure's place on its page
        self.title: str | None = None  # a name for the element that is not printed (a table's caption)
        # Every element of the tree in the order made, shared by all of them: the tree is
        # written in that order (object numbers need not follow reading order).
        self.tree: list[Node] = parent.tree if parent is not None else []
        self.tree.append(self)

    def add(self, kind: str, alt: str | None = None, actual_text: str | None = None, scope: str | None = None) -> Node:
        """A new child element, after the ones already added (reading order)."""
        child = Node(kind, self, alt, actual_text, scope)
        self.kids.append(child)
        return child


class SpacedTextObject(PDFTextObject):
    """A text object that ends each line with a space, so text read from the structure keeps the words at line ends apart."""

    def _textOut(self, text: str, TStar: int = 0) -> None:  # noqa: N802, N803 - ReportLab's names
        if TStar and self._fontname and not (text and text[-1].isspace()):
            if text:
                super()._textOut(text, 0)  # a shaped string keeps its shaping: the space is a separate show
            super()._textOut(" ", 1)
        else:
            super()._textOut(text, TStar)


ARTIFACT = "artifact"
ARTIFACT_LAYOUT = "/Artifact <</Type /Layout>> BDC"
ARTIFACT_PAGINATION = "/Artifact <</Type /Pagination /Subtype /Footer>> BDC"
ARTIFACT_PAGINATION_HEADER = "/Artifact <</Type /Pagination /Subtype /Header>> BDC"  # a table's header row repeated overleaf


class TaggedCanvas(Canvas):
    """A canvas that records marked content against structure elements and writes the tree when saved.

    Nested sequences are folded into the outermost one: PDF/UA forbids an
    artifact inside tagged content and tagged content inside an artifact.
    """

    def __init__(self, *args: Any, root: Node, created: dt.datetime, title: str, **kwargs: Any) -> None:
        self.root = root  # built with the flowables, before the canvas exists
        self._created, self._title, self._lang = created, title, kwargs["lang"]  # the doc template passes its lang on
        self._page_marks: dict[int, list[Node]] = {}  # page index → the node of each MCID
        self._page_refs: dict[int, PDFObjectReference] = {}
        self._annotations: list[tuple[Node, AnnotationRef]] = []
        self._link_targets: dict[int, str] = {}  # id of a Link element → where it goes
        self._page_index = 0
        # One entry per begun sequence: the node of a written tag, ARTIFACT for a written
        # artifact, None for one folded into the sequence around it.
        self._open: list[Node | str | None] = []
        super().__init__(*args, **kwargs)
        # The structure tree goes into an object stream; PDF/UA-1 is defined on PDF 1.7.
        self._doc.__class__ = PackingDocument
        self._doc._pdfVersion = (1, 7)
        # ReportLab's invariant mode dates every file 1 January 2000. The document's
        # own date keeps the file reproducible and true; the file ID follows it too.
        self._doc._timeStamp = DocumentDate(created.astimezone(dt.UTC).timetuple()[:6])  # type: ignore[arg-type]
        self._doc.updateSignature(created.isoformat())

    def save(self) -> None:
        """Write the structure tree (every page is written by now), then the file."""
        self.write_structure()
        super().save()

    # -- marked content -------------------------------------------------

    @property
    def inside_marked_content(self) -> bool:
        return bool(self._open)

    def begin_tag(self, node: Node, code: list[str] | None = None) -> None:
        """Start drawing content that belongs to `node` (folded into an enclosing sequence, if any).

        `code` is a text object's operator list, for marks inside one text object.
        """
        if self._open:
            self._open.append(None)
            return
        marks = self._page_marks.setdefault(self._page_index, [])
        mcid = len(marks)
        marks.append(node)
        node.kids.append(Mark(self._page_index, mcid))
        (self._code if code is None else code).append(f"/{node.kind} <</MCID {mcid}>> BDC")
        self._open.append(node)

    def begin_artifact(self, opener: str = ARTIFACT_LAYOUT, code: list[str] | None = None) -> None:
        """Start drawing furniture a reader should skip (rules, backgrounds, page numbers, tick boxes)."""
        if self._open:
            self._open.append(None)
            return
        (self._code if code is None else code).append(opener)
        self._open.append(ARTIFACT)

    def end_marked(self, code: list[str] | None = None) -> None:
        if self._open.pop() is not None:
            (self._code if code is None else code).append("EMC")

    @contextmanager
    def tagged(self, node: Node | None) -> Iterator[None]:
        """Draw the block's content as `node`'s; untagged (inside whatever encloses it) when node is None."""
        if node is None:
            yield
            return
        self.begin_tag(node)
        try:
            yield
        finally:
            self.end_marked()

    @contextmanager
    def artifact(self, opener: str = ARTIFACT_LAYOUT) -> Iterator[None]:
        self.begin_artifact(opener)
        try:
            yield
        finally:
            self.end_marked()

    def current_node(self) -> Node:
        """The element whose content is being drawn now (the document when none is)."""
        outermost = self._open[0] if self._open else None
        return outermost if isinstance(outermost, Node) else self.root

    # -- hooks into ReportLab's canvas -----------------------------------

    def beginText(self, x: float = 0, y: float = 0, direction: Any = None) -> PDFTextObject:  # noqa: N802 - ReportLab's name
        return SpacedTextObject(self, x, y, direction=direction)

    def linkURL(self, url: str, rect: Any, relative: int = 0, thickness: int = 0, color: Any = None, dashArray: Any = None, kind: str = "URI", **kw: Any) -> None:  # noqa: N802, N803
        # /Contents says where the link goes for a reader; /F 4 prints it (PDF/UA 7.18.1).
        super().linkURL(url, rect, relative, thickness, color, dashArray, kind, Contents=PDFString(url), F=4, **kw)
        node = self.current_node()
        last = node.kids[-1] if node.kids else None
        if isinstance(last, Node) and last.kind == "Link" and self._link_targets.get(id(last)) == url:
            link = last  # the same link wrapped onto the next line: one link, one annotation per line
        else:
            link = node.add("Link")
            self._link_targets[id(link)] = url
        self._annotations.append((link, AnnotationRef(self._page_index, f"NUMBER{self._annotationCount}")))
        link.kids.append(self._annotations[-1][1])

    def _startPage(self) -> None:  # noqa: N802 - ReportLab's name
        super()._startPage()
        self._page_index += 1

    def _setAnnotations(self, page: Any) -> None:  # noqa: N802 - ReportLab's name; runs as each page is written
        super()._setAnnotations(page)
        # PDFPage writes only the keys it lists; these two are what a tagged page adds.
        page.__NoDefault__ = [*page.__NoDefault__, "StructParents", "Tabs"]
        page.StructParents = self._page_index
        page.Tabs = PDFName("S")
        if page.compression:
            # The page's content stream, as ReportLab would make it but without ASCII85 on
            # top of Flate, which makes it a quarter bigger. (Inline images still need
            # ReportLab's ASCII85 setting, so it is not switched off globally.)
            stream = PDFStream(content=page.stream, filters=[PDFZCompress])
            page.Contents = stream
        self._page_refs[self._page_index] = self._doc.thisPageRef()

    # -- the tree, written at save ---------------------------------------

    def write_structure(self) -> None:
        """Add the structure tree, MarkInfo and the XMP packet to the document (call after the last page is written)."""
        doc = self._doc
        nodes = self.root.tree
        objects = [Packed() for _ in range(len(nodes) + 2)]  # the tree root, the ParentTree, then every element
        first = register(doc, objects)
        tree_root, parent_tree = objects[0], objects[1]
        numbers = {id(node): first + 2 + index for index, node in enumerate(nodes)}
        numbers[id(None)] = first  # the Document element's parent is the tree root
        pages = {index: number(doc, ref) for index, ref in self._page_refs.items()}
        total_pages = len(pages)
        annotation_keys: dict[str, int] = {}
        for index, (_, ref) in enumerate(self._annotations):
            annotation_keys[ref.name] = total_pages + index
            doc.idToObject[doc.annotationName(ref.name)]["StructParent"] = total_pages + index
        for node, obj in zip(nodes, objects[2:]):
            obj.body = self._element(node, numbers, pages)
        nums = [b"%d[%s]" % (page, b" ".join(b"%d 0 R" % numbers[id(node)] for node in self._page_marks.get(page, []))) for page in range(total_pages)]
        nums += [b"%d %d 0 R" % (annotation_keys[ref.name], numbers[id(link)]) for link, ref in self._annotations]
        parent_tree.body = b"<</Nums[" + b" ".join(nums) + b"]>>"
        tree_root.body = b"<</Type/StructTreeRoot/K %d 0 R/ParentTree %d 0 R/ParentTreeNextKey %d>>" % (
            numbers[id(self.root)],
            first + 1,
            total_pages + len(self._annotations),
        )
        catalog = doc.Catalog
        catalog.StructTreeRoot = tree_root
        catalog.MarkInfo = PDFDictionary({"Marked": "true"})
        catalog.Metadata = _MetadataStream(xmp_packet(self._title, self._lang, self._created).encode("utf-8"))

    def _element(self, node: Node, numbers: dict[int, int], pages: dict[int, int]) -> bytes:
        """A structure element's dictionary, as PDF bytes (/Type /StructElem is optional: left out, it is a tenth of the tree)."""
        head = b"<</S/%s/P %d 0 R" % (node.kind.encode(), numbers[id(node.parent)])
        kids = node.kids
        plain = node.alt is None and node.actual_text is None and node.title is None and node.scope is None and node.bbox is None
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
                annotation = number(self._doc, self._doc.refAnnotation(kid.name))
                parts.append(b"<</Type/OBJR/Obj %d 0 R/Pg %d 0 R>>" % (annotation, pages[kid.page]))
        if parts:
            # A lone kid as a scalar: the pdfua checker cannot read a one-element array.
            out.append(b"/K " + parts[0] if len(parts) == 1 else b"/K[" + b" ".join(parts) + b"]")
        for key, text in ((b"Alt", node.alt), (b"ActualText", node.actual_text), (b"T", node.title)):
            if text is not None:
                out.append(b"/%s %s" % (key, PDFString(text).format(self._doc)))
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




@contextmanager
def tagged(canvas: Canvas, node: Node | None) -> Iterator[None]:
    """Draw as `node`'s content on a tagging canvas (a plain canvas just draws)."""
    if isinstance(canvas, TaggedCanvas):
        with canvas.tagged(node):
            yield
    else:
        yield


@contextmanager
def artifact(canvas: Canvas, opener: str = ARTIFACT_LAYOUT) -> Iterator[None]:
    """Draw furniture a reader skips, on a tagging canvas (a plain canvas just draws)."""
    if isinstance(canvas, TaggedCanvas):
        with canvas.artifact(opener):
            yield
    else:
        yield


class TaggedParagraph(Paragraph):
    """A Paragraph drawn as its structure element's content; both halves of a split stay that one element."""

    tag: Node | None = None

    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:  # noqa: N802, N803 - ReportLab's names
        with tagged(canvas, self.tag):
            super().drawOn(canvas, x, y, _sW)

    def split(self, available_width: float, available_height: float) -> list[Any]:
        # Paragraph.split builds the halves with self.__class__(None, …): the tag must be put back.
        parts = super().split(available_width, available_height)
        for part in parts:
            part.tag = self.tag
        return parts


class TaggedTable(Table):
    """A platypus Table drawn with its structure: each cell as its TH/TD element, fills and rules as artifacts.

    `cells` holds each cell's element (a data table). Without it the table
    only lays things out (masthead, panels): its cells' flowables tag
    themselves. A header row repeated on a continuation page is an artifact.
    """

    cell_tags: list[list[Node | None]] | None = None

    def __init__(self, data: Any, *args: Any, cells: list[list[Node | None]] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("renderCB", _table_tags)  # splitting passes renderCB on to the parts
        super().__init__(data, *args, **kwargs)
        self.cell_tags = cells
        self._cell_open = False

    def split(self, available_width: float, available_height: float) -> list[Any]:
        parts = super().split(available_width, available_height)
        if len(parts) == 2 and self.cell_tags is not None:
            first, rest = parts
            first.cell_tags = self.cell_tags[: len(first._cellvalues)]
            repeated = len(rest._cellvalues) - (len(self.cell_tags) - len(first._cellvalues))
            rest.cell_tags = [[None] * len(row) for row in self.cell_tags[:repeated]] + self.cell_tags[len(first._cellvalues) :]
        return parts


def _table_tags(table: TaggedTable, event: str, *args: Any) -> None:
    """ReportLab's table render callback: marks each part of the table as it is drawn."""
    canvas = table.canv
    if not isinstance(canvas, TaggedCanvas):
        return
    if event in ("startBG", "startLines"):
        canvas.begin_artifact()
    elif event in ("endBG", "endLines"):
        canvas.end_marked()
    elif event == "startCell" and table.cell_tags is not None:
        row, column, value = args[0], args[1], args[2]
        node = table.cell_tags[row][column]
        table._cell_open = not (value in ("", None) or value == [] or getattr(value, "role", None) == "artifact")
        if not table._cell_open:
            return  # nothing drawn, or a tick box, which marks itself as an artifact
        if node is None:
            canvas.begin_artifact(ARTIFACT_PAGINATION_HEADER)
        else:
            canvas.begin_tag(node)
    elif event == "endCell" and table._cell_open:
        canvas.end_marked()
        table._cell_open = False
