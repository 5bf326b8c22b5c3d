"""A plain (non-editable) wheel install carries its templates and assets and renders a leaflet."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from helpers import decode_qr_codes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)], check=True, capture_output=True)
    (built,) = out.glob("handout-*.whl")
    return built


def test_wheel_contains_templates_and_assets(wheel: Path) -> None:
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "handout/templates/leaflet.xml.j2" in names
    assert "handout/templates/articles/walking-lower-back-pain.en.toml" in names
    assert "handout/assets/brand/brand.toml" in names and "handout/assets/brand/logo.svg" in names


def test_fresh_venv_renders_a_leaflet_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)
    # Dependencies come from this test environment (appended after the venv's
    # own site-packages), so the test needs no network; handout itself is
    # only the wheel's copy, which the assertion below checks.
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], check=True, capture_output=True, text=True).stdout.strip())
    (site / "_test_dependencies.pth").write_text("\n".join({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}) + "\n")
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([str(python), "-c", "import handout.resources as r; print(r.templates_dir())"], check=True, capture_output=True, text=True, cwd=work, env=env)
    assert where.stdout.strip().startswith(str(site)), where.stdout
    result = subprocess.run([str(env_dir / "bin" / "handout"), "leaflet"], capture_output=True, text=True, cwd=work, env=env)
    assert result.returncode == 0, result.stderr
    assert decode_qr_codes((work / "leaflet.pdf").read_bytes()) == ["https://example-physio.org/back"]
