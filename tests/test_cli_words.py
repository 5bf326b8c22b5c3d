"""The command line's own words: every message a user can meet is plain, names only what was typed, and says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout.cli import app

runner = CliRunner()


def one_line(args: list[str], code: int, *fragments: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("handout: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.mark.parametrize(("value", "words"), [("0", "must be at least 1"), ("65", "must be at most 64")])
def test_number_limits_read_as_plain_words(tmp_path: Path, value: str, words: str) -> None:
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("name\nJane Doe\n", encoding="utf-8")
    line = one_line(["batch", str(csv_path), "--workers", value], 2, "--workers", words)
    assert "Input should" not in line


def test_json_with_an_output_file_says_where_the_json_goes(tmp_path: Path) -> None:
    target = tmp_path / "x.pdf"
    one_line(["plan", "--patient", "Jane Doe", "--json", "-o", str(target)], 2, "--json", "-o")
    assert not target.exists()


def test_batch_help_names_its_argument_as_the_readme_does() -> None:
    result = runner.invoke(app, ["batch", "--help"])
    assert result.exit_code == 0
    assert "PATIENTS_CSV" in result.stdout.splitlines()[0]  # Typer marks a required argument with braces: {PATIENTS_CSV}


def test_an_empty_password_variable_is_named_as_set_but_empty(tmp_path: Path) -> None:
    one_line(
        ["plan", "--patient", "Jane Doe", "--encrypt", "-o", str(tmp_path / "p.pdf")],
        2,
        "HANDOUT_PDF_PASSWORD is set but empty",
        env={"HANDOUT_PDF_PASSWORD": ""},
    )
    assert not (tmp_path / "p.pdf").exists()
