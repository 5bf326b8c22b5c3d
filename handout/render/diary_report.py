"""Draws the diary report's figures: the weekly chart (ReportLab graphics, vector) and crops of the scan."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image

from handout import document as doc
from handout.render.fonts import MAIN
from handout.render.graphics import set_bbox
from handout.render.structure import Node
from handout.render.styles import INK, Styles
from handout.render.tagging import tagged

if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing

AIM = HexColor("#B8C2CC")  # the plan's aim: a light bar beside the darker one walked
PAIN = HexColor("#B3261E")


class FigureFlowable(Flowable):
    """A drawing or image as one tagged figure (its alt text on the Figure element)."""

    def __init__(self, item: Drawing | Image, width: float, height: float, tag: Node) -> None:
        super().__init__()
        self.item, self.width, self.height, self.tag = item, width, height, tag
        self.role = doc.Role.FIGURE

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        with tagged(self.canv, self.tag):
            set_bbox(self.canv, self.tag, self.width, self.height)
            self.item.drawOn(self.canv, 0, 0)


def diary_chart(block: doc.Chart, width: float, tag: Node, styles: Styles) -> Flowable:
    """Minutes walked each week beside the plan's aim (bars, left scale), and average pain (line, right scale 0–10)."""
    # ReportLab's charts are a twentieth of a leaflet's start: only a progress report, which draws them, imports them.
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.charts.lineplots import LinePlot
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.graphics.widgets.markers import makeMarker

    size = styles.profile.cell
    height = 80 * mm + size * 2
    drawing = Drawing(width, height)
    left, bottom = 14 * mm, 14 * mm + size
    plot_w, plot_h = width - left - 16 * mm, height - bottom - 8 * mm - size * 1.5
    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = left, bottom, plot_w, plot_h
    bars.data = [list(block.minutes), list(block.aims)]
    bars.categoryAxis.categoryNames = list(block.labels)
    top = max([*block.minutes, *block.aims, 10])
    bars.valueAxis.valueMin, bars.valueAxis.valueMax = 0, top * 1.1
    for axis in (bars.categoryAxis, bars.valueAxis):
        axis.labels.fontName, axis.labels.fontSize, axis.labels.fillColor = MAIN, size * 0.8, INK
    bars.bars[0].fillColor, bars.bars[1].fillColor = styles.primary, AIM
    bars.bars.strokeColor = None
    bars.groupSpacing, bars.barSpacing = 4, 1
    drawing.add(bars)
    weeks = len(block.labels)
    points = [((i + 0.5) / weeks * plot_w + left, bottom + p / 10 * plot_h) for i, p in enumerate(block.pain) if p is not None]
    if points:
        line = LinePlot()
        line.x, line.y, line.width, line.height = left, bottom, plot_w, plot_h
        line.data = [[((x - left) / plot_w * weeks, (y - bottom) / plot_h * 10) for x, y in points]]
        line.xValueAxis.valueMin, line.xValueAxis.valueMax = 0, weeks
        line.yValueAxis.valueMin, line.yValueAxis.valueMax = 0, 10
        line.xValueAxis.visible = 0
        line.yValueAxis.visible = 0
        line.lines[0].strokeColor, line.lines[0].strokeWidth = PAIN, 2
        line.lines[0].symbol = makeMarker("FilledCircle", size=5, fillColor=PAIN, strokeColor=PAIN)
        drawing.add(line)
    for value in (0, 5, 10):  # the pain scale, on the right
        drawing.add(String(left + plot_w + 3 * mm, bottom + value / 10 * plot_h - size * 0.3, str(value), fontName=MAIN, fontSize=size * 0.8, fillColor=PAIN))
    legend = Legend()
    legend.x, legend.y = left, height - size * 0.3
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.fontName, legend.fontSize = MAIN, size * 0.8
    legend.colorNamePairs = [(styles.primary, block.legend[0]), (AIM, block.legend[1]), (PAIN, block.legend[2])]
    legend.deltax = (plot_w + 10 * mm) / 3
    drawing.add(legend)
    return FigureFlowable(drawing, width, height, tag)


def picture(block: doc.Picture, width: float, tag: Node) -> Flowable:
    """A crop of the scan, at its size on paper (narrowed to the frame when wider)."""
    image = Image(io.BytesIO(block.png))
    w = min(block.width_mm * mm, width)
    h = w * image.imageHeight / image.imageWidth
    image.drawWidth, image.drawHeight = w, h
    return FigureFlowable(image, w, h, tag)
