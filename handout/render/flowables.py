"""Turns document blocks into ReportLab flowables, one small builder per block type."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer, TableStyle

from handout import document as doc
from handout.brand import Brand
from handout.errors import HandoutError
from handout.i18n import current_language
from handout.no_break import nowrap
from handout.render.diary_report import diary_chart, picture
from handout.render.fonts import MAIN, MAIN_BOLD, FontRuns, inline_markup, paragraph, plain_runs, printable_in_main, runs_width, string_width, text_markup
from handout.render.graphics import QR_WIDTH, GridCell, GridTable, LogoFlowable, QRFlowable, TickBox, WarningSign
from handout.render.structure import Node
from handout.render.styles import INK, NOTE_TINT, WARNING, WARNING_TINT, Styles
from handout.render.tagged_flowables import TaggedParagraph
from handout.render.tagged_flowables import TaggedTable as Table
from handout.render.tagging import tagged

HEADER_FILL = HexColor("#EEF1F4")
SPLIT_ITEMS = 2  # a list splits only after its first two items and before its last two
MIN_LINES = 2  # a paragraph splits leaving at least two lines on each page (styles: allowOrphans=allowWidows=0)
SPLIT_ROWS = 4  # a grid of more rows may split (after at least two, graphics.MIN_ROWS_AFTER_SPLIT); shorter ones stay whole
GRID_RULE = HexColor("#8A8A8A")
MAX_TITLE_WORDS = 30  # titles are balanced up to this many words
MIN_BAND_SIZE = 11.0  # a band label shrinks to fit one line, down to the tri-fold's floor (a page's column never needs it)
BOX_RULE = 2.5  # points: a panel's frame, drawn half outside its edge
BOX_GAP = 6 * mm + BOX_RULE  # at least 6 mm of white between a boxed panel's frame and what is above or below it
CELL_PADDING = 12  # points of a cell's width left of and right of its text


def _table_style(commands: list) -> TableStyle:
    # Every table cell sets the cell font even when it holds flowables, and
    # ReportLab's default cell font is the non-embedded Helvetica.
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), MAIN), *commands])


def _one_line(spans: doc.Inline) -> str | None:
    """The cell's text when it is one plain span on one line ("" for none), else None."""
    if not spans:
        return ""
    if len(spans) != 1 or spans[0].href or "\n" in spans[0].text:
        return None
    return spans[0].text


def simple_text(spans: doc.Inline, style: ParagraphStyle, width: float) -> str | None:
    """The cell's text when it can be drawn as a plain string: one line, one look, main font only."""
    text = _one_line(spans)
    if not text:
        return text
    return text if printable_in_main(text) and string_width(text, style.fontSize, bold=True) <= width else None


def grid_text(spans: doc.Inline, style: ParagraphStyle, width: float) -> str | FontRuns | None:
    """As simple_text, and text the main font cannot print whole as font runs when each run draws glyph by glyph (fonts.plain_runs): a name in Greek stays in the grid."""
    text = _one_line(spans)
    if not text:
        return text
    if printable_in_main(text):
        return text if string_width(text, style.fontSize, bold=True) <= width else None
    runs = plain_runs(text)
    return runs if runs is not None and runs_width(runs, style.fontSize, bold=True) <= width else None


def fit_columns(widths: list[float], needs: list[float]) -> list[float] | None:
    """Widths giving each column at least what it needs, taken from the columns with room to spare in proportion to that room.

    The widths themselves when they already suffice; None when the needs add up to more than the table's width.
    """
    if all(width >= need for width, need in zip(widths, needs)):
        return widths
    if sum(needs) > sum(widths):
        return None
    short = sum(need - width for width, need in zip(widths, needs) if need > width)
    spare = sum(width - need for width, need in zip(widths, needs) if width > need)
    return [need if need >= width else width - (width - need) * short / spare for width, need in zip(widths, needs)]


