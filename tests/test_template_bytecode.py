"""Compiled templates kept between runs (template_bytecode.py): private to the user, never a reason to fail, never stale."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
from jinja2.bccache import bc_magic

from handout.template_bytecode import template_cache
from handout.templating import make_environment, render_template

ROOT = Path(__file__).resolve().parents[1]


def environment(folders: list[Path], root: Path) -> jinja2.Environment:
    """A fresh environment, as a new run makes one, keeping its compiled templates under `root`."""
    env = make_environment(folders)
    env.bytecode_cache = template_cache(root)
    return env


def compiled(env: jinja2.Environment, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates `env` compiles from source from now on."""
    names: list[str] = []
    compile_source = env.compile
    monkeypatch.setattr(
        env,
        "compile",
        lambda source, name=None, filename=None, raw=False, defer_init=False: names.append(name) or compile_source(source, name, filename, raw, defer_init),
    )
    return names


def test_a_second_run_reads_its_templates_compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    (clinic / "note.txt.j2").write_text('{% include "inc.txt.j2" %} for {{ name }}', encoding="utf-8")
    (clinic / "inc.txt.j2").write_text("a note", encoding="utf-8")
    first = environment([clinic], tmp_path / "cache")
    assert render_template(first, "note.txt.j2", {"name": "Ann"}) == "a note for Ann"
    folders = list((tmp_path / "cache").iterdir())
    assert len(folders) == 1 and stat.S_IMODE(folders[0].stat().st_mode) == 0o700
    assert {stat.S_IMODE(f.stat().st_mode) for f in folders[0].iterdir()} == {0o600}

    second = environment([clinic], tmp_path / "cache")
    names = compiled(second, monkeypatch)
    assert render_template(second, "note.txt.j2", {"name": "Bea"}) == "a note for Bea"
    assert names == []

    # An edited template is compiled again, even when its time says otherwise.
    (clinic / "inc.txt.j2").write_text("a new note", encoding="utf-8")
    third = environment([clinic], tmp_path / "cache")
    names = compiled(third, monkeypatch)
    assert render_template(third, "note.txt.j2", {"name": "Cy"}) == "a new note for Cy"
    assert names == ["inc.txt.j2"]


def test_a_clinics_template_and_the_built_in_one_of_the_same_name_stay_apart(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    (clinic / "email").mkdir(parents=True)
    (clinic / "email" / "plan.txt.j2").write_text("the clinic's own words", encoding="utf-8")
    context = {"clinic": "C", "brand": None, "encrypted": False, "lang": "en"}
    ours = render_template(environment([clinic], tmp_path / "cache"), "email/plan.txt.j2", context)
    assert ours == "the clinic's own words"
    builtin = environment([], tmp_path / "cache").get_template("email/plan.txt.j2")
    assert "the clinic's own words" not in Path(builtin.filename or "").read_text(encoding="utf-8")
    again = render_template(environment([clinic], tmp_path / "cache"), "email/plan.txt.j2", context)
    assert again == ours


def test_damaged_cache_files_are_compiled_again(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    (clinic / "t.txt.j2").write_text("hello {{ name }}", encoding="utf-8")
    render_template(environment([clinic], tmp_path / "cache"), "t.txt.j2", {"name": "A"})
    for file in (tmp_path / "cache").glob("*/*.jinja"):
        file.write_bytes(bc_magic + b"\x80\x04garbage")  # Jinja's header, then nonsense
    assert render_template(environment([clinic], tmp_path / "cache"), "t.txt.j2", {"name": "B"}) == "hello B"


def test_a_folder_that_cannot_be_written_or_is_not_private_means_no_cache_and_no_error(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    (clinic / "t.txt.j2").write_text("hello {{ name }}", encoding="utf-8")
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    assert template_cache(blocked / "cache") is None  # cannot be made
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # others could put compiled code there: not used
    assert template_cache(shared) is None
    assert render_template(environment([clinic], shared), "t.txt.j2", {"name": "A"}) == "hello A"

    # The folder goes away after the cache was set up (cleaned by the user): this run keeps nothing, and says nothing.
    cache = template_cache(tmp_path / "gone")
    assert cache is not None
    for folder in (tmp_path / "gone").iterdir():
        folder.rmdir()
    env = make_environment([clinic])
    env.bytecode_cache = cache
    assert render_template(env, "t.txt.j2", {"name": "B"}) == "hello B"


def test_it_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOUT_TEMPLATE_CACHE", "off")
    assert template_cache(tmp_path) is None


def test_handout_leaflet_keeps_its_compiled_templates_in_the_users_cache_folder(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("HANDOUT_TEMPLATE_CACHE", None)
    for target in ("one.pdf", "two.pdf"):
        subprocess.run([sys.executable, "-m", "handout", "leaflet", "-o", str(tmp_path / target)], env=env, cwd=ROOT, check=True, capture_output=True)
    kept = list((tmp_path / "cache" / "handout").glob("templates-*/*.jinja"))
    assert len(kept) >= 3  # the leaflet and its partials
    assert (tmp_path / "one.pdf").read_bytes() == (tmp_path / "two.pdf").read_bytes()  # compiled or read back: the same PDF


def test_tests_never_write_to_the_users_own_cache_folder(own_cache_folder: Path) -> None:
    # conftest points XDG_CACHE_HOME at this run's own folder, for this process and the commands tests start.
    from handout.templating import _bytecode_cache

    real = Path.home() / ".cache"
    assert not own_cache_folder.is_relative_to(real)
    default = template_cache()
    assert default is not None and Path(default.directory).is_relative_to(own_cache_folder)
    cache = _bytecode_cache()
    assert cache is None or not Path(cache.directory).is_relative_to(real)


@pytest.mark.parametrize(
    ("xdg", "home"),
    [("/tmp/xdg-cache", "/home/jane"), (None, "/home/jane"), ("", "/home/jane"), ("relative/cache", "/home/jane"), (None, "/home/jane/"), ("/c//x/", "/h")],
)
def test_the_cache_folder_is_where_platformdirs_puts_it(xdg: str | None, home: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from platformdirs import user_cache_dir

    from handout.private_cache import user_cache_root

    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    monkeypatch.setenv("HOME", home)
    assert user_cache_root() == Path(user_cache_dir("handout", appauthor=False))
