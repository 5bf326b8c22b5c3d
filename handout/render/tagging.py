"""Tagged PDF (PDF/UA-1) on the canvas: content marked as its structure element or as an artifact, the tree written at save.

ReportLab writes untagged files. Every flowable that draws carries a `Node`
(its structure element) and opens it on the canvas while it draws; page
furniture is drawn as an artifact. At save the nodes become the structure
tree, and the ParentTree maps each page's marked-content IDs back to them.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from reportlab.lib.colors import Color
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfdoc import PDFName, PDFObjectReference, PDFPage, PDFStream, PDFString, PDFZCompress
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import PDFTextObject

from handout.render.packing import PackingDocument
from handout.render.structure import AnnotationRef, Mark, Node, write_tree
from handout.render.subsets import keep_subsets
from handout.xmp import xmp_packet


@dataclass(frozen=True)
class DocumentDate:
    """What ReportLab's PDFDate reads from its TimeStamp: the document's date and time in UTC."""

    YMDhms: tuple[int, int, int, int, int, int]  # noqa: N815 - ReportLab's name
    dhh: int = 0
    dmm: int = 0


def _escaped(canvas: Canvas, font_name: str, text: str) -> str | None:
    """The escaped bytes ReportLab's `_formatText` shows for `text`, or None when only ReportLab can say.

    A TrueType font's characters get their codes in the order a document first shows them (handout turns
    ReportLab's ASCII-at-its-own-code off: smaller subsets), so ReportLab walks every string character by
    character. Once each character of a string has its code in subset 0 (most strings, after the first page),
    the codes are only looked up: the same bytes, without the walk. A new character, another subset or a
    shaped string goes through ReportLab, which gives the codes.
    """
    if type(text) is not str or not text:
        return None
    doc = canvas._doc
    shown = _for_document(doc)
    escaped = shown.get((font_name, text))  # a string's codes, once all given, stay the same for the document
    if escaped is not None:
        return escaped
    font = getFont(font_name)
    if not font._dynamicFont:
        return None
    state = font.state.get(doc)
    if state is None:
        return None  # the document's first use of the font: ReportLab makes its subset state
    try:
        codes = bytes(map(state.assignments.__getitem__, map(ord, text.replace("\xa0", " "))))  # a no-break space shows as a space
    except (KeyError, ValueError):  # a character without a code yet, or one past subset 0
        return None
    escaped = shown[font_name, text] = canvas._escape(codes)
    return escaped


def _font_operator(canvas: Canvas, font_name: str, size: float, leading: float) -> str:
    """ReportLab's operators selecting a TrueType font's subset 0 at a size and leading (its name is the document's)."""
    shown = _for_document(canvas._doc)
    key = (font_name, size, leading)
    operator = shown.get(key)
    if operator is None:
        operator = shown[key] = f"{getFont(font_name).getSubsetInternalName(0, canvas._doc)} {fp_str(size)} Tf {fp_str(leading)} TL"
    return operator


def _for_document(doc: Any) -> dict[tuple[Any, ...], str]:
    """The document's own memo of shown strings and font operators (it lives and ends with the document)."""
    try:
        return doc._handout_shown  # type: ignore[no-any-return]
    except AttributeError:
        doc._handout_shown = {}
        return doc._handout_shown  # type: ignore[no-any-return]


class SpacedTextObject(PDFTextObject):
    """A text object that ends each line with a space, so text read from the structure keeps the words at line ends apart.

    Shows a string whose characters all have their codes without ReportLab's walk through it (`_escaped`).
    """

    _curSubset: int  # noqa: N815 - ReportLab's name: the font subset the text object last selected

    def _formatText(self, text: str) -> str:  # noqa: N802 - ReportLab's name
        escaped = _escaped(self._canvas, self._fontname, text)
        if escaped is None:
            return super()._formatText(text)
        if self._curSubset != 0:
            self._curSubset = 0
            return f"{_font_operator(self._canvas, self._fontname, self._fontsize, self._leading)} ({escaped}) Tj"
        return f"({escaped}) Tj"

    def _textOut(self, text: str, TStar: int = 0) -> None:  # noqa: N802, N803 - ReportLab's names
        if TStar and self._fontname and not (text and text[-1].isspace()):
            if text:
                super()._textOut(text, 0)  # a shaped string keeps its shaping: the space is a separate show
            super()._textOut(" ", 1)
        else:
            super()._textOut(text, TStar)


_TRANSPARENCY = (1, 4)  # the PDF version ReportLab raises a document to when it sets an opacity (handout's are 1.7)
ARTIFACT = "artifact"
ARTIFACT_LAYOUT = "/Artifact <</Type /Layout>> BDC"
ARTIFACT_PAGINATION = "/Artifact <</Type /Pagination /Subtype /Footer>> BDC"
ARTIFACT_PAGINATION_HEADER = "/Artifact <</Type /Pagination /Subtype /Header>> BDC"  # a table's header row repeated overleaf


def text_start(x: float, y: float) -> str:
    """The start of a one-line text object at (x, y), as drawString writes it (TaggedCanvas.show_placed takes it)."""
    return f"BT 1 0 0 1 {fp_str(x, y)} Tm"


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
        metadata = xmp_packet(self._title, self._lang, self._created).encode("utf-8")
        write_tree(self._doc, self.root, self._page_marks, self._page_refs, self._annotations, metadata)
        keep_subsets(self._doc)
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

    def tagged(self, node: Node | None) -> AbstractContextManager[None]:
        """Draw the block's content as `node`'s; untagged (inside whatever encloses it) when node is None."""
        return _NOTHING if node is None else _Tagged(self, node)

    def artifact(self, opener: str = ARTIFACT_LAYOUT) -> AbstractContextManager[None]:
        return _Artifact(self, opener)

    def current_node(self) -> Node:
        """The element whose content is being drawn now (the document when none is)."""
        outermost = self._open[0] if self._open else None
        return outermost if isinstance(outermost, Node) else self.root

    # -- hooks into ReportLab's canvas -----------------------------------

    def beginText(self, x: float = 0, y: float = 0, direction: Any = None) -> PDFTextObject:  # noqa: N802 - ReportLab's name
        return SpacedTextObject(self, x, y, direction=direction)

    # A diary page draws about a hundred strings one by one, each its own text object. In the common case (no
    # mode, spacing, direction or shaping; every character already has its code) the text object ReportLab
    # would build is written straight away, the same bytes; anything else is ReportLab's.

    def drawString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:  # noqa: N802 - ReportLab's name
        if args or kwargs or not self._show_at(x, y, text):
            super().drawString(x, y, text, *args, **kwargs)

    def drawRightString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:  # noqa: N802 - ReportLab's name
        if args or kwargs or not self._show_at(x - stringWidth(text, self._fontname, self._fontsize), y, text):
            super().drawRightString(x, y, text, *args, **kwargs)

    def drawCentredString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:  # noqa: N802 - ReportLab's name
        if args or kwargs or not self._show_at(x - 0.5 * stringWidth(text, self._fontname, self._fontsize), y, text):
            super().drawCentredString(x, y, text, *args, **kwargs)

    def setFillColor(self, aColor: Any, alpha: float | None = None) -> None:  # noqa: N802, N803 - ReportLab's names
        # Set about 470 times a plan (each diary cell sets its colour), nearly always an opaque RGB colour whose
        # opacity is already the page's: ReportLab's same operator is written, and its opacity steps, which
        # would change and write nothing, are skipped. Anything else is ReportLab's.
        operator = self.fill_operator(aColor) if alpha is None else None
        if operator is None:
            super().setFillColor(aColor, alpha)
            return
        self._fillColorObj = aColor
        self._code.append(operator)

    def fill_operator(self, colour: Any) -> str | None:
        """The one operator setFillColor(colour) writes when it is an opaque RGB colour whose opacity is already the
        page's (nearly always), else None: ReportLab's setFillColor must then set it."""
        if type(colour) is not Color or self._enforceColorSpace:
            return None
        opacity = colour.alpha
        if opacity is None or (opacity == self._extgstate._d.get("ca", 1) and self._doc._pdfVersion >= _TRANSPARENCY):
            return f"{fp_str((colour.red, colour.green, colour.blue))} rg"
        return None

    def _show_at(self, x: float, y: float, text: str) -> bool:
        """Write a one-line text object showing `text` at (x, y), as drawString's would be; False when ReportLab must."""
        return self.show_placed(text_start(x, y), text)

    def show_placed(self, placed: str, text: str, before: str | None = None) -> bool:
        """Write a one-line text object showing `text` in the canvas's font, `placed` being its start ("BT 1 0 0 1 x y Tm"),
        after the operator `before` if given; False, writing nothing, when ReportLab must show it."""
        escaped = _escaped(self, self._fontname, text) if self.bottomup else None
        if escaped is None:
            return False
        if before is not None:
            self._code.append(before)
        self._code.append(f"{placed} {_font_operator(self, self._fontname, self._fontsize, self._leading)} ({escaped}) Tj T* ET")
        return True

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
        if not isinstance(page, PDFPage):
            # A form (drawn once, placed on pages): not a page of the structure tree. Its content is Flate
            # without ASCII85 too (PDFFormXObject keeps a content stream it is given as it is).
            if page.compression:
                page.Contents, page.compression = PDFStream(content=page.stream, filters=[PDFZCompress]), 0
            return
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


class _Tagged:
    """`with`: the content drawn inside is `node`'s (a class, not a generator: a plan opens hundreds)."""

    __slots__ = ("canvas", "node")

    def __init__(self, canvas: TaggedCanvas, node: Node) -> None:
        self.canvas, self.node = canvas, node

    def __enter__(self) -> None:
        self.canvas.begin_tag(self.node)

    def __exit__(self, *exc: object) -> None:
        self.canvas.end_marked()


class _Artifact:
    """`with`: what is drawn inside is furniture a reader skips."""

    __slots__ = ("canvas", "opener")

    def __init__(self, canvas: TaggedCanvas, opener: str) -> None:
        self.canvas, self.opener = canvas, opener

    def __enter__(self) -> None:
        self.canvas.begin_artifact(self.opener)

    def __exit__(self, *exc: object) -> None:
        self.canvas.end_marked()


_NOTHING = nullcontext()


def tagged(canvas: Canvas, node: Node | None) -> AbstractContextManager[None]:
    """Draw as `node`'s content on a tagging canvas (a plain canvas just draws)."""
    return _Tagged(canvas, node) if node is not None and isinstance(canvas, TaggedCanvas) else _NOTHING


def artifact(canvas: Canvas, opener: str = ARTIFACT_LAYOUT) -> AbstractContextManager[None]:
    """Draw furniture a reader skips, on a tagging canvas (a plain canvas just draws)."""
    return _Artifact(canvas, opener) if isinstance(canvas, TaggedCanvas) else _NOTHING
