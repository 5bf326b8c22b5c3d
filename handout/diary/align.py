"""Finds a diary page in a scan: its page code (zxing-cpp), then its four alignment marks, and the map from page points to pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handout.diary.code import PageCode, any_format, parse_page_code
from handout.diary.layout import MARK_SIDE, MM, PageLayout, page_layout

MAX_RESIDUAL_MM = 0.8  # the marks and the code disagree by more than this: the paper is creased or the photo too slanted
MIN_DPI = 120  # below this a pen stroke is a pixel wide and the code's modules blur together
NEEDED_DPI = 150
SEARCH_MM = 25  # how far from where the code puts it a corner mark is looked for: a phone's slant moves the far corners that much


class PageProblem(Exception):
    """A diary page was found but cannot be read; the message says why (and what would help)."""


@dataclass(frozen=True)
class PlacedPage:
    """A diary page found in a scan: what its code says, its layout, and where its points fall in the scan."""

    code: PageCode
    layout: PageLayout
    homography: np.ndarray  # 3 × 3, page points → scan pixels (x right, y down)
    dpi: float
    residual_mm: float


def homography(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The perspective map taking source points to target points (least squares for more than four), normalised for stability."""

    def normaliser(points: np.ndarray) -> np.ndarray:
        centre = points.mean(axis=0)
        scale = np.sqrt(2) / max(np.sqrt(((points - centre) ** 2).sum(axis=1)).mean(), 1e-9)
        return np.array([[scale, 0, -scale * centre[0]], [0, scale, -scale * centre[1]], [0, 0, 1]])

    ns, nt = normaliser(source), normaliser(target)
    s = apply(ns, source)
    t = apply(nt, target)
    rows = []
    for (x, y), (u, v) in zip(s, t):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    _, _, vt = np.linalg.svd(np.asarray(rows))
    h = vt[-1].reshape(3, 3)
    result = np.linalg.inv(nt) @ h @ ns
    return result / result[2, 2]


def affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The affine map (as a 3 × 3 matrix) taking source points to target points, by least squares."""
    design = np.hstack([source, np.ones((len(source), 1))])
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    return np.vstack([solution.T, [0, 0, 1]])


def apply(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (N × 2) mapped by a homography."""
    points = np.asarray(points, dtype=np.float64)
    x, y = points[:, 0], points[:, 1]
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    return np.column_stack(((h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w, (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w))


def page_codes(pixels: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Every QR code in the scan: its text and its corners (top-left, top-right, bottom-right, bottom-left of the symbol) in pixels."""
    import zxingcpp

    found = []
    for barcode in zxingcpp.read_barcodes(np.ascontiguousarray(pixels.clip(0, 255).astype(np.uint8)), formats=zxingcpp.BarcodeFormat.QRCode):
        p = barcode.position
        corners = np.array([[c.x, c.y] for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)], dtype=np.float64)
        found.append((barcode.text, corners))
    return found


def place_page(pixels: np.ndarray) -> PlacedPage | None:
    """The diary page in the scan, or None when it holds no diary page code; PageProblem when it does but cannot be read."""
    for text, corners in page_codes(pixels):
        code = parse_page_code(text)
        if code is None:
            if any_format(text):
                raise PageProblem("its diary code is from a newer or unknown version of handout")
            continue
        try:
            layout = page_layout(code)
        except ValueError:
            raise PageProblem("its diary code names a page the plan does not have") from None
        return _placed(pixels, code, layout, corners)
    return None


def _placed(pixels: np.ndarray, code: PageCode, layout: PageLayout, corners: np.ndarray) -> PlacedPage:
    page_qr = _to_pixels_frame(np.array(layout.qr_corners), layout.height)
    # An affine seed: a perspective map fitted to a 17 mm code would swing wildly 250 mm away.
    seed = affine(page_qr, corners)
    scale = _local_scale(seed, page_qr.mean(axis=0))  # pixels per point
    dpi = scale * 72
    if dpi < MIN_DPI:
        raise PageProblem(f"the scan is about {dpi:.0f} dpi, too small to read; scan at {NEEDED_DPI} dpi or more")
    centres = _to_pixels_frame(np.array([((x0 + x1) / 2, (y0 + y1) / 2) for x0, y0, x1, y1 in layout.marks]), layout.height)
    # The top marks first, beside the code; with them the guess for the far, bottom ones is better.
    found: list[np.ndarray | None] = [None] * 4
    for index in (1, 0, 2, 3):
        found[index] = _find_mark(pixels, apply(seed, centres[index][None])[0], scale)
        if index == 0 and found[0] is not None and found[1] is not None:
            seed = affine(np.vstack([page_qr, centres[:2]]), np.vstack([corners, found[0], found[1]]))
    usable = [(c, f) for c, f in zip(centres, found) if f is not None]
    if len(usable) < 2:
        raise PageProblem(f"{4 - len(usable)} of its four corner marks cannot be found (cut off, covered, or the scan is too blurred; scan at {NEEDED_DPI} dpi or more)")
    source = np.array([c for c, _ in usable] + list(page_qr))
    target = np.array([f for _, f in usable] + list(corners))
    if len(usable) == 4:
        final = homography(source[:4], target[:4])
    elif len(usable) == 3:
        final = homography(source, target)  # three corners and the code's four: a slant is still measured
    else:
        final = affine(source, target)  # two corners and the code: turn, scale and shift, no slant
    # The code's corners are known to within a module: a larger disagreement means a wrong page map.
    residual = float(np.sqrt(((apply(final, page_qr) - corners) ** 2).sum(axis=1)).max()) / scale / MM
    if residual > MAX_RESIDUAL_MM + 0.6:
        raise PageProblem(f"its corner marks and its code disagree by {residual:.1f} mm (a folded or curled page, or a steep photo); scan it flat")
    return PlacedPage(code, layout, _flip(final, layout.height), dpi, residual)


def _to_pixels_frame(points: np.ndarray, height: float) -> np.ndarray:
    """Page points with y measured down from the top, as the scan's rows are."""
    return np.column_stack([points[:, 0], height - points[:, 1]])


def _flip(h: np.ndarray, height: float) -> np.ndarray:
    """A map from y-down page points made into one from PDF points (y up)."""
    return h @ np.array([[1, 0, 0], [0, -1, height], [0, 0, 1]], dtype=np.float64)


def _local_scale(h: np.ndarray, point: np.ndarray) -> float:
    p0, p1, p2 = apply(h, np.array([point, point + [1, 0], point + [0, 1]]))
    (ax, ay), (bx, by) = p1 - p0, p2 - p0
    return float(np.sqrt(abs(ax * by - ay * bx)))


def _find_mark(pixels: np.ndarray, guess: np.ndarray, scale: float) -> np.ndarray | None:
    """The centre of the solid square near `guess`, or None.

    First, of the places within SEARCH_MM where a square of the mark's size is solidly dark (text
    and rules never are), the nearest to the guess; then the centre of the dark pixels there.
    """
    side = MARK_SIDE * scale
    reach = side / 2 + SEARCH_MM * MM * scale
    x0, y0 = int(max(guess[0] - reach, 0)), int(max(guess[1] - reach, 0))
    x1, y1 = int(min(guess[0] + reach + 1, pixels.shape[1])), int(min(guess[1] + reach + 1, pixels.shape[0]))
    box = max(2, int(side * 0.8))
    if x1 - x0 <= box or y1 - y0 <= box:
        return None
    window = pixels[y0:y1, x0:x1]
    light, dark = np.percentile(window, 95), np.percentile(window, 1)
    if light - dark < 60:
        return None
    ink = (window < (light + dark) / 2).astype(np.int32)
    summed = np.zeros((ink.shape[0] + 1, ink.shape[1] + 1), dtype=np.int32)
    summed[1:, 1:] = ink.cumsum(0).cumsum(1)
    filled = summed[box:, box:] - summed[:-box, box:] - summed[box:, :-box] + summed[:-box, :-box]
    rows, cols = np.nonzero(filled >= 0.8 * box * box)
    if len(rows) == 0:
        return None
    nearest = int(((cols + x0 + box / 2 - guess[0]) ** 2 + (rows + y0 + box / 2 - guess[1]) ** 2).argmin())
    centre = np.array([x0 + cols[nearest] + box / 2, y0 + rows[nearest] + box / 2])
    near = side / 2 + 1.0 * MM * scale
    x0, y0 = int(max(centre[0] - near, 0)), int(max(centre[1] - near, 0))
    x1, y1 = int(min(centre[0] + near + 1, pixels.shape[1])), int(min(centre[1] + near + 1, pixels.shape[0]))
    if x0 == 0 or y0 == 0 or x1 == pixels.shape[1] or y1 == pixels.shape[0]:
        return None  # at the scan's edge: perhaps cut, and a cut mark's centre is not the mark's
    window = pixels[y0:y1, x0:x1]
    ys, xs = np.nonzero(window < (light + dark) / 2)
    if not side * side * 0.6 <= len(xs) <= side * side * 1.8:
        return None
    return np.array([xs.mean() + x0, ys.mean() + y0])
