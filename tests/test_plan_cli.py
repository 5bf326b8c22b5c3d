"""`handout plan` end to end: PDF, JSON, and one-line errors for bad values."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from handout.cli import app

from helpers import body_text

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["plan", *args])


def test_default_plan_file_name_and_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("--patient", "Jane Doe")
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["walking-plan.pdf"]
    assert "Jane" not in result.stdout and "Doe" not in result.stdout
    pdf = (tmp_path / "walking-plan.pdf").read_bytes()
    text = body_text(pdf)
    assert "For Jane Doe" in text
    assert f"Starts on {dt.date.today():%-d %B %Y}" in text
    assert pypdf.PdfReader(tmp_path / "walking-plan.pdf").metadata.title == "Your walking plan"


def test_all_options(tmp_path: Path) -> None:
    target = tmp_path / "plan.pdf"
    result = invoke(
        "--patient", "Jane Doe", "--clinician", "Sam Lee", "--start-minutes", "5", "--target-minutes", "20",
        "--walks-per-week", "3", "--weeks", "6", "--start-date", "2027-01-04", "--with-article",
        "--paper", "letter", "--qr-url", "https://x.example/w", "-o", str(target),
    )
    assert result.exit_code == 0, result.stderr
    text = body_text(target.read_bytes())
    assert "Walk 5 minutes, 3 days a week this week." in text
    assert "Week 6: 8–14 Feb. Aim: 3 walks of" in text
    assert "From Sam Lee" in text and "How Walking Helps Lower Back Pain" in text


def test_json_to_stdout_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("--patient", "Zoë O'Brien-Smith", "--json", "--weeks", "3", "--start-date", "2026-12-07")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == ["patient", "start_date", "target_minutes", "target_reached", "weeks"]
    assert data["patient"] == "Zoë O'Brien-Smith" and data["start_date"] == "2026-12-07"
    assert data["target_minutes"] == 30 and data["target_reached"] is False
    assert data["weeks"][0] == {"week": 1, "start_date": "2026-12-07", "end_date": "2026-12-13", "minutes_per_walk": 10, "walks_per_week": 5, "total_minutes": 50}
    assert [list(w) for w in data["weeks"]][0] == ["week", "start_date", "end_date", "minutes_per_walk", "walks_per_week", "total_minutes"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--start-minutes", "0"], ["--start-minutes", "from 1 to 60"]),
        (["--start-minutes", "-3"], ["--start-minutes", "from 1 to 60"]),
        (["--target-minutes", "5"], ["--target-minutes", "from 10 to 90"]),
        (["--target-minutes", "91"], ["--target-minutes", "from 10 to 90"]),
        (["--walks-per-week", "8"], ["--walks-per-week", "from 1 to 7"]),
        (["--weeks", "27"], ["--weeks", "from 1 to 26"]),
        (["--weeks", "0"], ["--weeks", "from 1 to 26"]),
        (["--weeks", "twelve"], ["--weeks", "must be a whole number"]),
        (["--start-date", "2026-02-30"], ["--start-date", "YYYY-MM-DD"]),
        (["--start-date", "07/12/2026"], ["--start-date", "YYYY-MM-DD"]),
        (["--patient", "   "], ["--patient", "empty"]),
        (["--patient", ""], ["--patient", "empty"]),
    ],
)
def test_bad_values_are_one_line_exit_2_no_file(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    target = tmp_path / "plan.pdf"
    base = ["--patient", "Jane Doe"] if "--patient" not in args else []
    result = invoke(*base, *args, "-o", str(target))
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_missing_patient_is_a_usage_error() -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "--patient" in result.stderr


def test_unprintable_name_fails_naming_the_character_by_code_point_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "plan.pdf"
    result = invoke("--patient", "李华", "-o", str(target))
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "U+674E" in line and "\n" not in line
    assert "李" not in line and "华" not in line, "no part of a patient's name is printed back"
    assert not target.exists()


def test_json_refuses_options_it_would_ignore() -> None:
    result = invoke("--patient", "Jane Doe", "--json", "--email", "jane@example.org", "--consent")
    assert result.exit_code == 2 and "--json only prints the schedule" in result.stderr


def test_bare_handout_prints_help_not_an_error() -> None:
    result = runner.invoke(app, [])
    assert "Usage: " in result.stdout and "handout: error" not in result.stderr
