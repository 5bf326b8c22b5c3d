"""Type sizes, colours and paragraph styles for one brand and print profile."""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle

from handout.brand import Brand
from handout.render.fonts import MAIN, MAIN_BOLD, register_fonts

INK = HexColor("#1A1A1A")  # near-black body text: 17:1 on white
MUTED = HexColor("#404040")  # secondary text, still 10:1 on white
WARNING = HexColor("#A1241B")  # warning panel frame and band: 7:1 on white, dark grey in B/W print
WARNING_TINT = HexColor("#FCEFED")


@dataclass(frozen=True)
class Profile:
    """Type sizes in points; standard print follows RNIB Clear Print (body 14 pt)."""

    body: float = 14
    leading: float = 20
    title: float = 26
    h1: float = 18
    h2: float = 14.5
    small: float = 10.5
    masthead_name: float = 17


STANDARD = Profile()


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


def make_styles(brand: Brand, profile: Profile = STANDARD) -> Styles:
    """Paragraph styles in the brand's colours; text is always flush left, never justified."""
    register_fonts()
    primary = HexColor(brand.primary_colour.hex)
    accent = HexColor(brand.accent_colour.hex)
    p = profile

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
        primary_hex=brand.primary_colour.hex,
        body=style("body", spaceAfter=p.body * 0.55),
        lead=style("lead", fontSize=p.body * 1.1, leading=p.leading * 1.1, spaceAfter=p.body * 0.7),
        small=style("small", fontSize=p.small, leading=p.small * 1.35, textColor=MUTED, spaceAfter=p.small * 0.4),
        label=style("label", fontName=MAIN_BOLD, spaceAfter=2),
        summary=style("summary", fontSize=p.body * 1.15, leading=p.leading * 1.15, spaceAfter=p.body * 0.6),
        title=style("title", fontName=MAIN_BOLD, fontSize=p.title, leading=p.title * 1.15, textColor=primary, spaceBefore=p.body * 0.4, spaceAfter=p.body * 0.4),
        subtitle=style("subtitle", fontSize=p.h2, leading=p.h2 * 1.3, textColor=MUTED, spaceAfter=p.body * 0.6),
        h1=h1,
        h2=h2,
        warning_h1=style("warning_h1", fontName=MAIN_BOLD, fontSize=p.h1, leading=p.h1 * 1.25, textColor=WARNING, spaceAfter=p.body * 0.35),
        list_item=style("list_item", spaceAfter=p.body * 0.3),
        cell=style("cell", fontSize=p.body * 0.9, leading=p.leading * 0.85),
        body_cell=style("body_cell"),
        cell_header=style("cell_header", fontName=MAIN_BOLD, fontSize=p.body * 0.85, leading=p.leading * 0.85, textColor=INK),
        band=style("band", fontName=MAIN_BOLD, fontSize=p.h2, leading=p.h2 * 1.2, textColor=HexColor("#FFFFFF")),
        masthead_name=style("masthead_name", fontName=MAIN_BOLD, fontSize=p.masthead_name, leading=p.masthead_name * 1.2, textColor=primary),
        masthead_contact=style("masthead_contact", fontSize=p.small, leading=p.small * 1.35, textColor=MUTED),
        footer=style("footer", fontSize=9.5, leading=12, textColor=MUTED),
    )
