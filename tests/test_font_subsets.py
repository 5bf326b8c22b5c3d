"""Embedded font subsets hold only what drawing needs (no hinting, a short name table), and every glyph is its font's own outline."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys

import fontpkg
import pikepdf
import pytest
from fontTools.ttLib import TTFont

from handout import api
from handout.render.fonts import font_data

KEPT = {"GlyphOrder", "OS/2", "cmap", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "name", "post"}


def subsets(pdf: bytes) -> list[tuple[str, TTFont, dict[int, int]]]:
    """(PostScript name, embedded font, {character code: Unicode}) for every embedded TrueType subset."""
    found = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for obj in document.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Subtype") == "/TrueType" and "/FontDescriptor" in obj:
                to_unicode = obj.ToUnicode.read_bytes().decode("latin-1")
                codes = {int(code, 16): int(text, 16) for code, text in re.findall(r"<([0-9A-F]{2})> <([0-9A-F]{4})>", to_unicode)}
                font = TTFont(io.BytesIO(obj.FontDescriptor.FontFile2.read_bytes()))
                found.append((str(obj.BaseFont).split("+")[-1], font, codes))
    return found


def source(name: str) -> TTFont:
    """The font file a subset was cut from."""
    if name.startswith("AtkinsonHyperlegible"):
        return TTFont(fontpkg.path("Atkinson Hyperlegible", 700 if name.endswith("Bold") else 400, "normal"))
    return TTFont(io.BytesIO(font_data(name)))


@pytest.fixture(scope="module")
def plan() -> bytes:
    # Spanish large print with the article: ñ, accents, ¿ ¡, dashes, arrows; a Greek name set in the Noto fallback.
    return api.render_plan(
        patient="Σοφία Παπαδοπούλου", clinician="Sam Lee", start_date=dt.date(2027, 1, 4), issued=dt.date(2026, 12, 1),
        weeks=12, with_article=True, language="es", large_print=True,
    )  # fmt: skip


def test_subsets_carry_no_hinting_and_a_short_name_table(plan: bytes) -> None:
    found = subsets(plan)
    names = {name for name, *_ in found}
    assert {"AtkinsonHyperlegible-Regular", "AtkinsonHyperlegible-Bold"} <= names and any(name.startswith("NotoSans") for name in names)
    for name, font, _ in found:
        assert set(font.keys()) == KEPT, f"{name}: {sorted(set(font.keys()) ^ KEPT)}"
        assert {record.nameID for record in font["name"].names} <= {0, 1, 2, 4, 6}
        glyf = font["glyf"]
        for glyph_name in font.getGlyphOrder():
            glyph = glyf[glyph_name]
            assert not hasattr(glyph, "program") or not glyph.program.getBytecode(), f"{name} {glyph_name} keeps its instructions"


def test_every_glyph_drawn_is_the_fonts_own_outline_and_width(plan: bytes) -> None:
    compared = 0
    for name, font, codes in subsets(plan):
        original = source(name)
        best = original.getBestCmap()
        ours, theirs = font["glyf"], original["glyf"]
        cmap = font["cmap"].getcmap(1, 0).cmap
        for code, char in codes.items():
            if char not in best:
                continue
            mine, real = ours[cmap[code]], theirs[best[char]]
            a, b = mine.getCoordinates(ours), real.getCoordinates(theirs)
            assert (list(a[0]), list(a[1]), [f & 1 for f in a[2]]) == (list(b[0]), list(b[1]), [f & 1 for f in b[2]]), f"{name} {chr(char)!r}"
            assert font["hmtx"][cmap[code]][0] == original["hmtx"][best[char]][0]
            compared += 1
    assert compared > 150


def test_a_font_registered_first_elsewhere_still_embeds_lean() -> None:
    """ReportLab gives every font of one PostScript name the first one's face: handout's subsets must not depend on who came first."""
    script = (
        "import fontpkg, io, pikepdf\n"
        "from reportlab.pdfbase import pdfmetrics\n"
        "from reportlab.pdfbase.ttfonts import TTFont\n"
        "pdfmetrics.registerFont(TTFont('Theirs', str(fontpkg.path('Atkinson Hyperlegible', 400, 'normal'))))\n"
        "from handout import api\n"
        "pdf = pikepdf.open(io.BytesIO(api.render_leaflet()))\n"
        "print(sum(b'fpgm' in o.FontFile2.read_bytes() for o in pdf.objects if isinstance(o, pikepdf.Dictionary) and '/FontFile2' in o))\n"
    )
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip() == "0"
