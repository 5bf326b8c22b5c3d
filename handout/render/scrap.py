"""Keeps the page that ends a document's reading from holding a scrap: the page before is set tighter to take it in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reportlab.platypus import Flowable

from handout.render.flowables import BulletItem, Kept
from handout.render.tagged_flowables import TaggedParagraph

# The reading's last page holds a scrap when what is on it fills less than this share of the body
# (the last tip and the disclaimer on a page of their own: a designer rejects that page).
SCRAP_SHARE = 0.25
# How much tighter the paragraph spacing from the page before the scrap on may be set, tried in
# turn: a quarter, then half of it, never the type, the line spacing or the space around a box.
TIGHTER = (0.75, 0.5)


def number_leaves(flowables: Sequence[Flowable]) -> None:
    """Number the flowables in reading order (a kept group's members each: they are placed one by one), as `layout_order`.

    Two builds of one document number alike, so a number placed on a page in one names the same flowable in the other.
    """
    order = 0
    for flowable in flowables:
        for leaf in flowable.members if isinstance(flowable, Kept) else [flowable]:
            leaf.layout_order = order
            order += 1


class PageLog:
    """Where each numbered flowable was placed: its page and the frame's height below it (points from the page's foot)."""

    def __init__(self) -> None:
        self.placed: dict[int, tuple[int, float]] = {}

    def record(self, template: Any, flowable: Flowable) -> None:
        """ReportLab's afterFlowable: `flowable` was just placed on `template`'s current page."""
        order = getattr(flowable, "layout_order", None)
        if order is not None:
            self.placed[order] = (template.page, template.frame._y)

    def scrap_after(self, closing: int, body_top: float, body_height: float) -> int | None:
        """The number of the first flowable placed on the page before the one `closing` (the reading's last flowable)
        ends on, when that last page holds a scrap; else None."""
        if closing not in self.placed:
            return None  # the closing paragraph was split over two pages: not a scrap
        page, bottom = self.placed[closing]
        if page == 1 or body_top - bottom >= SCRAP_SHARE * body_height:
            return None
        before = [order for order, (on, _) in self.placed.items() if on == page - 1]
        return min(before) if before else None


def tighten(flowables: Sequence[Flowable], start: int, factor: float) -> None:
    """Set the space before and after each paragraph and list item numbered `start` or later to `factor` of its style's.

    Only spacing between paragraphs: a box keeps its 6 mm apart from what is around it, a table its rows.
    """
    for flowable in flowables:
        for leaf in flowable.members if isinstance(flowable, Kept) else [flowable]:
            if getattr(leaf, "layout_order", -1) < start:
                continue
            if isinstance(leaf, BulletItem):
                _tighten_paragraph(leaf.body, factor)
                leaf.spaceAfter *= factor
            elif isinstance(leaf, TaggedParagraph):
                _tighten_paragraph(leaf, factor)


def _tighten_paragraph(para: TaggedParagraph, factor: float) -> None:
    # Set on the paragraph, which ReportLab reads before its style: styles are shared by every document.
    para.spaceBefore = para.style.spaceBefore * factor
    para.spaceAfter = para.style.spaceAfter * factor
