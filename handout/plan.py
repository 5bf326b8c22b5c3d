"""The walking plan: week-by-week minutes that build up gradually to a target (pure logic)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Defaults a clinician would accept (guidance.md, "The walking plan"): the
# article's 5–10 minute start, the WalkBack trial's 30 minutes 5 times a week,
# and its 12-week walking diary.
DEFAULT_START_MINUTES = 10
DEFAULT_TARGET_MINUTES = 30
DEFAULT_WALKS_PER_WEEK = 5
DEFAULT_WEEKS = 12

START_RANGE = (1, 60)
TARGET_MAX = 90
WALKS_RANGE = (1, 7)
WEEKS_RANGE = (1, 26)
MAX_WEEKLY_STEP = 5  # minutes per walk added in one week, at most
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a start date outside these is a typing mistake


class PlanInputError(ValueError):
    """One plan input is out of range; `field` names it so the caller can name the option or column."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)  # slots: one a row of a patient list, held for the whole run
class PlanRequest:
    """What the clinician asks for."""

    start_minutes: int = DEFAULT_START_MINUTES
    target_minutes: int = DEFAULT_TARGET_MINUTES
    walks_per_week: int = DEFAULT_WALKS_PER_WEEK
    weeks: int = DEFAULT_WEEKS
    start_date: dt.date = dt.date(2026, 1, 5)

    def __post_init__(self) -> None:
        problems = range_problems(self.start_minutes, self.target_minutes, self.walks_per_week, self.weeks, self.start_date)
        if problems:
            raise problems[0]


def range_problems(start_minutes: int, target_minutes: int, walks_per_week: int, weeks: int, start_date: dt.date) -> list[PlanInputError]:
    """Every input out of range, in field order: the plan rule, for a form that shows every problem at once."""
    start_ok = _range_problem("start_minutes", start_minutes, *START_RANGE) is None
    checks = (
        ("start_minutes", start_minutes, *START_RANGE),
        # The target may not be below the start; against an impossible start, only its own limits apply.
        ("target_minutes", target_minutes, start_minutes if start_ok else START_RANGE[0], TARGET_MAX),
        ("walks_per_week", walks_per_week, *WALKS_RANGE),
        ("weeks", weeks, *WEEKS_RANGE),
    )
    problems = [problem for check in checks if (problem := _range_problem(*check)) is not None]
    if not FIRST_YEAR <= start_date.year <= LAST_YEAR:
        problems.append(PlanInputError("start_date", f"must be a date from {FIRST_YEAR} to {LAST_YEAR}"))
    return problems


def _range_problem(field: str, value: int, low: int, high: int) -> PlanInputError | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return PlanInputError(field, f"must be a whole number from {low} to {high}, not {value}")
    return None


@dataclass(frozen=True)
class Week:
    """One week of the plan."""

    number: int
    start_date: dt.date
    end_date: dt.date
    minutes_per_walk: int
    walks_per_week: int

    @property
    def total_minutes(self) -> int:
        return self.minutes_per_walk * self.walks_per_week

    def days(self) -> tuple[dt.date, ...]:
        return tuple(self.start_date + dt.timedelta(days=i) for i in range(7))


@dataclass(frozen=True)
class Plan:
    """A whole plan; `target_reached` is false when the safe pace cannot get there in time."""

    request: PlanRequest
    weeks: tuple[Week, ...]

    @property
    def target_reached(self) -> bool:
        return self.weeks[-1].minutes_per_walk == self.request.target_minutes

    @property
    def final_minutes(self) -> int:
        return self.weeks[-1].minutes_per_walk

    @property
    def typical_weekly_increase(self) -> int:
        """Minutes added in a typical week of building up, rounded (0 when the plan holds steady)."""
        rises = [b.minutes_per_walk - a.minutes_per_walk for a, b in zip(self.weeks, self.weeks[1:]) if b.minutes_per_walk > a.minutes_per_walk]
        return round(sum(rises) / len(rises)) if rises else 0


def largest_safe_increase(minutes: int) -> int:
    """The most a week may add to `minutes`: 5 minutes, or half again, whichever is less; 1 always."""
    return max(1, min(MAX_WEEKLY_STEP, minutes // 2))


def build_plan(request: PlanRequest) -> Plan:
    """Spread the climb from start to target evenly over the weeks, never faster than is safe."""
    start, target, count = request.start_minutes, request.target_minutes, request.weeks
    # floor[i]: the least a week may hold and still reach the target by the
    # last week at the safe pace. When week 1 is below it, the target is out
    # of reach and the plan climbs as fast as is safe instead.
    floor = [target] * count
    for i in range(count - 2, -1, -1):
        needed = floor[i + 1]
        lowest = needed
        while lowest > 1 and lowest - 1 + largest_safe_increase(lowest - 1) >= needed:
            lowest -= 1
        floor[i] = lowest
    reachable = start >= floor[0]

    minutes = [start]
    for i in range(1, count):
        previous = minutes[-1]
        ceiling = min(target, previous + largest_safe_increase(previous))
        even_pace = start + -(-(target - start) * i // (count - 1))  # ceiling division
        wanted = max(floor[i], even_pace) if reachable else ceiling
        minutes.append(max(previous, min(ceiling, wanted)))

    weeks = tuple(
        Week(
            number=i + 1,
            start_date=request.start_date + dt.timedelta(weeks=i),
            end_date=request.start_date + dt.timedelta(weeks=i, days=6),
            minutes_per_walk=m,
            walks_per_week=request.walks_per_week,
        )
        for i, m in enumerate(minutes)
    )
    return Plan(request, weeks)


def plan_as_json(plan: Plan, patient: str) -> dict[str, object]:
    """The schedule in the integration format documented in the README."""
    return {
        "patient": patient,
        "start_date": plan.request.start_date.isoformat(),
        "target_minutes": plan.request.target_minutes,
        "target_reached": plan.target_reached,
        "weeks": [
            {
                "week": w.number,
                "start_date": w.start_date.isoformat(),
                "end_date": w.end_date.isoformat(),
                "minutes_per_walk": w.minutes_per_walk,
                "walks_per_week": w.walks_per_week,
                "total_minutes": w.total_minutes,
            }
            for w in plan.weeks
        ],
    }
