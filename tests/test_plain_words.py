"""Counts read as plain English: "1 minute", "1 walk", never "1 minutes", on every page a plan can have."""

from __future__ import annotations

import datetime as dt
import re

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
