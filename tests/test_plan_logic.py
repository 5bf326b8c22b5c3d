"""The walking plan's rules hold over the whole input range (property-based, hypothesis)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handout.plan import PlanInputError, PlanRequest, build_plan, largest_safe_increase, plan_as_json


@st.composite
def requests(draw: st.DrawFn) -> PlanRequest:
    start = draw(st.integers(1, 60))
    return PlanRequest(
        start_minutes=start,
        target_minutes=draw(st.integers(start, 90)),
        walks_per_week=draw(st.integers(1, 7)),
        weeks=draw(st.integers(1, 26)),
        start_date=draw(st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31))),
    )


def fastest_safe_final(request: PlanRequest) -> int:
    """Where the quickest plan the limits allow would end: the target is reachable iff this reaches it."""
    minutes = request.start_minutes
    for _ in range(request.weeks - 1):
        minutes = min(request.target_minutes, minutes + largest_safe_increase(minutes))
    return minutes


@settings(max_examples=600, deadline=None)
@given(requests())
def test_plan_keeps_every_rule(request: PlanRequest) -> None:
    plan = build_plan(request)
    minutes = [w.minutes_per_walk for w in plan.weeks]
    assert len(plan.weeks) == request.weeks
    assert minutes[0] == request.start_minutes
    for before, after in zip(minutes, minutes[1:]):
        assert isinstance(after, int)
        assert before <= after <= request.target_minutes, minutes
        rise = after - before
        assert rise <= 5, minutes
        assert rise <= 1 or rise <= before / 2, minutes
    reachable = fastest_safe_final(request) == request.target_minutes
    assert plan.target_reached == reachable
    if reachable:
        assert minutes[-1] == request.target_minutes
    else:
        assert minutes[-1] == fastest_safe_final(request)  # as close as is safe
    for index, week in enumerate(plan.weeks):
        assert week.number == index + 1
        assert week.start_date == request.start_date + dt.timedelta(days=7 * index)
        assert week.end_date - week.start_date == dt.timedelta(days=6)
        assert week.walks_per_week == request.walks_per_week
        assert week.total_minutes == week.minutes_per_walk * request.walks_per_week


def test_default_plan_climbs_evenly_to_thirty() -> None:
    plan = build_plan(PlanRequest(start_date=dt.date(2026, 12, 7)))
    assert [w.minutes_per_walk for w in plan.weeks] == [10, 12, 14, 16, 18, 20, 21, 23, 25, 27, 29, 30]
    assert plan.target_reached and plan.typical_weekly_increase == 2


def test_one_minute_start_can_still_grow() -> None:
    plan = build_plan(PlanRequest(start_minutes=1, target_minutes=30, weeks=12, start_date=dt.date(2026, 1, 5)))
    minutes = [w.minutes_per_walk for w in plan.weeks]
    assert minutes[:4] == [1, 2, 3, 4] and minutes[-1] == 30


def test_short_plan_ends_below_target_without_error() -> None:
    plan = build_plan(PlanRequest(start_minutes=5, target_minutes=60, weeks=4, start_date=dt.date(2026, 1, 5)))
    assert [w.minutes_per_walk for w in plan.weeks] == [5, 7, 10, 15]
    assert not plan.target_reached and plan.final_minutes == 15


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("start_minutes", {"start_minutes": 0}),
        ("start_minutes", {"start_minutes": -5}),
        ("start_minutes", {"start_minutes": 61, "target_minutes": 61}),
        ("target_minutes", {"start_minutes": 20, "target_minutes": 10}),
        ("target_minutes", {"target_minutes": 91}),
        ("walks_per_week", {"walks_per_week": 8}),
        ("walks_per_week", {"walks_per_week": 0}),
        ("weeks", {"weeks": 27}),
        ("weeks", {"weeks": 0}),
    ],
)
def test_out_of_range_inputs_name_the_field(field: str, kwargs: dict[str, int]) -> None:
    with pytest.raises(PlanInputError) as caught:
        PlanRequest(**kwargs)
    assert caught.value.field == field
    assert "must be a whole number from" in caught.value.problem


def test_json_form() -> None:
    plan = build_plan(PlanRequest(weeks=2, start_date=dt.date(2026, 12, 7)))
    assert plan_as_json(plan, "Jane Doe") == {
        "patient": "Jane Doe",
        "start_date": "2026-12-07",
        "target_minutes": 30,
        "target_reached": False,
        "weeks": [
            {"week": 1, "start_date": "2026-12-07", "end_date": "2026-12-13", "minutes_per_walk": 10, "walks_per_week": 5, "total_minutes": 50},
            {"week": 2, "start_date": "2026-12-14", "end_date": "2026-12-20", "minutes_per_walk": 15, "walks_per_week": 5, "total_minutes": 75},
        ],
    }
