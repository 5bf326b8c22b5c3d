"""Registers the embedded fonts and turns text into ReportLab markup that never prints a box or a wrong shape."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import groupby
from pathlib import Path

from reportlab import rl_config
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace, TTFontMaker

from handout.document import Inline
from handout.errors import HandoutError
from handout.render.bidi import right_to_left_problem, visual_right_to_left
from handout.render.font_files import font_path
from handout.render.structure import Node
from handout.render.tagged_flowables import TaggedParagraph
from handout.xml_text import escape

MAIN = "Atkinson"
MAIN_BOLD = "Atkinson-Bold"
SUPPORTED_SCRIPTS = "Latin, Greek, Cyrillic, Arabic, Devanagari, Tamil, Telugu, Thai or Khmer letters"

# Subsets without readable ASCII encodings are ~25% smaller and print the same.
rl_config.ttfAsciiReadable = 0


@dataclass(frozen=True)
class Face:
    """A fallback type family: the letters that send text to it, and its ReportLab names."""

    regular: str
    family: str  # as fontpkg knows it
    ranges: tuple[tuple[int, int], ...] = ()
    right_to_left: bool = False

    @property
    def bold(self) -> str:
        return f"{self.regular}-Bold"


# Latin letters Atkinson lacks, Greek, Cyrillic, Vietnamese.
GENERAL = Face("NotoSans", "Noto Sans")
# Scripts whose letters change shape with their neighbours: drawn only after HarfBuzz shapes them.
SCRIPTS = {
    "Arabic": Face("NotoSansArabic", "Noto Sans Arabic", ((0x0600, 0x06FF), (0x0750, 0x077F), (0x0870, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)), True),
    "Devanagari": Face("NotoSansDevanagari", "Noto Sans Devanagari", ((0x0900, 0x097F), (0xA8E0, 0xA8FF), (0x1CD0, 0x1CFF))),
    "Tamil": Face("NotoSansTamil", "Noto Sans Tamil", ((0x0B80, 0x0BFF), (0x11FC0, 0x11FFF))),
    "Telugu": Face("NotoSansTelugu", "Noto Sans Telugu", ((0x0C00, 0x0C7F),)),
    "Thai": Face("NotoSansThai", "Noto Sans Thai", ((0x0E00, 0x0E7F),)),
    "Khmer": Face("NotoSansKhmer", "Noto Sans Khmer", ((0x1780, 0x17FF), (0x19E0, 0x19FF))),
}
_FACES = {name: face for face in (GENERAL, *SCRIPTS.values()) for name in (face.regular, face.bold)}
_WEIGHTS = {face.bold: 700 for face in _FACES.values()}
_SCRIPT_CHAR = re.compile("[" + "".join(f"\\U{a:08X}-\\U{b:08X}" for face in SCRIPTS.values() for a, b in face.ranges) + "]")
# Combining marks NFC could not fold into a letter need HarfBuzz's mark placement too.
_NEEDS_SHAPING = re.compile(_SCRIPT_CHAR.pattern[:-1] + "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_FALLBACK_TAG = re.compile(r'<font name="(' + "|".join(face.regular for face in (GENERAL, *SCRIPTS.values())) + r')">')


@cache
def register_fonts() -> None:
    """Register Atkinson Hyperlegible, the main font, once per process."""
    family = "Atkinson Hyperlegible"
    register_lean(TTFont(MAIN, str(font_path(family, 400))))
    register_lean(TTFont(MAIN_BOLD, str(font_path(family, 700))))
    # No italics: large-print guidance uses bold for emphasis, so <i> maps to
    # the upright faces. baseFontFor points the canvas and graphics defaults
    # at Atkinson, so no document carries ReportLab's non-embedded Helvetica.
    pdfmetrics.registerFontFamily(MAIN, normal=MAIN, bold=MAIN_BOLD, italic=MAIN, boldItalic=MAIN_BOLD, baseFontFor="canvas graphics")


@cache
def font_data(name: str) -> bytes:
    """The static font file a fallback font name is drawn with (what HarfBuzz shapes and the PDF embeds).

    The Noto families ship as variable fonts, and ReportLab can only use
    their default (regular) outlines. HarfBuzz's instancer pins the weight
    axis to make a true bold. That took about 25 ms a weight, on the path
    of a batch's first plan (its workers' server registers the general face):
    the static font is kept between runs, under the variable font's path,
    size and time and HarfBuzz's version, and checked against its digest.
    """
    from handout import private_cache

    source = font_path(_FACES[name].family, 400)
    key = _kept_key(name, source, private_cache.installed_version("uharfbuzz", "__init__.py"))
    if key is None:
        return _static_instance(source.read_bytes(), name)  # says which file is missing, as before
    folder = private_cache.cache_folder("static-fonts")
    kept = private_cache.load_bytes(folder, key)
    if kept is not None:
        return kept
    made = _static_instance(source.read_bytes(), name)
    private_cache.store_bytes(folder, key, made, 2 * len(_FACES))
    return made


def _static_instance(variable: bytes, name: str) -> bytes:
    """A Noto variable font pinned to `name`'s weight and the normal width, by HarfBuzz's instancer."""
    import uharfbuzz

    face = uharfbuzz.Face(variable)
    request = uharfbuzz.SubsetInput()
    request.keep_everything()
    request.pin_axis_location(face, "wght", _WEIGHTS.get(name, 400))
    request.pin_axis_location(face, "wdth", 100)
    return bytes(uharfbuzz.subset(face, request).blob.data)


@cache
def register_face(face: Face) -> None:
    """Register both weights of a fallback face, on first need: parsing them costs more than a leaflet."""
    register_fonts()
    for name in (face.regular, face.bold):
        font = TTFont(name, io.BytesIO(font_data(name)))
        font.face.name = name.encode()  # both instances keep the family's PostScript name; the PDF must tell them apart
        _name_unmapped_glyphs(font)
        register_lean(font)
    pdfmetrics.registerFontFamily(face.regular, normal=face.regular, bold=face.bold, italic=face.regular, boldItalic=face.bold)


def register_lean(font: TTFont) -> None:
    """Register the font so that its subsets are embedded through `subset_font` (only what drawing needs), not ReportLab's own subsetter."""
    pdfmetrics.registerFont(font)
    # Only now: ReportLab files every font registered with one PostScript name as the first one (the benchmark's
    # floor registers Atkinson too), and it is that font's face which writes the subsets.
    face = pdfmetrics.getFont(font.fontName).face
    face.makeSubset = lambda subset: subset_font(face, subset)  # type: ignore[method-assign]


