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


@pytest.mark.parametrize("patient_id", ["to-print", "TO-PRINT", "to-print-2", "to-print-list", "to-print-abc", "To-Print.x", "row-7"])
def test_a_patient_id_spelled_like_a_file_handout_names_itself_is_refused(tmp_path: Path, patient_id: str) -> None:
    # Else Alice's plan, saved as to-print.pdf, is overwritten by the merged plans of everyone else to print.
    result = batch(tmp_path, f"name,patient_id\nAlice Able,{patient_id}\nBob Bell,P2\n")
    assert result.exit_code == 1
    assert f"row 2 (patient_id {patient_id}): patient_id must not begin with to-print or be row-N (N a number)" in result.stderr
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


def test_a_failed_strict_run_removes_only_the_to_print_files_handout_made(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    assert batch(tmp_path, "name,patient_id\nAlice Able,P1\n").exit_code == 0
    made = sorted(p.name for p in plans.glob("to-print*"))
    assert made == ["to-print-list.pdf", "to-print.pdf", "to-print.txt"]
    # A plan from an older version with such a patient_id, and the clinic's own notes, beside them.
    (plans / "to-print-abc.pdf").write_bytes((plans / "P1.pdf").read_bytes())
    (plans / "to-print-notes.pdf").write_bytes(b"%PDF-1.7 the clinic's own notes")
    result = batch(tmp_path, "name,patient_id,weeks\nAlice Able,P1,99\nBob Bell,P2,4\n", "--strict")
    assert result.exit_code == 1 and "1 bad row" in result.stderr
    assert sorted(p.name for p in plans.glob("to-print*")) == ["to-print-abc.pdf", "to-print-notes.pdf"]
    assert (plans / "to-print-notes.pdf").read_bytes() == b"%PDF-1.7 the clinic's own notes"


def test_a_users_own_file_with_a_to_print_name_is_never_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("to-print.txt").write_text("my shopping list\n", encoding="utf-8")
    Path("patients.csv").write_text("name,patient_id\nAlice Able,P1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["batch", "patients.csv", "--out-dir", ".", "--workers", "1"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "handout: error: to-print.txt: handout names its to-print files so, but did not make this one; move or rename it, or choose another --out-dir"
    ]
    assert Path("to-print.txt").read_text(encoding="utf-8") == "my shopping list\n"
    assert not Path("P1.pdf").exists()  # refused before any plan was made
    Path("to-print.txt").unlink()
    assert CliRunner().invoke(app, ["batch", "patients.csv", "--out-dir", ".", "--workers", "1"]).exit_code == 0
    assert Path("to-print.txt").exists() and Path("patients.csv").exists()
    result = CliRunner().invoke(app, ["batch", "patients.csv", "--out-dir", ".", "--workers", "1"])  # its own files: replaced
    assert result.exit_code == 0, result.stderr


def test_to_print_files_of_a_version_before_the_manifest_are_still_removed(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    assert batch(tmp_path, "name,patient_id\nAlice Able,P1\n").exit_code == 0
    (plans / ".handout-to-print").unlink()  # as an earlier version left the folder
    result = batch(tmp_path, "name,patient_id,weeks\nAlice Able,P1,99\n", "--strict")
    assert result.exit_code == 1
    assert list(plans.glob("to-print*")) == []


def test_only_handouts_own_half_written_files_are_swept(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / ".P9.pdf.ab_cd123.part").write_bytes(b"half a plan")
    (plans / ".holiday.part").write_bytes(b"a download of the user's")
    assert batch(tmp_path, "name,patient_id\nAlice Able,P1\n").exit_code == 0
    assert sorted(p.name for p in plans.glob(".*.part")) == [".holiday.part"]
