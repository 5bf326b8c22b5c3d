"""`handout check` says everything at once, runs exactly the rules the commands run, and names the real cause."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from handout.brand import MAX_LENGTHS
from handout.cli import app

from conftest import set_brand_value

runner = CliRunner()


def check(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


def test_every_brand_problem_is_listed_in_one_run_each_with_its_fix(brand_dir: Path) -> None:
    set_brand_value(brand_dir, "name", '"' + "N" * (MAX_LENGTHS["name"] + 5) + '"')
    set_brand_value(brand_dir, "disclaimer", '"' + "Ask us. " * 30 + '"')
    Image.new("RGB", (5000, 300), "white").save(brand_dir / "logo.png")
    set_brand_value(brand_dir, "logo", '"logo.png"')
    set_brand_value(brand_dir, "primary_colour", '"#7FB3D5"')
    code, out = check("--brand", str(brand_dir))
    assert code == 1
    fails = re.findall(r"^FAIL  (.+?):", out, re.M)
    assert {"Brand (name)", "Brand (disclaimer)", "Brand (logo)", "Contrast (primary colour)"} <= set(fails), out
    fixes = out.split("To fix:")[1]
    assert "keep it to 60" in fixes and "keep it to 180" in fixes and "5000×300 pixels" in fixes and "darken primary_colour" in fixes
    # …and the documents were still made and measured, with the example's values standing in for the wrong ones.
    assert "PASS  QR code (leaflet)" in out and "PASS  Tagged PDF (tri-fold)" in out
    # The commands stop at the first problem, saying there are more.
    result = runner.invoke(app, ["leaflet", "--brand", str(brand_dir), "-o", str(brand_dir / "l.pdf")])
    assert result.exit_code == 1 and "and 3 more problems: `handout check --brand DIR` lists them all" in result.stderr


@pytest.mark.parametrize("command", [["leaflet"], ["plan", "--patient", "Jane Doe"]])
def test_check_fails_what_the_command_refuses_in_large_print_too(brand_dir: Path, tmp_path: Path, command: list[str]) -> None:
    # issue 15 item 11: check --large-print passed a primary colour that every command refuses.
    set_brand_value(brand_dir, "primary_colour", '"#6FA8DC"')
    refused = runner.invoke(app, [*command, "--brand", str(brand_dir), "--large-print", "-o", str(tmp_path / "x.pdf")])
    assert refused.exit_code == 1 and "too light for text" in refused.stderr
    code, out = check("--brand", str(brand_dir), "--large-print")
    assert code == 1
    assert "FAIL  Brand (primary_colour): key 'primary_colour' #6FA8DC is too light for text" in out
    assert "darken primary_colour in brand.toml from #6FA8DC to" in out


def test_check_renders_the_tri_fold_and_reports_what_only_breaks_there(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}{% block benefits %}{{ super() }}'
        + "<p>Our clinic runs back-care classes every week in the gym, with a physiotherapist who shows you gentle exercises.</p>" * 40
        + "{% endblock %}",
        encoding="utf-8",
    )
    code, out = check("--templates", str(templates))
    assert code == 1
    assert "FAIL  Renders (tri-fold): the article does not fit the tri-fold's four panels" in out
    assert "PASS  Type size (leaflet)" in out  # the standard leaflet was fine: only the tri-fold breaks


def test_a_long_qr_address_and_a_thin_logo_are_warned_about(brand_dir: Path) -> None:
    set_brand_value(brand_dir, "resources_url", '"https://example-physio.org/patients/back-care/walking/resources/leaflet-2026/index.html?from=qr&campaign=waiting-room-spring-2027&v=2"')
    Image.new("RGB", (2000, 100), "navy").save(brand_dir / "logo.png")
    set_brand_value(brand_dir, "logo", '"logo.png"')
    code, out = check("--brand", str(brand_dir))
    qr = re.search(r"^WARN  QR address: .*$", out, re.M)
    assert qr and re.search(r"modules 0\.[0-5]\d mm", qr.group(0)), out
    assert re.search(r"printed on [3-9] lines \(≤ 2\)", qr.group(0)) and re.search(r"the printed address takes [3-9] lines", out), out
    assert re.search(r"^WARN  Logo size: prints 40 × 2 mm", out, re.M), out
    assert "use a shorter resources_url" in out and "less elongated version of the logo" in out
    assert code == 0  # warnings: the documents still print


def test_a_small_type_failure_quotes_the_text_that_is_small() -> None:
    from handout.brand import load_brand
    from handout.content import load_article
    from handout.pipeline import Renderer
    from handout.preflight import smallest_type

    # A standard-print leaflet held to large print's minimum: the cause named is the footer's clinic line, quoted.
    result = smallest_type("Type size", Renderer(load_brand()).leaflet(load_article()), large_print=True)
    assert not result.passed
    assert "the text \u201cExample Physiotherapy Clinic · 01632 96" in result.fix and "prints at 9.5 pt" in result.fix
    assert "of the characters print at 14 pt, such as \u201c" in result.fix  # and the body, with an example of it


def test_leaflet_says_in_one_line_when_the_brand_makes_it_longer(brand_dir: Path, tmp_path: Path) -> None:
    from test_layout import longest

    for key in ("name", "address", "phone", "email", "website", "disclaimer"):
        set_brand_value(brand_dir, key, f'"{longest(key, MAX_LENGTHS[key])}"')
    # On Letter (shorter than A4): on A4 the page before takes the last page's scrap in, set a little tighter.
    result = runner.invoke(app, ["leaflet", "--brand", str(brand_dir), "--paper", "letter", "-o", str(tmp_path / "l.pdf")])
    assert result.exit_code == 0
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert notes == ["note: brand.toml's values make this leaflet 3 pages, not 2; shorter values (name, address, disclaimer) or a lower logo save paper"]
    quiet = runner.invoke(app, ["leaflet", "-o", str(tmp_path / "l.pdf")])
    assert "note:" not in quiet.stderr


def test_plan_and_tri_fold_say_in_one_line_when_the_brand_costs_pages_or_type_size(brand_dir: Path, tmp_path: Path) -> None:
    # Long but ordinary values (the longest in the widest letters do not fit the tri-fold's back panel at all: an error).
    words = "Northside Physiotherapy and Sports Injury Clinic of Greater Exampleton, Unit 4 The Old Mill, Harbour Street, Exampleshire " * 2
    for key in ("name", "address", "disclaimer"):
        set_brand_value(brand_dir, key, f'"{words[: MAX_LENGTHS[key]].rsplit(" ", 1)[0]}"')
    set_brand_value(brand_dir, "email", '"reception@northside-physiotherapy-and-sports-injury.org"')
    trifold = runner.invoke(app, ["leaflet", "--layout", "trifold", "--brand", str(brand_dir), "-o", str(tmp_path / "t.pdf")])
    assert trifold.exit_code == 0, trifold.stderr
    notes = [line for line in trifold.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and notes[0].startswith("note: brand.toml's values set the tri-fold smaller: ") and notes[0].endswith("; shorter values print larger")
    from test_layout import longest

    for key in ("name", "address", "phone", "email", "website", "disclaimer"):
        set_brand_value(brand_dir, key, f'"{longest(key, MAX_LENGTHS[key])}"')
    plan = runner.invoke(app, ["plan", "--patient", "Jane Doe", "--brand", str(brand_dir), "-o", str(tmp_path / "p.pdf")])
    assert plan.exit_code == 0, plan.stderr
    notes = [line for line in plan.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and re.fullmatch(r"note: brand\.toml's values make this plan \d+ pages, not \d+; shorter values .* save paper", notes[0])
    quiet = runner.invoke(app, ["plan", "--patient", "Jane Doe", "-o", str(tmp_path / "p.pdf")])
    assert "note:" not in quiet.stderr
