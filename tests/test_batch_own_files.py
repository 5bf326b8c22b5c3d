"""A batch's own files (to-print.pdf, row-N.pdf) and settings can never be confused with a patient's plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout.cli import app


def batch(tmp_path: Path, csv: str, *extra: str):
    path = tmp_path / "patients.csv"
    path.write_text(csv, encoding="utf-8")
    return CliRunner().invoke(app, ["batch", str(path), "--out-dir", str(tmp_path / "plans"), "--workers", "1", *extra])


@pytest.mark.parametrize("patient_id", ["to-print", "TO-PRINT", "to-print-2", "to-print-list", "row-7"])
def test_a_patient_id_spelled_like_a_file_handout_names_itself_is_refused(tmp_path: Path, patient_id: str) -> None:
    # Else Alice's plan, saved as to-print.pdf, is overwritten by the merged plans of everyone else to print.
    result = batch(tmp_path, f"name,patient_id\nAlice Able,{patient_id}\nBob Bell,P2\n")
    assert result.exit_code == 1
    assert f"row 2 (patient_id {patient_id}): patient_id must not be row-N, to-print, to-print-N or to-print-list" in result.stderr
    plans = tmp_path / "plans"
    assert sorted(p.name for p in plans.glob("*.pdf")) == ["P2.pdf", "to-print-list.pdf", "to-print.pdf"]
    assert "Alice" not in (plans / "to-print.txt").read_text(encoding="utf-8")


def test_a_bad_source_date_epoch_stops_the_batch_once_before_any_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    result = batch(tmp_path, "name,patient_id\nAlice Able,P1\nBob Bell,P2\n")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == ["handout: error: SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 UTC, not 'yesterday'"]
    assert not list((tmp_path / "plans").glob("*.pdf")) if (tmp_path / "plans").exists() else True


def test_the_summary_says_how_the_list_was_read_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # short paths make a narrow table, which a caption would wrap within
    Path("p.csv").write_bytes("\ufeffname,patient_id\nAlice Able,P1\n".encode())
    result = CliRunner().invoke(app, ["batch", "p.csv", "--out-dir", "p", "--workers", "1"])
    assert result.exit_code == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "Patient list read as" in line]
    assert line.strip() == "Patient list read as UTF-8 (with a byte-order mark)"


def test_a_brands_broken_to_print_sheet_template_stops_the_batch_before_any_plan(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "to-print.xml.j2").write_text("<document>{% if %}</document>", encoding="utf-8")
    result = batch(tmp_path, "name,patient_id\nAlice Able,P1\n", "--templates", str(templates))
    assert result.exit_code == 1 and "to-print.xml.j2" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "plans").exists() or not list((tmp_path / "plans").glob("*.pdf"))
