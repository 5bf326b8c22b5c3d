"""The README works for a newcomer: its contents links resolve, its sample list and mail settings work as shown, and --help names the columns."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout.cli import app
from handout.patients import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from handout.smtp import SmtpSettings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def test_the_contents_links_go_to_headings() -> None:
    contents = README[README.index("**Contents:**") : README.index("## Quick start")]
    anchors = {github_anchor(h) for h in re.findall(r"^#{2,4} (.+)$", README, re.MULTILINE)}
    links = re.findall(r"\]\(#([^)]+)\)", contents)
    assert len(links) >= 20
    assert [link for link in links if link not in anchors] == []


def test_the_first_batch_example_runs_on_the_sample_list_in_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = next(line for block in code_blocks("sh") for line in block.splitlines() if line.startswith("handout batch"))
    args = shlex.split(first.split("#")[0])
    assert args[:3] == ["handout", "batch", "assets/examples/patients.csv"]
    sample = ROOT / args[2]
    assert code_blocks("csv")[0] == sample.read_text(encoding="utf-8")  # the README shows the file as it is
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["batch", str(sample), *args[3:], "--workers", "1"])
    assert result.exit_code == 0, result.stderr
    assert len(list(Path("plans/outbox").glob("*.eml"))) == 3  # as the README says: three agreed to email
    assert (Path("plans") / "to-print.txt").read_text(encoding="utf-8").count("\n") == 3  # header and two to print


def test_the_ready_to_copy_mail_settings_are_a_valid_port_587_login() -> None:
    block = next(block for block in code_blocks("sh") if "HANDOUT_SMTP_HOST=" in block)
    env: dict[str, str] = {}
    for line in block.splitlines():
        if line.startswith("export ") and "=" in line:
            name, value = shlex.split(line.split("  #")[0])[1].split("=", 1)
            env[name] = value
    assert "HANDOUT_SMTP_PASSWORD" in block and "read -rs HANDOUT_SMTP_PASSWORD" in block  # never typed into the history
    settings = SmtpSettings.from_env({**env, "HANDOUT_SMTP_PASSWORD": "app-password"})
    assert (settings.port, settings.security, settings.username) == (587, "starttls", "plans@your-clinic.org")
    assert (settings.mail_from.local_part, settings.mail_from.ascii_domain, settings.mail_from.display_name) == ("plans", "your-clinic.org", "Your Clinic")


def test_the_readme_says_what_to_do_with_the_outbox() -> None:
    assert "**What to do with the `.eml` files.**" in README
    section = README[README.index("**What to do with the `.eml` files.**") :].split("\n\n")[0]
    assert "--send" in section and "delete the outbox" in section


def test_one_plan_by_email_is_under_plan_and_the_batch_section_has_sub_sections() -> None:
    plan = README[README.index("### `handout plan`") : README.index("### `handout batch`")]
    batch = README[README.index("### `handout batch`") : README.index("### `handout init-brand`")]
    assert "#### One plan by email" in plan and "One plan by email" not in batch
    assert len(re.findall(r"^#### ", batch, re.MULTILINE)) >= 5


def test_batch_help_lists_every_column_and_names_its_placeholders() -> None:
    result = CliRunner().invoke(app, ["batch", "--help"])
    assert result.exit_code == 0
    for column in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
        assert re.search(rf"\b{column}\b", result.stdout), column
    assert "PATIENTS_CSV" in result.stdout and "--out-dir DIRECTORY" in result.stdout and "--outbox DIRECTORY" in result.stdout
    assert "OUT_DIR" not in result.stdout
    usage = CliRunner().invoke(app, ["init-brand", "--help"], prog_name="handout").stdout.splitlines()[0]
    assert usage == "Usage: handout init-brand [OPTIONS] {DIRECTORY}"
