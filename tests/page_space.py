"""Measures a printed page as a designer's ruler would: blank space above the footer, the first block's height, the gaps between boxes."""

from __future__ import annotations

from dataclasses import dataclass

import pypdfium2

MM = 72 / 25.4
SCALE = 2.0  # pixels per point: 0.18 mm a pixel, fine enough for 6 mm and 40 mm rules
INK = 235  # a pixel darker than this (0–255 grey) is ink: the lightest tints are 0xEE–0xFC
LINE_MM = 12.0  # a run of ink no taller than this is one line of text (a heading)
BLOCK_GAP_MM = 5.2  # white taller than a paragraph's spacing (4.7 mm) separates two blocks; a heading has 6 mm above it
BLOCK_GAP_LARGE_PRINT_MM = 8.0  # large print: lines 2.5 mm apart, paragraphs 7 mm, a heading 9 mm below what is above it
MAX_BLANK_MM = 40.0  # the rule: no page but the last has more blank above its footer, unless the next block is taller
TABLE_SPLIT_RULES = 4  # a table's top rule, the rule under its header and under each of its first two rows
ROOM_TAKEN_MM = 12.0  # of a page's blank, what a block cannot use: 4 mm above the footer rule, up to 6 mm of space before a box, descenders
# Large print: 4 mm above the footer rule, a box's 7 mm space after it and a 22 pt heading's 9 mm space before it
# (measured: a heading, a table's header and two rows needing 60.6 mm of the frame's 56.3 left 66 mm of white above the rule).
ROOM_TAKEN_LARGE_PRINT_MM = 20.0


@dataclass(frozen=True)
class PageSpace:
    """One page's vertical use, in mm from the top of the paper."""

    height: float
    rule: float | None  # the footer rule's top (None: no footer rule found)
    rows: tuple[int, ...]  # inked pixels in each pixel row, top down
    wide: float = float("inf")  # inked pixels in a row that runs across the text width (a rule)

    def mm(self, row: int) -> float:
        return row / SCALE / MM

    @property
    def blank_above_footer(self) -> float:
        """White between the lowest ink of the body and the footer rule."""
        if self.rule is None:
            return 0.0
        rule_row = round(self.rule * MM * SCALE)
        row = rule_row - 1
        while row > 0 and self.rows[row] == 0:
            row -= 1
        return self.mm(rule_row - 1 - row)

    def first_block_height(self, top_mm: float, gap_mm: float = BLOCK_GAP_MM) -> float:
        """The height of the first block of ink below `top_mm` (the body's top): ink until a white gap of BLOCK_GAP_MM.

        A first run of one line (a heading) is measured with the two blocks after it: a heading stays with two
        list items (or its paragraph), never alone at a page's foot. A table (a block ruled across the text width
        between its rows) may split after its header and two rows: it is measured to its fourth rule.
        """
        gap = round(gap_mm * MM * SCALE)
        row = round(top_mm * MM * SCALE)
        while row < len(self.rows) and self.rows[row] == 0:
            row += 1
        start = row
        for block in range(3):
            white = rules = 0
            while row < len(self.rows) and white < gap:
                white = white + 1 if self.rows[row] == 0 else 0
                if self.rows[row] >= self.wide and not self.rows[row - 1] >= self.wide:
                    rules += 1
                    if rules == TABLE_SPLIT_RULES:
                        return self.mm(row - start)
                row += 1
            if block == 0 and self.mm(row - white - start) > LINE_MM:
                break
        return self.mm(row - white - start)

    def ink_runs(self, top_mm: float, bottom_mm: float) -> list[tuple[float, float]]:
        """Vertical runs of ink between two heights, as (top, bottom) in mm."""
        runs: list[tuple[float, float]] = []
        start = None
        for row in range(round(top_mm * MM * SCALE), round(bottom_mm * MM * SCALE)):
            if self.rows[row] and start is None:
                start = row
            elif not self.rows[row] and start is not None:
                runs.append((self.mm(start), self.mm(row)))
                start = None
        return runs


