"""What starting a command costs: a leaflet imports no library it does not use, and the shortcuts that spare them give the same answers."""

from __future__ import annotations

import gettext
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handout import checks, i18n

from helpers import as_the_command

# Run as `handout leaflet` runs, then list which of these libraries the process imported.
PROBE = as_the_command(
    """
watched = {"babel", "email_validator", "pikepdf", "charset_normalizer", "starlette", "uvicorn", "pydantic", "svglib", "lxml", "qrcode", "fontpkg", "platformdirs", "urllib.request", "tomllib", "xml.etree.ElementTree", "reportlab.graphics", "handout.diary.reading", "reportlab.graphics.charts", "typer", "click", "typer._click"}
print("imported:", " ".join(sorted(name for name in watched if name in sys.modules)))
"""
)


def imported_by(args: list[str], cwd: Path) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return set(result.stdout.rsplit("imported:", 1)[1].split())


def test_an_english_leaflet_imports_no_library_it_does_not_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert "pydantic" not in imported_by(["leaflet", "-o", str(tmp_path / "l.pdf")], tmp_path)  # the first run keeps the logo's operators
    assert imported_by(["leaflet", "-o", str(tmp_path / "l.pdf")], tmp_path) == set()  # then needs no svglib, lxml, qrcode or fontpkg either
    assert (tmp_path / "l.pdf").read_bytes().startswith(b"%PDF-")


def test_a_spanish_plan_still_has_babel_for_its_words_and_dates(tmp_path: Path) -> None:
    assert "babel" in imported_by(["plan", "--patient", "Ana", "--lang", "es", "-o", str(tmp_path / "p.pdf")], tmp_path)


def babel_translations(path: Path) -> gettext.NullTranslations:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en", domain=i18n.DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=i18n.DOMAIN)


def every_msgid() -> list[tuple[str, str | None]]:
    """Every message the templates and code use (the Spanish catalog translates them all): (singular, plural or None)."""
    from babel.messages.pofile import read_po

    with i18n.catalog_path("es").open("rb") as handle:
        catalog = read_po(handle)
    return [(m.id[0], m.id[1]) if isinstance(m.id, tuple) else (m.id, None) for m in catalog if m.id]


def test_english_without_babel_says_exactly_what_babel_said() -> None:
    i18n.translations.cache_clear()
    ours, babels = i18n.translations("en"), babel_translations(i18n.catalog_path("en"))
    assert type(ours) is gettext.NullTranslations  # the shortcut was taken
    messages = every_msgid()
    assert len(messages) > 20
    for singular, plural in messages:
        if plural is None:
            assert ours.gettext(singular) == babels.gettext(singular)
        else:
            for count in (0, 1, 2, 5):
                assert ours.ngettext(singular, plural, count) == babels.ngettext(singular, plural, count)


@pytest.mark.parametrize(
    "extra",
    ['\nmsgid "Your walking plan"\nmsgstr "Your walk plan"\n', '\nmsgid "x"\n', "\nthis is not a catalog line\n", '\nmsgctxt "a"\nmsgid ""\nmsgstr ""\n'],
)
def test_a_catalog_with_anything_but_its_header_is_read_by_babel(extra: str, tmp_path: Path) -> None:
    catalog = tmp_path / "handout.po"
    catalog.write_text(i18n.catalog_path("en").read_text(encoding="utf-8") + extra, encoding="utf-8")
    assert not i18n._header_only(catalog)
    assert i18n._header_only(i18n.catalog_path("en"))


ATEXT = "abcxyzABCXYZ0189_+-"
label = st.text("abz09-", min_size=1, max_size=64)
plain_like = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
    st.text(ATEXT + ".", min_size=0, max_size=70),
    st.lists(label, min_size=1, max_size=4),
    st.text("abcXYZ19", min_size=0, max_size=6) | st.sampled_from(["test", "local", "LOCALHOST", "arpa", "onion", "invalid", "org"]),
)


def validator_parts(text: str) -> checks.EmailAddress | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return checks.EmailAddress(checked.normalized, checked.local_part, checked.ascii_domain)


@settings(max_examples=300, deadline=None)
@given(plain_like | st.from_regex(r"[A-Za-z0-9._+-]{1,66}@[A-Za-z0-9.-]{1,70}", fullmatch=True) | st.text(max_size=40))
def test_the_plain_address_shortcut_only_ever_agrees_with_email_validator(text: str) -> None:
    shortcut = checks._plain_address(text)
    if shortcut is not None:
        assert shortcut == validator_parts(text)


def test_everyday_addresses_take_the_shortcut_and_the_rest_do_not() -> None:
    assert checks._plain_address("Jane.Doe+walks@Example-Physio.ORG") == checks.EmailAddress("Jane.Doe+walks@example-physio.org", "Jane.Doe+walks", "example-physio.org")
    for other in ("jöe@example.org", "jane@exämple.org", "jane@xn--exmple-cua.org", "jane@example.test", "jane..doe@example.org", "jane@example"):
        assert checks._plain_address(other) is None
        assert checks.email_parts(other) == validator_parts(other)


