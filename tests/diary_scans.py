"""Synthetic scans of filled diaries for the reader's tests and benchmark: real plan pages, pen-like marks, scanner and phone damage."""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PEN = {"ballpoint": (35, 35, 45), "blue": (40, 60, 140), "pencil": (140, 140, 140), "felt": (10, 10, 10)}


@dataclass
class Truth:
    """What was drawn on one day: the values a correct reader returns, and which fields must come back unclear."""

    walked: bool = False
    pain: int | None = None
    minutes: int | None = None
    unclear: set[str] = field(default_factory=set)
    steps: bool = False
    notes: bool = False


def render_page(pdf_path: str, page: int, dpi: int) -> Image.Image:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(pdf_path)
    try:
        return pdf[page - 1].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        pdf.close()


class Pen:
    """Draws on a rendered page at page-point positions, like a hand with a pen would."""

    def __init__(self, image: Image.Image, page_height: float, dpi: int, rng: random.Random) -> None:
        self.draw = ImageDraw.Draw(image)
        self.scale = dpi / 72
        self.height = page_height
        self.rng = rng

    def px(self, x: float, y: float) -> tuple[float, float]:
        return x * self.scale, (self.height - y) * self.scale

    def stroke(self, points: list[tuple[float, float]], colour: tuple[int, int, int], width: int) -> None:
        jitter = [(x + self.rng.uniform(-0.3, 0.3), y + self.rng.uniform(-0.3, 0.3)) for x, y in points]
        self.draw.line([self.px(*p) for p in jitter], fill=colour, width=width, joint="curve")

    def mark(self, kind: str, centre: tuple[float, float], size: float, colour: tuple[int, int, int], width: int, shift: tuple[float, float] = (0, 0)) -> None:
        """size: the printed circle's diameter (points)."""
        cx, cy = centre[0] + shift[0], centre[1] + shift[1]
        s = size
        if kind == "tick":
            self.stroke([(cx - 0.45 * s, cy + 0.05 * s), (cx - 0.1 * s, cy - 0.4 * s), (cx + 0.55 * s, cy + 0.55 * s)], colour, width)
        elif kind == "cross":
            self.stroke([(cx - 0.45 * s, cy - 0.45 * s), (cx + 0.45 * s, cy + 0.45 * s)], colour, width)
            self.stroke([(cx - 0.45 * s, cy + 0.45 * s), (cx + 0.45 * s, cy - 0.45 * s)], colour, width)
        elif kind == "bigx":  # the correction the diary asks for: a big X through the circle
            self.stroke([(cx - 0.6 * s, cy - 0.6 * s), (cx + 0.6 * s, cy + 0.6 * s)], colour, width)
            self.stroke([(cx - 0.6 * s, cy + 0.6 * s), (cx + 0.6 * s, cy - 0.6 * s)], colour, width)
        elif kind == "fill":
            r = 0.5 * s
            x0, y0 = self.px(cx - r, cy + r)
            x1, y1 = self.px(cx + r, cy - r)
            self.draw.ellipse([x0, y0, x1, y1], fill=colour)
        elif kind == "circle":
            r = 0.62 * s
            x0, y0 = self.px(cx - r, cy + r)
            x1, y1 = self.px(cx + r, cy - r)
            self.draw.ellipse([x0, y0, x1, y1], outline=colour, width=width)
        elif kind == "dot":
            r = 0.22 * s
            x0, y0 = self.px(cx - r, cy + r)
            x1, y1 = self.px(cx + r, cy - r)
            self.draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            raise ValueError(kind)

    def scribble(self, rect: tuple[float, float, float, float], colour: tuple[int, int, int], width: int) -> None:
        """Handwriting-like strokes in a cell (a steps number or a note)."""
        x0, y0, x1, y1 = rect
        y = (y0 + y1) / 2
        x = x0 + 4
        points = []
        while x < min(x1 - 4, x0 + 50):
            points.append((x, y + self.rng.uniform(-3, 3)))
            x += 3
        self.stroke(points, colour, width)


MARK_KINDS = ("tick", "cross", "fill", "circle", "dot")


