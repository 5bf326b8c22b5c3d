"""The command line end to end: outputs, one-line errors, exit codes, no half-written files."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from handout import __version__
from handout.cli import app

from conftest import set_brand_value
from helpers import decode_qr_codes

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("handout: error: ")
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_leaflet_with_defaults_writes_leaflet_pdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("leaflet")
    assert code == 0, err
    assert "leaflet.pdf" in out
    pdf = (tmp_path / "leaflet.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pypdf.PdfReader(io.BytesIO(pdf)).pages) <= 2


def test_leaflet_options(tmp_path: Path, brand_dir: Path) -> None:
    target = tmp_path / "out.pdf"
    code, _, err = run("leaflet", "--brand", str(brand_dir), "--paper", "LETTER", "--qr-url", "https://x.example/a", "-o", str(target))
    assert code == 0, err
    pdf = target.read_bytes()
    assert decode_qr_codes(pdf) == ["https://x.example/a"]
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    assert round(float(page.mediabox.width)) == 612


def test_version_and_help_on_every_command() -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"handout {__version__}"
    code, out, _ = run("--help")
    assert code == 0
    commands = ["leaflet", "init-brand"]
    for command in commands:
        assert command in out
        code, text, _ = run(command, "--help")
        assert code == 0 and "Example" in text, command
        assert "Usage: " in text


def test_every_command_is_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    from typer.main import get_command

    for name in get_command(app).commands:  # type: ignore[attr-defined]
        assert f"handout {name}" in readme, name


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["leaflet", "--paper", "a5"], "'a5' is not one of 'a4', 'letter'"),
        (["leaflet", "--no-such-option"], "--no-such-option"),
        (["no-such-command"], "no-such-command"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    code, _, err = run(*args)
    assert code == 2
    assert_one_line_error(err, fragment)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/file", "javascript:alert(1)", "example.org/no-scheme", "https://example.org/" + "a" * 400],
)
def test_bad_qr_url_is_a_clear_error_and_writes_nothing(tmp_path: Path, url: str) -> None:
    target = tmp_path / "leaflet.pdf"
    code, _, err = run("leaflet", "--qr-url", url, "-o", str(target))
    assert code == 2
    assert_one_line_error(err, "--qr-url", "QR URL")
    assert not target.exists()


def test_failed_render_keeps_the_previous_file_and_leaves_no_temp_file(tmp_path: Path, brand_dir: Path) -> None:
    target = tmp_path / "leaflet.pdf"
    target.write_bytes(b"previous leaflet")
    (brand_dir / "logo.svg").write_text("<svg", encoding="utf-8")
    code, _, err = run("leaflet", "--brand", str(brand_dir), "-o", str(target))
    assert code == 1
    assert target.read_bytes() == b"previous leaflet"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brand", "leaflet.pdf"]


def test_existing_output_is_replaced_when_the_new_one_is_complete(tmp_path: Path) -> None:
    target = tmp_path / "leaflet.pdf"
    target.write_bytes(b"old")
    code, _, _ = run("leaflet", "-o", str(target))
    assert code == 0 and target.read_bytes().startswith(b"%PDF-")
    assert [p.name for p in tmp_path.iterdir()] == ["leaflet.pdf"]


def test_output_into_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run("leaflet", "-o", str(tmp_path / "nope" / "leaflet.pdf"))
    assert code == 1
    assert_one_line_error(err, "output folder not found")


def test_init_brand_copies_a_working_brand(tmp_path: Path) -> None:
    target = tmp_path / "my-clinic"
    code, out, err = run("init-brand", str(target))
    assert code == 0, err
    assert (target / "brand.toml").is_file() and (target / "logo.svg").is_file()
    set_brand_value(target, "name", '"Riverside Physio"')
    code, _, err = run("leaflet", "--brand", str(target), "-o", str(tmp_path / "l.pdf"))
    assert code == 0, err
    assert pypdf.PdfReader(tmp_path / "l.pdf").metadata.author == "Riverside Physio"


def test_init_brand_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    code, _, err = run("init-brand", str(tmp_path))
    assert code == 1
    assert_one_line_error(err, "already exists")
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_python_dash_m_runs_the_same_cli(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "handout", "leaflet", "--paper", "a5"], capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "--paper")
    assert list(tmp_path.iterdir()) == []
