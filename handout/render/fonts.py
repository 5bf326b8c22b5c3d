"""Registers the embedded fonts and turns text into ReportLab markup that never prints a box."""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import escape

import fontpkg
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from handout.document import Inline
from handout.errors import HandoutError

MAIN = "Atkinson"
MAIN_BOLD = "Atkinson-Bold"
FALLBACK = "NotoSans"

# Subsets without readable ASCII encodings are ~25% smaller and print the same.
rl_config.ttfAsciiReadable = 0


@cache
def register_fonts() -> None:
    """Register Atkinson Hyperlegible, the main font, once per process."""
    family = "Atkinson Hyperlegible"
    pdfmetrics.registerFont(TTFont(MAIN, str(fontpkg.path(family, 400, "normal"))))
    pdfmetrics.registerFont(TTFont(MAIN_BOLD, str(fontpkg.path(family, 700, "normal"))))
    # No italics: large-print guidance uses bold for emphasis, so <i> maps to
    # the upright faces. baseFontFor points the canvas and graphics defaults
    # at Atkinson, so no document carries ReportLab's non-embedded Helvetica.
    pdfmetrics.registerFontFamily(MAIN, normal=MAIN, bold=MAIN_BOLD, italic=MAIN, boldItalic=MAIN_BOLD, baseFontFor="canvas graphics")


@cache
def register_fallback() -> None:
    """Register Noto Sans on first need: parsing its 4 MB file is a third of a leaflet's run time."""
    # Noto Sans ships as a variable font; ReportLab uses its default (regular)
    # instance, so fallback text is never bold. Good enough for the few words
    # (names in Greek, Cyrillic, Vietnamese) that need it.
    pdfmetrics.registerFont(TTFont(FALLBACK, str(fontpkg.path("Noto Sans", 400, "normal"))))
    pdfmetrics.registerFontFamily(FALLBACK, normal=FALLBACK, bold=FALLBACK, italic=FALLBACK, boldItalic=FALLBACK)


@cache
def _coverage(font_name: str) -> frozenset[int]:
    register_fonts()
    if font_name == FALLBACK:
        register_fallback()
    font = pdfmetrics.getFont(font_name)
    return frozenset(font.face.charToGlyph)  # type: ignore[attr-defined]


def first_unprintable(text: str) -> str | None:
    """The first character no shipped font can print, if any."""
    main = _coverage(MAIN)
    if all(ord(c) in main or c.isspace() for c in text):
        return None
    fallback = _coverage(FALLBACK)
    return next((c for c in text if ord(c) not in main and ord(c) not in fallback and not c.isspace()), None)


def printable_in_main(text: str) -> bool:
    """True when the main font has every glyph of `text`."""
    main = _coverage(MAIN)
    return all(ord(c) in main for c in text)


def check_printable(text: str) -> None:
    """Fail with the offending character when no shipped font can print it."""
    char = first_unprintable(text)
    if char is not None:
        raise HandoutError(
            f"the character {char!r} (U+{ord(char):04X}) cannot be printed with the fonts handout ships; "
            "type the name in Latin, Greek or Cyrillic letters"
        )


def text_markup(text: str) -> str:
    """Escape plain text for a ReportLab Paragraph, with font fallback.

    Each comma-separated part the main font cannot print whole (a name in
    Greek, say) is set entirely in the fallback font, so one name never mixes
    two typefaces, while "Σοφία Π., Example Clinic" keeps the clinic's name in
    the main font.
    """
    main = _coverage(MAIN)
    if not all(ord(c) in main or c == "\n" for c in text):
        check_printable(text)
        pieces = text.split(", ")
        parts = []
        for index, part in enumerate(pieces):
            part += "," if index < len(pieces) - 1 else ""  # the comma stays with its part: no font change before it
            marked = escape(part).replace("\n", "<br/>")
            parts.append(marked if all(ord(c) in main or c == "\n" for c in part) else f'<font name="{FALLBACK}">{marked}</font>')
        return " ".join(parts)
    out: list[str] = []
    for line_no, line in enumerate(text.split("\n")):
        if line_no:
            out.append("<br/>")
        out.append(escape(line))
    return "".join(out)


def inline_markup(spans: Inline, link_colour: str | None = None) -> str:
    """ReportLab markup for a run of spans; the only place text becomes markup."""
    parts: list[str] = []
    for span in spans:
        piece = text_markup(span.text)
        if span.bold:
            piece = f"<b>{piece}</b>"
        if span.href:
            colour = f' color="{link_colour}"' if link_colour else ""
            piece = f'<a href="{escape(span.href, {chr(34): "&quot;"})}"{colour}>{piece}</a>'
        parts.append(piece)
    return "".join(parts)


def string_width(text: str, size: float, bold: bool = False) -> float:
    """Width in points of plain text set in the main font."""
    register_fonts()
    return pdfmetrics.stringWidth(text, MAIN_BOLD if bold else MAIN, size)
