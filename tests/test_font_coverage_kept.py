"""Checking names against the fonts' kept coverage: the same answer as the registered fonts give, without registering any (a batch's main process draws nothing)."""

from __future__ import annotations

import subprocess
import sys

from handout.render import fonts


def test_kept_coverage_is_the_registered_fonts_coverage_for_every_face() -> None:
    for name in (fonts.MAIN, fonts.GENERAL.regular, *(face.regular for face in fonts.SCRIPTS.values())):
        fonts.kept_coverage.cache_clear()
        assert fonts.kept_coverage(name) == fonts._coverage(name), name
        fonts.kept_coverage.cache_clear()
        assert fonts.kept_coverage(name) == fonts._coverage(name), f"{name}, read back from the cache"


def test_checking_names_registers_no_font_and_finds_the_same_problems() -> None:
    names = ["Jane Doe", "Σοφία Παπαδοπούλου", "محمد عبد الله", "王小明", "مريم 12 Smith", "तमिल नाडु"]
    program = (
        "from handout.checks import unprintable_problem\n"
        "from reportlab.pdfbase import pdfmetrics\n"
        f"print([unprintable_problem(n) for n in {names!r}])\n"
        "print(sorted(pdfmetrics.getRegisteredFontNames()))\n"
    )
    answers, registered = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout.splitlines()
    assert registered == "[]"
    expected = [
        None if (char := fonts.first_unprintable(n)) is None else f"has the character U+{ord(char):04X}, {fonts.unprintable_reason(char)}" for n in names
    ]
    assert answers == repr(expected)
    assert [answer is None for answer in expected] == [True, True, True, False, False, True]  # no font (CJK), and a misplaced Latin word after Arabic


def test_an_upgraded_reportlab_or_harfbuzz_is_another_kept_entry(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A coverage kept by one ReportLab (which parses the font) or HarfBuzz (which makes a fallback's face) is not read by another."""
    from handout import private_cache

    name = fonts.SCRIPTS["greek"].regular if "greek" in fonts.SCRIPTS else next(iter(fonts.SCRIPTS.values())).regular
    fonts.kept_coverage.cache_clear()
    fonts.kept_coverage(name)  # kept now
    keys: list[str] = []
    load = private_cache.load
    monkeypatch.setattr(private_cache, "load", lambda folder, key: (folder is not None and folder.name == "coverage" and keys.append(key)) or load(folder, key))
    for package in ("reportlab", "uharfbuzz", None):
        real = private_cache.installed_version
        monkeypatch.setattr(private_cache, "installed_version", lambda p, m, real=real, package=package: "upgraded" if p == package else real(p, m))
        fonts.kept_coverage.cache_clear()
        assert fonts.kept_coverage(name) == fonts._coverage(name)
        monkeypatch.setattr(private_cache, "installed_version", real)
    assert len(keys) == 3 and len(set(keys)) == 3, keys