# What a PDF viewer or printer needs of an embedded TrueType subset: outlines and their index (glyf, loca), metrics
# (head, hhea, hmtx, maxp, OS/2), and the character map and post table ReportLab writes. Hinting (the fpgm, prep
# and cvt programs and each glyph's instructions) only nudges outlines onto a screen's pixel grid at small sizes:
# without it a viewer draws the outlines as designed (as Poppler does by default), a printer needs none, and it
# was an eighth of a large-print plan's bytes. The name table keeps the copyright, family, style, full and PostScript names.
_KEPT_TABLES = frozenset({"OS/2", "cmap", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "name", "post"})
_KEPT_NAMES = frozenset({0, 1, 2, 4, 6})
_MORE_COMPONENTS, _WORD_ARGS, _SCALE, _XY_SCALE, _TWO_BY_TWO, _INSTRUCTIONS = 0x20, 0x01, 0x08, 0x40, 0x80, 0x100


def subset_font(face: TTFontFace, subset: Sequence[int]) -> bytes:
    """The TrueType subset ReportLab embeds for these character codes, without hinting and with a short name table."""
    font = TTFontFace.makeSubset(face, subset)
    (count,) = struct.unpack_from(">H", font, 4)
    tables = {}
    for entry in range(12, 12 + 16 * count, 16):
        tag = font[entry : entry + 4].decode("latin-1")
        offset, length = struct.unpack_from(">LL", font, entry + 8)
        if tag in _KEPT_TABLES:
            tables[tag] = font[offset : offset + length]
    head, maxp = bytearray(tables["head"]), bytearray(tables["maxp"])
    long_loca = struct.unpack_from(">h", head, 50)[0] == 1
    loca = struct.unpack(f">{len(tables['loca']) // (4 if long_loca else 2)}{'L' if long_loca else 'H'}", tables["loca"])
    glyf = tables["glyf"]
    glyphs = [_without_instructions(glyf[a * (1 if long_loca else 2) : b * (1 if long_loca else 2)]) for a, b in zip(loca, loca[1:])]
    offsets = [0]
    for glyph in glyphs:
        offsets.append(offsets[-1] + len(glyph))
    long_loca = offsets[-1] // 2 > 0xFFFF
    struct.pack_into(">h", head, 50, 1 if long_loca else 0)
    if struct.unpack_from(">L", maxp)[0] == 0x00010000:
        # No instructions left to run: what maxp reserves for them goes (zones 1; twilight points, storage,
        # function and instruction definitions, stack and instruction size 0), as fontTools does without hinting.
        maxp[14:28] = struct.pack(">7H", 1, 0, 0, 0, 0, 0, 0)
    out = TTFontMaker()
    for tag in sorted(tables):
        out.add(tag, tables[tag])
    out.add("head", bytes(head))
    out.add("maxp", bytes(maxp))
    out.add("glyf", b"".join(glyphs))
    out.add("loca", struct.pack(f">{len(offsets)}L", *offsets) if long_loca else struct.pack(f">{len(offsets)}H", *(o // 2 for o in offsets)))
    if "name" in tables:
        out.add("name", _short_name_table(tables["name"]))
    return out.makeStream()


@lru_cache(maxsize=4096)  # a pure function of the glyph's bytes; a plan's subsets hold the same few hundred glyphs every time
def _without_instructions(glyph: bytes) -> bytes:
    """One glyph's outline without its hinting instructions, padded to four bytes as ReportLab pads it."""
    if len(glyph) < 10:
        return glyph
    (contours,) = struct.unpack_from(">h", glyph, 0)
    if contours >= 0:
        at = 10 + 2 * contours  # after the contours' end points: the instructions' length, then the instructions
        (length,) = struct.unpack_from(">H", glyph, at)
        out = glyph[:at] + b"\0\0" + glyph[at + 2 + length : _simple_glyph_end(glyph, contours, at + 2 + length)]
    else:
        out = bytearray(glyph)
        at, flags = 10, _MORE_COMPONENTS
        while flags & _MORE_COMPONENTS:
            (flags,) = struct.unpack_from(">H", out, at)
            struct.pack_into(">H", out, at, flags & ~_INSTRUCTIONS)
            at += 4 + (4 if flags & _WORD_ARGS else 2)
            at += 2 if flags & _SCALE else 4 if flags & _XY_SCALE else 8 if flags & _TWO_BY_TWO else 0
        out = bytes(out[:at])  # the instructions, if any, follow the last component
    return out + b"\0" * (-len(out) % 4)


def _simple_glyph_end(glyph: bytes, contours: int, at: int) -> int:
    """Where a simple glyph's coordinates end (`at`: its first flag): what follows is the font file's padding."""
    points = struct.unpack_from(">H", glyph, 10 + 2 * contours - 2)[0] + 1 if contours else 0
    sizes = 0
    while points > 0:
        flag = glyph[at]
        repeat = 1 + (glyph[at + 1] if flag & 0x08 else 0)
        at += 2 if flag & 0x08 else 1
        # x then y: one byte when short, none when the same as before, else two
        sizes += repeat * ((1 if flag & 0x02 else 0 if flag & 0x10 else 2) + (1 if flag & 0x04 else 0 if flag & 0x20 else 2))
        points -= repeat
    return at + sizes


def _short_name_table(table: bytes) -> bytes:
    """A name table of only the records in _KEPT_NAMES (the font's licence and its makers' details are most of it)."""
    count, strings = struct.unpack_from(">HH", table, 2)
    records = []
    for at in range(6, 6 + 12 * count, 12):
        platform, encoding, language, name_id, length, offset = struct.unpack_from(">6H", table, at)
        if name_id in _KEPT_NAMES:
            records.append(((platform, encoding, language, name_id), table[strings + offset : strings + offset + length]))
    header = struct.pack(">3H", 0, len(records), 6 + 12 * len(records))
    directory, data = b"", b""
    for (platform, encoding, language, name_id), text in records:
        directory += struct.pack(">6H", platform, encoding, language, name_id, len(text), len(data))
        data += text
    return header + directory + data


def _name_unmapped_glyphs(font: TTFont) -> None:
    # ReportLab puts a shaped glyph that has no character of its own (a
    # conjunct, a joined Arabic form) into the PDF under a private-use code
    # chosen in the order glyphs are first met in the process, so a plan's
    # bytes would depend on the plans drawn before it. Naming every such
    # glyph up front, in glyph order, keeps identical inputs byte-identical.
    face = font.face
    code = 0xE000
    for glyph in range(face.numGlyphs):
        if glyph in face.glyphToChar:
            continue
        while code in face.charToGlyph:
            code += 1
        face.charToGlyph[code] = glyph
        face.glyphToChar[glyph] = [code]
        face.charWidths[code] = face._pdfScale(face.hmetrics[glyph][0])
        code += 1


@cache
def _coverage(font_name: str) -> frozenset[int]:
    register_fonts()
    if font_name in _FACES:
        register_face(_FACES[font_name])
    return _printed_codes(pdfmetrics.getFont(font_name).face)  # type: ignore[attr-defined]


def _printed_codes(face: TTFontFace) -> frozenset[int]:
    """The characters a parsed face has glyphs for, less the private-use codes ReportLab gives glyphs of no character of their own."""
    return frozenset(c for c in face.charToGlyph if not 0xE000 <= c <= 0xF8FF)


Coverage = Callable[[str], frozenset[int]]
_COVERAGE_FORMAT = 1


@cache
def kept_coverage(font_name: str) -> frozenset[int]:
    """The characters a font prints, as `_coverage` finds them, but without registering the font: kept between runs.

    For checking a patient list: a batch's main process checks every name but draws
    nothing while its workers render, and registering the fonts there (parsing them)
    cost about 13 MB and 0.15 s of CPU. Kept under the font file's path, size and time.
    """
    from handout import private_cache

    family = _FACES[font_name].family if font_name in _FACES else "Atkinson Hyperlegible"
    source = font_path(family, 400)
    # ReportLab parses the font and HarfBuzz makes a fallback's static face: an upgrade of either is another key.
    libraries = "|".join(private_cache.installed_version(package, "__init__.py") for package in ("reportlab", "uharfbuzz"))
    key = _kept_key(font_name, source, str(_COVERAGE_FORMAT), libraries)
    if key is None:
        return _coverage(font_name)
    folder = private_cache.cache_folder("coverage")
    kept = private_cache.load(folder, key)
    ranges = kept.get("ranges") if kept is not None else None
    if isinstance(ranges, list) and all(isinstance(r, list) and len(r) == 2 and all(type(n) is int for n in r) for r in ranges):
        return frozenset(c for first, last in ranges for c in range(first, last + 1))
    data = font_data(font_name) if font_name in _FACES else source.read_bytes()
    found = _printed_codes(TTFontFace(io.BytesIO(data)))  # parsed and dropped: nothing registered
    private_cache.store(folder, key, {"ranges": _runs(sorted(found))}, 16)
    return found


def _kept_key(font_name: str, source: Path, *parts: str) -> str | None:
    """The cache key of what is made from the font file `source` for `font_name`: its path, size and time, and `parts`; None if it cannot be read."""
    try:
        info = source.stat()
    except OSError:
        return None
    return hashlib.sha256("|".join([font_name, str(source), str(info.st_size), str(info.st_mtime_ns), *parts]).encode()).hexdigest()


def _runs(codes: list[int]) -> list[list[int]]:
    """Sorted character codes as [first, last] runs of consecutive codes (a font's coverage kept in a few hundred numbers)."""
    runs: list[list[int]] = []
    for code in codes:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return runs


def _script_face(char: str) -> Face | None:
    if not _SCRIPT_CHAR.match(char):
        return None
    code = ord(char)
    return next(face for face in SCRIPTS.values() if any(a <= code <= b for a, b in face.ranges))


def _in_main(text: str, coverage: Coverage = _coverage) -> bool:
    main = coverage(MAIN)
    return all(ord(c) in main or c == "\n" for c in text)


def _word_face(word: str) -> Face:
    return next((face for face in map(_script_face, word) if face is not None), GENERAL)


def font_runs(text: str, coverage: Coverage = _coverage) -> Iterator[tuple[Face | None, str]]:
    """The text in runs, each with the fallback face it is set in (None: the main font).

    Each comma-separated part the main font cannot print whole (a name in
    Greek, say) is set entirely in one fallback face, so one name never mixes
    two typefaces, while "Σοφία Π., Example Clinic" keeps the clinic's name in
    the main font. Only a part that mixes scripts changes face, between words,
    so every word ReportLab shapes is in one font.
    """
    for part in re.split(r"(?<=, )", text):
        if not part:
            continue
        if _in_main(part, coverage):
            yield None, part
            continue
        scripts = {face for face in map(_script_face, part) if face is not None}
        if len(scripts) <= 1:
            face = scripts.pop() if scripts else GENERAL
            covered = coverage(face.regular)
            if all(ord(c) in covered or c.isspace() for c in part):
                yield face, part
                continue
        for word in re.findall(r"\S+\s*|\s+", part):
            yield _word_face(word), word


def first_unprintable(text: str, coverage: Coverage = _coverage) -> str | None:
    """The first character no shipped font can print (or place correctly), if any (`coverage=kept_coverage`: without registering the fonts)."""
    text = unicodedata.normalize("NFC", text)
    if _in_main(text, coverage):
        return None
    for face, run in font_runs(text, coverage):
        if face is None:
            continue
        covered = coverage(face.regular)
        bad = next((c for c in run if ord(c) not in covered and not c.isspace()), None)
        if bad is not None:
            return bad
        if face.right_to_left:
            bad = right_to_left_problem(run)
            if bad is not None:
                return bad
    return None


def unprintable_reason(char: str, coverage: Coverage = _coverage) -> str:
    """Why `char`, as found by first_unprintable, stops a name: no font has it, or it cannot stand where it is."""
    if ord(char) in coverage(MAIN) or ord(char) in coverage(GENERAL.regular) or _script_face(char) is not None:
        return "which handout cannot place correctly after Arabic letters: put digits before the Arabic words, and Latin letters in words of their own"
    return f"which the fonts handout ships cannot print; use {SUPPORTED_SCRIPTS}"


FontRuns = tuple[tuple[Face | None, str], ...]


def plain_runs(text: str) -> FontRuns | None:
    """The text as font_runs sets it, when each run can be drawn glyph by glyph in its face (a name in Greek or Cyrillic); None when it needs HarfBuzz, or a glyph is missing.

    For text drawn directly (a grid's cells) rather than as a Paragraph: Arabic, Indic and
    Thai scripts and combining marks need shaping (and right-to-left order), so those stay Paragraphs.
    """
    text = unicodedata.normalize("NFC", text)
    if needs_shaping(text):
        return None
    runs = tuple(font_runs(text))
    for face, run in runs:
        if face is not None:
            covered = _coverage(face.regular)  # registers the face, for drawing
            if any(ord(c) not in covered and not c.isspace() for c in run):
                return None
    return runs


def runs_width(runs: FontRuns, size: float, bold: bool = False) -> float:
    """Width in points of font runs, each in its face."""
    register_fonts()
    return sum(pdfmetrics.stringWidth(run, (MAIN_BOLD if bold else MAIN) if face is None else (face.bold if bold else face.regular), size) for face, run in runs)


def printable_in_main(text: str) -> bool:
    """True when the main font has every glyph of `text`."""
    main = _coverage(MAIN)
    return all(ord(c) in main for c in text)


def check_printable(text: str) -> None:
    """Fail with the offending character when no shipped font can print it."""
    char = first_unprintable(text)
    if char is not None:
        raise HandoutError(f"the character {char!r} (U+{ord(char):04X}), {unprintable_reason(char)}")


def text_markup(text: str) -> str:
    """Escape plain text for a ReportLab Paragraph, with font fallback (see font_runs)."""
    return "".join(markup for _, markup in _markup([text]))


def _markup(texts: list[str]) -> list[tuple[int, str]]:
    """Markup for consecutive pieces of one text, as (which piece, markup) in drawing order.

    Faces are chosen for the whole text, so no word changes font where
    formatting changes; right-to-left runs are reordered whole, each
    character keeping its own piece (a plain comma after a bold name).
    """
    texts = [unicodedata.normalize("NFC", text) for text in texts]
    whole = "".join(texts)
    if _in_main(whole):
        return [(number, escape(text).replace("\n", "<br/>")) for number, text in enumerate(texts)]
    check_printable(whole)
    owner = [number for number, text in enumerate(texts) for _ in text]
    drawn: list[tuple[int, Face | None, str]] = []  # (piece, face, character) in drawing order
    offset = 0
    for face, run in font_runs(whole):
        order = visual_right_to_left(run) if face is not None and face.right_to_left else list(enumerate(run))
        drawn += [(owner[offset + i], face, char) for i, char in order]
        offset += len(run)
    out: list[tuple[int, str]] = []
    for (number, face), group in groupby(drawn, key=lambda d: (d[0], d[1])):
        marked = escape("".join(char for _, _, char in group)).replace("\n", "<br/>")
        out.append((number, marked if face is None else f'<font name="{face.regular}">{marked}</font>'))
    return out


# A value a reader takes in at once never breaks over lines: a number and its unit ("10 minutes",
# "5 días"), a range of numbers ("5 – 10"), a time ("10:30 am"). Each such space becomes a no-break
# space, which keeps the text's length (and so every character's place in `_markup`).
_UNITS = (
    r"minutes?|mins?|hours?|days?|weeks?|walks?|steps?|times?|years?|pt|mm|cm|km|m|kg|"
    r"minutos?|horas?|días?|semanas?|paseos?|pasos|veces|años?|am|pm|a\.m\.|p\.m\."
)
_VALUE_SPACE = re.compile(
    rf"(?<=\d) (?=(?:{_UNITS})\b)|(?<=\d) (?=(?:[–-]|a|to) ?\d)|(?<=\d [–-]) (?=\d)|(?<=\d a) (?=\d)|(?<=\d to) (?=\d)", re.IGNORECASE
)


def keep_values_whole(text: str) -> str:
    """The text with no-break spaces inside values: "10\u00a0minutes", "5\u00a0–\u00a010"."""
    return _VALUE_SPACE.sub("\u00a0", text)


def inline_markup(spans: Inline, link_colour: str | None = None) -> str:
    """ReportLab markup for a run of spans; the only place text becomes markup. Values (a number and its unit, a range) never break."""
    parts: list[str] = []
    for number, piece in _markup([keep_values_whole(span.text) for span in spans]):
        span = spans[number]
        if span.bold:
            piece = f"<b>{_bold_fallback(piece)}</b>"
        if span.href:
            colour = f' color="{link_colour}"' if link_colour else ""
            piece = f'<a href="{escape(span.href, {chr(34): "&quot;"})}"{colour}>{piece}</a>'
        parts.append(piece)
    return "".join(parts)


def needs_shaping(text: str) -> bool:
    """Whether HarfBuzz shapes the text: its glyphs may then not map back to its letters, so it needs /ActualText."""
    return _NEEDS_SHAPING.search(text) is not None


def paragraph(markup: str, style: ParagraphStyle, tag: Node | None = None, text: str = "") -> TaggedParagraph:
    """A Paragraph of this module's markup, shaped by HarfBuzz only where a script or mark needs it (shaping costs time).

    Drawn as `tag`'s content. Shaped glyphs (and right-to-left runs, drawn in
    visual order) may not map back to the letters typed, so then the element
    also carries `text`, the words as typed, for screen readers and copying (/ActualText).
    """
    if style.fontName == MAIN_BOLD:
        markup = _bold_fallback(markup)
    shaped = needs_shaping(markup)
    from handout.render.paragraphs import KeptParagraph  # here, not with the imports above: a line other branches change

    para = KeptParagraph(markup, _shaping(style) if shaped else style)
    if tag is not None:
        if shaped and text:
            tag.actual_text = unicodedata.normalize("NFC", text)
        para.tag = tag
    return para


def _bold_fallback(markup: str) -> str:
    # ReportLab's <font name=...> starts regular even inside <b> or a bold
    # style: naming the bold instance keeps a fallback name as bold as its label.
    return _FALLBACK_TAG.sub(r'<font name="\1-Bold">', markup)


@cache
def _shaping(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}-shaped", parent=style, shaping=1)


def string_width(text: str, size: float, bold: bool = False) -> float:
    """Width in points of plain text set in the main font."""
    register_fonts()
    return pdfmetrics.stringWidth(text, MAIN_BOLD if bold else MAIN, size)
