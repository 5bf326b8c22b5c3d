"""Every document stays small enough to email (60 KB; a 26-week plan 120 KB), with its structure tree for screen readers included."""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools

import pikepdf
import pytest

from handout import api

EMAIL_LIMIT = 60 * 1024  # guidance.md: what a patient's mailbox and a phone on mobile data take without fuss
LONG_PLAN_LIMIT = 120 * 1024  # 26 weeks: 12 pages of diary on A4, 16 on Letter
PROFILES = list(itertools.product(("a4", "letter"), ("en", "es"), (False, True)))  # paper, language, large print
DOCUMENTS = ("leaflet", "trifold", *(f"plan-{weeks}{article}" for weeks in (1, 12, 26) for article in ("", "-article")))
# Over the limit on 4 December 2026, after the diary became machine-readable (issue 17); brought under by drawing
# each day's circles once as a form, packing the page, font and annotation dictionaries into the object stream,
# then (issue 18) embedding font subsets without TrueType hinting and drawing each QR code as a 1-bit image
# mask: the largest, a large-print 12-week plan with the article, 70.7 -> 57.6 KB; a 26-week one 115.8 -> 98.4 KB.


@functools.cache
def example_brand() -> api.Brand:
    """The example clinic's brand (logo included), as a clinic starts from it."""
    return api.load_brand()


def tagged_size(pdf: bytes) -> int:
    """The file's size, after checking it carries the structure tree (a smaller file without tags would not count)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert "/StructTreeRoot" in document.Root and document.Root.MarkInfo.Marked
        assert len(document.Root.StructTreeRoot.ParentTree.Nums) > 0
    return len(pdf)


def cases() -> list[object]:
    found = []
    for paper, language, large in PROFILES:
        for document in DOCUMENTS:
            if document == "trifold" and large:
                continue  # no large-print tri-fold: refused, see the README's "Tri-fold leaflets"
            found.append(pytest.param(document, paper, language, large, id="-".join((document, paper, language, "large" if large else "standard"))))
    return found


def render(document: str, paper: str, language: str, large: bool) -> bytes:
    if document in ("leaflet", "trifold"):
        layout = "trifold" if document == "trifold" else "standard"
        return api.render_leaflet(paper=paper, language=language, large_print=large, layout=layout, brand=example_brand())
    weeks = int(document.split("-")[1])
    return api.render_plan(
        patient="Zoë O'Brien-Smith", clinician="Sam Lee", start_date=dt.date(2027, 1, 4), weeks=weeks, with_article=document.endswith("article"),
        paper=paper, language=language, large_print=large, brand=example_brand(),
    )  # fmt: skip


@pytest.mark.parametrize(("document", "paper", "language", "large"), cases())
def test_every_document_fits_its_limit_with_its_structure_tree(document: str, paper: str, language: str, large: bool) -> None:
    limit = LONG_PLAN_LIMIT if document.startswith("plan-26") else EMAIL_LIMIT
    size = tagged_size(render(document, paper, language, large))
    assert size <= limit, f"{size / 1024:.1f} KB, over {limit // 1024} KB"


def test_the_cases_cover_every_form() -> None:
    """Both papers, languages and print sizes; two-page and tri-fold leaflets; plans of 1, 12 and 26 weeks with and without the article."""
    ids = {case.id for case in cases()}  # type: ignore[attr-defined]
    assert len(ids) == 2 * 2 * (2 * len(DOCUMENTS) - 1)
    for document in DOCUMENTS:
        assert any(i.startswith(document + "-") for i in ids)
