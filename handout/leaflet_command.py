"""`handout leaflet`'s work, and its everyday command lines read without Typer, whose import is a tenth of the command."""

from __future__ import annotations

import codecs
import sys
from collections.abc import Callable
from pathlib import Path

PAPERS = ("a4", "letter")
LAYOUTS = ("standard", "trifold")

# The options `handout leaflet` takes a value for, by the name typed (see cli.leaflet, which stays the reference).
_VALUES = {
    "--brand": "brand",
    "--templates": "templates",
    "--paper": "paper",
    "--qr-url": "qr_url",
    "--lang": "lang",
    "--layout": "layout",
    "--output": "output",
    "-o": "output",
}


def make_leaflet(
    brand: Path | None,
    templates: Path | None,
    paper: str,
    qr_url: str | None,
    lang: str,
    large_print: bool,
    layout: str,
    output: Path,
    say: Callable[[str, bool], None],
) -> None:
    """Render the leaflet, write it to `output` and say where (`say(message, to_standard_error)`)."""
    from handout.checks import qr_url as checked_qr_url
    from handout.i18n import checked_language
    from handout.output import is_standard_output, write_output
    from handout.service import Clinic

    language = checked_language("--lang", lang)
    url = checked_qr_url(qr_url)
    clinic = Clinic(brand, [templates] if templates is not None else [], paper, keep_leaflet_text=True)  # one leaflet a process: its fill kept between runs
    pdf = clinic.leaflet(language, url, large_print, layout)
    where = write_output(output, pdf)
    note = clinic.brand_note("leaflet", language, large_print, layout, made=pdf)
    if note:
        say(note, True)
    if layout == "trifold":
        say(f"Wrote the tri-fold leaflet to {where} ({len(pdf) // 1024} KB): print both sides, flip on short edge, actual size", is_standard_output(output))
    else:
        say(f"Wrote the leaflet to {where} ({len(pdf) // 1024} KB)", is_standard_output(output))


def plain_leaflet_options(args: list[str]) -> dict[str, object] | None:
    """The options of `handout leaflet …` when every one is plainly one of its own, given once, with an ordinary value; else None.

    None hands the command line to Typer (help, a mistake and its message, `-o -`, an unusual form such
    as `-ofile`), so what it says and does stays Typer's; this only spares the import where the outcome
    cannot differ. Values become what Typer makes of them: a Path, a choice in lower case, a flag.
    """
    if not args or args[0] != "leaflet":
        return None
    options: dict[str, object] = {}
    rest, index = args[1:], 0
    while index < len(rest):
        typed = rest[index]
        value: object
        if typed == "--large-print":
            name, value = "large_print", True
        else:
            typed, equals, value = typed.partition("=")
            if typed not in _VALUES or (equals and typed == "-o"):
                return None
            if not equals:
                index += 1
                if index == len(rest):
                    return None
                value = rest[index]
            if not value or value.startswith("-") or "\0" in value:
                return None
            name = _VALUES[typed]
        if name in options:
            return None
        options[name] = value
        index += 1
    for name, choices in (("paper", PAPERS), ("layout", LAYOUTS)):
        if name in options:
            chosen = [choice for choice in choices if choice.casefold() == str(options[name]).casefold()]  # as Typer's case-insensitive choice
            if len(chosen) != 1:
                return None
            options[name] = chosen[0]
    for name in ("brand", "templates", "output"):
        if name in options:
            options[name] = Path(str(options[name]))
    return options


def _plain_streams() -> bool:
    # Typer (click) writes to an ASCII or misconfigured stream its own way: there it keeps the command line.
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is None or codecs.lookup(stream.encoding).name != "utf-8":
                return False
        except (AttributeError, LookupError, TypeError):
            return False
    return True


def _say(message: str, err: bool) -> None:
    if "\x1b" in message:  # click takes terminal styles out of text not going to a terminal: let it
        import typer

        typer.echo(message, err=err)
        return
    stream = sys.stderr if err else sys.stdout
    stream.write(message + "\n")
    stream.flush()


def _fail(message: str, code: int) -> None:
    from handout.terminal import end_with_error

    end_with_error(message, code, _say)


def _fail_to_write(exc: OSError) -> None:
    from handout.terminal import end_with_write_error

    end_with_write_error(exc, _say)


# cli.leaflet's defaults, restated so a plain line needs no Typer; a test holds the two equal.
LEAFLET_DEFAULTS: dict[str, object] = {
    "brand": None,
    "templates": None,
    "paper": "a4",
    "qr_url": None,
    "lang": "en",
    "large_print": False,
    "layout": "standard",
    "output": Path("leaflet.pdf"),
}


def run_without_typer(args: list[str]) -> None:
    """Run `handout leaflet …` when its options are plain (plain_leaflet_options), ending as cli.OneLineErrors ends a command; else return."""
    options = plain_leaflet_options(args)
    if options is None or not _plain_streams():
        return
    from handout.deferred_imports import defer_unused_libraries
    from handout.errors import HandoutError
    from handout.terminal import show_what_the_terminal_can

    defer_unused_libraries()  # this process makes one leaflet: HarfBuzz, pyphen and Pillow load only if it needs them
    show_what_the_terminal_can()
    settings = {**LEAFLET_DEFAULTS, **options}
    try:
        make_leaflet(**settings, say=_say)  # type: ignore[arg-type]
    except HandoutError as exc:
        _fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except OSError as exc:  # a write to standard output failed (a full disk, ulimit -f): never a traceback
        _fail_to_write(exc)
    try:
        sys.stdout.flush()  # what is still buffered must be written now, where a failure can be reported
    except OSError as exc:
        _fail_to_write(exc)
    sys.exit(0)
