"""The diary's numbers week by week and the record as JSON: what the patient did against what the plan asked, nothing more."""

from __future__ import annotations

from dataclasses import dataclass

from handout.diary.reading import DiaryReading
from handout.plan import Week


@dataclass(frozen=True)
class WeekSummary:
    week: Week
    walks: int  # days marked walked
    planned: int
    minutes: int  # minutes marked, added up
    aim: int  # minutes the plan asked for that week (walks × minutes a walk)
    pain: float | None  # average of the pain marked
    pain_days: int
    unclear: int  # fields that could not be read


def week_summaries(reading: DiaryReading) -> list[WeekSummary]:
    """A summary for every week whose page was read."""
    plan = reading.code.plan()
    result = []
    for week in plan.weeks:
        days = [d for d in reading.days if week.start_date <= d.date <= week.end_date]
        if not days:
            continue
        pains = [d.pain for d in days if d.pain is not None]
        result.append(
            WeekSummary(
                week=week,
                walks=sum(1 for d in days if d.walked),
                planned=week.walks_per_week,
                minutes=sum(d.minutes for d in days if d.minutes is not None),
                aim=week.total_minutes,
                pain=round(sum(pains) / len(pains), 1) if pains else None,
                pain_days=len(pains),
                unclear=sum(len(d.unclear) for d in days),
            )
        )
    return result


def adherence(summaries: list[WeekSummary]) -> tuple[int, int]:
    """Walks done and walks planned over the weeks read (no more than the plan's walks counted in a week)."""
    return sum(min(s.walks, s.planned) for s in summaries), sum(s.planned for s in summaries)


def reading_json(reading: DiaryReading) -> dict[str, object]:
    """The record `--json` writes (its keys are documented in the README)."""
    r = reading.code.request
    summaries = week_summaries(reading)
    done, planned = adherence(summaries)
    return {
        "days": [
            {
                "date": d.date.isoformat(),
                "walked": d.walked,
                "pain": d.pain,
                "minutes": d.minutes,
                "unclear": list(d.unclear),
                "corrected": list(d.corrected),
                "written": list(d.written),
            }
            for d in reading.days
        ],
        "pages": [p.placed.code.pdf_page for p in reading.pages],
        "skipped": [{"file": s.file, "page": s.page, "reason": s.reason} for s in reading.skipped],
        "missing_diary_pages": list(reading.missing),
        "plan": {
            "start_date": r.start_date.isoformat(),
            "start_minutes": r.start_minutes,
            "target_minutes": r.target_minutes,
            "walks_per_week": r.walks_per_week,
            "weeks": r.weeks,
        },
        "weeks": [
            {
                "week": s.week.number,
                "start_date": s.week.start_date.isoformat(),
                "walks": s.walks,
                "planned_walks": s.planned,
                "minutes": s.minutes,
                "aim_minutes": s.aim,
                "minutes_per_walk": s.week.minutes_per_walk,
                "average_pain": s.pain,
                "unclear": s.unclear,
            }
            for s in summaries
        ],
        "adherence": {"walks": done, "planned_walks": planned},
    }
