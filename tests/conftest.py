"""Shared fixtures: a scratch copy of the example brand, and failing on any logged warning."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from handout.resources import default_brand_dir


@pytest.fixture(autouse=True)
def no_logged_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Any warning logged while a test runs (ReportLab, svglib, handout) fails it."""
    caplog.set_level(logging.WARNING)
    yield
    # The test SMTP server's own log ("mail.log", aiosmtpd) is the server's business, not handout's; so is asyncio's
    # note that a connection task of an earlier test's server was collected ("Task was destroyed"), which lands in
    # whichever test the garbage collector happens to run in.
    noisy = [
        r for r in caplog.get_records("call")
        if r.levelno >= logging.WARNING and not r.name.startswith("mail.log") and not (r.name == "asyncio" and "aiosmtpd" in r.getMessage())
    ]
    assert not noisy, f"warnings were logged: {[r.getMessage() for r in noisy]}"


@pytest.fixture(autouse=True)
def own_data_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has its own user data folder (where the journal of what was sent lives), for its subprocesses too."""
    home = tmp_path_factory.mktemp("xdg-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home / "handout"


@pytest.fixture(scope="session")
def _session_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def own_cache_folder(_session_cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tests keep compiled templates in a folder of this run's own, for their subprocesses too, never in the user's
    ~/.cache/handout: a test run must not leave files behind, nor read what an earlier run (or another checkout) left.
    One folder for the whole run, so each subprocess does not compile its templates again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(_session_cache_home))
    return _session_cache_home / "handout"


@pytest.fixture
def brand_dir(tmp_path: Path) -> Path:
    """An editable copy of the built-in example brand."""
    target = tmp_path / "brand"
    shutil.copytree(default_brand_dir(), target)
    return target


def set_brand_value(brand: Path, key: str, value: str) -> None:
    """Replace one `key = "..."` line of a brand.toml."""
    path = brand / "brand.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    replaced = [f"{key} = {value}" if line.startswith(f"{key} =") else line for line in lines]
    assert replaced != lines, f"{key} not in brand.toml"
    path.write_text("\n".join(replaced) + "\n", encoding="utf-8")
