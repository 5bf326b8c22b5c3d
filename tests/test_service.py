"""The service layer both faces call: one rule for a plan's fields, every problem tied to its field, the same words."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from handout.cli import app
from handout.service import CLI_LABELS, FormProblems, PlanForm, check_plan_form

TODAY = dt.date(2026, 11, 28)
WEB_LABELS = {**CLI_LABELS, "patient": "Patient name", "weeks": "Weeks", "start_date": "Start date", "email": "Email", "consent": "the consent box", "encrypt": "a PDF password"}


def problems(form: PlanForm, labels: dict[str, str] = CLI_LABELS) -> dict[str, str]:
    with pytest.raises(FormProblems) as caught:
        check_plan_form(form, TODAY, labels)
    return {p.field: p.message for p in caught.value.problems}


def test_every_wrong_field_is_reported_at_once_each_tied_to_its_field() -> None:
    found = problems(PlanForm(patient=" ", weeks="30", email="not-an-address", qr_url="ftp://x"), WEB_LABELS)
    assert found == {
        "patient": "Patient name must not be empty",
        "weeks": "Weeks must be a whole number from 1 to 26, not 30",
        "email": "Email is not a valid email address",
        "qr_url": "--qr-url: the QR URL must start with https:// or http:// and name a website, not 'ftp://x'",
    }


@pytest.mark.parametrize(
    ("form", "args"),
    [
        (PlanForm(patient=""), ["--patient", ""]),
        (PlanForm(patient="Jane", weeks="30"), ["--patient", "Jane", "--weeks", "30"]),
        (PlanForm(patient="Jane", start_date="2026-02-30"), ["--patient", "Jane", "--start-date", "2026-02-30"]),
        (PlanForm(patient="Jane", email="jane@example.org"), ["--patient", "Jane", "--email", "jane@example.org"]),
        (PlanForm(patient="Jane", language="fr"), ["--patient", "Jane", "--lang", "fr"]),
        (PlanForm(patient="Jane\u202e"), ["--patient", "Jane\u202e"]),
        (PlanForm(patient="Jane 中"), ["--patient", "Jane 中"]),
    ],
)
def test_the_command_line_says_exactly_what_the_service_says(form: PlanForm, args: list[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    said = problems(form)
    result = CliRunner().invoke(app, ["plan", *args, "-o", str(tmp_path / "p.pdf")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"handout: error: {next(iter(said.values()))}"
    assert not (tmp_path / "p.pdf").exists()


def test_the_same_problem_in_other_labels_keeps_its_words() -> None:
    cli = problems(PlanForm(patient="Jane", walks_per_week="9"))["walks_per_week"]
    web = problems(PlanForm(patient="Jane", walks_per_week="9"), {**CLI_LABELS, "walks_per_week": "Walks a week"})["walks_per_week"]
    assert cli.removeprefix("--walks-per-week ") == web.removeprefix("Walks a week ")


def test_a_good_form_is_an_order_whose_password_never_shows() -> None:
    order = check_plan_form(PlanForm(patient="Jane Doe", weeks="4", email="jane@example.org", encrypt=True, password="Walk-2-day"), TODAY)
    assert order.schedule.weeks[-1].number == 4 and order.email == "jane@example.org"
    assert "Walk-2-day" not in repr(order)
    assert problems(PlanForm(patient="Jane", encrypt=True, password="short"))["password"].startswith("the PDF password must be at least 8")
