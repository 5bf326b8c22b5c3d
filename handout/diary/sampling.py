"""Reads a scan at page positions: ink darkness against the paper around it, and upright crops of page areas."""

from __future__ import annotations

import numpy as np

from handout.diary.align import PlacedPage, apply
from handout.diary.layout import MM, Rect

PAPER_BLOCK_MM = 8  # the paper's brightness is taken as the brightest pixel within 8 mm: no pen mark fills that


class Darkness:
    """A scan's ink darkness at any page point: 0 for the paper around it, 1 for black, whatever the lighting and the paper's tint."""

    def __init__(self, pixels: np.ndarray, placed: PlacedPage) -> None:
        self.pixels = pixels
        self.h = placed.homography
        block = max(4, int(PAPER_BLOCK_MM * placed.dpi / 25.4))
        rows, cols = -(-pixels.shape[0] // block), -(-pixels.shape[1] // block)
        padded = np.full((rows * block, cols * block), 0, dtype=np.float32)
        padded[: pixels.shape[0], : pixels.shape[1]] = pixels
        paper = padded.reshape(rows, block, cols, block).max(axis=(1, 3))
        self.paper = np.maximum(paper, 40.0)  # a black border is not paper
        self.block = block

    def at_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Darkness at pixel positions (N × 2, x and y), bilinear; outside the scan counts as paper."""
        h, w = self.pixels.shape
        x, y = xy[:, 0], xy[:, 1]
        inside = (x >= 0) & (y >= 0) & (x <= w - 1) & (y <= h - 1)
        x, y = x.clip(0, w - 1.001), y.clip(0, h - 1.001)
        x0, y0 = x.astype(np.int64), y.astype(np.int64)
        fx, fy = x - x0, y - y0
        p = self.pixels
        grey = (p[y0, x0] * (1 - fx) * (1 - fy) + p[y0, x0 + 1] * fx * (1 - fy) + p[y0 + 1, x0] * (1 - fx) * fy + p[y0 + 1, x0 + 1] * fx * fy)
        paper = self.paper[(y0 // self.block), (x0 // self.block)]
        return np.where(inside, (1 - grey / paper).clip(0, 1), 0.0)

    def at_points(self, points: np.ndarray) -> np.ndarray:
        """Darkness at page points (N × 2, PDF points)."""
        return self.at_pixels(apply(self.h, points))


def upright_crop(pixels: np.ndarray, placed: PlacedPage, rect: Rect, margin_mm: float = 1.5, pixels_per_mm: float = 8) -> np.ndarray:
    """The page area `rect` (plus a margin) as an upright grey image, however the page lay in the scan."""
    x0, y0, x1, y1 = rect
    m = margin_mm * MM
    step = MM / pixels_per_mm
    xs = np.arange(x0 - m, x1 + m, step)
    ys = np.arange(y1 + m, y0 - m, -step)  # top row first
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    xy = apply(placed.homography, grid)
    h, w = pixels.shape
    x, y = xy[:, 0].clip(0, w - 1).astype(np.int64), xy[:, 1].clip(0, h - 1).astype(np.int64)
    return pixels[y, x].reshape(len(ys), len(xs)).clip(0, 255).astype(np.uint8)