# `handout leaflet` as the installed command runs it, counting the collector's runs.
GC_PROBE = """
import gc, sys
runs = []
gc.callbacks.append(lambda phase, info: phase == "stop" and runs.append(info["generation"]))
sys.argv = ["handout", *sys.argv[1:]]
from handout.__main__ import main
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print("collections:", len(runs), "full:", runs.count(2))
"""


def test_starting_a_command_runs_no_full_garbage_collection(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", GC_PROBE, "leaflet", "-o", str(tmp_path / "l.pdf")], capture_output=True, text=True, check=True)
    counts = result.stdout.rsplit("collections:", 1)[1].split()
    assert counts[2] == "0"  # no collection over every object made so far
    assert int(counts[0]) < 30  # about 130 with the interpreter's default threshold


def test_the_installed_command_is_the_tuned_entry_point() -> None:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["handout"] == "handout.__main__:run"


# ReportLab's web-address splitting, which uses the deferred uri_pat: a long address in a narrow column.
LONG_ADDRESS = """
import io, sys
if sys.argv[1] == "deferred":
    from handout.lazy_patterns import defer_reportlab_patterns
    defer_reportlab_patterns()
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate
from reportlab.platypus import paragraph
from reportlab.lib import textsplit
style = ParagraphStyle("p", uriWasteReduce=0.3, hyphenationLang="", embeddedHyphenation=1)
text = "See https://www.example-physio.org/walking/lower-back-pain/very/long/path/that/needs/splitting?x=1 and more."
out = io.BytesIO()
SimpleDocTemplate(out, invariant=1, pagesize=(200, 800), leftMargin=10, rightMargin=10).build([Paragraph(text, style)])
print(type(paragraph.uri_pat).__name__, paragraph._slash_parts("https://a.example.org/b/c", "https://", "/") is not None,
      textsplit.rx.sub(r"[\\1]", "ab漢字c"), len(out.getvalue()), __import__("hashlib").sha256(out.getvalue()).hexdigest())
"""


def test_reportlabs_deferred_patterns_work_as_compiled_ones() -> None:
    runs = {how: subprocess.run([sys.executable, "-c", LONG_ADDRESS, how], capture_output=True, text=True, check=True).stdout.split() for how in ("deferred", "compiled")}
    assert runs["deferred"][0] == "LazyPattern"  # ReportLab's own pattern is still the one deferred (fails when ReportLab changes it)
    assert runs["compiled"][0] == "Pattern"
    assert runs["deferred"][1:] == runs["compiled"][1:]


def test_lazy_patterns_match_as_the_compiled_ones_do() -> None:
    import re

    from handout.lazy_patterns import DEFERRED, LazyPattern

    samples = ["https://www.example.org/a/b?c=1", "ftp://user:pw@192.168.0.1:21/x", "http://ëxample.com", "not a url", "漢字 and かな", "def f(): return 'x'  # note"]
    for pattern, flags in DEFERRED:
        lazy, compiled = LazyPattern(pattern, flags), re.compile(pattern, flags)
        for text in samples:
            assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in compiled.finditer(text)]
            assert bool(lazy.match(text)) == bool(compiled.match(text))


def test_a_command_named_first_runs_from_an_app_holding_it_alone_and_says_the_same() -> None:
    import typer
    from typer.testing import CliRunner

    from handout import cli

    names = list(typer.main.get_command(cli.app).commands)
    assert len(names) >= 7
    for args in ([], ["--version"], ["lefalet"], ["--help"]):
        assert cli._app_for(args) is cli.app
    runner = CliRunner()
    for name in names:
        alone = cli._app_for([name, "--help"])
        assert list(typer.main.get_command(alone).commands) == [name]
        for args in ([name, "--help"], [name, "--no-such-option"]):
            ours, whole = runner.invoke(alone, args, prog_name="handout"), runner.invoke(cli.app, args, prog_name="handout")
            assert (ours.exit_code, ours.output) == (whole.exit_code, whole.output)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("&<>\"'a ;#x\n\u00e9"), max_size=30), quote=st.booleans())
def test_our_xml_escape_is_saxutils(text: str, quote: bool) -> None:
    from xml.sax.saxutils import escape as saxutils_escape

    from handout.xml_text import escape

    entities = {'"': "&quot;", "'": "&apos;"} if quote else {}
    assert escape(text, entities) == saxutils_escape(text, entities)
    assert escape(text) == saxutils_escape(text)


# A command as the installed `handout` runs it; prints whether the collector is on afterwards.
GC_STATE_PROBE = """
import gc, sys
sys.argv = ["handout", *sys.argv[1:]]
from handout.__main__ import main
try:
    main()
except SystemExit:
    pass
print("collector on:", gc.isenabled(), gc.get_threshold()[0])
"""


@pytest.mark.parametrize(("args", "on"), [(["leaflet", "-o", "l.pdf"], False), (["batch", "missing.csv"], True), (["read-diary", "missing.png"], True), (["check", "--brand", "missing"], True)])
def test_long_running_commands_collect_garbage_again(args: list[str], on: bool, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", GC_STATE_PROBE, *args], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert result.stdout.rsplit("collector on:", 1)[1].split() == ([str(on), "10000"] if on else ["False", "700"])
