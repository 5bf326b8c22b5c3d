"""Regenerates the README's pictures of the built-in documents: `python tests/readme_pictures.py`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pypdfium2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handout.brand import load_brand  # noqa: E402
from handout.content import load_article  # noqa: E402
from handout.pipeline import Patient, Renderer  # noqa: E402
from handout.plan import PlanRequest, build_plan  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "assets" / "readme"
DPI = 60


def save_pages(pdf: bytes, stem: str, pages: tuple[int, ...], dpi: int = DPI) -> None:
    document = pypdfium2.PdfDocument(pdf)
    for index in pages:
        image = document[index].render(scale=dpi / 72).to_pil()
        image.save(OUT / f"{stem}-page{index + 1}.png", optimize=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    renderer = Renderer(load_brand(), "a4")
    save_pages(renderer.leaflet(load_article()), "leaflet", (0,))
    # Both sides of the tri-fold, a little sharper: a landscape sheet shows six narrow panels at once.
    save_pages(renderer.leaflet(load_article(), layout="trifold"), "leaflet-trifold", (0, 1), dpi=80)
    plan = build_plan(PlanRequest(start_date=dt.date(2026, 12, 7)))
    pdf = renderer.plan(Patient("Jane Doe", "Sam Lee"), plan, load_article(), dt.date(2026, 11, 27))
    save_pages(pdf, "plan", (0, 3))  # page 1, and the diary's first page
    spanish = renderer.plan(Patient("Ana Núñez", "Sam Lee"), plan, load_article(language="es"), dt.date(2026, 11, 27))
    save_pages(spanish, "plan-es", (0,))
    large = Renderer(load_brand(), "a4", large_print=True)
    save_pages(large.leaflet(load_article()), "leaflet-large-print", (0,))
    save_pages(large.plan(Patient("Jane Doe", "Sam Lee"), plan, load_article(), dt.date(2026, 11, 27)), "plan-large-print", (4,))  # a diary page: one week, in large print


if __name__ == "__main__":
    main()
