"""Lays blocks out on pages with the clinic's page furniture and writes the PDF bytes."""

from __future__ import annotations

import datetime as dt
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageBreak, PageTemplate
from reportlab.platypus.doctemplate import LayoutError

from handout import __version__
from handout import document as doc
from handout.brand import Brand
from handout.errors import HandoutError
from handout.i18n import gettext
from handout.no_break import nowrap
from handout.render.flowables import Builder, BulletItem, Kept, separated_lines
from handout.render.fonts import MAIN, MAIN_BOLD, first_unprintable, paragraph, register_fonts, text_markup
from handout.render.reused import placed_again, reused_artifact
from handout.render.scrap import TIGHTER, PageLog, number_leaves, tighten
from handout.render.structure import Node
from handout.render.styles import MUTED, STANDARD, Profile, make_styles
from handout.render.tagging import ARTIFACT_PAGINATION, TaggedCanvas, artifact, tagged

PAPER_SIZES = {"a4": A4, "letter": LETTER}
MARGIN = 15 * mm  # above the 12 mm minimum, clear of most printers' unprintable edge
MIN_FOOTER_HEIGHT = 13 * mm  # from the bottom margin to the body: footer text, rule, gap
FOOTER_TEXT_GAP = 1.5 * mm  # between the footer rule and the footer text under it
FOOTER_RULE_GAP = 4 * mm  # between the last line of the body and the footer rule
FOOTER_LINE_GAP = 1  # points between the clinic line and the disclaimer
REUSED_FOOTER = 5  # pages from which the footer's words are one form placed on each: fewer are smaller drawn on each
PAGE_LABEL = "Page {number} of {total}"  # a message: translated through the catalog like the templates' words


@dataclass(frozen=True)
class _Built:
    """One layout of a document: its bytes, its diary pages' layouts, its page count, and where a scrap could be taken in."""

    pdf: bytes
    diary_pages: Sequence[Any]  # diary.PlacedPages
    pages: int
    scrap_after: int | None  # the first flowable on the page before a last page that holds a scrap


@dataclass(frozen=True)
class _Footer:
    """The page furniture at the foot of every page, laid out for one language's page label."""

    page_label: str  # "Page {number} of {total}" in the document's language
    texts: tuple[str, ...]  # the clinic line and the disclaimer
    paragraphs: tuple[Any, ...]  # the same, wrapped
    heights: tuple[float, ...]
    rule: float  # height of the rule above the footer text
    body_bottom: float  # where the body's frame ends


