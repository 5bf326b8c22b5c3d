"""`handout check`'s measures of a rendered PDF: its type sizes, QR code, embedded fonts and tagging."""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

from handout.preflight_report import CheckResult

# Type sizes in points. guidance.md (RNIB Clear Print): body text at least 12 pt; large print
# (ACB, APH, RNIB): 18 pt body. guidance.md gives no figure for page furniture (footer, page
# label, masthead contact lines), so any text at all must be at least 9 pt in standard print and
# 14 pt in large print, the furniture size the README's "Large print" promises.
MIN_BODY_PT = 12.0
MIN_ANY_PT = 9.0
MIN_BODY_PT_LARGE_PRINT = 18.0
MIN_ANY_PT_LARGE_PRINT = 14.0

QR_DPI = 200  # guidance.md: render at 200–300 dpi before decoding


# --- Type size ---------------------------------------------------------------------------

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _times(m: Matrix, n: Matrix) -> Matrix:
    """m then n, in PDF's row-vector convention."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t, e * q + f * s + u)


def type_sizes(pdf: bytes) -> Counter[float]:
    """Characters shown at each size in points, read from every page's content (form XObjects included).

    The size is the one a reader sees: the `Tf` size scaled by the text matrix and the
    transformation matrix, so text drawn small and scaled up (or the reverse) is measured as printed.
    Invisible text (render mode 3) is not counted.
    """
    import pikepdf  # here: only `handout check` (and --encrypt, batch merging) need it

    sizes: Counter[float] = Counter()

    def run(stream: Any, resources: Any, ctm: Matrix, depth: int) -> None:
        stack: list[Matrix] = []
        tm: Matrix = IDENTITY
        size, mode = 0.0, 0
        for instruction in pikepdf.parse_content_stream(stream):
            op, operands = str(instruction.operator), instruction.operands
            if op == "q":
                stack.append(ctm)
            elif op == "Q" and stack:
                ctm = stack.pop()
            elif op == "cm":
                ctm = _times(_matrix(operands), ctm)
            elif op == "BT":
                tm = IDENTITY
            elif op == "Tm":
                tm = _matrix(operands)
            elif op == "Tf":
                size = float(operands[1])
            elif op == "Tr":
                mode = int(operands[0])
            elif op in ("Tj", "TJ", "'", '"') and mode != 3:
                shown = operands[-1]
                count = sum(len(bytes(s)) for s in shown if isinstance(s, pikepdf.String)) if op == "TJ" else len(bytes(shown))
                if count:
                    a, b, c, d, _, _ = _times(tm, ctm)
                    sizes[round(abs(size) * math.sqrt(abs(a * d - b * c)), 1)] += count
            elif op == "Do" and depth < 8 and resources is not None:
                xobject = resources.get("/XObject", {}).get(str(operands[0]))
                if xobject is not None and xobject.get("/Subtype") == "/Form":
                    form = _matrix(xobject.get("/Matrix", list(IDENTITY)))
                    run(xobject, xobject.get("/Resources", resources), _times(form, ctm), depth + 1)

    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            run(page, page.obj.get("/Resources"), IDENTITY, 0)
    return sizes


def text_at(pdf: bytes, size: float, limit: int = 40) -> str:
    """The first words printed at about `size` pt, as a reader would copy them (to name what is small rather than guess)."""
    import pypdfium2
    import pypdfium2.raw as pdfium

    found: list[str] = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            text = document[index].get_textpage()
            for i in range(text.count_chars()):
                if abs(pdfium.FPDFText_GetFontSize(text.raw, i) - size) < 0.3:
                    found.append(chr(pdfium.FPDFText_GetUnicode(text.raw, i)))
                elif found and found[-1] != " ":
                    found.append(" ")
                if len(found) > limit * 2:
                    break
            if found:
                break
    finally:
        document.close()
    words = " ".join("".join(found).split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def _matrix(values: Any) -> Matrix:
    a, b, c, d, e, f = (float(v) for v in values)
    return (a, b, c, d, e, f)


def smallest_type(name: str, pdf: bytes, large_print: bool) -> CheckResult:
    """The smallest size any text is printed at, and the body size (the size most characters are printed at); the fix names the text that is small."""
    sizes = type_sizes(pdf)
    if not sizes:
        return CheckResult(name, True, "no text", measured=False)
    least_any, least_body = (MIN_ANY_PT_LARGE_PRINT, MIN_BODY_PT_LARGE_PRINT) if large_print else (MIN_ANY_PT, MIN_BODY_PT)
    smallest = min(sizes)
    body = max(sizes, key=lambda size: (sizes[size], size))
    passed = smallest >= least_any and body >= least_body
    detail = f"smallest {smallest:g} pt (≥ {least_any:g}), body text {body:g} pt (≥ {least_body:g})"
    fixes = []
    if smallest < least_any:
        said = text_at(pdf, smallest)
        what = f"the text \u201c{said}\u201d" if said else "text with no readable words (most likely words in an SVG logo, which print as text)"
        fixes.append(f"{what} prints at {smallest:g} pt: make it larger in the template, or convert an SVG logo's words to outlines (paths) or use a PNG logo")
    if body < least_body:
        share = sizes[body] / sum(sizes.values())
        said = text_at(pdf, body)
        example = f", such as \u201c{said}\u201d" if said else ""
        fixes.append(f"{share:.0%} of the characters print at {body:g} pt{example}: set that text in the template's paragraphs ({least_body:g} pt or more)")
    return CheckResult(name, passed, detail, f"{name}: " + "; ".join(fixes) if fixes else "")


# --- QR code -----------------------------------------------------------------------------


def decode_qr_codes(pdf: bytes, dpi: int = QR_DPI) -> list[str]:
    """The text of every QR code on every page, as a phone would read it from the printed page."""
    import pypdfium2
    import zxingcpp

    texts: list[str] = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            image = document[index].render(scale=dpi / 72).to_pil()
            # The stub asks for BarcodeFormats; read_barcodes takes one BarcodeFormat too (its docstring, and zxing-cpp 2.x).
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)  # type: ignore[arg-type]
            texts.extend(code.text for code in found)
    finally:
        document.close()
    return texts


def qr_code(name: str, pdf: bytes, expected: str, where: str = "") -> CheckResult:
    """Every QR code decoded from the page images is the brand's resources_url, and there is one (a diary page's own code aside)."""
    from handout.diary.code import parse_page_code

    found = [text for text in decode_qr_codes(pdf) if parse_page_code(text) is None]  # the diary's page codes are for read-diary
    wrong = [text for text in found if text != expected]
    if found and not wrong:
        return CheckResult(name, True, f"decodes to {expected} (the brand's resources_url)")
    template = f" in {where}" if where else ""
    if not found:
        return CheckResult(name, False, "no QR code could be read from the page", f"{name}: keep the <qr url=\"{{{{ qr_url }}}}\"> element{template}")
    return CheckResult(
        name,
        False,
        f"decodes to {', '.join(dict.fromkeys(wrong))}, not the brand's resources_url {expected}",
        f"{name}: the <qr>{template} must open {{{{ qr_url }}}} (resources_url in brand.toml), not {wrong[0]}",
    )


# --- Fonts and tagging -------------------------------------------------------------------


def _fonts(resources: Any, depth: int = 0) -> Iterator[tuple[str, bool]]:
    """(name, embedded) for every font in a resource dictionary and the form XObjects it holds."""
    if resources is None or depth > 8:
        return
    for font in dict(resources.get("/Font", {})).values():
        name = str(font.get("/BaseFont", "(unnamed)")).lstrip("/")
        if font.get("/Subtype") == "/Type3":  # its glyphs are drawings inside the file
            yield name, True
            continue
        targets = list(font.get("/DescendantFonts", [])) or [font]  # a Type0 font's glyphs are in its descendant
        for target in targets:
            descriptor = target.get("/FontDescriptor")
            yield name, descriptor is not None and any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
    for xobject in dict(resources.get("/XObject", {})).values():
        if xobject.get("/Subtype") == "/Form":
            yield from _fonts(xobject.get("/Resources"), depth + 1)


def fonts_embedded(name: str, pdf: bytes) -> CheckResult:
    """Every font on every page is embedded: a printer or reader without it would substitute another."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        fonts: dict[str, bool] = {}
        for page in document.pages:
            for font, embedded in _fonts(page.obj.get("/Resources")):
                fonts[font] = fonts.get(font, True) and embedded
    missing = sorted(font for font, embedded in fonts.items() if not embedded)
    if not missing:
        return CheckResult(name, True, f"{len(fonts)} fonts, all embedded")
    return CheckResult(
        name,
        False,
        f"{len(missing)} of {len(fonts)} fonts not embedded: {', '.join(missing)}",
        f"{name}: {', '.join(missing)} must be embedded; text in an SVG logo uses such fonts, so convert it to outlines (paths) or use a PNG logo",
    )


def tagged(name: str, pdf: bytes) -> CheckResult:
    """A tagged PDF for screen readers: /MarkInfo /Marked true, a structure tree, a language, and every page in the tree."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        root = document.Root
        mark_info = root.get("/MarkInfo")
        language = str(root.get("/Lang", "")).strip()
        pages = len(document.pages)
        in_tree = sum(1 for page in document.pages if "/StructParents" in page.obj)
        missing = [
            what
            for what, present in (
                ("/MarkInfo /Marked true", mark_info is not None and bool(mark_info.get("/Marked", False))),
                ("a /StructTreeRoot", "/StructTreeRoot" in root),
                ("/Lang", bool(language)),
                (f"/StructParents on {pages - in_tree} of {pages} pages", in_tree == pages),
            )
            if not present
        ]
    if not missing:
        return CheckResult(name, True, f"marked, structure tree, /Lang {language}, /StructParents on all {pages} pages")
    # Tagging is handout's work, not a brand setting: the only fix is a handout that tags.
    return CheckResult(name, False, "missing " + ", ".join(missing), f"{name}: this handout writes PDFs screen readers cannot follow; update handout")
