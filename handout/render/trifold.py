"""Lays the leaflet out as a tri-fold: one landscape sheet, printed on both sides, three panels a side, folded as a letter (roll) fold."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from reportlab.lib.colors import HexColor, white
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate
from reportlab.platypus.doctemplate import ActionFlowable, LayoutError

from handout import document as doc
from handout.brand import Brand
from handout.errors import HandoutError
from handout.i18n import current_language
from handout.no_break import nowrap
from handout.render.flowables import Builder, address_lines, breakable_urls, heading_tag, logo_figure, no_lone_last_word, website_href
from handout.render.fonts import inline_markup, paragraph, register_fonts, string_width, text_markup
from handout.render.graphics import QR_WIDTH, LogoFlowable, QRFlowable
from handout.render.pdf import PAPER_SIZES, document_settings
from handout.render.structure import Node
from handout.render.styles import INK, NOTE_TINT, Profile, Styles, make_styles
from handout.render.tagging import TaggedCanvas, artifact

# The sheet. A4 landscape folds into panels of 97 + 100 + 100 mm, the usual
# split for a letter fold; Letter landscape the same way (91.1 + 94.1 + 94.1 mm).
EDGE = 12 * mm  # from each sheet edge to the panels' content: clear of printers' unprintable edge (4–6 mm)
FOLD_GUTTER = 8 * mm  # at least this much blank paper either side of a fold: a fold a few mm off never cuts text
FLAP_SHORTER = 3 * mm  # the flap folds inside the other two panels: narrower, it tucks in without buckling at the fold
GUIDE_FROM, GUIDE_TO = 3 * mm, 8 * mm  # fold guides: ticks this far from the top and bottom edges, short of every column
GUIDE_GREY = HexColor("#ABABAB")  # light enough not to distract, dark enough to fold along
FOLD_MARKS = "/Artifact <</Type /Page>> BDC"  # production marks, like crop marks: a screen reader skips them

# Body sizes, largest first. Each part (cover, back panel, article) is set at
# the largest at which it fits its panels: 14 pt as on the standard leaflet
# (RNIB Clear Print), down to 11 pt, the floor for a tri-fold's narrow columns
# (issue 8). Nothing a reader sees is smaller.
BODY_SIZES = (14.0, 13.5, 13.0, 12.5, 12.0, 11.5, 11.0)
MIN_SIZE = BODY_SIZES[-1]
TOO_LONG = {
    "article": f"the article does not fit the tri-fold's four panels at {MIN_SIZE:g} pt: use the standard layout or shorten the template",
    "cover": f"the title does not fit the tri-fold's front cover at {MIN_SIZE:g} pt: use the standard layout or shorten the title in the template",
    "back": f"the QR code's caption and the clinic's details do not fit the tri-fold's back panel at {MIN_SIZE:g} pt: "
    "use the standard layout or shorten them (the template, brand.toml)",
}
BALANCE_STEP = 3 * mm  # the inside panels are balanced to within this of the shortest column the article fits
NO_LARGE_PRINT = "large print (18 pt) does not fit a tri-fold's panels: use the standard layout for large print"


def trifold_profile(body: float) -> Profile:
    """Type sizes for a tri-fold's narrow panels with a `body` pt body: headings a step up, nothing below 11 pt."""
    return Profile(
        body=body,
        leading=round(body * 1.35, 2),
        title=body + 10,
        h1=body + 3.5,
        h2=body + 0.5,
        small=MIN_SIZE,
        disclaimer=max(12, MIN_SIZE),
        masthead_name=body + 1,
        masthead_contact=max(12, MIN_SIZE),
        cell=max(MIN_SIZE, body * 0.95),
        cell_leading=round(body * 1.25, 2),
        cell_header=max(MIN_SIZE, body * 0.95),
        footer=MIN_SIZE,
        footer_leading=MIN_SIZE * 1.3,
        page_label=MIN_SIZE,
        logo_mm=(60, 28),
        tick=body * 1.1,
    )


@dataclass(frozen=True)
class Panel:
    """One panel of one side of the sheet, and the column its content is set in (x in points from the sheet's left edge)."""

    name: str
    left: float
    width: float
    column_left: float
    column_width: float


