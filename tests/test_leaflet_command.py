"""`handout leaflet` read without Typer: taken only for plain options, and then it does and says exactly what Typer's reading does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from handout.leaflet_command import plain_leaflet_options

# The same command line through handout/__main__.py (the quick reading when it applies) or straight to Typer's.
QUICK = "import sys, runpy; sys.argv = ['handout', *sys.argv[1:]]; runpy.run_module('handout', run_name='__main__')"
TYPER = "import sys; sys.argv = ['handout', *sys.argv[1:]]; from handout.cli import main; main()"
TYPED = "import sys, atexit; atexit.register(lambda: print('typer' in sys.modules, file=sys.stderr))"


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (["leaflet"], {}),
        (["leaflet", "-o", "x.pdf", "--large-print"], {"output": Path("x.pdf"), "large_print": True}),
        (["leaflet", "--paper=Letter", "--layout", "TRIFOLD", "--lang", "es"], {"paper": "letter", "layout": "trifold", "lang": "es"}),
        (
            ["leaflet", "--brand", "b", "--templates", "t", "--qr-url", "https://x.org", "--output", "o.pdf"],
            {"brand": Path("b"), "templates": Path("t"), "qr_url": "https://x.org", "output": Path("o.pdf")},
        ),
        (["plan", "--patient", "A"], None),
        (["leaflet", "--help"], None),
        (["leaflet", "-o", "-"], None),  # standard output: Typer's
        (["leaflet", "-ox.pdf"], None),
        (["leaflet", "-o=x.pdf"], None),
        (["leaflet", "-o"], None),
        (["leaflet", "-o", ""], None),
        (["leaflet", "--lang", "en", "--lang", "es"], None),
        (["leaflet", "--large-print", "--large-print"], None),
        (["leaflet", "--paper", "a5"], None),
        (["leaflet", "--large-print=yes"], None),
        (["leaflet", "extra"], None),
        (["leaflet", "--"], None),
        (["--version"], None),
        ([], None),
    ],
)
def test_only_plain_options_are_read_without_typer(args: list[str], options: dict[str, object] | None) -> None:
    assert plain_leaflet_options(args) == options


def run(script: str, args: list[str], cwd: Path) -> tuple[int, str, str, bool]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cwd / "cache"), "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([sys.executable, "-c", f"{TYPED}\n{script}", *args], cwd=cwd, env=env, capture_output=True, text=True)
    *errors, typer_imported = result.stderr.splitlines()  # the last line: whether Typer was imported
    return result.returncode, result.stdout, "\n".join(errors), typer_imported == "True"


@pytest.mark.parametrize(
    ("args", "quick"),
    [
        (["leaflet", "-o", "a.pdf"], True),
        (["leaflet", "--layout", "Trifold", "--paper", "LETTER", "--lang", "es", "--large-print", "-o", "b.pdf"], True),
        (["leaflet", "--lang", "xx", "-o", "c.pdf"], True),  # a language not installed: the service's one line
        (["leaflet", "--qr-url", "ftp://example.org", "-o", "d.pdf"], True),
        (["leaflet", "--brand", "no-such-brand", "-o", "e.pdf"], True),
        (["leaflet", "-o", "no-such-folder/f.pdf"], True),
        (["leaflet", "--paper", "a5", "-o", "g.pdf"], False),  # Typer's own message
        (["leaflet", "--output=h.pdf", "--bogus"], False),
    ],
)
def test_the_quick_reading_does_and_says_what_typer_does(tmp_path: Path, args: list[str], quick: bool) -> None:
    (tmp_path / "typer").mkdir()
    (tmp_path / "quick").mkdir()
    *by_typer, typer_imported = run(TYPER, args, tmp_path / "typer")
    *by_quick, quick_imported = run(QUICK, args, tmp_path / "quick")
    assert by_quick == by_typer
    assert typer_imported and quick_imported is not quick
    made = sorted(path.name for path in (tmp_path / "typer").glob("*.pdf"))
    assert made == sorted(path.name for path in (tmp_path / "quick").glob("*.pdf"))
    for name in made:
        assert (tmp_path / "quick" / name).read_bytes() == (tmp_path / "typer" / name).read_bytes()
    assert by_typer[0] == 0 or by_typer[2].startswith("handout: error: ")


def test_the_plain_readers_defaults_are_the_typer_commands() -> None:
    # Restated defaults could drift: a plain line would then make another leaflet than Typer's reading of it.
    import enum
    import inspect

    from handout import cli
    from handout.leaflet_command import LEAFLET_DEFAULTS

    typer_defaults = {
        name: (parameter.default.value if isinstance(parameter.default, enum.Enum) else parameter.default)
        for name, parameter in inspect.signature(cli.leaflet).parameters.items()
    }
    assert LEAFLET_DEFAULTS == typer_defaults
