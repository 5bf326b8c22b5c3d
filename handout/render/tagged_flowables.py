"""Platypus flowables that draw as their structure elements: a paragraph as its element, a table cell by cell."""

from __future__ import annotations

from typing import Any

from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table

from handout.render.structure import Node
from handout.render.tagging import ARTIFACT_PAGINATION_HEADER, TaggedCanvas, tagged

MIN_ROWS_EACH_SIDE = 2  # a data table splits leaving at least two of its rows on each page (issue 16)


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
            parts = self._no_lone_row(parts, available_width)
        if len(parts) == 2 and self.cell_tags is not None:
            first, rest = parts
            first.cell_tags = self.cell_tags[: len(first._cellvalues)]
            repeated = len(rest._cellvalues) - (len(self.cell_tags) - len(first._cellvalues))
            rest.cell_tags = [[None] * len(row) for row in self.cell_tags[:repeated]] + self.cell_tags[len(first._cellvalues) :]
        return parts


    def _no_lone_row(self, parts: list[Any], available_width: float) -> list[Any]:
        """A data table's split that carries at least two rows over (and leaves two): a lone row under a repeated header reads as a stray."""
        first, rest = parts
        header = self.repeatRows
        carried = len(rest._cellvalues) - header
        if carried >= MIN_ROWS_EACH_SIDE:
            return parts
        kept = len(first._cellvalues) - (MIN_ROWS_EACH_SIDE - carried)
        if kept - header < MIN_ROWS_EACH_SIDE:
            return []  # too short to split well: it moves on whole
        # Rows are split where they fit: give it the height of the rows it keeps (less than one row more).
        return super().split(available_width, sum(self._rowHeights[:kept]) + 0.5)


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