@dataclass(frozen=True)
class Sheet:
    """Where the panels and folds are on both sides of one paper size, landscape."""

    width: float
    height: float
    outside: tuple[Panel, Panel, Panel]  # side 1 (page 1), left to right: flap, back, cover
    inside: tuple[Panel, Panel, Panel]  # side 2 (page 2), left to right

    @property
    def column_bottom(self) -> float:
        return EDGE

    @property
    def column_top(self) -> float:
        return self.height - EDGE

    @property
    def column_height(self) -> float:
        return self.column_top - self.column_bottom

    @property
    def column_width(self) -> float:
        return self.outside[0].column_width

    @property
    def article_panels(self) -> tuple[Panel, Panel, Panel, Panel]:
        """The panels the article flows through, in reading order (see `sheet_for`)."""
        return (self.outside[0], *self.inside)

    def folds(self, side: int) -> tuple[float, float]:
        """The x of the two folds on side 1 (outside) or side 2 (inside)."""
        panels = self.outside if side == 1 else self.inside
        return (panels[1].left, panels[2].left)


def sheet_for(paper: str) -> Sheet:
    """The tri-fold sheet for a paper size, turned landscape.

    Roll (letter) fold. Side 1, the outside, left to right: the flap | the back
    panel | the front cover. Side 2, the inside, is side 1 turned over left to
    right (duplex "flip on short edge"), so each inside panel backs an outside
    one: inside left backs the cover, inside middle the back panel, inside
    right the flap. To fold, lay the inside face up, fold the inside right
    panel in along its fold (the flap's outside now faces up), then fold the
    inside left panel over it: the cover is on top, the back panel beneath.

    Reading order. Opening the cover shows the flap beside the inside left
    panel; the flap is on top, on the side the leaflet opens from, so a reader
    meets it first, and designers' convention is to start there. Opening the
    flap then shows the three inside panels, read left to right. So the
    article runs flap → inside left → inside middle → inside right, and the
    fully opened inside reads on without a gap. The back panel, seen last or
    when the leaflet lies face down, carries the QR code and the clinic's details.
    """
    width, height = max(PAPER_SIZES[paper]), min(PAPER_SIZES[paper])
    panel = (width + FLAP_SHORTER) / 3
    flap = panel - FLAP_SHORTER
    # One column width for every panel, the flap's (the narrowest): the
    # article's boxes and tables are built once at that width and may land in
    # any of its panels. A wider panel centres the column, keeping EDGE clear
    # at the sheet's edges.
    column = flap - EDGE - FOLD_GUTTER

    def placed(name: str, left: float, panel_width: float) -> Panel:
        x = min(max(left + (panel_width - column) / 2, EDGE), width - EDGE - column)
        return Panel(name, left, panel_width, x, column)

    outside = (placed("flap", 0, flap), placed("back", flap, panel), placed("cover", flap + panel, panel))
    inside = (placed("inside left", 0, panel), placed("inside middle", panel, panel), placed("inside right", 2 * panel, flap))
    return Sheet(width, height, outside, inside)


@dataclass(frozen=True)
class Routed:
    """A document's blocks sorted onto the tri-fold's panels."""

    masthead: bool  # the cover shows the clinic's logo, name and web address
    title: doc.Title
    flap: tuple[doc.Block, ...]  # the warning signs: a panel complete in itself, read beside the inside left panel
    article: tuple[doc.Block, ...]
    back: tuple[doc.QRCode, ...]


def route(document: doc.Document) -> Routed:
    """The masthead and title go on the cover, the warning box on the flap, QR codes on the back panel, everything else through the inside panels.

    The flap is seen beside the inside left panel when the cover is opened, and face down once the
    leaflet is fully open: it must be complete in itself, so it holds the boxed warning signs, and
    the article reads from its first heading across the three inside panels. A template without a
    warning box runs its article from the flap, as before.
    """
    title: doc.Title | None = None
    article: list[doc.Block] = []
    back: list[doc.QRCode] = []
    masthead = False
    for block in document.blocks:
        if isinstance(block, doc.Masthead):
            masthead = True
        elif isinstance(block, doc.Title) and title is None:
            title = block
        elif isinstance(block, doc.QRCode):
            back.append(block)
        elif not isinstance(block, doc.PageBreak):  # a page break belongs to the standard layout; panels flow on
            article.append(block)
    flap = tuple(block for block in article if isinstance(block, doc.Panel) and block.kind == "warning")[:1]
    rest = tuple(block for block in article if block not in flap)
    return Routed(masthead, title or doc.Title((doc.Span(document.title),)), flap, rest, tuple(back))