def fill_page(image: Image.Image, page_map: dict, dpi: int, rng: random.Random, hard: bool = True) -> dict[str, Truth]:
    """Marks on every day of one diary page (map page from `--diary-map`); the truth for each date.

    `hard` adds what a reader must not guess: two marks in a row, a mark between two circles, a faint smudge.
    """
    pen = Pen(image, page_map["height"], dpi, rng)
    by_day: dict[str, dict[str, list[dict]]] = {}
    for f in page_map["fields"]:
        by_day.setdefault(f["date"], {}).setdefault(f["field"], []).append(f)
    truth: dict[str, Truth] = {}
    for date, fields in by_day.items():
        t = Truth()
        ink = rng.choice(list(PEN))
        colour, width = PEN[ink], max(2, round(dpi / 200 * (2 if ink == "pencil" else 3)))

        def centre(f: dict) -> tuple[float, float]:
            x0, y0, x1, y1 = f["rect"]
            return (x0 + x1) / 2, (y0 + y1) / 2

        box = fields["walked"][0]
        box_size = (box["rect"][2] - box["rect"][0]) * 0.78
        roll = rng.random()
        if roll < 0.75:
            t.walked = True
            pen.mark(rng.choice(("tick", "tick", "cross", "fill")), centre(box), box_size, colour, width, (rng.uniform(-2, 2), rng.uniform(-2, 2)))
        for name in ("pain", "minutes"):
            row = fields[name]
            size = (row[0]["rect"][2] - row[0]["rect"][0]) * 0.81
            if name == "minutes" and not t.walked and rng.random() < 0.8:
                continue
            roll = rng.random()
            pick = rng.randrange(len(row))
            kind = rng.choice(MARK_KINDS)
            shift = (rng.uniform(-1.2, 1.2), rng.uniform(-1.2, 1.2))
            if hard and roll < 0.06:  # two marks: unclear
                other = (pick + rng.randrange(2, len(row) - 1)) % len(row)
                # Two ordinary marks (a filled circle and a crossed one is the diary's correction, not this).
                pen.mark(rng.choice(("tick", "cross", "circle")), centre(row[pick]), size, colour, width)
                pen.mark(rng.choice(("tick", "cross", "dot")), centre(row[other]), size, colour, width)
                t.unclear.add(name)
            elif hard and roll < 0.10 and pick < len(row) - 1:  # a mark astride two circles: unclear
                a, b = centre(row[pick]), centre(row[pick + 1])
                pen.mark(rng.choice(("cross", "fill")), ((a[0] + b[0]) / 2, a[1]), size, colour, width)
                t.unclear.add(name)
            elif roll < 0.16 and len(row) > 2:  # a correction: the wrong circle crossed out, the right one filled
                wrong = (pick + rng.randrange(1, len(row))) % len(row)
                pen.mark("bigx", centre(row[wrong]), size, colour, width)
                pen.mark("fill", centre(row[pick]), size, colour, width)
                setattr(t, name, row[pick]["value"])
            elif roll < 0.22:
                continue  # left empty
            else:
                pen.mark(kind, centre(row[pick]), size, colour, width, shift)
                setattr(t, name, row[pick]["value"])
        truth[date] = t
    return truth


def write_cells(image: Image.Image, page_map_cells: list[tuple[str, str, tuple[float, float, float, float]]], height: float, dpi: int, rng: random.Random, truth: dict[str, Truth]) -> None:
    pen = Pen(image, height, dpi, rng)
    for date, name, rect in page_map_cells:
        if date in truth and rng.random() < 0.3:
            pen.scribble(rect, PEN["ballpoint"], max(2, round(dpi / 100)))
            setattr(truth[date], name, True)


def degrade(
    image: Image.Image,
    rng: random.Random,
    rotate: float = 0.0,
    scale: float = 1.0,
    shift: tuple[int, int] = (0, 0),
    blur: float = 0.0,
    noise: float = 0.0,
    jpeg: int | None = None,
    threshold: bool = False,
    perspective: float = 0.0,
    upside_down: bool = False,
) -> Image.Image:
    """A scanner's or a phone's copy of the page: turned, shrunk, moved, blurred, noisy, compressed, black and white, seen at a slant."""
    grey = image.convert("L")
    if scale != 1.0:
        grey = grey.resize((round(grey.width * scale), round(grey.height * scale)), Image.Resampling.LANCZOS)
        canvas = Image.new("L", image.size, 255)
        canvas.paste(grey, ((image.width - grey.width) // 2, (image.height - grey.height) // 2))
        grey = canvas
    if upside_down:
        grey = grey.rotate(180)
    if rotate or shift != (0, 0):
        # A scanner's glass is larger than the page: a skewed page is scanned whole (its corners are not cut).
        grey = grey.rotate(rotate, resample=Image.Resampling.BICUBIC, translate=shift, fillcolor=235, expand=True)
    if perspective:
        w, h = grey.size
        d = perspective * w
        # The page's top edge seen shorter than its foot: a phone tilted towards the top.
        source = [(d, 0), (w - d, 0), (w, h), (0, h)]
        coefficients = _perspective_coefficients([(0, 0), (w, 0), (w, h), (0, h)], source)
        grey = grey.transform((w, h), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC, fillcolor=235)
    if blur:
        grey = grey.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(grey, dtype=np.float32)
    if noise:
        pixels = pixels + np.random.default_rng(rng.randrange(1 << 30)).normal(0, noise, pixels.shape)
    if threshold:
        pixels = np.where(pixels < 150, 0, 255)
    grey = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    if jpeg:
        buffer = io.BytesIO()
        grey.save(buffer, "JPEG", quality=jpeg)
        grey = Image.open(io.BytesIO(buffer.getvalue()))
        grey.load()
    return grey


def _perspective_coefficients(target: list[tuple[float, float]], source: list[tuple[float, float]]) -> tuple[float, ...]:
    rows, rhs = [], []
    for (x, y), (u, v) in zip(target, source):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return tuple(np.linalg.solve(np.array(rows, dtype=float), np.array(rhs, dtype=float)))


def days_of(truth: dict[str, Truth]) -> list[str]:
    return sorted(truth, key=dt.date.fromisoformat)
