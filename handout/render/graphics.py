"""Drawn figures: the QR codes, the clinic logo, the warning sign and tick boxes."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFStream, PDFZCompress, xObjectName
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image

from handout.document import Role
from handout.errors import HandoutError
from handout.qr import qr_matrix
from handout.render.fonts import MAIN, MAIN_BOLD, FontRuns
from handout.render.logo_cache import CachedLogo
from handout.render.structure import Node
from handout.render.tagging import ARTIFACT_PAGINATION_HEADER, TaggedCanvas, artifact, tagged

if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing  # imported where an SVG is drawn by svglib: a warm logo needs none of ReportLab's graphics

QR_WIDTH = 30 * mm
MIN_ROWS_AFTER_SPLIT = 3  # readable at 20–30 cm, ten times its width (guidance.md)


class QRFlowable(Flowable):
    """A QR code drawn as a 1-bit image, one module a pixel, clickable, quiet zone included."""

    role = Role.FIGURE

    def __init__(self, url: str, alt: str, width: float = QR_WIDTH, tag: Node | None = None) -> None:
        super().__init__()
        self.url = url
        self.alt = alt
        self.tag = tag  # a Figure whose alt text names the URL; the link annotation hangs under it
        self.matrix = qr_matrix(url)
        self.width = self.height = width

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        with tagged(canvas, self.tag):
            set_bbox(canvas, self.tag, self.width, self.height)
            canvas.saveState()
            canvas.setFillColor(white)
            canvas.rect(0, 0, self.width, self.height, stroke=0, fill=1)
            canvas.setFillColor(HexColor("#000000"))
            canvas.transform(self.width, 0, 0, self.height, 0, 0)
            canvas.doForm(code_image(canvas, self.matrix))
            canvas.restoreState()
            canvas.linkURL(self.url, (0, 0, self.width, self.height), relative=1, thickness=0)


def set_bbox(canvas: Canvas, tag: Node | None, width: float, height: float) -> None:
    """Record where a figure is on the page (its /BBox), from the canvas's current origin."""
    if tag is not None:
        x0, y0 = canvas.absolutePosition(0, 0)
        x1, y1 = canvas.absolutePosition(width, height)
        tag.bbox = (x0, y0, x1, y1)


def prepare_qr(url: str) -> None:
    """Build a URL's QR code image ahead of the first document (once per batch worker)."""
    _mask_bits(qr_matrix(url))


def code_image(c: Canvas, modules: tuple[tuple[bool, ...], ...]) -> str:
    """The name of a 1-bit image mask of a QR code's modules, made once per document: drawn on the unit square, it paints the dark ones in the fill colour.

    One module an image pixel: about 130 bytes where a path of its dark runs took 450 to 900 (the diary's code
    on every page was 4 KB of a large-print plan). It does not ask for /Interpolate, so it is scaled up with
    sharp module edges (Poppler and PDFium draw it in pure black and white, where the path's edges were grey).
    """
    name, rows = _mask_bits(modules)
    if not c.hasForm(name):
        image = {"Type": "/XObject", "Subtype": "/Image", "Width": len(modules[0]), "Height": len(modules), "ImageMask": "true", "Decode": PDFArray([1, 0])}
        c._doc.Reference(PDFStream(PDFDictionary(image), rows, [PDFZCompress]), xObjectName(name))  # a raw image mask: drawImage cannot make one
    return name


