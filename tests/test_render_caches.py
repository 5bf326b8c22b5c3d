"""The per-process render caches never leak one document into another: documents made one after another in one
process are byte for byte what fresh processes make of each (paragraph parsing and line breaking, font subsets,
diary circle rows and page layouts, drawn diary geometry, text codes)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from reportlab.pdfgen.canvas import Canvas

from handout.diary.code import PageCode, plan_tag
from handout.diary.layout import PageLayout, minutes_values, page_layout, weeks_per_page
from handout.plan import PlanRequest
from handout.render.diary import drawn_layout, kept_page_layout

from conftest import set_brand_value

ROOT = Path(__file__).resolve().parents[1]

# Renders each spec in order in one process, printing each PDF's sha256 (a spec: {"kind": "plan"|"leaflet", **options}).
RENDER = """
import datetime as dt, hashlib, json, sys
from handout import api
for spec in json.loads(sys.argv[1]):
    kind = spec.pop("kind")
    if kind == "plan":
        spec["start_date"] = dt.date.fromisoformat(spec["start_date"])
        spec["issued"] = dt.date(2026, 11, 27)
        pdf = api.render_plan(**spec)
    else:
        pdf = api.render_leaflet(**spec)
    print(hashlib.sha256(pdf).hexdigest())
"""


def digests(specs: list[dict[str, Any]]) -> list[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1795000000"}  # the leaflet's date
    result = subprocess.run([sys.executable, "-c", RENDER, json.dumps(specs)], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_documents_made_in_one_process_are_what_fresh_processes_make(brand_dir: Path) -> None:
    # Another clinic: another colour for the headings (a paragraph style's value), another name (other characters).
    set_brand_value(brand_dir, "primary_colour", '"#5A1D7A"')
    set_brand_value(brand_dir, "name", '"Zoë Łukasz Physio"')
    other = str(brand_dir)
    specs: list[dict[str, Any]] = [
        {"kind": "plan", "patient": "Jane Doe", "clinician": "Sam Lee", "start_date": "2026-12-07"},
        # Same words in another brand, language, paper and print size, for a name with other letters.
        {"kind": "plan", "patient": "Łukasz Żółć", "start_date": "2026-12-09", "brand": other, "language": "es", "paper": "letter", "large_print": True},
        {"kind": "leaflet", "brand": other},
        {"kind": "plan", "patient": "Sam Lee-Smith", "start_date": "2027-01-04", "weeks": 1, "with_article": True, "large_print": True},
        {"kind": "plan", "patient": "Zoë Quick", "clinician": "Sam Lee", "start_date": "2026-12-07", "weeks": 26},
        # Another patient's plan of the first's length and paper: other dates, other minutes (the same circles on some
        # pages, other circles on others: 30 → 60 minutes rounds in tens and fifteens), other walks.
        {"kind": "plan", "patient": "José Núñez", "start_date": "2027-03-01", "start_minutes": 30, "target_minutes": 60, "walks_per_week": 3},
        {"kind": "plan", "patient": "Renée Weiß", "start_date": "2026-06-30", "start_minutes": 12, "target_minutes": 28, "weeks": 11},
        {"kind": "plan", "patient": "Jane Doe", "clinician": "Sam Lee", "start_date": "2026-12-07"},  # the first again, all warm
    ]
    fresh = [digests([spec])[0] for spec in specs[:-1]]
    in_turn = digests(specs)
    assert in_turn == [*fresh, fresh[0]]


def test_a_kept_diary_page_layout_is_the_page_layout() -> None:
    for paper, large_print, request, tag, diary_page, pdf_page in (
        ("a4", False, PlanRequest(10, 30, 5, 12, dt.date(2026, 12, 7)), plan_tag("Jane Doe", dt.date(2026, 11, 27)), 1, 3),
        ("a4", False, PlanRequest(10, 30, 5, 12, dt.date(2026, 12, 7)), plan_tag("Sam Lee", dt.date(2026, 11, 28)), 1, 4),
        ("a4", False, PlanRequest(12, 30, 5, 12, dt.date(2026, 12, 14)), plan_tag("Sam Lee", dt.date(2026, 11, 28)), 1, 4),
        ("letter", True, PlanRequest(10, 30, 4, 26, dt.date(2027, 1, 4)), plan_tag("Jane Doe", dt.date(2026, 11, 27)), 5, 9),
    ):
        code = PageCode(paper, large_print, 80, request, tag, diary_page, pdf_page)
        assert kept_page_layout(code) == page_layout(code)


def drawn_parts(layout: PageLayout) -> tuple[object, ...]:
    """Everything of a page's layout that its drawing reads: every place and number, no date."""
    weeks = tuple(
        (w.week.number, w.heading, w.header, w.labels, w.numbers, w.rows, w.columns, w.line_rules,
         tuple((a.field, a.value, a.rect, a.centre, a.size, a.cell) for a in w.areas), tuple((c.field, c.rect) for c in w.cells))
        for w in layout.weeks
    )  # fmt: skip
    return (layout.code, layout.width, layout.height, layout.sizes, layout.marks, layout.qr, layout.band, weeks)


