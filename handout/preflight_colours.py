"""`handout check`'s colour contrast: the primary colour against every backdrop it is printed on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from handout import document as doc
from handout.brand import ratio_text
from handout.preflight_report import CheckResult
from handout.render.styles import NOTE_TINT, WARNING_TINT, contrast, readable

# Contrast, WCAG 2 (guidance.md): text 4.5:1 (AA), 7:1 (AAA) in large print.
MIN_CONTRAST = 4.5
MIN_CONTRAST_LARGE_PRINT = 7.0

WHITE = "#FFFFFF"


@dataclass(frozen=True)
class Backdrop:
    """A colour the primary colour is printed against (a background, or white text on a primary band), and where."""

    colour: str
    where: str


def primary_backdrops(documents: Sequence[doc.Document]) -> tuple[Backdrop, ...]:
    """Where the documents print the primary colour (handout/render/: the title, level-1 headings outside panels,
    links and the clinic's name are primary text; a labelled note panel has a primary band under white words)."""
    from handout.render.flowables import HEADER_FILL  # the fill behind table header rows

    found: dict[Backdrop, None] = {}  # an ordered set
    paper = Backdrop(WHITE, "on white")

    def links(spans: doc.Inline, backdrop: Backdrop) -> None:
        if any(span.href for span in spans):
            found[backdrop] = None

    def walk(blocks: Sequence[doc.Block], backdrop: Backdrop, in_panel: bool) -> None:
        for block in blocks:
            if isinstance(block, doc.Masthead):
                found[paper] = None
            elif isinstance(block, doc.Title):
                found[backdrop] = None
            elif isinstance(block, doc.Heading):
                if block.level == 1 and not in_panel:  # inside a panel a level-1 heading is in the warning colour
                    found[backdrop] = None
                links(block.text, backdrop)
            elif isinstance(block, doc.Paragraph):
                links(block.text, backdrop)
            elif isinstance(block, doc.BulletList):
                for item in block.items:
                    links(item, backdrop)
            elif isinstance(block, doc.Table):
                header = Backdrop(_hex(HEADER_FILL), f"on table headers {_hex(HEADER_FILL)}") if block.style != "plain" else backdrop
                for number, row in enumerate(block.rows):
                    for cell in row:
                        links(cell.text, header if number < block.header_rows else backdrop)
            elif isinstance(block, doc.Panel):
                warning = block.kind == "warning"
                tint = _hex(WARNING_TINT if warning else NOTE_TINT)
                if block.label and not warning:
                    found[Backdrop(WHITE, "under white band text")] = None
                walk(block.children, Backdrop(tint, f"on the {'warning' if warning else 'note'} panel {tint}"), True)
            elif isinstance(block, doc.QRCode | doc.Keep):
                walk(block.children, backdrop, in_panel)

    for document in documents:
        walk(document.blocks, paper, False)
    return tuple(found) or (paper,)


def colour_contrast(name: str, printed: str, backdrops: Sequence[Backdrop], minimum: float, brand_colour: str, key: str) -> CheckResult:
    """The printed colour against each backdrop it meets; the fix names the lightest shade of the brand's hue that passes."""
    ratios = [(backdrop, contrast(printed, backdrop.colour)) for backdrop in backdrops]
    passed = all(ratio >= minimum for _, ratio in ratios)
    detail = f"{printed} " + ", ".join(f"{ratio_text(ratio)} {backdrop.where}" for backdrop, ratio in ratios) + f" (≥ {minimum:g}:1)"
    if printed != brand_colour:
        detail += f"; brand.toml's {brand_colour} is darkened to {printed} for large print"
    fix = ""
    if not passed:
        target = readable(brand_colour, minimum, tuple(backdrop.colour for backdrop in backdrops))
        fix = f"darken {key} in brand.toml from {brand_colour} to {target} or darker (same hue, {minimum:g}:1 everywhere it prints)"
    return CheckResult(name, passed, detail, fix)


def accent_use(accent: str) -> CheckResult:
    """The accent colour only draws rules (masthead and footer lines): decoration, for which WCAG sets no ratio."""
    return CheckResult("Contrast (accent colour)", True, f"{accent} draws rules only, no text: {ratio_text(contrast(accent, WHITE))} on white, no minimum for decoration")




def _hex(colour: Any) -> str:
    return "#" + str(colour.hexval())[2:].upper()