def _numbered_canvas(draw_furniture: Callable[[Canvas, _Footer, int, int, tuple[Node, ...] | None], None]) -> type[TaggedCanvas]:
    """A tagging canvas class that knows the page count when it draws each page's furniture, and dates its document.

    The footer's words are furniture on every page; the disclaimer is the document's closing paragraph.
    """

    class NumberedCanvas(TaggedCanvas):
        def __init__(self, *args: Any, footer: _Footer, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._footer = footer
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - ReportLab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                # The footer repeats the masthead's name, phone and website: furniture on every page, the last
                # too, so the document ends with its disclaimer (a body paragraph) for a screen reader.
                draw_furniture(self, self._footer, number, total, None)
                super().showPage()
            super().save()

    return NumberedCanvas


def document_settings(document: doc.Document, brand: Brand) -> dict[str, Any]:
    """What every handout PDF's doc template is given, whatever its layout: metadata, reproducibility, compression."""
    return {
        "title": document.title,
        "author": brand.name,
        "subject": document.subject,
        "keywords": list(document.keywords),
        "creator": f"handout {__version__}",
        "lang": document.lang,
        "displayDocTitle": 1,
        "invariant": 1,
        "initialFontName": MAIN,  # the page preamble's font: Helvetica would be an unembedded font
        "pageCompression": 1,
    }


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
        # The phone number never breaks (a split number cannot be dialled); a line breaks only between parts.
        self._footer_parts = tuple(x for x in (brand.name, nowrap(brand.phone), brand.website or brand.email) if x)
        self._footers: dict[str, _Footer] = {}
        self.body_bottom = self._footer_for(PAGE_LABEL).body_bottom
        self._canvas_class: Callable[..., Canvas] = _numbered_canvas(self._draw_furniture)

    def _footer_for(self, page_label: str) -> _Footer:
        # Wrapped once per language, drawn on every page of every document: the footer never changes.
        # The body ends above however many lines the brand's footer wraps to, so the footer
        # always sits inside the bottom margin's edge, never over the body or off the page.
        if page_label not in self._footers:
            widest = page_label.format(number=888, total=888)
            label_room = pdfmetrics.stringWidth(widest, MAIN_BOLD, self.styles.profile.page_label) + 8 * mm
            lines = separated_lines(self._footer_parts, " · ", self.styles.footer.fontSize, self.frame_width - label_room)
            texts = (" · ".join(self._footer_parts),)
            paragraphs = (paragraph("<br/>".join(text_markup(line) for line in lines), self.styles.footer),)
            heights = tuple(para.wrap(self.frame_width - label_room, self.page_height)[1] for para in paragraphs)
            rule = MARGIN + sum(heights) + FOOTER_LINE_GAP * (len(paragraphs) - 1) + FOOTER_TEXT_GAP
            self._footers[page_label] = _Footer(page_label, texts, paragraphs, heights, rule, max(MARGIN + MIN_FOOTER_HEIGHT, rule + FOOTER_RULE_GAP))
        return self._footers[page_label]

    def render(self, document: doc.Document, created: dt.datetime) -> bytes:
        """The finished PDF, dated `created` (its CreationDate and ModDate); identical documents and dates give identical bytes."""
        return self.render_with_diary(document, created)[0]

    def render_with_diary(self, document: doc.Document, created: dt.datetime) -> tuple[bytes, Sequence[Any]]:
        """The finished PDF and the layout of each machine-readable diary page in it (diary/layout.py's PageLayout)."""
        footer = self._footer_for(gettext(PAGE_LABEL))  # in the language in use (i18n.use_language)
        built = self._build(document, created, footer)
        if built.scrap_after is not None:
            # The reading ends on a page holding a scrap (the last tip and the disclaimer): build again with the page
            # before set tighter, from its first flowable on, and keep that build when the scrap has gone onto it.
            for factor in TIGHTER:
                tighter = self._build(document, created, footer, (built.scrap_after, factor))
                if tighter.pages < built.pages:
                    return tighter.pdf, tighter.diary_pages
        return built.pdf, built.diary_pages

    def _build(self, document: doc.Document, created: dt.datetime, footer: _Footer, tighten_from: tuple[int, float] | None = None) -> _Built:
        """One layout of the document; `tighten_from`: (the first flowable, the factor) its paragraph spacing is tightened from."""
        buffer = io.BytesIO()
        from handout.render.diary import PlacedPages  # here: a leaflet never draws a diary

        diary_pages = PlacedPages()
        self.builder.diary_pages = (self.paper, (footer.body_bottom, self.page_height - MARGIN - footer.body_bottom), diary_pages.append)
        template = BaseDocTemplate(
            buffer,
            pagesize=(self.page_width, self.page_height),
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=footer.body_bottom,
            **document_settings(document, self.brand),
        )
        frame = Frame(MARGIN, footer.body_bottom, self.frame_width, self.page_height - MARGIN - footer.body_bottom, id="body", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        template.addPageTemplates([PageTemplate(id="page", frames=[frame])])
        log = PageLog()
        template.afterFlowable = partial(log.record, template)  # type: ignore[method-assign]
        root = Node("Document")
        canvas_class = partial(self._canvas_class, created=created, footer=footer, root=root, title=document.title)
        try:
            flowables = self.builder.flowables(document.blocks, root)
            forms = _trailing_forms(flowables)
            closing = self.builder.disclaimer(root)
            if forms:
                # A plan ending with its diary: the disclaimer closes the reading part, before the diary's pages
                # (after them it stood alone on a page of its own), and a screen reader hears it there too.
                _move_before(root.kids[-1], forms[0].section)
                flowables = [*self._with_closing(flowables[: -len(forms)], closing, frame.height), *forms]
            else:
                flowables = self._with_closing(flowables, closing, frame.height)
            number_leaves(flowables)
            if tighten_from is not None:
                tighten(flowables, *tighten_from)
            template.build(flowables, canvasmaker=canvas_class)
        except (LayoutError, ValueError, IndexError):
            # Only a template can cause this: the built-in ones always fit. ReportLab's own
            # message quotes the text it could not place, which may be a patient's: not shown.
            raise HandoutError(
                "the document could not be laid out: a part is taller than a page or too narrow for its text; check the templates"
            ) from None
        scrap_after = log.scrap_after(closing[-1].layout_order, frame._y2, frame._height) if closing and tighten_from is None else None
        return _Built(buffer.getvalue(), diary_pages, template.page, scrap_after)

    def _with_closing(self, flowables: list[Flowable], closing: list[Flowable], page_height: float) -> list[Flowable]:
        """The document's flowables and its closing paragraph (the disclaimer), kept with the last item or paragraph
        before it so it does not stand alone on a page when a small block can come along. A larger last block (a
        box, a diary week) is not pulled over: that would leave a hole on the page before."""
        last = flowables[-1] if flowables else None
        if isinstance(last, Kept) and all(isinstance(m, BulletItem) for m in last.members):
            # The list's last two items were kept together: the last one alone now comes with the closing.
            return [*flowables[:-1], *last.members[:-1], Kept([last.members[-1], *closing])]
        if last is not None and not isinstance(last, Kept | PageBreak) and last.wrap(self.frame_width, page_height)[1] < page_height / 4:
            return [*flowables[:-1], Kept([last, *closing])]
        return [*flowables, *closing]

    def _draw_furniture(self, canvas: Canvas, footer: _Footer, number: int, total: int, said: tuple[Node, ...] | None) -> None:
        # Page furniture is the same on every page and in the same place, so
        # a reader always finds the clinic's number and the page count.
        # `said`: the footer paragraphs' elements on the page where they are read (else artifacts).
        width, s = self.frame_width, self.styles
        canvas.saveState()
        with artifact(canvas, ARTIFACT_PAGINATION):
            canvas.setStrokeColor(s.accent)
            canvas.setLineWidth(1.5)
            top = footer.rule
            canvas.line(MARGIN, top, MARGIN + width, top)
            canvas.setFont(MAIN_BOLD, s.profile.page_label)
            canvas.setFillColor(MUTED)
            y = top - FOOTER_TEXT_GAP
            canvas.drawRightString(MARGIN + width, y - self.styles.footer.fontSize, footer.page_label.format(number=number, total=total))  # on the clinic line's baseline
        for index, (para, height) in enumerate(zip(footer.paragraphs, footer.heights)):
            y -= height
            # The same words in the same place on every page: written once and placed on each (reused_artifact).
            page = (0, 0, self.page_width, self.page_height)
            # A page after the first that wrote it places that form without laying the paragraph out again.
            known = ("Footer", id(para), y)  # the paragraph is the footer's, kept as long as the renderer
            reuse = said is None and total >= REUSED_FOOTER
            if not (reuse and placed_again(canvas, known, opener=ARTIFACT_PAGINATION)):
                with reused_artifact(canvas, "Footer", page, opener=ARTIFACT_PAGINATION, reuse=reuse, known=known) if said is None else tagged(canvas, said[index]):
                    para.drawOn(canvas, MARGIN, y)
            y -= FOOTER_LINE_GAP
        canvas.restoreState()


def _trailing_forms(flowables: list[Flowable]) -> list[Any]:
    """The diary pages a document ends with (whole pages to fill in by hand, not read through), else none."""
    diary = sys.modules.get("handout.render.diary")
    if diary is None:
        return []  # no diary page was made in this process, so none is here: a leaflet need not import the diary's modules
    DiaryPage = diary.DiaryPage  # noqa: N806 - the class, as its own name

    count = 0
    while count < len(flowables) and isinstance(flowables[-1 - count], DiaryPage):
        count += 1
    return flowables[len(flowables) - count :] if count else []


def _move_before(node: Node | Any, anchor: Node) -> None:
    """Move a structure element so it is read just before `anchor` (an element under the same or an enclosing parent)."""
    if not isinstance(node, Node) or node.parent is None:
        return
    while anchor.parent is not None and anchor.parent is not node.parent:
        anchor = anchor.parent
    if anchor.parent is None:
        return
    siblings = node.parent.kids
    siblings.remove(node)
    siblings.insert(siblings.index(anchor), node)
