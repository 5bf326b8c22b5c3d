"""The next plan from a diary read back: it starts from the last week the patient managed, by the same gradual rules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from handout.errors import HandoutError
from handout.plan import START_RANGE

MANAGED = 0.8  # a week counts as managed when at least this share of its planned walks were marked


@dataclass(frozen=True)
class Continuation:
    """Where the next plan starts, and why (for the sentence the plan prints)."""

    start_minutes: int
    target_minutes: int
    walks_per_week: int
    week: int | None  # the last week managed; None when no week read was managed
    walks: int
    planned: int


def continuation(record: dict[str, object]) -> Continuation:
    """From the JSON `handout read-diary --json` writes: the last week done at ≥ 80 % of its planned walks sets the start."""
    plan = record.get("plan")
    weeks = record.get("weeks")
    if not isinstance(plan, dict) or not isinstance(weeks, list):
        raise ValueError("it has no plan and weeks (write it with handout read-diary --json)")
    managed = [w for w in weeks if isinstance(w, dict) and w.get("planned_walks") and w.get("walks", 0) >= MANAGED * w["planned_walks"]]
    target, walks_per_week = int(plan["target_minutes"]), int(plan["walks_per_week"])
    if not managed:
        return Continuation(int(plan["start_minutes"]), target, walks_per_week, None, 0, 0)
    last = max(managed, key=lambda w: w["week"])
    start = min(max(int(last["minutes_per_walk"]), START_RANGE[0]), START_RANGE[1])
    planned = int(last["planned_walks"])
    return Continuation(start, max(target, start), walks_per_week, int(last["week"]), min(int(last["walks"]), planned), planned)


def load_continuation(path: Path) -> Continuation:
    """The continuation from a JSON file; one clear error naming it when it is not a diary reading."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HandoutError(f"{path.name}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise HandoutError(f"{path.name}: not a JSON file from handout read-diary --json") from None
    try:
        return continuation(record if isinstance(record, dict) else {})
    except (ValueError, KeyError, TypeError) as exc:
        raise HandoutError(f"{path.name}: not a diary reading: {exc}") from None