@lru_cache(maxsize=256)
def _mask_bits(modules: tuple[tuple[bool, ...], ...]) -> tuple[str, bytes]:
    """The image's name and its rows as bits, 1 for dark, each row padded with light to whole bytes (kept: a batch draws one code thousands of times)."""
    rows = b""
    for row in modules:
        bits = "".join("1" if dark else "0" for dark in row)
        bits += "0" * (-len(bits) % 8)
        rows += int(bits, 2).to_bytes(len(bits) // 8, "big")
    shape = f"{len(modules[0])}x{len(modules)}:".encode()  # the same bytes could be another width's rows
    return "QR" + hashlib.sha256(shape + rows).hexdigest()[:12], rows


class TickBox(Flowable):
    """An empty square a patient ticks with a pen."""

    role = Role.ARTIFACT

    def __init__(self, size: float, colour: Color) -> None:
        super().__init__()
        self.size = size
        self.colour = colour

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        with artifact(self.canv):
            self.canv.saveState()
            self.canv.setStrokeColor(self.colour)
            self.canv.setLineWidth(1.2)
            self.canv.rect(0, 0, self.size, self.size, stroke=1, fill=0)
            self.canv.restoreState()


class WarningSign(Flowable):
    """A white exclamation triangle for the warning band (decorative: the band's words carry the meaning)."""

    role = Role.ARTIFACT

    def __init__(self, size: float) -> None:
        super().__init__()
        self.size = size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        with artifact(self.canv):
            self._draw_sign()

    def _draw_sign(self) -> None:
        c, s = self.canv, self.size
        c.saveState()
        c.setFillColor(white)
        path = c.beginPath()
        path.moveTo(s / 2, s)
        path.lineTo(s, s * 0.08)
        path.lineTo(0, s * 0.08)
        path.close()
        c.drawPath(path, stroke=0, fill=1)
        c.setFillColor(HexColor("#A1241B"))
        c.rect(s * 0.45, s * 0.38, s * 0.1, s * 0.38, stroke=0, fill=1)
        c.circle(s / 2, s * 0.24, s * 0.065, stroke=0, fill=1)
        c.restoreState()


def _svg_drawing(path: Path) -> Drawing:
    from svglib.svglib import svg2rlg  # only brands with an SVG logo pay for importing svglib

    try:
        drawing = svg2rlg(str(path))
    except Exception:  # svglib raises many types for bad input; the clinic only needs to know which file
        drawing = None
    if drawing is None or not drawing.width or not drawing.height:
        raise HandoutError(f"{path}: the SVG logo could not be read; export it again or use a PNG")
    # Drawings start in Helvetica, and a logo's text names its own fonts (Times, Courier…):
    # ReportLab would write those unembedded, so every text is set in the embedded fonts.
    drawing.initialFontName = MAIN
    _embedded_fonts(drawing)
    return drawing


def _svg_logo(path: Path) -> tuple[Drawing | None, CachedLogo | None, str | None]:
    """An SVG logo's operators kept from an earlier run; else svglib's drawing of it, and the key to keep its operators under when they can be kept."""
    try:
        info = path.stat()
    except OSError:
        return _svg_drawing(path), None, None  # svglib says what is wrong with the file
    return _svg_logo_as_is(path, info.st_mtime_ns, info.st_size)  # an edited logo is read again, even in a long-running server


@lru_cache(maxsize=8)
def _svg_logo_as_is(path: Path, mtime_ns: int, size: int) -> tuple[Drawing | None, CachedLogo | None, str | None]:
    from handout.render import logo_cache

    try:
        key = logo_cache.cache_key(path.read_bytes(), MAIN)
    except OSError:
        return _svg_drawing(path), None, None
    kept = logo_cache.load(key, logo_cache.cache_folder())
    if kept is not None:
        return None, kept, None
    drawing = _svg_drawing(path)
    return drawing, None, key if _plain_shapes(drawing) else None


# Shapes whose operators depend on nothing but the shape: no text (fonts), pictures (XObjects) or
# transparency (graphics states, written only when they change) — those logos are always drawn by svglib.
_PLAIN_SHAPE_NAMES = frozenset({"Drawing", "Group", "Path", "Rect", "Circle", "Ellipse", "Line", "PolyLine", "Polygon", "Wedge"})
_STATEFUL_ATTRIBUTES = ("fillOpacity", "strokeOpacity", "fillOverprint", "strokeOverprint", "overprintMask")
_RESOURCE_OPERATORS = frozenset({"gs", "Tf", "Do", "BI", "ID", "EI", "sh", "cs", "CS", "scn", "SCN", "BDC", "BMC", "EMC", "Tj", "TJ", "'", '"'})


def _plain_shapes(node: object) -> bool:
    if type(node).__name__ not in _PLAIN_SHAPE_NAMES or type(node).__module__ != "reportlab.graphics.shapes":
        return False
    if any(getattr(node, name, None) not in (None, False, 0, 1) for name in _STATEFUL_ATTRIBUTES):
        return False
    return all(_plain_shapes(child) for child in getattr(node, "contents", ()))


def _keep_operators(key: str, drawing: Drawing, operators: list[str]) -> None:
    """Keep what drawing this logo wrote, unless it names a resource (then its operators are not the whole of it)."""
    from handout.render import logo_cache

    if key in _KEPT or any(token in _RESOURCE_OPERATORS for operator in operators for token in operator.split()):
        return
    _KEPT.add(key)  # once a process: a batch's plans all draw the same logo
    logo_cache.store(key, logo_cache.cache_folder(), CachedLogo(drawing.width, drawing.height, tuple(operators)))


_KEPT: set[str] = set()


def _embedded_fonts(node: object) -> None:
    """Set every String in a drawing in the main font (bold where its font was bold)."""
    from reportlab.graphics.shapes import Group, String

    if isinstance(node, String):
        node.fontName = MAIN_BOLD if "bold" in str(node.fontName).lower() else MAIN
    elif isinstance(node, Group):
        for child in node.contents:
            _embedded_fonts(child)


class LogoFlowable(Flowable):
    """The clinic logo scaled into a box, keeping its proportions (figure; alt text = clinic name)."""

    role = Role.FIGURE

    def __init__(self, path: Path, max_width: float, max_height: float, alt: str, tag: Node | None = None) -> None:
        super().__init__()
        self.path = path
        self.alt = alt
        self.tag = tag
        self.operators: tuple[str, ...] | None = None  # the SVG logo as an earlier run drew it
        self.keep_as: str | None = None  # the cache key to keep this drawing's operators under, once drawn
        if path.suffix.lower() == ".svg":
            self.drawing, kept, self.keep_as = _svg_logo(path)
            if kept is not None:
                self.operators = kept.operators
                natural_w, natural_h = kept.width, kept.height
            else:
                natural_w, natural_h = self.drawing.width, self.drawing.height
        else:
            self.drawing = None
            self.image = Image(str(path))
            natural_w, natural_h = self.image.imageWidth, self.image.imageHeight
        scale = min(max_width / natural_w, max_height / natural_h)
        self.width, self.height = natural_w * scale, natural_h * scale
        self.scale = scale

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        with tagged(self.canv, self.tag):
            set_bbox(self.canv, self.tag, self.width, self.height)
            if self.operators is not None:
                self.canv.saveState()
                self.canv.scale(self.scale, self.scale)
                for operator in self.operators:  # exactly what drawOn wrote the first time, without svglib
                    self.canv.addLiteral(operator)
                self.canv.restoreState()
            elif self.drawing is not None:
                self.canv.saveState()
                self.canv.scale(self.scale, self.scale)
                start = len(self.canv._code)
                self.drawing.drawOn(self.canv, 0, 0)
                if self.keep_as is not None:
                    _keep_operators(self.keep_as, self.drawing, self.canv._code[start:])
                    self.keep_as = None
                self.canv.restoreState()
            else:
                self.canv.drawImage(self.image.filename, 0, 0, self.width, self.height, mask="auto")


GridCell = str | FontRuns | None


class GridTable(Flowable):
    """A ruled table of one-line cells drawn directly: the diary's hundreds of cells at a fraction of platypus.Table's cost.

    Cells are plain strings in the main font, font runs (a name in Greek: fonts.plain_runs),
    "" for a blank to write in, or None for a tick box. The header rows repeat when the
    grid splits across pages.
    """

    role = Role.TABLE

    def __init__(
        self,
        rows: list[list[GridCell]],
        header_rows: int,
        col_widths: list[float],
        row_height: float,
        header_height: float,
        font: tuple[str, str, float, float],
        bold_cells: frozenset[tuple[int, int]],
        header_fill: Color,
        rule: Color,
        ink: Color,
        tick_size: float,
        cell_tags: list[list[Node | None]],
    ) -> None:
        super().__init__()
        self.rows = rows
        # Each cell's TH/TD; None marks a header row repeated overleaf (an artifact).
        self.cell_tags = cell_tags
        self.header_rows = header_rows
        self.col_widths = col_widths
        self.row_height = row_height
        self.header_height = header_height
        self.font = font
        self.bold_cells = bold_cells
        self.header_fill = header_fill
        self.rule = rule
        self.ink = ink
        self.tick_size = tick_size
        self.width = sum(col_widths)
        self.height = header_rows * header_height + (len(rows) - header_rows) * row_height

    @property
    def body_rows(self) -> int:
        return len(self.rows) - self.header_rows

    def min_split_height(self) -> float:
        """The least room the grid's first part needs when it splits: the header and the first rows."""
        return self.header_rows * self.header_height + MIN_ROWS_AFTER_SPLIT * self.row_height

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        fits = int((available_height - self.header_rows * self.header_height) // self.row_height)
        body = len(self.rows) - self.header_rows
        if fits >= body:
            return []
        fits = min(fits, body - MIN_ROWS_AFTER_SPLIT)  # no lone row carried over to the next page
        if fits < MIN_ROWS_AFTER_SPLIT:
            return []
        head = self.rows[: self.header_rows]
        cut = self.header_rows + fits
        first = self.rows[:cut]
        rest = head + self.rows[cut:]
        repeated: list[list[Node | None]] = [[None] * len(row) for row in head]
        return [self._like(first, self.header_rows, self.cell_tags[:cut]), self._like(rest, cut, repeated + self.cell_tags[cut:])]

    def _like(self, rows: list[list[GridCell]], first_body_row: int, cell_tags: list[list[Node | None]]) -> GridTable:
        # Bold cells are numbered by row in the whole table; renumber them for this part.
        shift = first_body_row - self.header_rows
        bold = frozenset((r - shift if r >= self.header_rows else r, c) for r, c in self.bold_cells if r < self.header_rows or r - shift >= self.header_rows)
        return GridTable(
            rows, self.header_rows, self.col_widths, self.row_height, self.header_height, self.font, bold, self.header_fill, self.rule, self.ink, self.tick_size, cell_tags
        )

    def draw(self) -> None:
        c = self.canv
        regular, bold, body_size, header_size = self.font
        edges = [0.0]
        for width in self.col_widths:
            edges.append(edges[-1] + width)
        heights = [self.header_height] * self.header_rows + [self.row_height] * (len(self.rows) - self.header_rows)
        c.saveState()
        top = self.height
        with artifact(c):
            c.setFillColor(self.header_fill)
            c.rect(0, top - self.header_rows * self.header_height, self.width, self.header_rows * self.header_height, stroke=0, fill=1)
        c.setFillColor(self.ink)
        marking = isinstance(c, TaggedCanvas)
        # One text object for every cell: far cheaper than a drawString per cell.
        text = c.beginText()
        boxes: list[tuple[float, float]] = []
        y = top
        for index, (row, height) in enumerate(zip(self.rows, heights)):
            header = index < self.header_rows
            size = header_size if header else body_size
            baseline = y - height / 2 - size * 0.35
            for column, cell in enumerate(row):
                if cell is None:
                    boxes.append((edges[column] + (self.col_widths[column] - self.tick_size) / 2, y - (height + self.tick_size) / 2))
                elif cell:
                    weighty = header or (index, column) in self.bold_cells
                    font = bold if weighty else regular
                    text.setFont(font, size)
                    text.setTextOrigin(edges[column] + 6, baseline)
                    if marking:  # each cell its own TH/TD, inside the one text object
                        tag = self.cell_tags[index][column]
                        if tag is None:
                            c.begin_artifact(ARTIFACT_PAGINATION_HEADER, text._code)
                        else:
                            c.begin_tag(tag, text._code)
                    if isinstance(cell, str):
                        text.textOut(cell + " ")  # the space keeps cells apart when a reader copies a row
                    else:
                        for face, run in cell:
                            text.setFont(font if face is None else face.bold if weighty else face.regular, size)
                            text.textOut(run)
                        text.setFont(font, size)
                        text.textOut(" ")
                    if marking:
                        c.end_marked(text._code)
            y -= height
        c.drawText(text)
        if marking:
            c.begin_artifact()  # tick boxes and rules
        if boxes:
            c.setStrokeColor(self.ink)
            c.setLineWidth(1.2)
            path = c.beginPath()
            for left, bottom in boxes:
                path.rect(left, bottom, self.tick_size, self.tick_size)
            c.drawPath(path, stroke=1, fill=0)
        c.setStrokeColor(self.rule)
        c.setLineWidth(0.6)
        path = c.beginPath()
        y = top
        for height in [0.0, *heights]:
            y -= height
            path.moveTo(0, y)
            path.lineTo(self.width, y)
        for x in edges:
            path.moveTo(x, 0)
            path.lineTo(x, top)
        c.drawPath(path, stroke=1, fill=0)
        c.setStrokeColor(self.ink)
        c.setLineWidth(1.2)
        line = top - self.header_rows * self.header_height
        c.line(0, line, self.width, line)
        if marking:
            c.end_marked()
        c.restoreState()

