"""Drawn figures: the vector QR code, the clinic logo, the warning sign and tick boxes."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image

from handout.document import Role
from handout.errors import HandoutError
from handout.qr import qr_matrix
from handout.render.fonts import MAIN

QR_WIDTH = 30 * mm  # readable at 20–30 cm, ten times its width (guidance.md)


class QRFlowable(Flowable):
    """A QR code drawn as vector squares, clickable, quiet zone included."""

    role = Role.FIGURE

    def __init__(self, url: str, alt: str, width: float = QR_WIDTH) -> None:
        super().__init__()
        self.url = url
        self.alt = alt
        self.matrix = qr_matrix(url)
        self.width = self.height = width

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        count = len(self.matrix)
        module = self.width / count
        canvas.saveState()
        canvas.setFillColor(white)
        canvas.rect(0, 0, self.width, self.height, stroke=0, fill=1)
        canvas.setFillColor(HexColor("#000000"))
        path = canvas.beginPath()
        # One rectangle per horizontal run of dark modules keeps the PDF small.
        for row_index, row in enumerate(self.matrix):
            y = self.height - (row_index + 1) * module
            col = 0
            while col < count:
                if row[col]:
                    start = col
                    while col < count and row[col]:
                        col += 1
                    path.rect(start * module, y, (col - start) * module, module)
                else:
                    col += 1
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()
        canvas.linkURL(self.url, (0, 0, self.width, self.height), relative=1, thickness=0)


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


@lru_cache(maxsize=8)
def _svg_drawing(path: Path) -> Drawing:
    from svglib.svglib import svg2rlg  # only brands with an SVG logo pay for importing svglib

    try:
        drawing = svg2rlg(str(path))
    except Exception:  # svglib raises many types for bad input; the clinic only needs to know which file
        drawing = None
    if drawing is None or not drawing.width or not drawing.height:
        raise HandoutError(f"{path}: the SVG logo could not be read; export it again or use a PNG")
    # Drawings start in Helvetica, which would put a non-embedded font in the PDF.
    drawing.initialFontName = MAIN
    return drawing


class LogoFlowable(Flowable):
    """The clinic logo scaled into a box, keeping its proportions (figure; alt text = clinic name)."""

    role = Role.FIGURE

    def __init__(self, path: Path, max_width: float, max_height: float, alt: str) -> None:
        super().__init__()
        self.path = path
        self.alt = alt
        if path.suffix.lower() == ".svg":
            self.drawing: Drawing | None = _svg_drawing(path)
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
        if self.drawing is not None:
            self.canv.saveState()
            self.canv.scale(self.scale, self.scale)
            self.drawing.drawOn(self.canv, 0, 0)
            self.canv.restoreState()
        else:
            self.canv.drawImage(self.image.filename, 0, 0, self.width, self.height, mask="auto")
