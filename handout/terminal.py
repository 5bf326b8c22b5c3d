"""Standard output and error for the command line: text any terminal encoding can show, and write errors as one line."""

from __future__ import annotations

import codecs
import errno
import os
import sys
import unicodedata
from collections.abc import Callable
from typing import NoReturn

FALLBACK_ERRORS = "handout-fallback"

# Typographic characters handout's messages and tables use, as the nearest ASCII.
_NEAREST_ASCII = {
    "–": "-", "—": "-", "‐": "-", "−": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "…": "...", "×": "x",
    "≤": "<=", "≥": ">=", "→": "->", "←": "<-", "•": "*", "·": ".", "✓": "ok", "✗": "x", "\u00a0": " ", "\u202f": " ",
}  # fmt: skip


def _nearest(char: str) -> str:
    """What to show for a character the terminal's encoding lacks: its ASCII likeness, else '?'."""
    if char in _NEAREST_ASCII:
        return _NEAREST_ASCII[char]
    name = unicodedata.name(char, "")
    if name.startswith("BOX DRAWINGS"):  # rich's table borders
        return "-" if "HORIZONTAL" in name and "VERTICAL" not in name else "|" if "VERTICAL" in name and "HORIZONTAL" not in name else "+"
    # "é" → "e": the letter without its accent reads better than a question mark.
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if c.isascii() and not unicodedata.combining(c))
    return base or "?"


def _fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    encoding = error.encoding
    pieces = []
    for char in error.object[error.start : error.end]:
        replacement = _nearest(char)
        try:
            replacement.encode(encoding)
        except UnicodeEncodeError:
            replacement = "?"
        pieces.append(replacement)
    return "".join(pieces), error.end


codecs.register_error(FALLBACK_ERRORS, _fallback)


def writes_any_character(stream: object) -> bool:
    """Whether a text stream's encoding has every character (UTF-8 and its kin)."""
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name in ("utf-8", "utf-16", "utf-32")
    except LookupError:
        return False


def show_what_the_terminal_can() -> None:
    """Standard output and error write, in an encoding without some character (PYTHONIOENCODING=cp1252), its nearest look-alike.

    A UnicodeEncodeError in the middle of a report would otherwise end the command with a traceback.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None or stream.errors in (FALLBACK_ERRORS, "backslashreplace", "surrogateescape"):
            continue
        if writes_any_character(stream):
            continue
        try:
            reconfigure(errors=FALLBACK_ERRORS)
        except (ValueError, OSError):
            pass


def write_error_message(exc: OSError, where: str) -> str:
    """One line for a failed write: what could not be written and why (a full disk, a file-size limit)."""
    if exc.errno == errno.EFBIG:
        reason = "the file-size limit, ulimit -f, was reached"
    else:
        reason = (exc.strerror or os.strerror(exc.errno or errno.EIO)).lower()
    return f"{where}: cannot write ({reason})"


def silence_standard_output() -> None:
    """After a failed write to standard output, Python would try (and fail) to flush it again at exit: point it at /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def end_with_error(message: str, code: int, say: Callable[[str, bool], None]) -> NoReturn:
    """End the command with `handout: error: <message>` on standard error (through `say`) and exit code `code`."""
    try:
        say(f"handout: error: {message}", True)
    except OSError:
        pass  # standard error is gone too (a closed terminal): the exit code still says it
    sys.exit(code)


def end_with_write_error(exc: OSError, say: Callable[[str, bool], None]) -> NoReturn:
    """End the command after a failed write to standard output (a full disk, a closed pipe): one line, never a traceback."""
    from handout.errors import EXIT_FAILURE

    silence_standard_output()  # else Python fails again flushing it at exit, with a traceback-like message
    end_with_error(write_error_message(exc, exc.filename or "standard output"), EXIT_FAILURE, say)