class Kept(KeepTogether):
    """Flowables that stay on one page, or, given `start_room`, start on this page whenever that much room is left.

    Nesting flattens: ReportLab cannot measure a KeepTogether inside another.
    """

    def __init__(self, flowables: Sequence[Flowable], start_room: float | None = None) -> None:
        self.members: list[Flowable] = [m for f in flowables for m in (f.members if isinstance(f, Kept) else [f])]
        self.start_room = start_room
        super().__init__(self.members)

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        if self.start_room is not None and available_height >= self.start_room:
            return list(self.members)  # start here; the last member splits where the page ends
        return super().split(available_width, available_height)


class BulletItem(Flowable):
    """One list item: its bullet (Lbl) and its text (LBody). A long item splits; its bullet stays with the first part."""

    role = doc.Role.LIST

    def __init__(self, bullet: str, label: Node | None, body: TaggedParagraph, font: str, size: float, colour: Color, indent: float) -> None:
        super().__init__()
        self.bullet = bullet
        self.label = label
        self.body = body
        self.font = font
        self.size = size
        self.colour = colour
        self.indent = indent
        self.spaceAfter = 0.0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        _, self.height = self.body.wrap(available_width - self.indent, available_height)
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        parts = self.body.split(available_width - self.indent, available_height)
        if len(parts) != 2:
            return []
        first = BulletItem(self.bullet, self.label, parts[0], self.font, self.size, self.colour, self.indent)
        rest = BulletItem("", None, parts[1], self.font, self.size, self.colour, self.indent)
        rest.spaceAfter = self.spaceAfter
        return [first, rest]

    def getSpaceBefore(self) -> float:  # noqa: N802 - ReportLab's name
        return float(self.body.getSpaceBefore())

    def getSpaceAfter(self) -> float:  # noqa: N802 - ReportLab's name
        return max(float(self.spaceAfter), float(self.body.getSpaceAfter()))

    def draw(self) -> None:
        c = self.canv
        if self.bullet:
            # On the first line's baseline, where the paragraph sets it (its font size below the top).
            with tagged(c, self.label):
                c.saveState()
                c.setFillColor(self.colour)
                c.setFont(self.font, self.size)
                c.drawString(0, self.height - self.body.style.fontSize, self.bullet)
                c.restoreState()
        self.body.drawOn(c, self.indent, 0)


