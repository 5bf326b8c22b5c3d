"""Lays blocks out on pages with the clinic's page furniture and writes the PDF bytes."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate
from reportlab.platypus.doctemplate import LayoutError

from handout import __version__
from handout import document as doc
from handout.brand import Brand
from handout.errors import HandoutError
from handout.render.flowables import Builder
from handout.render.fonts import MAIN, MAIN_BOLD, first_unprintable, paragraph, register_fonts, text_markup
from handout.render.styles import MUTED, STANDARD, Profile, make_styles

PAPER_SIZES = {"a4": A4, "letter": LETTER}
MARGIN = 15 * mm  # above the 12 mm minimum, clear of most printers' unprintable edge
FOOTER_HEIGHT = 13 * mm  # from the bottom margin to the body: rule, clinic line, disclaimer
FOOTER_RULE_GAP = 5 * mm
PAGE_LABEL_SIZE = 10.5  # between the last line of the body and the footer rule


def _numbered_canvas(draw_furniture: Callable[[Canvas, int, int], None]) -> type[Canvas]:
    """A canvas class that knows the page count when it draws each page's furniture."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - ReportLab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                draw_furniture(self, number, total)
                super().showPage()
            super().save()

    return NumberedCanvas


class PdfRenderer:
    """Renders documents for one brand and paper size; build once, render many."""

    def __init__(self, brand: Brand, paper: str = "a4", profile: Profile = STANDARD) -> None:
        register_fonts()
        for key in ("name", "address", "phone", "email", "website", "disclaimer"):
            char = first_unprintable(getattr(brand, key))
            if char is not None:
                raise HandoutError(
                    f"{brand.directory / 'brand.toml'}: key '{key}' has the character {char!r} (U+{ord(char):04X}), "
                    "which the fonts handout ships cannot print"
                )
        self.brand = brand
        self.paper = paper
        self.page_width, self.page_height = PAPER_SIZES[paper]
        self.styles = make_styles(brand, profile)
        self.frame_width = self.page_width - 2 * MARGIN
        self.builder = Builder(brand, self.styles, self.frame_width)
        footer_lines = " · ".join(x for x in (brand.name, brand.phone, brand.website or brand.email) if x)
        # Wrapped once here, drawn on every page of every document: the footer never changes.
        label_room = pdfmetrics.stringWidth("Page 888 of 888", MAIN_BOLD, PAGE_LABEL_SIZE) + 8 * mm
        self._footer = [paragraph(text_markup(text), self.styles.footer) for text in (footer_lines, brand.disclaimer)]
        self._footer_heights = [para.wrap(self.frame_width - label_room, FOOTER_HEIGHT)[1] for para in self._footer]
        self._canvas_class = _numbered_canvas(self._draw_furniture)

    def render(self, document: doc.Document) -> bytes:
        """The finished PDF; identical documents give identical bytes."""
        buffer = io.BytesIO()
        template = BaseDocTemplate(
            buffer,
            pagesize=(self.page_width, self.page_height),
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN + FOOTER_HEIGHT,
            title=document.title,
            author=self.brand.name,
            subject=document.subject,
            keywords=list(document.keywords),
            creator=f"handout {__version__}",
            lang=document.lang,
            displayDocTitle=1,
            invariant=1,
            initialFontName=MAIN,
            pageCompression=1,
        )
        frame = Frame(MARGIN, MARGIN + FOOTER_HEIGHT, self.frame_width, self.page_height - 2 * MARGIN - FOOTER_HEIGHT, id="body", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        template.addPageTemplates([PageTemplate(id="page", frames=[frame])])
        try:
            template.build(self.builder.flowables(document.blocks), canvasmaker=self._canvas_class)
        except (LayoutError, ValueError, IndexError):
            # Only a template can cause this: the built-in ones always fit. ReportLab's own
            # message quotes the text it could not place, which may be a patient's: not shown.
            raise HandoutError(
                "the document could not be laid out: a part is taller than a page or too narrow for its text; check the templates"
            ) from None
        return buffer.getvalue()

    def _draw_furniture(self, canvas: Canvas, number: int, total: int) -> None:
        # Page furniture is the same on every page and in the same place, so
        # a reader always finds the clinic's number and the page count.
        width, s = self.frame_width, self.styles
        canvas.saveState()
        canvas.setStrokeColor(s.accent)
        canvas.setLineWidth(1.5)
        top = MARGIN + FOOTER_HEIGHT - FOOTER_RULE_GAP
        canvas.line(MARGIN, top, MARGIN + width, top)
        canvas.setFont(MAIN_BOLD, PAGE_LABEL_SIZE)
        canvas.setFillColor(MUTED)
        canvas.drawRightString(MARGIN + width, top - 5 * mm, f"Page {number} of {total}")
        y = top - 2 * mm
        for para, height in zip(self._footer, self._footer_heights):
            y -= height
            para.drawOn(canvas, MARGIN, y)
            y -= 1
        canvas.restoreState()


