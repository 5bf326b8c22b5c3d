"""Loads scans into grey pixel arrays: PDF pages (rasterised with pypdfium2) and PNG, JPEG or TIFF images (Pillow)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handout.errors import HandoutError

PDF_DPI = 200  # a PDF scan's pages are read at this resolution: enough for every mark, quick to measure
LONGEST_SIDE = 3600  # pixels: a 600 dpi scan is halved before reading (the marks need no more)
MAX_PIXELS = 80_000_000  # a larger image is not a page scan (and would exhaust memory)


@dataclass(frozen=True)
class ScanPage:
    """One page of one input file, as grey levels (0 black … 255 white)."""

    file: str  # the input file's name, as the user gave it
    page: int  # 1-based page in that file (1 for a single image)
    pixels: np.ndarray  # float32, rows × columns


def load_scans(paths: list[Path]) -> Iterator[ScanPage]:
    """Every page of every file, in the order given; one clear error naming the file when one cannot be read."""
    for path in paths:
        name = path.name
        try:
            with path.open("rb") as file:
                head = file.read(8)  # the kind of file only: a 60 MB scan is read once, by its reader
        except FileNotFoundError:
            raise HandoutError(f"{name}: file not found") from None
        except IsADirectoryError:
            raise HandoutError(f"{name}: is a folder, not a scan") from None
        except OSError as exc:
            raise HandoutError(f"{name}: cannot be read ({exc.strerror or 'input/output error'})") from None
        if head.startswith(b"%PDF"):
            yield from _pdf_pages(path)
        else:
            yield from _image_pages(path)


def _pdf_pages(path: Path) -> Iterator[ScanPage]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise HandoutError(f"{path.name}: the PDF is encrypted; save the scan again without a password") from None
        raise HandoutError(f"{path.name}: not a readable PDF (damaged or incomplete)") from None
    try:
        if len(pdf) == 0:
            raise HandoutError(f"{path.name}: the PDF has no pages")
        for index in range(len(pdf)):
            page = pdf[index]
            bitmap = page.render(scale=PDF_DPI / 72, grayscale=True)
            pixels = np.asarray(bitmap.to_numpy(), dtype=np.float32)
            if pixels.ndim == 3:
                pixels = pixels[..., 0]
            yield ScanPage(path.name, index + 1, pixels.copy())
            page.close()
    finally:
        pdf.close()


def _image_pages(path: Path) -> Iterator[ScanPage]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise HandoutError(f"{path.name}: not a PDF or a PNG, JPEG or TIFF image") from None
    with image:
        for index in range(getattr(image, "n_frames", 1)):
            try:
                image.seek(index)
                frame = ImageOps.exif_transpose(image).convert("L")  # a phone's photo stands as it was taken
            except (OSError, ValueError):
                raise HandoutError(f"{path.name}: page {index + 1} of the image cannot be read (damaged file)") from None
            longest = max(frame.size)
            if longest > LONGEST_SIDE:
                frame = frame.reduce(-(-longest // LONGEST_SIDE))
            yield ScanPage(path.name, index + 1, np.asarray(frame, dtype=np.float32))