class Builder:
    """Builds flowables for one brand, style set and text width; reused across documents."""

    def __init__(self, brand: Brand, styles: Styles, frame_width: float) -> None:
        self.brand = brand
        self.styles = styles
        self.width = frame_width
        self._table: dict[type, Callable[[object, float, Node], list[Flowable]]] = {
            doc.Masthead: self.masthead,  # type: ignore[dict-item]
            doc.Title: self.title,  # type: ignore[dict-item]
            doc.Heading: self.heading,  # type: ignore[dict-item]
            doc.Paragraph: self.paragraph,  # type: ignore[dict-item]
            doc.BulletList: self.bullet_list,  # type: ignore[dict-item]
            doc.Table: self.table,  # type: ignore[dict-item]
            doc.Panel: self.panel,  # type: ignore[dict-item]
            doc.QRCode: self.qr_code,  # type: ignore[dict-item]
            doc.Keep: self.keep,  # type: ignore[dict-item]
            doc.PageBreak: lambda block, width, parent: [PageBreak()],
            doc.Spacer: lambda block, width, parent: [Spacer(1, block.height_mm * mm)],  # type: ignore[attr-defined]
            doc.Diary: self.diary,  # type: ignore[dict-item]
            doc.Chart: lambda block, width, parent: [diary_chart(block, width, parent.add("Figure", alt=block.alt), self.styles)],  # type: ignore[arg-type]
            doc.Picture: lambda block, width, parent: [picture(block, width, parent.add("Figure", alt=block.alt))],  # type: ignore[arg-type]
        }
        # Set by the renderer for each document: the paper, the body's (bottom, height) and who hears where each diary page went.
        self.diary_pages: tuple[str, tuple[float, float], Callable[..., None]] | None = None

    def flowables(self, blocks: Sequence[doc.Block], parent: Node, width: float | None = None) -> list[Flowable]:
        """Flowables for blocks on the page, in order, their structure elements added under `parent` in reading order.

        A heading never ends a page without the start of what follows it.
        """
        width = self.width if width is None else width
        result: list[Flowable] = []
        heads: list[Flowable] = []  # titles and headings (and spacers between them) waiting for the block they introduce
        for block in blocks:
            built = self._build(block, width, parent)
            if isinstance(block, doc.Title | doc.Heading) or (heads and isinstance(block, doc.Spacer)):
                heads += built
            elif heads and not isinstance(block, doc.PageBreak):  # a page break after a heading is the template's choice
                result += self.keep_with_next(heads, built, width)
                heads = []
            else:
                result += heads + built
                heads = []
        return result + heads

    def cell_flowables(self, blocks: Sequence[doc.Block], width: float, parent: Node, in_panel: bool = False) -> list[Flowable]:
        """Flowables for blocks inside a table cell (a panel, beside the QR code): they never split, so nothing to keep together."""
        result: list[Flowable] = []
        for block in blocks:
            built = self.panel_heading(block, parent) if in_panel and isinstance(block, doc.Heading) else self._build(block, width, parent)
            result += [m for f in built for m in (f.members if isinstance(f, Kept) else [f])]
        return result

    def _build(self, block: doc.Block, width: float, parent: Node) -> list[Flowable]:
        built = self._table[type(block)](block, width, parent)
        for flowable in built:
            if not hasattr(flowable, "role"):
                flowable.role = block.role  # type: ignore[attr-defined]
        return built

    def keep_with_next(self, heads: list[Flowable], following: list[Flowable], width: float) -> list[Flowable]:
        """Headings kept on one page with the start of the block they introduce: its first two list items, or its first rows when it is a grid.

        A list or table may split after two items or rows (never leaving one alone either side),
        so a heading no longer drags a whole list to the next page and leaves a hole (issue 16).
        ReportLab's own keepWithNext skips lists, panels and kept groups, so the builder groups headings itself.
        """
        if len(following) == 1 and isinstance(following[0], GridTable) and following[0].body_rows > SPLIT_ROWS:
            # A grid starts below its heading when at least its first rows fit there.
            grid = following[0]
            heads_height = sum(h.wrap(width, 1e6)[1] + h.getSpaceBefore() + h.getSpaceAfter() for h in heads)
            return [Kept([*heads, *following], start_room=heads_height + grid.getSpaceBefore() + grid.min_split_height() + 2)]
        if len(following) == 1 and isinstance(following[0], Table) and len(following[0]._cellvalues) - following[0].repeatRows > SPLIT_ROWS:
            table = following[0]
            table.wrap(width, 1e6)
            first_rows = sum(table._rowHeights[: table.repeatRows + SPLIT_ITEMS])
            heads_height = sum(h.wrap(width, 1e6)[1] + h.getSpaceBefore() + h.getSpaceAfter() for h in heads)
            return [Kept([*heads, table], start_room=heads_height + table.getSpaceBefore() + first_rows + 2)]
        if len(following) == 1 and isinstance(following[0], TaggedParagraph):
            # A heading and its paragraph start here when the heading and two lines fit, and the paragraph can
            # leave two lines for the next page (it never splits with fewer either side): else they move on whole.
            para = following[0]
            para.wrap(width, 1e6)
            if len(para.blPara.lines) >= 2 * MIN_LINES:
                heads_height = sum(h.wrap(width, 1e6)[1] + h.getSpaceBefore() + h.getSpaceAfter() for h in heads)
                return [Kept([*heads, para], start_room=heads_height + para.getSpaceBefore() + MIN_LINES * para.style.leading + 2)]
        items = [f for f in following if isinstance(f, BulletItem)]
        if len(items) == len(following) > 2 * SPLIT_ITEMS - 1:
            # Heading with the first items, the last items together: no item alone at a page's foot or head.
            return [Kept([*heads, *following[:SPLIT_ITEMS]]), *following[SPLIT_ITEMS:-SPLIT_ITEMS], Kept(following[-SPLIT_ITEMS:])]
        return [Kept([*heads, *following])]

    def _para(self, spans: doc.Inline, style: ParagraphStyle, tag: Node | None) -> TaggedParagraph:
        return paragraph(inline_markup(spans, self.styles.primary_hex), style, tag, doc.plain_text(spans))

    def masthead(self, block: doc.Masthead, width: float, parent: Node) -> list[Flowable]:
        s, brand = self.styles, self.brand
        logo_width, logo_height = s.profile.logo_mm
        logo = LogoFlowable(brand.logo, logo_width * mm, logo_height * mm, alt=brand.name, tag=logo_figure(brand, parent))
        # The address and the phone line are separate paragraphs: a screen reader hears them apart, commas kept.
        # The phone and web address share a line when they fit (never ending with the "·"), else each has its own.
        parts = tuple(x for x in (nowrap(brand.phone), brand.website or brand.email) if x)
        text_width = width - logo.width - 6 * mm
        address = brand.address.replace("\n", ", ")
        text = [
            paragraph(text_markup(brand.name), s.masthead_name, parent.add("P"), brand.name),
            paragraph(text_markup(address), s.masthead_contact, parent.add("P"), address),
            paragraph("<br/>".join(text_markup(line) for line in separated_lines(parts, " · ", s.masthead_contact.fontSize, text_width)), s.masthead_contact, parent.add("P"), " · ".join(parts)),
        ]
        table = Table([[logo, text]], colWidths=[logo.width + 6 * mm, None], hAlign="LEFT")
        table.setStyle(
            _table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm),
                    ("LINEBELOW", (0, 0), (-1, -1), 2.5, s.accent),
                ]
            )
        )
        table.role = doc.Role.FIGURE  # type: ignore[attr-defined]
        return [table]

    def title(self, block: doc.Title, width: float, parent: Node) -> list[Flowable]:
        text = no_lone_last_word(block.text, self.styles.title, width)
        out: list[Flowable] = [paragraph(inline_markup(text, self.styles.primary_hex), self.styles.title, parent.add("H1"), doc.plain_text(block.text))]
        if block.subtitle:
            out.append(self._para(block.subtitle, self.styles.subtitle, parent.add("P")))
        return out

    def heading(self, block: doc.Heading, width: float, parent: Node) -> list[Flowable]:
        # The title is the only H1: a template's level-1 headings are the document's sections.
        return [self._para(block.text, self.styles.h1 if block.level == 1 else self.styles.h2, parent.add(heading_tag(block.level)))]

    def panel_heading(self, block: doc.Heading, parent: Node) -> list[Flowable]:
        style = self.styles.warning_h1 if block.level == 1 else self.styles.h2
        flowable = self._para(block.text, style, parent.add(heading_tag(block.level)))
        flowable.role = doc.Role.HEADING  # type: ignore[attr-defined]
        return [flowable]

    def paragraph(self, block: doc.Paragraph, width: float, parent: Node) -> list[Flowable]:
        style = getattr(self.styles, block.style)
        return [paragraph(inline_markup(breakable_urls(block.text, style, width), self.styles.primary_hex), style, parent.add("P"), doc.plain_text(block.text))]

    def bullet_list(self, block: doc.BulletList, width: float, parent: Node) -> list[Flowable]:
        s = self.styles
        tag = parent.add("L")
        items: list[Flowable] = []
        for item in block.items:
            entry = tag.add("LI")
            label = entry.add("Lbl")
            items.append(BulletItem("\u2022", label, self._para(item, s.list_item, entry.add("LBody")), MAIN_BOLD, s.profile.body, INK, indent=s.profile.body * 1.3))
        if items:
            items[-1].spaceAfter = s.profile.body * 0.4
        return items

    def table(self, block: doc.Table, width: float, parent: Node) -> list[Flowable]:
        s = self.styles
        total = sum(block.widths)
        col_widths = [width * w / total for w in block.widths]
        tag = parent.add("Table")
        cell_tags = table_cells(tag, block)
        if block.style in ("diary", "grid"):
            grid = self.grid(block, col_widths, cell_tags)
            if grid is not None:
                return [grid]
        # Columns as wide as their widest value when the table can be (a label, a date, "100 minutes" on one line);
        # else the first column (the labels, the week) whole and the others at least their longest word.
        whole, words = self.column_needs(block, whole=True), self.column_needs(block, whole=False)
        col_widths = fit_columns(col_widths, whole) or fit_columns(col_widths, [whole[0], *words[1:]]) or fit_columns(col_widths, words) or col_widths
        tick = s.profile.tick
        rows: list[list[object]] = []
        simple_bold: list[tuple[int, int]] = []
        for index, row in enumerate(block.rows):
            is_header = index < block.header_rows
            style = s.cell_header if is_header else s.body_cell if block.style == "plain" else s.cell
            cells: list[object] = []
            for column, cell in enumerate(row):
                if cell.tick:
                    cells.append(TickBox(tick, INK))
                    continue
                text = simple_text(cell.text, style, col_widths[column] - CELL_PADDING)
                if text == "":
                    cells.append([])  # an empty flowable list: nothing to draw at all
                elif text is None:
                    cells.append(self._para(cell.text, style, cell_tags[index][column]))  # drawn inside that TH/TD: the tag folds into it
                else:
                    # Plain strings draw many times faster than Paragraphs; a
                    # diary has hundreds of short or empty cells.
                    cells.append(text)
                    if not is_header and cell.text[0].bold:
                        simple_bold.append((column, index))
            rows.append(cells)
        diary = block.style == "diary"
        header = block.header_rows
        commands: list[tuple[object, ...]] = [
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("ALIGN", (0, 0), (-1, -1), "LEFT"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]
        if block.style == "plain":
            commands += [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
        else:
            commands.append(("GRID", (0, 0), (-1, -1), 0.6, GRID_RULE))
        if header and block.style != "plain":
            commands += [
                ("BACKGROUND", (0, 0), (-1, header - 1), HEADER_FILL),
                ("LINEBELOW", (0, header - 1), (-1, header - 1), 1.2, INK),
            ]
        if diary:
            commands.append(("ALIGN", (1, header), (1, -1), "CENTER"))
        body_style = s.body_cell if block.style == "plain" else s.cell
        commands += [
            ("FONTSIZE", (0, 0), (-1, -1), body_style.fontSize),
            ("LEADING", (0, 0), (-1, -1), body_style.leading),
            ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ]
        if header:
            commands.append(("FONTSIZE", (0, 0), (-1, header - 1), s.cell_header.fontSize))
            commands.append(("LEADING", (0, 0), (-1, header - 1), s.cell_header.leading))
            commands.append(("FONTNAME", (0, 0), (-1, header - 1), MAIN_BOLD))
        commands += [("FONTNAME", cell, cell, MAIN_BOLD) for cell in simple_bold]
        table = Table(
            rows,
            cells=cell_tags,
            colWidths=col_widths,
            repeatRows=block.header_rows,
            rowHeights=[None] * header + [s.profile.diary_row_mm * mm if diary else None] * (len(rows) - header),
            hAlign="LEFT",
            spaceBefore=s.profile.body * 0.2,
            spaceAfter=s.profile.body * 0.8,
        )
        table.setStyle(_table_style(commands))
        return [table]

    def column_needs(self, block: doc.Table, whole: bool) -> list[float]:
        """The narrowest each column can be: for its widest cell text when `whole`, else for its longest word (text that wraps)."""
        s = self.styles
        needs = [0.0] * len(block.widths)
        for index, row in enumerate(block.rows):
            style = s.cell_header if index < block.header_rows else s.body_cell if block.style == "plain" else s.cell
            for column, cell in enumerate(row):
                if cell.tick:
                    width = s.profile.tick
                else:
                    text = doc.plain_text(cell.text)
                    # Only a plain space is a break: a date, a number with its unit, a phone number are held with no-break spaces.
                    width = max((string_width(part, style.fontSize, bold=True) for part in ([text] if whole else text.split(" "))), default=0.0)
                needs[column] = max(needs[column], width + CELL_PADDING)
        return needs

    def grid(self, block: doc.Table, col_widths: list[float], cell_tags: list[list[Node | None]]) -> GridTable | None:
        """A ruled table drawn directly, when every cell is one plain line (else None: use a platypus Table).

        Diaries and schedules are hundreds of such cells; drawing them in one
        text object is many times cheaper than platypus.Table's cell-by-cell work.
        """
        s = self.styles
        fitted = fit_columns(col_widths, self.column_needs(block, whole=True))
        if fitted is None:
            return None
        col_widths = fitted
        diary = block.style == "diary"
        body_size = s.cell_header.fontSize if diary else s.cell.fontSize
        rows: list[list[GridCell]] = []
        bold: set[tuple[int, int]] = set()
        for index, row in enumerate(block.rows):
            style = s.cell_header if index < block.header_rows else s.cell
            cells: list[GridCell] = []
            for column, cell in enumerate(row):
                if cell.tick:
                    cells.append(None)
                    continue
                text = grid_text(cell.text, style, col_widths[column] - CELL_PADDING)
                if text is None:
                    return None
                if text and index >= block.header_rows and cell.text[0].bold:
                    bold.add((index, column))
                cells.append(text)
            rows.append(cells)
        grid = GridTable(
            rows,
            block.header_rows,
            col_widths,
            row_height=s.profile.diary_row_mm * mm if diary else s.cell.leading + 7,
            header_height=s.cell_header.fontSize * 2,
            font=(MAIN, MAIN_BOLD, body_size, s.cell_header.fontSize),
            bold_cells=frozenset(bold),
            header_fill=HEADER_FILL,
            rule=GRID_RULE,
            ink=INK,
            tick_size=s.profile.tick,
            cell_tags=cell_tags,
        )
        grid.spaceBefore, grid.spaceAfter = s.profile.body * 0.2, s.profile.body * 0.8
        return grid

    def panel(self, block: doc.Panel, width: float, parent: Node) -> list[Flowable]:
        s = self.styles
        frame = WARNING if block.kind == "warning" else s.primary
        tint = WARNING_TINT if block.kind == "warning" else NOTE_TINT
        inner_width = width - 2 * 5 * mm
        section = parent.add("Sect")
        label_tag = section.add("P") if block.label else None  # the band's words, read before the panel's own heading
        body = self.cell_flowables(block.children, inner_width, section, in_panel=True)
        rows: list[list[object]] = []
        commands: list[tuple[object, ...]] = [
            ("BOX", (0, 0), (-1, -1), BOX_RULE, frame),
            ("BACKGROUND", (0, 1 if block.label else 0), (-1, -1), tint),
            ("LEFTPADDING", (0, 0), (-1, -1), 5 * mm),
            ("RIGHTPADDING", (0, 0), (-1, -1), 5 * mm),
            ("TOPPADDING", (0, 0), (-1, -1), 3 * mm),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2 * mm),
        ]
        if block.label:
            sign = s.profile.h2 * 1.1
            # The label's cell keeps ReportLab's default right padding (6 pt).
            label = paragraph(*self.band_label(block.label, inner_width - 6 - (sign + 3 * mm if block.kind == "warning" else 0)), label_tag, block.label)
            if block.kind == "warning":
                band = Table([[WarningSign(sign), label]], colWidths=[sign + 3 * mm, None], hAlign="LEFT")
            else:
                band = Table([[label]], hAlign="LEFT")
            band.setStyle(_table_style([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
            band.role = doc.Role.HEADING  # type: ignore[attr-defined]
            rows.append([band])
            commands += [("BACKGROUND", (0, 0), (-1, 0), frame), ("TOPPADDING", (0, 0), (-1, 0), 2 * mm), ("BOTTOMPADDING", (0, 0), (-1, 0), 2 * mm)]
        rows.append([body])
        # Boxes stacked one under another stay at least 6 mm apart: closer, two boxes read as one collided shape.
        table = Table(rows, colWidths=[width], hAlign="LEFT", spaceBefore=BOX_GAP, spaceAfter=BOX_GAP)
        table.setStyle(_table_style(commands))
        return [Kept([table])]

    def band_label(self, label: str, width: float) -> tuple[str, ParagraphStyle]:
        """A panel's band label on one line: in capitals when they fit, else as written, else smaller (never under the body minimum)."""
        band = self.styles.band
        for text in (label.upper(), label):
            if string_width(text, band.fontSize, bold=True) <= width:
                return text_markup(text), band
        size = max(MIN_BAND_SIZE, band.fontSize * width / string_width(label, band.fontSize, bold=True))
        return text_markup(label), ParagraphStyle(f"{band.name}_fitted", parent=band, fontSize=size, leading=size * 1.2)

    def qr_code(self, block: doc.QRCode, width: float, parent: Node) -> list[Flowable]:
        gap = 6 * mm
        first = len(parent.kids)
        beside = self.cell_flowables(block.children, width - QR_WIDTH - gap, parent)
        figure = parent.add("Figure", alt=block.alt)
        # Drawn left of the words, but read after their heading ("Find out more"): a screen
        # reader hears what the code is for before the code itself.
        parent.kids.insert(first + 1 if block.children and isinstance(block.children[0], doc.Heading) else first, parent.kids.pop())
        qr = QRFlowable(block.url, block.alt, tag=figure)
        table = Table([[qr, beside]], colWidths=[QR_WIDTH + gap, None], hAlign="LEFT", spaceBefore=self.styles.profile.body * 1.2)
        table.setStyle(
            _table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 0),
                ]
            )
        )
        return [Kept([table])]

    def diary(self, block: doc.Diary, width: float, parent: Node) -> list[Flowable]:
        from handout.render.diary import diary_flowables

        if self.diary_pages is None:
            raise HandoutError("a <diary> can only be printed on portrait pages (not in a tri-fold)")
        paper, frame, placed = self.diary_pages
        return diary_flowables(block, paper, self.styles.profile.large_print, frame, parent, placed)

    def disclaimer(self, parent: Node) -> list[Flowable]:
        """The clinic's disclaimer, once, at the end of the document: in the document's language, or tagged with its own."""
        text, lang = self.brand.words("disclaimer", current_language())
        tag = parent.add("P")
        tag.lang = lang
        return [paragraph(text_markup(text), self.styles.disclaimer, tag, text)]

    def keep(self, block: doc.Keep, width: float, parent: Node) -> list[Flowable]:
        return [Kept(self.flowables(block.children, parent, width))]


def logo_figure(brand: Brand, parent: Node) -> Node:
    """The logo's Figure element, described in the language in use (or tagged with the language its description is in)."""
    description, lang = brand.words("logo_description", current_language())
    figure = parent.add("Figure", alt=description)
    figure.lang = lang
    return figure


def no_lone_last_word(spans: doc.Inline, style: ParagraphStyle, width: float) -> doc.Inline:
    """A title's spans broken into balanced lines, as a designer sets a title: as few lines as fit, no last line of one
    word alone, no short word ("el", "of") alone on a line, and lines as even in length as those allow.

    Only for a title that is one plain run of text in the main font; anything else is left to the paragraph.
    """
    text = "".join(span.text for span in spans)
    words = text.split()
    if len(spans) != 1 or spans[0].href or "\n" in text or not 3 <= len(words) <= MAX_TITLE_WORDS or not printable_in_main(text):
        return spans  # a title of more words than any clinic writes is left to the paragraph (the search is quadratic)
    size = style.fontSize

    def line_width(first: int, end: int) -> float:
        return string_width(" ".join(words[first:end]), size, bold=True)

    @cache
    def best(first: int) -> tuple[float, tuple[int, ...]]:
        """The least cost of setting words[first:] and where its lines end."""
        if first == len(words):
            return 0.0, ()
        options: list[tuple[float, tuple[int, ...]]] = []
        for end in range(first + 1, len(words) + 1):
            used = line_width(first, end)
            if used > width and end > first + 1:
                break
            last = end == len(words)
            cost = 1e6  # each line costs most: as few lines as fit
            if end - first == 1 and (last or len(words[first]) <= 3):
                cost += 1e5  # one word alone: the last line, or a short word anywhere
            if not last:
                cost += (width - used) ** 2  # even lines
            rest, ends = best(end)
            options.append((cost + rest, (end, *ends)))
        return min(options)

    ends = best(0)[1]
    out: list[doc.Span] = []
    start = 0
    for end in ends:
        if out:
            out.append(doc.Span("\n"))
        out.append(doc.Span(" ".join(words[start:end]), spans[0].bold))
        start = end
    return tuple(out)


def website_href(website: str) -> str:
    """A link for a website as brand.toml gives it ("www.clinic.org" opens https://www.clinic.org)."""
    return website if "://" in website else f"https://{website}"


_URL_BREAK = re.compile(r"(?<=[/.@])")  # a web or email address breaks only after a "/", "." or "@"
_WORD_BREAK = re.compile(r"(?<=-)")  # …or, in a part too long for the line, after one of its hyphens (between its words)


def address_lines(text: str, size: float, width: float, bold: bool = False) -> list[str]:
    """An address (a URL, an email) on as few lines as fit `width`, each line ending after a "/", "." or "@" (never inside a word).

    A part with none of those that is still too wide ("northside-physiotherapy-and-sports-injury.org")
    breaks after a hyphen, between two of its words.
    """
    pieces: list[str] = []
    for piece in _URL_BREAK.split(text):
        pieces += _WORD_BREAK.split(piece) if string_width(piece, size, bold=bold) > width else [piece]
    lines = [""]
    for piece in pieces:
        if lines[-1] and string_width(lines[-1] + piece, size, bold=bold) > width:
            lines.append("")
        lines[-1] += piece
    return lines


def separated_lines(parts: tuple[str, ...], separator: str, size: float, width: float) -> list[str]:
    """Parts joined by `separator` on as few lines as fit `width`: a line breaks between parts, never ends with the
    separator, and an address too long for a line breaks only after a "/", "." or "@"."""
    lines: list[str] = []
    for part in parts:
        if lines and string_width(lines[-1] + separator + part, size) <= width:
            lines[-1] += separator + part
        elif " " not in part and string_width(part, size) > width:
            lines += address_lines(part, size, width)
        else:
            lines.append(part)
    return lines


def breakable_urls(spans: doc.Inline, style: ParagraphStyle, width: float) -> doc.Inline:
    """The spans with every word too wide for `width` broken onto lines after a "/", "." or "@" (never inside a word).

    ReportLab would cut such a word anywhere, even mid-word; an address so cut reads as two. The
    lines are filled greedily, as a person would write the address over two lines.
    """
    out: list[doc.Span] = []
    for span in spans:
        if span.text == "\n" or " " in span.text.strip() or string_width(span.text, style.fontSize, bold=True) <= width:
            out.append(span)
            continue
        for index, line in enumerate(address_lines(span.text, style.fontSize, width, bold=True)):
            out += [doc.Span("\n")] if index else []
            out.append(doc.Span(line, span.bold, span.href))
    return tuple(out)


def heading_tag(level: int) -> str:
    """A template heading's structure type: level 1 → H2, 2 → H3, … (H1 is the title's)."""
    return f"H{min(level + 1, 6)}"


def table_cells(table: Node, block: doc.Table) -> list[list[Node | None]]:
    """The table's rows and cells as TR › TH/TD elements: header cells head their columns (or rows)."""
    rows: list[list[Node | None]] = []
    table.title = block.caption or None  # not printed: it names the table for a screen reader (/T)
    # The first column heads its row: a diary's days, a details table's labels, the weekly table's week number.
    row_headers = True
    for index, row in enumerate(block.rows):
        tr = table.add("TR")
        if index < block.header_rows:
            rows.append([tr.add("TH", scope="Column") for _ in row])
        else:
            rows.append([tr.add("TH", scope="Row") if column == 0 and row_headers else tr.add("TD") for column in range(len(row))])
    return rows