def page_spaces(pdf: bytes) -> list[PageSpace]:
    """Every page measured: the footer rule is the lowest line inked across most of the text width."""
    document = pypdfium2.PdfDocument(pdf)
    spaces: list[PageSpace] = []
    try:
        for index in range(len(document)):
            image = document[index].render(scale=SCALE, grayscale=True).to_pil().convert("L").point(lambda v: 255 if v < INK else 0)
            width, height = image.size
            data = image.tobytes()
            rows = tuple(data[y * width : (y + 1) * width].count(255) for y in range(height))
            text_width = width - 2 * 15 * MM * SCALE
            # The lowest row inked across the text width is the footer rule's (a box above it is wide too, but higher).
            full = [y for y in range(height - 1, int(height - 70 * MM * SCALE), -1) if rows[y] > 0.8 * text_width]
            rule = None
            if full:
                top = full[0]
                while top > 0 and rows[top - 1] > 0.8 * text_width:  # the rule is a few pixels thick
                    top -= 1
                rule = top / SCALE / MM
            spaces.append(PageSpace(height / SCALE / MM, rule, rows, 0.8 * text_width))
    finally:
        document.close()
    return spaces


def holes(pdf: bytes, body_top_mm: float, exempt: frozenset[int] = frozenset(), large_print: bool = False) -> list[str]:
    """Pages (but the last, and those in `exempt`) with more than MAX_BLANK_MM above the footer while the next page's first block would have fit there."""
    spaces = page_spaces(pdf)
    found = []
    for number, (page, following) in enumerate(zip(spaces, spaces[1:]), start=1):
        blank = page.blank_above_footer
        if number - 1 in exempt or blank <= MAX_BLANK_MM:
            continue
        block = following.first_block_height(body_top_mm, BLOCK_GAP_LARGE_PRINT_MM if large_print else BLOCK_GAP_MM)
        if block + (ROOM_TAKEN_LARGE_PRINT_MM if large_print else ROOM_TAKEN_MM) <= blank:
            found.append(f"page {number}: {blank:.0f} mm blank above the footer, and page {number + 1} starts with a {block:.0f} mm block that fits there")
    return found


SCRAP_SHARE = 0.25  # a closing page whose ink fills less than this share of the body holds a scrap, not a page
TIGHTEN_MM = 8.0  # what a designer may win on a page by setting its paragraph spacing tighter (never its type)
SCRAP_GAPS_MM = 8.0  # what a scrap needs on the page before besides its ink: a paragraph's gap above, the footer's 4 mm below


def ink_height(page: PageSpace, top_mm: float) -> float:
    """From the first ink below `top_mm` (the body's top) to the lowest ink above the footer rule."""
    row = round(top_mm * MM * SCALE)
    while row < len(page.rows) and page.rows[row] == 0:
        row += 1
    bottom = (page.rule or page.height) - page.blank_above_footer
    return max(0.0, bottom - page.mm(row))


def scrap(before: PageSpace, closing: PageSpace, body_top_mm: float) -> str | None:
    """Why `closing` (a document's, or its reading part's, last page) holds only a scrap the page before could have taken, or None.

    A scrap: ink over less than SCRAP_SHARE of the body. The page before could have taken it when its blank above
    the footer, with up to TIGHTEN_MM won by tighter spacing, holds the scrap's ink and the gaps around it.
    """
    if closing.rule is None:
        return None
    body = closing.rule - 4.0 - body_top_mm  # render/pdf.py FOOTER_RULE_GAP: the body ends 4 mm above the rule
    used = ink_height(closing, body_top_mm)
    room = before.blank_above_footer + TIGHTEN_MM
    if used < SCRAP_SHARE * body and used + SCRAP_GAPS_MM <= room:
        return f"the last page holds {used:.0f} mm of a {body:.0f} mm body; the page before has {before.blank_above_footer:.0f} mm blank (+{TIGHTEN_MM:.0f} mm by tightening)"
    return None
