"""Type sizes, colours and paragraph styles for one brand and print profile."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle

from handout.brand import Brand, Colour
from handout.render.fonts import MAIN, MAIN_BOLD, register_fonts

INK = HexColor("#1A1A1A")  # near-black body text: 17:1 on white
MUTED = HexColor("#404040")  # secondary text, still 10:1 on white
WARNING = HexColor("#A1241B")  # warning panel frame and band: 7:1 on white, dark grey in B/W print
WARNING_TINT = HexColor("#FCEFED")
NOTE_TINT = HexColor("#F3F6F9")  # the background of note panels


def _hex(colour: Color) -> str:
    return "#" + colour.hexval()[2:].upper()


@dataclass(frozen=True)
class Profile:
    """Type sizes in points (lengths in mm); standard print follows RNIB Clear Print (body 14 pt)."""

    body: float = 14
    leading: float = 20
    title: float = 26
    h1: float = 18
    h2: float = 14.5
    small: float = 10.5
    disclaimer: float = 12  # the clinic's disclaimer is patient content: at least the body minimum (issue 16)
    masthead_name: float = 17
    masthead_contact: float = 12  # the clinic's address and phone: patient content, at least the body minimum
    cell: float = 14 * 0.9  # table text: never under the 12 pt body minimum
    cell_leading: float = 20 * 0.85
    cell_header: float = 12
    footer: float = 9.5  # page furniture: the clinic line, the disclaimer and the page label
    footer_leading: float = 12
    page_label: float = 10.5
    logo_mm: tuple[float, float] = (40, 18)  # the largest box the logo is scaled into
    diary_row_mm: float = 9  # tall enough to write in by hand with a ballpoint
    tick: float = 14 * 1.1  # the side of a tick box
    min_contrast: float = 4.5  # WCAG AA; the brand loader already refuses a lighter primary colour
    large_print: bool = False


STANDARD = Profile()
# Large print (RNIB: 16 pt and up; the issue asks 18): every word a patient reads is 18 pt or
# more, headings 22 pt and up, line spacing 1.4, contrast 7:1 (WCAG AAA). Page furniture (footer,
# page label) is 14 pt and the masthead's contact lines 16 pt: they repeat what the page says.
LARGE_PRINT = Profile(
    body=18,
    leading=25,
    title=32,
    h1=26,
    h2=22,
    small=18,
    disclaimer=18,
    masthead_name=24,
    masthead_contact=16,
    cell=18,
    cell_leading=23,
    cell_header=18,
    footer=14,
    footer_leading=17,
    page_label=14,
    logo_mm=(50, 24),
    diary_row_mm=18,  # two weeks do not fit a page even at 12 mm, so one week a page with room for large handwriting
    tick=18 * 1.2,
    min_contrast=7,
    large_print=True,
)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio between two #RRGGBB colours."""
    la, lb = (1.05 / Colour(h).contrast_with_white() - 0.05 for h in (a, b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def readable(colour: str, ratio: float, backgrounds: tuple[str, ...] = ("#FFFFFF",)) -> str:
    """The colour itself when it reaches `ratio` on every background, else the lightest darker shade of the same hue that does."""
    if all(contrast(colour, back) >= ratio for back in backgrounds):
        return colour
    hue, lightness, saturation = colorsys.rgb_to_hls(*Colour(colour).rgb)

    def shade(level: float) -> str:
        return "#" + "".join(f"{round(c * 255):02X}" for c in colorsys.hls_to_rgb(hue, level, saturation))

    low, high = 0.0, lightness  # black (lightness 0) always reaches 7:1 on these light backgrounds
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (middle, high) if all(contrast(shade(middle), back) >= ratio for back in backgrounds) else (low, middle)
    return shade(low)


@dataclass(frozen=True)
class Styles:
    """Everything a flowable builder needs to know about looks."""

    profile: Profile
    primary: Color
    accent: Color
    primary_hex: str
    body: ParagraphStyle
    lead: ParagraphStyle
    small: ParagraphStyle
    label: ParagraphStyle
    summary: ParagraphStyle
    title: ParagraphStyle
    subtitle: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    warning_h1: ParagraphStyle
    list_item: ParagraphStyle
    cell: ParagraphStyle
    body_cell: ParagraphStyle
    cell_header: ParagraphStyle
    band: ParagraphStyle
    masthead_name: ParagraphStyle
    masthead_contact: ParagraphStyle
    footer: ParagraphStyle
    disclaimer: ParagraphStyle


def make_styles(brand: Brand, profile: Profile = STANDARD) -> Styles:
    """Paragraph styles in the brand's colours; text is always flush left, never justified."""
    register_fonts()
    p = profile
    # Headings and links are in the brand's primary colour; large print darkens it, keeping its hue,
    # until it reaches 7:1 on white and on the note panel's tint it is also printed on.
    primary_hex = readable(brand.primary_colour.hex, p.min_contrast, ("#FFFFFF", _hex(NOTE_TINT))) if p.large_print else brand.primary_colour.hex
    warning = HexColor(readable(_hex(WARNING), p.min_contrast, (_hex(WARNING_TINT),)))
    primary = HexColor(primary_hex)
    accent = HexColor(brand.accent_colour.hex)

    def style(name: str, **kw: object) -> ParagraphStyle:
        # No paragraph leaves its first line alone at the foot of a page (orphan) or its
        # last line alone at the top of the next (widow): a split keeps two lines each side.
        base: dict[str, object] = dict(fontName=MAIN, fontSize=p.body, leading=p.leading, textColor=INK, alignment=TA_LEFT, allowWidows=0, allowOrphans=0)
        base.update(kw)
        return ParagraphStyle(name, **base)  # type: ignore[arg-type]

    h1 = style("h1", fontName=MAIN_BOLD, fontSize=p.h1, leading=p.h1 * 1.25, textColor=primary, spaceBefore=p.body * 0.8, spaceAfter=p.body * 0.35)
    h2 = style("h2", fontName=MAIN_BOLD, fontSize=p.h2, leading=p.h2 * 1.25, textColor=INK, spaceBefore=p.body * 0.25, spaceAfter=1)
    return Styles(
        profile=p,
        primary=primary,
        accent=accent,
        primary_hex=primary_hex,
        body=style("body", spaceAfter=p.body * 0.55),
        lead=style("lead", fontSize=p.body * 1.1, leading=p.leading * 1.1, spaceAfter=p.body * 0.7),
        small=style("small", fontSize=p.small, leading=p.small * 1.35, textColor=MUTED, spaceAfter=p.small * 0.4),
        label=style("label", fontName=MAIN_BOLD, spaceAfter=2),
        summary=style("summary", fontSize=p.body * 1.15, leading=p.leading * 1.15, spaceAfter=p.body * 0.6),
        title=style("title", fontName=MAIN_BOLD, fontSize=p.title, leading=p.title * 1.15, textColor=primary, spaceBefore=p.body * 0.4, spaceAfter=p.body * 0.4),
        subtitle=style("subtitle", fontSize=p.h2, leading=p.h2 * 1.3, textColor=MUTED, spaceAfter=p.body * 0.6),
        h1=h1,
        h2=h2,
        warning_h1=style("warning_h1", fontName=MAIN_BOLD, fontSize=p.h1, leading=p.h1 * 1.25, textColor=warning, spaceAfter=p.body * 0.35),
        list_item=style("list_item", spaceAfter=p.body * 0.3),
        cell=style("cell", fontSize=p.cell, leading=p.cell_leading),
        body_cell=style("body_cell"),
        cell_header=style("cell_header", fontName=MAIN_BOLD, fontSize=p.cell_header, leading=p.cell_leading, textColor=INK),
        band=style("band", fontName=MAIN_BOLD, fontSize=p.h2, leading=p.h2 * 1.2, textColor=HexColor("#FFFFFF")),
        masthead_name=style("masthead_name", fontName=MAIN_BOLD, fontSize=p.masthead_name, leading=p.masthead_name * 1.2, textColor=primary),
        masthead_contact=style("masthead_contact", fontSize=p.masthead_contact, leading=p.masthead_contact * 1.35, textColor=MUTED),
        footer=style("footer", fontSize=p.footer, leading=p.footer_leading, textColor=MUTED),
        disclaimer=style("disclaimer", fontSize=p.disclaimer, leading=p.disclaimer * 1.3, textColor=MUTED, spaceBefore=p.body * 0.8),
    )
