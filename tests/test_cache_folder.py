"""Every cache of handout's (small results, compiled templates, the data classes' code) finds one folder by one set of rules, and uses it only when it is this user's alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from handout import private_cache
from handout.template_bytecode import template_cache

# The data classes' code is kept from the very start of a command: asked in a process of its own.
KEEP_CODE = (
    "from handout.dataclass_code import keep_dataclass_code; keep_dataclass_code(); import dataclasses; dataclasses.make_dataclass('Probe', ['x'], frozen=True)"
)


def where_each_cache_keeps(home: Path, xdg: str | None, **environment: str) -> dict[str, Path | None]:
    """The folder each of the three caches uses (None: it keeps nothing), with HOME at `home` and XDG_CACHE_HOME at `xdg`."""
    env = {key: value for key, value in os.environ.items() if key not in ("XDG_CACHE_HOME", "HANDOUT_CACHE", "HANDOUT_TEMPLATE_CACHE")}
    env.update(HOME=str(home), **environment, **({} if xdg is None else {"XDG_CACHE_HOME": xdg}))
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        results = private_cache.cache_folder("probe")
        templates = template_cache()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    subprocess.run([sys.executable, "-c", KEEP_CODE], env=env, cwd=home, check=True)
    code = sorted(home.parent.rglob("dataclass-code-*.bin"))  # wherever it went
    return {
        "results": None if results is None else results.parent,
        "templates": None if templates is None else Path(templates.directory).parent,
        "dataclass code": code[0].parent if code else None,
    }


@pytest.mark.parametrize("xdg", ["relative/cache", "cache", "./x", None, ""])
def test_a_relative_or_missing_xdg_cache_home_is_ignored_by_every_cache(tmp_path: Path, xdg: str | None) -> None:
    """The XDG specification: a relative XDG_CACHE_HOME is invalid and ignored; all three caches then use ~/.cache/handout.

    Before, the data classes' code kept nothing with a relative one while the others used ~/.cache/handout.
    """
    home = tmp_path / "home"
    home.mkdir()
    assert where_each_cache_keeps(home, xdg) == dict.fromkeys(("results", "templates", "dataclass code"), home / ".cache" / "handout")
    assert not (home / (xdg or "nothing")).exists()  # nothing made relative to the working directory


def test_an_absolute_xdg_cache_home_is_used_by_every_cache(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert where_each_cache_keeps(home, str(tmp_path / "xdg")) == dict.fromkeys(("results", "templates", "dataclass code"), tmp_path / "xdg" / "handout")


def test_handout_cache_off_turns_the_kept_results_and_code_off(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    found = where_each_cache_keeps(home, str(tmp_path / "xdg"), HANDOUT_CACHE="off")
    assert found["results"] is None and found["dataclass code"] is None
    assert found["templates"] == tmp_path / "xdg" / "handout"  # HANDOUT_TEMPLATE_CACHE is the compiled templates' switch (README)


@pytest.mark.parametrize("problem", ["others may write to it", "another user owns it", "it is a link"])
def test_a_folder_not_this_users_alone_is_used_by_no_cache(tmp_path: Path, problem: str, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "xdg" / "handout"
    if problem == "it is a link":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        root.parent.mkdir()
        root.symlink_to(tmp_path / "elsewhere")
    else:
        root.mkdir(parents=True, mode=0o700)
        if problem == "others may write to it":
            root.chmod(0o777)
    if problem == "another user owns it":  # as if another user had made it: this process is a different user
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        monkeypatch.delenv("HANDOUT_CACHE", raising=False)
        monkeypatch.delenv("HANDOUT_TEMPLATE_CACHE", raising=False)
        assert private_cache.cache_root() == root  # this user's own: used
        uid = os.getuid() + 1
        monkeypatch.setattr(os, "getuid", lambda: uid)
        assert private_cache.cache_root() is None and private_cache.cache_folder("probe") is None
        assert template_cache() is None
        return  # a child process cannot be another user here; the same function decides for the data classes' code
    assert where_each_cache_keeps(home, str(tmp_path / "xdg")) == dict.fromkeys(("results", "templates", "dataclass code"))
    if problem == "it is a link":
        assert not list((tmp_path / "elsewhere").iterdir())  # nothing written through the link


def test_a_home_that_is_not_absolute_falls_back_to_the_users_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", "relative-home")
    assert private_cache.user_cache_root() == Path(pwd.getpwuid(os.getuid()).pw_dir, ".cache", "handout")
