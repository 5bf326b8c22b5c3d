"""Counts read as plain English: "1 minute", "1 walk", never "1 minutes", on every page a plan can have."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pypdf
import pytest

from handout.brand import load_brand
from handout.content import load_article
from handout.pipeline import Patient, Renderer
from handout.plan import PlanRequest, build_plan

from helpers import all_text, normalise

# A number followed by a countable word in the wrong number: "1 minutes", "2 walk".
WRONG_SINGULAR = re.compile(r"(?<![\d.,])1 (minutes|walks|days|weeks|times)\b")
WRONG_PLURAL = re.compile(r"(?<![\d.,])(?:[02-9]|\d\d+) (minute|walk|day|week|time)\b(?!-| walks?\b)")  # "10 minute walks" is the article's own wording

SMALL_PLANS = [
    {"start_minutes": 1, "target_minutes": 1, "walks_per_week": 1, "weeks": 1},
    {"start_minutes": 1, "target_minutes": 2, "walks_per_week": 1, "weeks": 2},
    {"start_minutes": 1, "target_minutes": 3, "walks_per_week": 2, "weeks": 3},
    {"start_minutes": 1, "target_minutes": 60, "walks_per_week": 7, "weeks": 3},
    {"start_minutes": 2, "target_minutes": 2, "walks_per_week": 1, "weeks": 1},
]


def test_the_checker_catches_wrong_numbers() -> None:
    assert WRONG_SINGULAR.search("Walk 1 minutes, 5 days a week")
    assert WRONG_PLURAL.search("Walk 3 minute, 5 days a week")
    assert not WRONG_SINGULAR.search("Walk 1 minute, 11 minutes, 21 days") and not WRONG_PLURAL.search("Walk 1 minute, 11 minutes, a 5-minute walk")


@pytest.mark.parametrize("request_values", SMALL_PLANS, ids=lambda r: "-".join(str(v) for v in r.values()))
def test_counts_agree_with_their_nouns_everywhere_in_a_plan(request_values: dict[str, int]) -> None:
    plan = build_plan(PlanRequest(start_date=dt.date(2026, 12, 7), **request_values))
    pdf = Renderer(load_brand(), "a4").plan(Patient("Jane Doe"), plan, load_article(), dt.date(2026, 11, 27), with_article=True)
    text = normalise(all_text(pdf))
    assert not WRONG_SINGULAR.findall(text), WRONG_SINGULAR.findall(text)
    assert not WRONG_PLURAL.findall(text), WRONG_PLURAL.findall(text)
    assert f"Walk {request_values['start_minutes']} minute" in text


def test_a_one_week_plan_says_so_even_when_it_holds_steady() -> None:
    plan = build_plan(PlanRequest(start_date=dt.date(2026, 12, 7), start_minutes=30, target_minutes=30, walks_per_week=1, weeks=1))
    text = normalise(all_text(Renderer(load_brand(), "a4").plan(Patient("Jane Doe"), plan, load_article(), dt.date(2026, 11, 27))))
    assert "This plan is for one week." in text and "each week" not in text


def test_a_phone_number_is_never_split_over_two_lines(brand_dir: Path) -> None:
    from conftest import set_brand_value

    # In large print's 14 pt footer this name puts the line's end inside the phone number.
    set_brand_value(brand_dir, "name", '"The Exampleton Spinal Heal"')
    set_brand_value(brand_dir, "phone", '"+44 (0)1632 960 123 ext. 4567"')
    pdf = Renderer(load_brand(brand_dir), "a4", large_print=True).leaflet(load_article())
    lines = [line.replace("\xa0", " ") for page in pypdf.PdfReader(io.BytesIO(pdf)).pages for line in page.extract_text().splitlines()]
    with_extension = [line for line in lines if "4567" in line]
    assert with_extension, lines
    for line in with_extension:  # the masthead and every footer
        assert "+44 (0)1632 960 123 ext. 4567" in line, line
