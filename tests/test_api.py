"""handout.api: the same PDFs as the command line, byte for byte, and the same one-line messages for the same mistakes."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from handout import api
from handout.cli import app

from conftest import set_brand_value
from helpers import all_text

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2027, 1, 4)


def cli_pdf(args: list[str], tmp_path: Path) -> bytes:
    """What `handout ARGS` writes, run in this process."""
    target = tmp_path / f"cli-{len(list(tmp_path.iterdir()))}.pdf"
    result = CliRunner().invoke(app, [*args, "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target.read_bytes()


def cli_message(args: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> tuple[str, int]:
    """The one line `handout ARGS` prints for a mistake, without its prefix and its pointer to --help, and its exit code."""
    target = tmp_path / "never.pdf"
    result = CliRunner().invoke(app, [*args, "-o", str(target)], env=env, prog_name="handout")
    assert result.exit_code != 0
    assert not target.exists()
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("handout: error: ")
    return re.sub(r" \(see '\S+ \w+ --help'\)$", "", line.removeprefix("handout: error: ")), result.exit_code


@pytest.mark.parametrize(
    ("kwargs", "args"),
    [
        ({}, []),
        ({"paper": "letter", "language": "es"}, ["--paper", "letter", "--lang", "es"]),
        ({"large_print": True, "qr_url": "https://clinic.example/back"}, ["--large-print", "--qr-url", "https://clinic.example/back"]),
        ({"layout": "trifold", "paper": "Letter"}, ["--layout", "trifold", "--paper", "Letter"]),
    ],
)
def test_a_leaflet_is_byte_for_byte_the_command_lines(kwargs: dict[str, Any], args: list[str], tmp_path: Path) -> None:
    assert api.render_leaflet(**kwargs) == cli_pdf(["leaflet", *args], tmp_path)


PLAN_CASES = [
    ({}, []),
    (
        {"clinician": "Sam Lee", "start_minutes": 5, "target_minutes": 40, "walks_per_week": 4, "weeks": 26, "paper": "letter"},
        ["--clinician", "Sam Lee", "--start-minutes", "5", "--target-minutes", "40", "--walks-per-week", "4", "--weeks", "26", "--paper", "letter"],
    ),
    ({"language": "es", "large_print": True, "with_article": True}, ["--lang", "es", "--large-print", "--with-article"]),
]


@pytest.mark.parametrize(("kwargs", "args"), PLAN_CASES)
def test_a_plan_is_byte_for_byte_the_command_lines(kwargs: dict[str, Any], args: list[str], tmp_path: Path) -> None:
    made = api.render_plan(patient="Zoë O'Brien-Smith", start_date=START, **kwargs)
    assert made == cli_pdf(["plan", "--patient", "Zoë O'Brien-Smith", "--start-date", START.isoformat(), *args], tmp_path)


def test_a_plan_is_the_same_bytes_as_a_whole_handout_process(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "handout", "plan", "--patient", "Jane Doe", "--start-date", START.isoformat(), "-o", str(tmp_path / "p.pdf")],
        check=True,
        capture_output=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": ""},
    )
    assert api.render_plan(patient="Jane Doe", start_date=START) == (tmp_path / "p.pdf").read_bytes()


def test_a_brand_folder_and_a_loaded_brand_give_the_same_plan(brand_dir: Path, tmp_path: Path) -> None:
    set_brand_value(brand_dir, "name", '"Riverside Physio"')
    templates = tmp_path / "templates"
    templates.mkdir()
    by_path = api.render_plan(patient="Jane Doe", start_date=START, brand=str(brand_dir), templates=templates)
    assert by_path == api.render_plan(patient="Jane Doe", start_date=START, brand=api.load_brand(brand_dir), templates=str(templates))
    assert by_path == cli_pdf(["plan", "--patient", "Jane Doe", "--start-date", START.isoformat(), "--brand", str(brand_dir), "--templates", str(templates)], tmp_path)
    assert "Riverside Physio" in all_text(by_path)


def test_issued_dates_the_plan_and_starts_it_when_no_start_date_is_given() -> None:
    issued = dt.date(2026, 12, 1)
    first = api.render_plan(patient="Jane Doe", issued=issued)
    assert first == api.render_plan(patient="Jane Doe", issued=issued, start_date=issued)
    assert b"/CreationDate (D:20261201000000" in first
    assert api.render_plan(patient="Jane Doe", issued=issued, start_date=issued + dt.timedelta(days=7)) != first


def test_a_password_locks_the_plan() -> None:
    import pikepdf

    pdf = api.render_plan(patient="Jane Doe", start_date=START, password="Walk-2-day")
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(__import__("io").BytesIO(pdf))
    with pikepdf.open(__import__("io").BytesIO(pdf), password="Walk-2-day") as opened:
        assert len(opened.pages) == 6


LEAFLET_MISTAKES = [
    ({"paper": "a5"}, ["--paper", "a5"]),
    ({"layout": "bifold"}, ["--layout", "bifold"]),
    ({"language": "fr"}, ["--lang", "fr"]),
    ({"qr_url": "ftp://clinic.example"}, ["--qr-url", "ftp://clinic.example"]),
    ({"large_print": True, "layout": "trifold"}, ["--large-print", "--layout", "trifold"]),
    ({"brand": "no-such-brand"}, ["--brand", "no-such-brand"]),
]


@pytest.mark.parametrize(("kwargs", "args"), LEAFLET_MISTAKES)
def test_each_leaflet_mistake_is_the_command_lines_message(kwargs: dict[str, Any], args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a relative brand folder is looked for where both run
    with pytest.raises(api.HandoutError) as raised:
        api.render_leaflet(**kwargs)
    assert (raised.value.message, raised.value.exit_code) == cli_message(["leaflet", *args], tmp_path)
    assert str(raised.value) == raised.value.message


PLAN_MISTAKES = [
    ({"patient": " "}, ["--patient", " "]),
    ({"patient": "Jane\u202eDoe"}, ["--patient", "Jane\u202eDoe"]),
    ({"patient": "Jane 中"}, ["--patient", "Jane 中"]),
    ({"patient": "J" * 201}, ["--patient", "J" * 201]),
    ({"patient": "Jane", "clinician": "Sam\x07"}, ["--patient", "Jane", "--clinician", "Sam\x07"]),
    ({"patient": "Jane", "start_minutes": 0}, ["--patient", "Jane", "--start-minutes", "0"]),
    ({"patient": "Jane", "start_minutes": 20, "target_minutes": 15}, ["--patient", "Jane", "--start-minutes", "20", "--target-minutes", "15"]),
    ({"patient": "Jane", "walks_per_week": 9}, ["--patient", "Jane", "--walks-per-week", "9"]),
    ({"patient": "Jane", "weeks": 27}, ["--patient", "Jane", "--weeks", "27"]),
    ({"patient": "Jane", "start_date": dt.date(1999, 12, 31)}, ["--patient", "Jane", "--start-date", "1999-12-31"]),
    ({"patient": "Jane", "language": "de"}, ["--patient", "Jane", "--lang", "de"]),
    ({"patient": "Jane", "paper": "legal"}, ["--patient", "Jane", "--paper", "legal"]),
]


@pytest.mark.parametrize(("kwargs", "args"), PLAN_MISTAKES)
def test_each_plan_mistake_is_the_command_lines_message(kwargs: dict[str, Any], args: list[str], tmp_path: Path) -> None:
    with pytest.raises(api.HandoutError) as raised:
        api.render_plan(**kwargs)
    assert (raised.value.message, raised.value.exit_code) == cli_message(["plan", *args], tmp_path)


@pytest.mark.parametrize("password", ["12345678", "walk", ""])
def test_a_weak_password_is_the_command_lines_message(password: str, tmp_path: Path) -> None:
    with pytest.raises(api.HandoutError) as raised:
        api.render_plan(patient="Jane", password=password)
    shorter = password or "short"  # the command line takes an empty HANDOUT_PDF_PASSWORD as unset: compare the rule it breaks
    assert raised.value.message == cli_message(["plan", "--patient", "Jane", "--encrypt"], tmp_path, env={"HANDOUT_PDF_PASSWORD": shorter})[0]


def test_a_brand_mistake_is_the_command_lines_message(brand_dir: Path, tmp_path: Path) -> None:
    set_brand_value(brand_dir, "primary_colour", '"#FFFF00"')
    with pytest.raises(api.HandoutError) as raised:
        api.render_plan(patient="Jane", brand=brand_dir)
    assert (raised.value.message, raised.value.exit_code) == cli_message(["plan", "--patient", "Jane", "--brand", str(brand_dir)], tmp_path)
    with pytest.raises(api.HandoutError) as loading:
        api.load_brand(brand_dir)
    assert loading.value.message == raised.value.message


def test_a_template_mistake_is_the_command_lines_message(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "leaflet.xml.j2").write_text("<document>{% if %}</document>", encoding="utf-8")
    with pytest.raises(api.HandoutError) as raised:
        api.render_leaflet(templates=templates)
    assert (raised.value.message, raised.value.exit_code) == cli_message(["leaflet", "--templates", str(templates)], tmp_path)


@pytest.mark.parametrize(
    "kwargs",
    [{"weeks": "12"}, {"weeks": 12.0}, {"start_minutes": True}, {"start_date": "2027-01-04"}, {"start_date": dt.datetime(2027, 1, 4)}, {"brand": 42}, {"large_print": "yes"}],
)
def test_a_value_of_the_wrong_python_type_is_a_type_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        api.render_plan(patient="Jane", **kwargs)


def test_the_public_names_are_documented_and_typed() -> None:
    assert set(api.__all__) == {"PAPERS", "LAYOUTS", "Brand", "HandoutError", "languages", "load_brand", "render_leaflet", "render_plan"}
    for name in api.__all__:
        assert hasattr(api, name)
    for function in (api.render_leaflet, api.render_plan, api.load_brand, api.languages):
        assert function.__doc__ and "return" in function.__annotations__
    assert api.languages() == ("en", "es")


def readme_python_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert blocks, "the README's 'From Python' section has no python example"
    return "\n".join(blocks)


def test_the_readme_example_runs_and_writes_what_it_says(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", readme_python_example()], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leaflet.pdf", "walking-plan.pdf"]
    assert api.render_leaflet(paper="letter") == (tmp_path / "leaflet.pdf").read_bytes()
    assert "Su plan para caminar" in all_text((tmp_path / "walking-plan.pdf").read_bytes())
    printed = re.findall(r"print\(error\)  # (.*)", readme_python_example())
    assert result.stdout.splitlines() == printed  # what the README says the mistake prints
