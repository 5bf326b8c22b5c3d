"""Issue 15, item 17: the command-line batch writes report.txt (every row's outcome and reason), as the page's ZIP does,
and its summary gives the failed rows' reasons."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from handout.cli import app

ENV = {"HANDOUT_MAIL_FROM": "plans@example-physio.org"}


def test_the_batch_writes_every_rows_outcome_and_reason_to_report_txt(tmp_path: Path) -> None:
    rows = ["Ann Able,P1,ann@example.org,yes,1", "Ben Bold,P2,,no,1", "Cat Cole,P3,not-an-address,yes,1", "Dan Dale,P4,dan@example.org,yes,0"]
    rows += [f"Patient {i},Q{i},,no,1" for i in range(35)]  # more than the table lists: the report still has every row
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("name,patient_id,email,consent_email,weeks\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "plans"
    result = CliRunner().invoke(app, ["batch", str(csv_path), "--out-dir", str(out), "--workers", "1"], env=ENV)
    assert result.exit_code == 1
    report = (out / "report.txt").read_text(encoding="utf-8")
    assert report.startswith("handout batch report\n")
    assert "Emails in the outbox: 1 (P1 (row 2))" in report
    assert "Q34 (row 40)" in report and "more" not in report, "the report lists every row, not the table's first 30"
    assert "P3 (row 4): email is not a valid email address" in report
    assert "P4 (row 5): weeks must be" in report
    assert not any(name in report for name in ("Ann", "Ben", "Cat", "Dan", "Patient 3"))
    assert stat.S_IMODE((out / "report.txt").stat().st_mode) == 0o600
    # The summary on the terminal gives the reasons too, and says where the report is.
    assert "P3 (row 4): email is not a valid email address" in result.stdout
    assert "report.txt" in result.stdout


def test_a_report_txt_the_user_wrote_is_left_alone(tmp_path: Path) -> None:
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("name,patient_id\nAnn Able,P1\n", encoding="utf-8")
    out = tmp_path / "plans"
    out.mkdir()
    (out / "report.txt").write_text("my own notes\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["batch", str(csv_path), "--out-dir", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.stderr
    assert (out / "report.txt").read_text(encoding="utf-8") == "my own notes\n"
    assert "report.txt was not written by handout" in result.stderr


def test_the_progress_bar_is_drawn_on_a_terminal_only() -> None:
    """A batch run from a scheduled job or into a log file draws no bar (it would show nothing there, and cost the run CPU)."""
    import io

    from rich.console import Console

    from handout.report import ConsoleReporter

    for terminal in (True, False):
        reporter = ConsoleReporter()
        shown = io.StringIO()
        reporter.console = Console(file=shown, force_terminal=terminal, width=80)
        reporter.start(3)
        assert (reporter.progress is not None) is terminal
        reporter.advance()
        reporter.finish()
        assert reporter.progress is None
        assert ("Rendering plans" in shown.getvalue()) is terminal