def shape_of(code: PageCode) -> tuple[tuple[int, tuple[int, ...]], ...]:
    per = weeks_per_page(code.paper, code.large_print, code.bottom)
    weeks = code.plan().weeks[(code.diary_page - 1) * per : code.diary_page * per]
    return tuple((w.number, minutes_values(w.minutes_per_walk)) for w in weeks)


def test_the_drawn_diary_geometry_is_every_plans_own_wherever_it_was_first_worked_out() -> None:
    """Plans of other dates and minutes share a drawn geometry: each one's places and numbers are its own page layout's."""
    requests = [PlanRequest(10, 30, 5, 12, dt.date(2026, 12, 7)), PlanRequest(12, 28, 3, 12, dt.date(2027, 6, 30)), PlanRequest(30, 60, 4, 12, dt.date(2026, 2, 2))]
    requests += [PlanRequest(20, 90, 7, 26, dt.date(2026, 12, 28)), PlanRequest(5, 35, 6, 11, dt.date(2027, 1, 1))]
    for paper, large_print in (("a4", False), ("letter", True)):
        for request in requests:
            for diary_page in range(1, 4):
                code = PageCode(paper, large_print, 80, request, plan_tag("Jane Doe", dt.date(2026, 11, 27)), diary_page, diary_page + 2)
                assert drawn_parts(drawn_layout(code, shape_of(code))) == drawn_parts(page_layout(code))


def test_with_the_shortcuts_off_reportlab_writes_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The canvas writes most diary strings, fill colours and shown text itself, the diary weeks' furniture is written
    from its kept operators, a form already written is placed without drawing its furniture again, forms are written
    as ready-made bytes, and the caches stand in for ReportLab's parsing, line breaking and subsetting: with all of
    them switched off, the very same bytes."""
    from handout import api
    from handout.render import diary, diary_kept, packing, paragraphs, reused, tagged_flowables, tagging

    def documents() -> list[bytes]:
        return [
            api.render_plan(patient="Zoë Ångström", start_date=dt.date(2026, 12, 7), issued=dt.date(2026, 11, 27), language=language, large_print=large)
            for language, large in (("en", False), ("es", True))
        ]

    direct = documents()
    assert documents() == direct  # the second time every diary week's furniture is written from what the first kept
    monkeypatch.setattr(diary_kept, "_found", lambda table, week: None)  # nothing kept: every week drawn by ReportLab's calls
    assert documents() == direct
    monkeypatch.setattr(reused, "_known_of", lambda doc: {})  # no form placed without drawing its furniture again
    assert documents() == direct
    monkeypatch.setattr(packing, "_form", lambda form, document: None)  # every form XObject written by ReportLab's formatter
    assert documents() == direct
    monkeypatch.setattr(tagging, "_escaped", lambda *args: None)
    monkeypatch.setattr(tagging.TaggedCanvas, "_show_at", lambda *args: False)
    monkeypatch.setattr(tagging.TaggedCanvas, "setFillColor", Canvas.setFillColor)
    assert documents() == direct
    monkeypatch.setattr(paragraphs, "KeptParagraph", tagged_flowables.TaggedParagraph)  # what fonts.paragraph makes
    monkeypatch.setattr(diary, "kept_page_layout", page_layout)
    assert documents() == direct
