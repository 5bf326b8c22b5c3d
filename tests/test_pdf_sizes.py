"""Every document stays small enough to email (60 KB; a 26-week plan 120 KB), with its structure tree for screen readers included."""

from __future__ import annotations

import datetime as dt
import io
import itertools

import pikepdf
import pytest

from handout import api

EMAIL_LIMIT = 60 * 1024  # guidance.md: what a patient's mailbox and a phone on mobile data take without fuss
LONG_PLAN_LIMIT = 120 * 1024  # 26 weeks: 12 pages of diary on A4, 16 on Letter
PROFILES = list(itertools.product(("a4", "letter"), ("en", "es"), (False, True)))  # paper, language, large print
# Over the limit on 4 December 2026, after the diary became machine-readable (issue 17: a circle for every pain
# and minutes value, a page code on every diary page, one week a page in large print). Drawing each day's circles
# once as a form and the code in module units halved plans (a 12-week plan 117 -> 53 KB); packing the page, font
# and annotation dictionaries into the object stream with the structure tree (issue 18) brought every 26-week plan
# (large print 120-126 -> 111-116 KB) and Letter's 12-week plan with the article (60.5-62 -> 57-58.5 KB) under.
# Large-print 12-week plans (66-67 KB, 70-71 with the article) are still over. Strict: the day one fits, this list must shrink.
OVER_TODAY = {
    (document, paper, language, True) for document, paper, language in itertools.product(("plan-12", "plan-12-article"), ("a4", "letter"), ("en", "es"))
}


def tagged_size(pdf: bytes) -> int:
    """The file's size, after checking it carries the structure tree (a smaller file without tags would not count)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert "/StructTreeRoot" in document.Root and document.Root.MarkInfo.Marked
        assert len(document.Root.StructTreeRoot.ParentTree.Nums) > 0
    return len(pdf)


def cases() -> list[object]:
    found = []
    for paper, language, large in PROFILES:
        for document in ("leaflet", "trifold", "plan-12", "plan-12-article", "plan-26", "plan-26-article"):
            if document == "trifold" and large:
                continue  # no large-print tri-fold: refused, see the README's "Tri-fold leaflets"
            key = (document, paper, language, large)
            marks = [pytest.mark.xfail(strict=True, reason="over its limit today: see OVER_TODAY")] if key in OVER_TODAY else []
            found.append(pytest.param(*key, id="-".join((document, paper, language, "large" if large else "standard")), marks=marks))
    return found


def render(document: str, paper: str, language: str, large: bool) -> bytes:
    if document in ("leaflet", "trifold"):
        layout = "trifold" if document == "trifold" else "standard"
        return api.render_leaflet(paper=paper, language=language, large_print=large, layout=layout)
    weeks = int(document.split("-")[1])
    return api.render_plan(
        patient="Zoë O'Brien-Smith", clinician="Sam Lee", start_date=dt.date(2027, 1, 4), weeks=weeks, with_article=document.endswith("article"),
        paper=paper, language=language, large_print=large,
    )  # fmt: skip


@pytest.mark.parametrize(("document", "paper", "language", "large"), cases())
def test_every_document_fits_its_limit_with_its_structure_tree(document: str, paper: str, language: str, large: bool) -> None:
    limit = LONG_PLAN_LIMIT if document.startswith("plan-26") else EMAIL_LIMIT
    size = tagged_size(render(document, paper, language, large))
    assert size <= limit, f"{size / 1024:.1f} KB, over {limit // 1024} KB"
