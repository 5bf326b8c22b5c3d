"""Mistakes a clinic can make end in one line and an exit code: never a traceback, never a half-written file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout.cli import app

from conftest import set_brand_value


def one_line(args: list[str], code: int, *fragments: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == code, (result.exit_code, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("handout: error: ") and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[-1], (fragment, lines[-1])
    return lines[-1]


@pytest.fixture
def patients(tmp_path: Path) -> Path:
    path = tmp_path / "patients.csv"
    path.write_text("name,patient_id,email,consent_email\nJane Doe,P1,jane@example.org,yes\nJo Bloggs,P2,,\n", encoding="utf-8")
    return path


def test_outbox_that_is_a_file_fails_before_any_plan(tmp_path: Path, patients: Path) -> None:
    out = tmp_path / "plans"
    one_line(["batch", str(patients), "--out-dir", str(out), "--outbox", str(patients)], 1, "is a file, not a folder")
    assert not out.exists() or not list(out.glob("*.pdf"))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_broken_template_in_a_batch_is_one_line(tmp_path: Path, patients: Path, workers: str) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "plan.xml.j2").write_text("{% if %}", encoding="utf-8")
    out = tmp_path / "plans"
    one_line(["batch", str(patients), "--out-dir", str(out), "--templates", str(templates), "--workers", workers], 1, "plan.xml.j2, line 1")
    assert not list(out.glob("*.pdf")) if out.exists() else True


def test_template_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "leaflet.xml.j2").write_bytes("<document>café</document>".encode("latin-1"))
    one_line(["leaflet", "--templates", str(tmp_path), "-o", str(tmp_path / "l.pdf")], 1, "not UTF-8")


@pytest.mark.parametrize(
    ("block", "fragment"),
    [
        ('<spacer mm="5000"/>', "from 0 to 100"),
        ('<table widths="0"><row><cell>a</cell></row></table>', "widths must be positive"),
        ("<list></list>", "needs at least one <item>"),
        ('<table widths="1" header="3"><row><cell>a</cell></row></table>', "must be from 0 to its 1 rows"),
        ('<table widths="0.0001,999"><row><cell>a</cell><cell>b</cell></row></table>', "no column narrower"),
        ("{{ brand.name / 2 }}", "failed while being filled in"),
    ],
)
def test_template_content_mistakes(tmp_path: Path, block: str, fragment: str) -> None:
    (tmp_path / "leaflet.xml.j2").write_text('{% extends "builtin/leaflet.xml.j2" %}{% block title %}' + block + "{% endblock %}", encoding="utf-8")
    target = tmp_path / "l.pdf"
    one_line(["leaflet", "--templates", str(tmp_path), "-o", str(target)], 1, fragment)
    assert not target.exists()


def test_a_panel_taller_than_a_page_is_one_line(tmp_path: Path) -> None:
    spacers = '<spacer mm="100"/>' * 4
    (tmp_path / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}{% block title %}<panel kind="note"><p>a</p>' + spacers + "</panel>{% endblock %}", encoding="utf-8"
    )
    one_line(["leaflet", "--templates", str(tmp_path), "-o", str(tmp_path / "l.pdf")], 1, "could not be laid out")


def test_brand_text_no_font_can_print(brand_dir: Path, tmp_path: Path) -> None:
    set_brand_value(brand_dir, "disclaimer", '"一般情報のみ"')
    one_line(["leaflet", "--brand", str(brand_dir), "-o", str(tmp_path / "l.pdf")], 1, "key 'disclaimer'", "U+4E00")


def test_brand_toml_that_is_a_folder(brand_dir: Path, tmp_path: Path) -> None:
    (brand_dir / "brand.toml").unlink()
    (brand_dir / "brand.toml").mkdir()
    one_line(["leaflet", "--brand", str(brand_dir), "-o", str(tmp_path / "l.pdf")], 1, "brand.toml: is a folder, not a regular file")


def test_unparseable_qr_url(tmp_path: Path) -> None:
    one_line(["leaflet", "--qr-url", "http://[abc/x", "-o", str(tmp_path / "l.pdf")], 2, "--qr-url", "not a valid web address")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--patient", "Jane\x01Doe"], "--patient has control characters"),
        (["--patient", "Jane Doe", "--start-date", "9999-12-31"], "--start-date must be a date from 2000 to 2100"),
        (["--patient", "Jane Doe", "--clinician", "Dr 李"], "--clinician has the character U+674E"),
    ],
)
def test_plan_values(tmp_path: Path, args: list[str], fragment: str) -> None:
    target = tmp_path / "p.pdf"
    one_line(["plan", *args, "-o", str(target)], 2, fragment)
    assert not target.exists()


SMTP = {"HANDOUT_SMTP_HOST": "localhost", "HANDOUT_SMTP_SECURITY": "none", "HANDOUT_MAIL_FROM": "plans@example.org"}


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"HANDOUT_SMTP_BACKOFF": "nan"}, "HANDOUT_SMTP_BACKOFF must be a number of seconds from 0 to 60"),
        ({"HANDOUT_SMTP_BACKOFF": "1e308"}, "HANDOUT_SMTP_BACKOFF"),
        ({"HANDOUT_SMTP_ATTEMPTS": "99999999999999999999"}, "HANDOUT_SMTP_ATTEMPTS must be a whole number from 1 to 10"),
        ({"HANDOUT_SMTP_HOST": "a..b", "HANDOUT_SMTP_SECURITY": "starttls"}, "not a valid host name"),
        # "Clinic <plans@example.org>" is accepted since issue 7; a display name around a bad address is not.
        ({"HANDOUT_MAIL_FROM": "Clinic <plans@example>"}, "HANDOUT_MAIL_FROM must be the clinic's sending address"),
        ({"HANDOUT_MAIL_FROM": "plans@example.org\nBcc: x@evil.example"}, "HANDOUT_MAIL_FROM"),
    ],
)
def test_smtp_settings(tmp_path: Path, patients: Path, env: dict[str, str], fragment: str) -> None:
    out = tmp_path / "plans"
    one_line(["batch", str(patients), "--out-dir", str(out), "--send"], 1, fragment, env={**SMTP, **env})
    assert not out.exists() or not list(out.glob("*.pdf"))


def test_cafile_that_is_not_a_certificate(tmp_path: Path, patients: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate", encoding="utf-8")
    env = {**SMTP, "HANDOUT_SMTP_SECURITY": "starttls", "HANDOUT_SMTP_CAFILE": str(bogus)}
    one_line(["batch", str(patients), "--out-dir", str(tmp_path / "plans"), "--send"], 1, "not a readable PEM certificate file", env=env)


def test_output_folder_with_brackets_in_its_name(tmp_path: Path, patients: Path) -> None:
    out = tmp_path / "plans [old]"
    result = CliRunner().invoke(app, ["batch", str(patients), "--out-dir", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "[old]" in result.stdout  # printed as written, not swallowed as markup


def test_template_errors_in_a_batch_never_quote_the_patient(tmp_path: Path, own_data_folder: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "plan.xml.j2").write_text('{% extends "builtin/plan.xml.j2" %}{% block title %}{{ brand[patient.name].x }}{% endblock %}', encoding="utf-8")
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("name,patient_id\nAlice Uniquename,P1\n", encoding="utf-8")
    out = tmp_path / "plans"
    result = CliRunner().invoke(app, ["batch", str(csv_path), "--out-dir", str(out), "--templates", str(templates), "--workers", "1"])
    assert result.exit_code == 1
    assert "row 2 (patient_id P1): could not be rendered" in result.stderr
    assert "Uniquename" not in result.stderr + result.stdout
    assert b"Uniquename" not in (own_data_folder / "handout-journal.sqlite").read_bytes()