@dataclass(frozen=True)
class Trifold:
    """A rendered tri-fold, and how it fits: the body size of each part, and how full each article panel is (0–1, reading order)."""

    pdf: bytes
    body_size: float  # the article's
    back_size: float
    cover_size: float
    fill: tuple[float, ...]


class _DoesNotFit(Exception):
    """The article needs more room than its four panels have at this type size.

    A class per part, not an argument: ReportLab re-raises an exception from
    its page handlers as a new one of the same class, with its own message.
    """

    part = "article"  # a key of TOO_LONG


class _CoverDoesNotFit(_DoesNotFit):
    part = "cover"


class _BackDoesNotFit(_DoesNotFit):
    part = "back"


class _SheetTemplate(BaseDocTemplate):
    """Two pages, the sheet's two sides: a third would mean the article ran past its last panel."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fill: dict[str, float] = {}

    def handle_pageBegin(self) -> None:  # noqa: N802 - ReportLab's name
        if self.page >= 2:
            raise _DoesNotFit
        super().handle_pageBegin()

    def measure(self, canvas: Canvas, template: BaseDocTemplate) -> None:
        """Record how much of each article column the page used (ReportLab's onPageEnd)."""
        for frame in self.pageTemplate.frames:
            self.fill[frame.id] = (frame._y2 - frame._topPadding - frame._y) / frame._aH


class _ToInside(ActionFlowable):
    """Placed after the flap's content: the article starts at the top of the inside left panel, whatever room the flap has left."""

    def apply(self, template: BaseDocTemplate) -> None:
        if template.page == 1:
            template.handle_pageBreak()


class _BothSides(ActionFlowable):
    """Placed after the article: starts the inside (page 2) if the article ended on the flap, so the sheet always has both sides."""

    def apply(self, template: BaseDocTemplate) -> None:
        if template.page == 1:
            template.handle_pageBreak()
            template.clean_hanging()  # begin page 2 now: ReportLab drops a page nothing is placed on


@dataclass(frozen=True)
class _Placed:
    """A flowable wrapped to its column, ready to draw."""

    flowable: Flowable
    height: float
    space_before: float
    space_after: float
    centred: bool = False


def _wrapped(flowables: Sequence[Flowable], width: float, centred: bool = False) -> list[_Placed]:
    return [_Placed(f, f.wrap(width, 1e6)[1], f.getSpaceBefore(), f.getSpaceAfter(), centred) for f in flowables]


def _stack_height(placed: Sequence[_Placed]) -> float:
    """The height of flowables set one under another (the space before the first and after the last left out)."""
    return sum(p.height for p in placed) + sum(max(a.space_after, b.space_before) for a, b in zip(placed, placed[1:]))


def _draw_stack(canvas: Canvas, placed: Sequence[_Placed], x: float, top: float, width: float) -> None:
    """Draw flowables one under another from `top`."""
    y = top
    for index, item in enumerate(placed):
        if index:
            y -= max(placed[index - 1].space_after, item.space_before)
        y -= item.height
        item.flowable.drawOn(canvas, x + (width - item.flowable.width) / 2 if item.centred else x, y)


def _variant(base: ParagraphStyle, **changes: Any) -> ParagraphStyle:
    """One of the brand's styles, changed for the cover or the back panel."""
    return ParagraphStyle(f"{base.name}_trifold", parent=base, **changes)


def _fill(canvas: Canvas, colour: Any, x: float, y: float, width: float, height: float, radius: float = 0) -> None:
    """A filled rectangle drawn as an artifact: colour is decoration, the words carry the meaning."""
    with artifact(canvas):
        canvas.saveState()
        canvas.setFillColor(colour)
        if radius:
            canvas.roundRect(x, y, width, height, radius, stroke=0, fill=1)
        else:
            canvas.rect(x, y, width, height, stroke=0, fill=1)
        canvas.restoreState()


def _address_lines(address: str, size: float, width: float) -> list[str]:
    """The address a line for each line typed; a line too long for the column breaks after a comma, as addresses are written."""
    lines: list[str] = []
    for line in address.splitlines():
        current = ""
        for part in (part.strip() for part in line.split(",")):
            joined = f"{current}, {part}" if current else part
            if current and string_width(joined, size) > width:
                lines.append(current)
                current = part
            else:
                current = joined
        lines.append(current)
    return lines


Drawing = Callable[[Canvas], None]


class TrifoldRenderer:
    """Renders leaflets as tri-folds for one brand and paper size; build once, render many."""

    def __init__(self, brand: Brand, paper: str = "a4") -> None:
        register_fonts()
        self.brand = brand
        self.paper = paper
        self.sheet = sheet_for(paper)
        self.styles = tuple(make_styles(brand, trifold_profile(size)) for size in BODY_SIZES)

    def render(self, document: doc.Document, created: dt.datetime) -> bytes:
        """The finished two-page PDF (page 1 the outside, page 2 the inside), dated `created`; identical inputs give identical bytes."""
        return self.layout(document, created).pdf

    def layout(self, document: doc.Document, created: dt.datetime) -> Trifold:
        """The tri-fold with each part at the largest size at which it fits: never cut, never below 11 pt."""
        routed = route(document)
        # The cover and the back panel are measured on their own (a scratch
        # structure), so a long address does not shrink the article's type.
        cover = self._largest(lambda styles: self._cover(routed, styles, Node("Document")))
        back = self._largest(lambda styles: self._back(routed, styles, Node("Document")))
        for styles in self.styles:
            try:
                fitted = self._render(document, routed, (cover, back, styles), created)
            except _DoesNotFit:
                continue
            return self._balanced(document, routed, (cover, back, styles), created, fitted)
        raise HandoutError(TOO_LONG["article"])

    def _balanced(self, document: doc.Document, routed: Routed, styles: tuple[Styles, Styles, Styles], created: dt.datetime, fitted: Trifold) -> Trifold:
        """The same tri-fold with the inside panels as evenly full as the article allows.

        The article fills the inside panels one after another, so the last one is often near empty.
        The shortest column height (from the top) at which the article still fits the three panels
        spreads it evenly; the search stops within BALANCE_STEP.
        """
        low, high, best = self.sheet.column_height * 0.5, self.sheet.column_height, fitted
        while high - low > BALANCE_STEP:
            middle = (low + high) / 2
            try:
                best, high = self._render(document, routed, styles, created, middle), middle
            except _DoesNotFit:
                low = middle
        return best

    def _largest(self, attempt: Callable[[Styles], object]) -> Styles:
        """The largest styles with which `attempt` does not raise _DoesNotFit."""
        failed = "article"
        for styles in self.styles:
            try:
                attempt(styles)
            except _DoesNotFit as exc:
                failed = exc.part
                continue
            return styles
        raise HandoutError(TOO_LONG[failed])

    def _render(self, document: doc.Document, routed: Routed, styles: tuple[Styles, Styles, Styles], created: dt.datetime, inside_height: float | None = None) -> Trifold:
        sheet = self.sheet
        cover_styles, back_styles, article_styles = styles
        buffer = io.BytesIO()
        root = Node("Document")
        # Structure elements are added in reading order: the cover, the flap, the inside panels, the back panel.
        draw_cover = self._cover(routed, cover_styles, root)
        builder = Builder(self.brand, article_styles, sheet.column_width)
        flap = [*builder.flowables(routed.flap, root), _ToInside()] if routed.flap else []
        article = [*flap, *builder.flowables(routed.article, root)]
        draw_back = self._back(routed, back_styles, root)
        template = _SheetTemplate(
            buffer,
            pagesize=(sheet.width, sheet.height),
            leftMargin=0,
            rightMargin=0,
            topMargin=0,
            bottomMargin=0,
            # A print dialog that reads these prints the back the way the folds need, at full size (fit to page would move the folds).
            duplex="DuplexFlipShortEdge",
            printScaling="None",
            **document_settings(document, self.brand),
        )
        frames = [
            Frame(p.column_left, sheet.column_bottom, p.column_width, sheet.column_height, id=p.name, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
            for p in sheet.article_panels
        ]
        if inside_height is not None and routed.flap:  # the inside panels, shortened from the foot to balance them
            frames[1:] = [
                Frame(p.column_left, sheet.column_top - inside_height, p.column_width, inside_height, id=p.name, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
                for p in sheet.inside
            ]

        # The page's content is written in reading order too (copy-paste, and readers without tags):
        # the cover, then the flap (the frame's content), then the back panel at the page's end.
        def outside(canvas: Canvas, _: BaseDocTemplate) -> None:
            self._fold_guides(canvas, 1)
            draw_cover(canvas)

        def outside_end(canvas: Canvas, document: BaseDocTemplate) -> None:
            draw_back(canvas)
            template.measure(canvas, document)

        def inside(canvas: Canvas, _: BaseDocTemplate) -> None:
            self._fold_guides(canvas, 2)

        template.addPageTemplates(
            [
                PageTemplate(id="outside", frames=frames[:1], onPage=outside, onPageEnd=outside_end, autoNextPageTemplate="inside"),
                PageTemplate(id="inside", frames=frames[1:], onPage=inside, onPageEnd=template.measure),
            ]
        )
        try:
            template.build([*article, _BothSides()], canvasmaker=partial(TaggedCanvas, created=created, title=document.title, root=root))
        except LayoutError:
            raise _DoesNotFit from None  # a part that cannot split is taller than a panel
        except (ValueError, IndexError):
            # As in render/pdf.py: ReportLab's message may quote text; only a template can cause this.
            raise HandoutError("the tri-fold could not be laid out: a part is too narrow for its text; check the templates") from None
        fill = tuple(template.fill.get(p.name, 0.0) for p in sheet.article_panels)
        return Trifold(buffer.getvalue(), article_styles.profile.body, back_styles.profile.body, cover_styles.profile.body, fill)

    def _fold_guides(self, canvas: Canvas, side: int) -> None:
        # Short ticks in the top and bottom margins only: they show where to
        # fold and never print across a panel's content.
        with artifact(canvas, FOLD_MARKS):
            canvas.saveState()
            canvas.setStrokeColor(GUIDE_GREY)
            canvas.setLineWidth(0.5)
            for x in self.sheet.folds(side):
                canvas.line(x, GUIDE_FROM, x, GUIDE_TO)
                canvas.line(x, self.sheet.height - GUIDE_FROM, x, self.sheet.height - GUIDE_TO)
            canvas.restoreState()

    def _cover(self, routed: Routed, styles: Styles, root: Node) -> Drawing:
        """The front cover's content, tagged under `root`, and what draws it; _CoverDoesNotFit when it overruns the panel.

        The clinic's logo and name at the top; below, a block of the brand's
        colour under an accent band, with the title in white and the clinic's
        web address at its foot: the look of a printed clinic leaflet.
        """
        sheet, brand, p = self.sheet, self.brand, styles.profile
        panel = sheet.outside[2]
        x, width = panel.column_left, panel.column_width
        pad = 6 * mm
        inner = width - 2 * pad
        head: list[Flowable] = []
        foot: list[Flowable] = []
        if routed.masthead:
            logo_w, logo_h = p.logo_mm
            head.append(LogoFlowable(brand.logo, logo_w * mm, logo_h * mm, alt=brand.name, tag=logo_figure(brand, root)))
            head.append(paragraph(text_markup(brand.name), _variant(styles.masthead_name, spaceBefore=4 * mm), root.add("P"), brand.name))
        title_style = _variant(styles.title, textColor=white, spaceBefore=0, spaceAfter=0)
        title_text = no_lone_last_word(routed.title.text, title_style, inner)
        title = [paragraph(inline_markup(title_text, "#FFFFFF"), title_style, root.add("H1"), doc.plain_text(routed.title.text))]
        if routed.title.subtitle:
            subtitle_style = _variant(styles.subtitle, textColor=white, spaceBefore=3 * mm, spaceAfter=0)
            title.append(paragraph(inline_markup(routed.title.subtitle, "#FFFFFF"), subtitle_style, root.add("P"), doc.plain_text(routed.title.subtitle)))
        web = brand.website or brand.email
        if routed.masthead and web:
            web_style = _variant(styles.label, textColor=white, fontSize=p.body, leading=p.leading)
            foot.append(paragraph(inline_markup(breakable_urls((doc.Span(web),), web_style, inner)), web_style, root.add("P"), web))
        head_placed, title_placed, foot_placed = _wrapped(head, width), _wrapped(title, inner), _wrapped(foot, inner)
        band = 3 * mm
        needed = band + pad + _stack_height(title_placed) + (10 * mm + _stack_height(foot_placed) if foot else 0) + pad
        # The block takes the lower 58 % of the panel, or more when the title needs it.
        block_top = sheet.column_bottom + max(sheet.column_height * 0.58, needed)
        if block_top > sheet.column_top - _stack_height(head_placed) - 8 * mm:
            raise _CoverDoesNotFit

        def draw(canvas: Canvas) -> None:
            bottom = sheet.column_bottom
            _draw_stack(canvas, head_placed, x, sheet.column_top, width)
            _fill(canvas, styles.primary, x, bottom, width, block_top - bottom)
            _fill(canvas, styles.accent, x, block_top - band, width, band)
            _draw_stack(canvas, title_placed, x + pad, block_top - band - pad, inner)
            _draw_stack(canvas, foot_placed, x + pad, bottom + pad + _stack_height(foot_placed), inner)

        return draw

    def _back(self, routed: Routed, styles: Styles, root: Node) -> Drawing:
        """The back panel's content, tagged under `root`, and what draws it; _BackDoesNotFit when it overruns the panel.

        The QR code with its caption in a tinted box at the top; the clinic's
        name, address, phone, email and website, and the disclaimer, at the foot.
        """
        sheet, brand, p = self.sheet, self.brand, styles.profile
        panel = sheet.outside[1]
        x, width = panel.column_left, panel.column_width
        pad = 5 * mm
        inner = width - 2 * pad
        builder = Builder(brand, styles, inner)
        code: list[_Placed] = []
        for block in routed.back:
            children = list(block.children)
            # The caption's heading, then the code, then how to use it: "Find out more", the code, "Scan the code…".
            if children and isinstance(children[0], doc.Heading):
                heading = children.pop(0)
                assert isinstance(heading, doc.Heading)
                style = _variant(styles.h1, spaceBefore=0, spaceAfter=3 * mm)
                code += _wrapped([paragraph(inline_markup(heading.text, styles.primary_hex), style, root.add(heading_tag(heading.level)), doc.plain_text(heading.text))], inner)
            qr = QRFlowable(block.url, block.alt, QR_WIDTH, tag=root.add("Figure", alt=block.alt))
            qr.spaceBefore, qr.spaceAfter = 1 * mm, 4 * mm  # type: ignore[attr-defined]
            code += _wrapped([qr], inner, centred=True)
            code += _wrapped(builder.cell_flowables(children, inner, root), inner)
        contact_style = _variant(styles.body, textColor=INK, spaceAfter=4 * mm)
        disclaimer, disclaimer_lang = brand.words("disclaimer", current_language())
        # Each line its own paragraph: a screen reader (and copy-paste) gets the lines apart, commas kept;
        # the email and website are links, and a long one breaks only after "/" or ".".
        lines: list[doc.Inline] = [(doc.Span(line),) for line in _address_lines(brand.address, p.body, width)]
        lines += [(doc.Span(nowrap(brand.phone)),)] if brand.phone else []
        lines += [(doc.Span(brand.email, href=f"mailto:{brand.email}"),)] if brand.email else []
        lines += [(doc.Span(brand.website, href=website_href(brand.website)),)] if brand.website else []
        name_style = _variant(styles.masthead_name, fontSize=p.h2, leading=p.h2 * 1.25, spaceAfter=1 * mm)
        line_style = _variant(contact_style, spaceAfter=0)
        if any(string_width(line, p.body, bold=True) > width for address in (brand.email, brand.website) for line in address_lines(address, p.body, width, bold=True)):
            raise _BackDoesNotFit  # a part of an address wider than the column: a smaller size, rather than a break mid-word
        contact = [
            paragraph(inline_markup(breakable_urls(line, line_style, width), styles.primary_hex), contact_style if n == len(lines) - 1 else line_style, root.add("P"), doc.plain_text(line))
            for n, line in enumerate(lines)
        ]
        name = paragraph(text_markup(brand.name), name_style, root.add("P"), brand.name)
        disclaimer_tag = root.add("P")
        disclaimer_tag.lang = disclaimer_lang
        details = _wrapped([name, *contact, paragraph(text_markup(disclaimer), _variant(styles.disclaimer, spaceBefore=0), disclaimer_tag, disclaimer)], width)
        box = _stack_height(code) + 2 * pad if code else 0.0
        rule_gap = 5 * mm
        details_top = sheet.column_bottom + _stack_height(details)
        if sheet.column_top - box < details_top + 2 * rule_gap:
            raise _BackDoesNotFit

        def draw(canvas: Canvas) -> None:
            if code:
                _fill(canvas, NOTE_TINT, x, sheet.column_top - box, width, box, radius=2 * mm)
                _draw_stack(canvas, code, x + pad, sheet.column_top - pad, inner)
            with artifact(canvas):
                canvas.saveState()
                canvas.setStrokeColor(styles.accent)
                canvas.setLineWidth(2.5)
                canvas.line(x, details_top + rule_gap, x + width, details_top + rule_gap)
                canvas.restoreState()
            _draw_stack(canvas, details, x, details_top, width)

        return draw
