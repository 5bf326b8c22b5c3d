"""`handout check`: renders a clinic's leaflet and a sample plan and measures what a patient will meet."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handout import document as doc
from handout.brand import Brand, BrandReading, ratio_text, read_brand
from handout.content import load_article
from handout.errors import HandoutError
from handout.i18n import use_language
from handout.mail import email_context
from handout.pipeline import LEAFLET_TEMPLATE, PLAN_TEMPLATE, Patient, Renderer
from handout.plan import PlanRequest, build_plan
from handout.render.styles import NOTE_TINT, WARNING_TINT, contrast, readable
from handout.templating import render_template, template_path

EMAIL_TEMPLATE = "email/plan.txt.j2"

# Reading level. guidance.md (NIH; Krames and Elsevier measure with Flesch–Kincaid): patient
# material reads at US grade 8 or below. Spanish has its own formula: Szigriszt-Pazos, read on
# the INFLESZ scale (55–65 "normal", 65–80 "bastante fácil"); 60, the middle of "normal", is the
# counterpart of grade 8. The project's own Spanish is held to 65 by its tests.
MAX_GRADE = 8.0
MIN_SPANISH_EASE = 60.0
HARD_SENTENCE_WORDS = 8  # shorter sentences swing the formulas too much to name as "the hardest"

# Contrast, WCAG 2 (guidance.md): text 4.5:1 (AA), 7:1 (AAA) in large print.
MIN_CONTRAST = 4.5
MIN_CONTRAST_LARGE_PRINT = 7.0

# Type sizes in points. guidance.md (RNIB Clear Print): body text at least 12 pt; large print
# (ACB, APH, RNIB): 18 pt body. guidance.md gives no figure for page furniture (footer, page
# label, masthead contact lines), so any text at all must be at least 9 pt in standard print and
# 14 pt in large print, the furniture size the README's "Large print" promises.
MIN_BODY_PT = 12.0
MIN_ANY_PT = 9.0
MIN_BODY_PT_LARGE_PRINT = 18.0
MIN_ANY_PT_LARGE_PRINT = 14.0

QR_DPI = 200  # guidance.md: render at 200–300 dpi before decoding
MIN_QR_MODULE_MM = 0.6  # guidance.md: a printed QR code's modules at 0.6 mm or more scan with ordinary phones
MIN_LOGO_MM = 8.0  # a logo under 8 mm in either direction prints as a sliver nobody recognises

WHITE = "#FFFFFF"
# An address is typed or scanned, not read as words: it would count as one very long word.
_ADDRESS = re.compile(r"\S*(?://|@|www\.|[A-Za-z0-9]\.[A-Za-z]{2,}\b)\S*")


@dataclass(frozen=True)
class CheckResult:
    """One measurement: what was checked, whether it passed, the numbers, and what to change if not."""

    name: str
    passed: bool
    detail: str
    fix: str = ""
    measured: bool = True  # False: nothing to measure (no formula for the language, no text); never fails the run
    warning: bool = False  # passes, but prints worse than it could: shown as WARN with its fix

    def line(self) -> str:
        status = "SKIP" if not self.measured else "WARN" if self.warning else "PASS" if self.passed else "FAIL"
        return f"{status}  {self.name}: {self.detail}"


@dataclass(frozen=True)
class Report:
    """Every check of one run, in the order printed."""

    heading: str
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def warnings(self) -> int:
        return sum(1 for r in self.results if r.warning)

    @property
    def fixes(self) -> tuple[str, ...]:
        """What to change for every failure and every warning, each once, in the order of the checks."""
        return tuple(dict.fromkeys(r.fix for r in self.results if (not r.passed or r.warning) and r.fix))

    def text(self) -> str:
        """The report as printed: a heading, one line per check, then what to fix."""
        lines = [self.heading, *(r.line() for r in self.results)]
        if self.fixes:
            lines += ["", "To fix:", *(f"  - {fix}" for fix in self.fixes)]
        return "\n".join(lines)


@dataclass(frozen=True)
class Backdrop:
    """A colour the primary colour is printed against (a background, or white text on a primary band), and where."""

    colour: str
    where: str


# --- Reading level -------------------------------------------------------------------------


def document_texts(document: doc.Document) -> list[str]:
    """The words of a document's blocks in reading order. Tables are left out: their cells are
    names, dates and numbers (the patient's name among them), not sentences."""
    texts: list[str] = []

    def walk(blocks: Sequence[doc.Block]) -> None:
        for block in blocks:
            if isinstance(block, doc.Title):
                texts.extend((doc.plain_text(block.text), doc.plain_text(block.subtitle)))
            elif isinstance(block, doc.Heading | doc.Paragraph):
                texts.append(doc.plain_text(block.text))
            elif isinstance(block, doc.BulletList):
                texts.extend(doc.plain_text(item) for item in block.items)
            elif isinstance(block, doc.Panel):
                texts.append(block.label)
                walk(block.children)
            elif isinstance(block, doc.QRCode | doc.Keep):
                walk(block.children)

    walk(document.blocks)
    return texts


def email_texts(text: str, brand: Brand) -> list[str]:
    """The email's lines less its signature (the clinic's name, address and website, printed as brand.toml has them)."""
    signature = {brand.name, brand.website, brand.email, *(line.strip() for line in brand.address.splitlines())}
    return [line for line in text.splitlines() if line.strip() and line.strip() not in signature]


def readable_text(texts: Sequence[str], brand: Brand) -> str:
    """Fragments as one text to measure: addresses out, the clinic's name as "our clinic" (a name is not the
    template's choice of words), and a full stop after a heading or list item, as a reader pauses there."""
    sentences: list[str] = []
    for text in texts:
        text = " ".join(_ADDRESS.sub("", text.replace(brand.name, "our clinic")).split())
        if text:
            sentences.append(text if text.endswith((".", "!", "?", ":", "…")) else text + ".")
    return " ".join(sentences)


def reading_level(name: str, text: str, language: str, where: str = "") -> CheckResult:
    """Flesch–Kincaid grade ≤ 8 for English, Szigriszt-Pazos ≥ 60 for Spanish; `where` names the file to change."""
    if not text.strip():
        return CheckResult(name, True, "no sentences to measure", measured=False)
    if language not in ("en", "es"):
        return CheckResult(name, True, f"not measured: handout has no reading-level formula for '{language}'", measured=False)
    import textstat  # here: only `handout check` needs it, and importing it takes half a second

    # textstat.set_lang is process-wide: put back whatever was set before.
    previous = getattr(textstat.textstat, "_textstatistics__lang", "en_US")
    textstat.set_lang("es" if language == "es" else "en_US")
    try:
        # `ease` is higher for easier text, in both languages: the hardest sentence is its minimum.
        if language == "es":
            ease, score = textstat.szigriszt_pazos, textstat.szigriszt_pazos(text)
            passed, detail = score >= MIN_SPANISH_EASE, f"Szigriszt-Pazos reading ease {score:.1f} (≥ {MIN_SPANISH_EASE:g})"
        else:
            ease, score = (lambda t: -textstat.flesch_kincaid_grade(t)), textstat.flesch_kincaid_grade(text)
            passed, detail = score <= MAX_GRADE, f"Flesch–Kincaid grade {score:.1f} (≤ {MAX_GRADE:g})"
        fix = ""
        if not passed:
            long_ones = [s for s in re.split(r"(?<=[.?!:…])\s+", text) if len(s.split()) >= HARD_SENTENCE_WORDS]
            example = f"; the hardest sentence: \u201c{_shortened(min(long_ones, key=ease))}\u201d" if long_ones else ""
            fix = f"{name}: use shorter sentences and everyday words{f' in {where}' if where else ''}{example}"
    finally:
        textstat.set_lang(previous)
    return CheckResult(name, passed, detail, fix)


def _shortened(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- Contrast ----------------------------------------------------------------------------


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


# --- The whole check ---------------------------------------------------------------------


def brand_problems(reading: BrandReading, large_print: bool) -> list[CheckResult]:
    """Every problem in the brand folder, each a FAIL with its fix: the rules every command applies, all at once.

    A too-light primary colour is measured by the contrast check with the shade to use instead, except in
    large print, where handout darkens it for printing but every command still refuses brand.toml's own value.
    """
    results: list[CheckResult] = []
    for problem in reading.problems:
        if problem.key == "primary_colour" and "too light" in problem.message and not large_print:
            continue
        fix = problem.message
        if problem.key == "primary_colour" and "too light" in problem.message and reading.brand is not None:
            target = readable(reading.brand.primary_colour.hex, MIN_CONTRAST, (WHITE,))
            fix = f"darken primary_colour in brand.toml from {reading.brand.primary_colour.hex} to {target} or darker: every command refuses a colour under {MIN_CONTRAST:g}:1 on white, large print too"
        results.append(CheckResult(f"Brand ({problem.key or 'folder'})", False, problem.message.split(": ", 1)[-1], fix))
    return results


def brand_words(brand: Brand, language: str) -> list[CheckResult]:
    """The brand's disclaimer and logo description in the documents' language (else printed in English, tagged so a screen reader switches voice)."""
    results = []
    for key in ("disclaimer", "logo_description"):
        text, lang = brand.words(key, language)
        name = f"Brand words ({key.replace('_', ' ')}, {language})"  # words that wrap on a narrow page
        if lang is None:
            results.append(CheckResult(name, True, f"in the documents' language: \u201c{_shortened(text, 50)}\u201d"))
        else:
            results.append(
                CheckResult(
                    name,
                    True,
                    f"not in '{language}': printed in the brand's own language ({lang}) and tagged so, so a screen reader switches voice",
                    f"add the {key} in '{language}' to brand.toml: a [{language}] table with {key} = \"…\" (see README \"Brand\")",
                    warning=True,
                )
            )
    return results


def qr_address(url: str, renderer: Renderer) -> CheckResult:
    """The QR address short enough that the code's modules print at 0.6 mm or more and its printed form takes at most two lines."""
    from handout.pipeline import display_url
    from handout.qr import qr_matrix
    from handout.render.flowables import breakable_urls
    from handout.render.graphics import QR_WIDTH

    modules = len(qr_matrix(url))
    module_mm = QR_WIDTH / modules / (72 / 25.4)
    width = renderer.pdf.frame_width - QR_WIDTH - 6 * 72 / 25.4
    lines = 1 + sum(span.text == "\n" for span in breakable_urls((doc.Span(display_url(url), bold=True),), renderer.pdf.styles.body, width))
    problems = []
    if module_mm < MIN_QR_MODULE_MM:
        problems.append(f"its modules print at {module_mm:.2f} mm (under {MIN_QR_MODULE_MM} mm, hard for older phones to read)")
    if lines > 2:
        problems.append(f"the printed address takes {lines} lines")
    detail = f"{len(url)} characters: modules {module_mm:.2f} mm (≥ {MIN_QR_MODULE_MM}), printed on {lines} line{'s' if lines > 1 else ''} (≤ 2)"
    if not problems:
        return CheckResult("QR address", True, detail)
    return CheckResult("QR address", True, detail, f"QR address: {' and '.join(problems)}; use a shorter resources_url (or --qr-url), such as a short path on your own site", warning=True)


def logo_size(brand: Brand, renderer: Renderer) -> CheckResult:
    """The logo, scaled into the masthead's box, prints at least 8 mm in each direction (a very wide or tall shape prints as a sliver)."""
    from handout.render.graphics import LogoFlowable

    box_w, box_h = renderer.pdf.styles.profile.logo_mm
    logo = LogoFlowable(brand.logo, box_w * 72 / 25.4, box_h * 72 / 25.4, alt="")
    width_mm, height_mm = (value / (72 / 25.4) for value in (logo.width, logo.height))
    detail = f"prints {width_mm:.0f} × {height_mm:.0f} mm (each side ≥ {MIN_LOGO_MM:g} mm)"
    if min(width_mm, height_mm) >= MIN_LOGO_MM:
        return CheckResult("Logo size", True, detail)
    return CheckResult("Logo size", True, detail, f"Logo size: the logo's shape prints {min(width_mm, height_mm):.1f} mm in one direction; use a less elongated version of the logo (nearer {box_w}:{box_h})", warning=True)


def rendered(name: str, make: Callable[[], bytes]) -> tuple[bytes | None, list[CheckResult]]:
    """A document as the command makes it, or the one line the command would stop with, as a FAIL."""
    try:
        return make(), []
    except HandoutError as exc:
        return None, [CheckResult(f"Renders ({name})", False, exc.message, f"{name}: {exc.message}")]


def run_checks(brand_dir: Path | None, template_dirs: Sequence[Path], language: str, paper: str = "a4", large_print: bool = False) -> Report:
    """Render the leaflet (both layouts), a sample plan (with the article) and the plan email for a brand, and measure them all.

    Every problem is reported in one run, each with its fix: the brand folder's (the rules every command
    applies), then each document's. A document the command would refuse is a FAIL naming why.
    """
    reading = read_brand(brand_dir)
    if reading.brand is None:
        raise HandoutError(reading.problems[0].message)
    brand = reading.brand
    renderer = Renderer(brand, paper, list(template_dirs), large_print=large_print)
    article = load_article(language=language)
    today = dt.date.today()
    patient = Patient("Alex Sample", "Sam Lee")  # a sample: tables (where names print) are not measured
    schedule = build_plan(PlanRequest(start_date=today))
    leaflet_document = renderer.leaflet_document(article)
    plan_document = renderer.plan_document(patient, schedule, article, today, with_article=True)
    files = {"leaflet": template_path(renderer.env, LEAFLET_TEMPLATE), "plan": template_path(renderer.env, PLAN_TEMPLATE)}
    files["tri-fold"] = files["leaflet"]
    # Both versions of the email: a template may say more when the PDF is locked.
    with use_language(language):
        emails = [render_template(renderer.env, EMAIL_TEMPLATE, email_context(brand, renderer.lang_for(language), locked)) for locked in (False, True)]
    email_lines = list(dict.fromkeys(line for text in emails for line in email_texts(text, brand)))
    disclaimer = brand.words("disclaimer", language)[0]

    results = [
        *brand_problems(reading, large_print),
        # The disclaimer is the clinic's own words, at the end of every document.
        reading_level("Reading level (leaflet)", readable_text([*document_texts(leaflet_document), disclaimer], brand), language, files["leaflet"]),
        reading_level("Reading level (plan)", readable_text([*document_texts(plan_document), disclaimer], brand), language, files["plan"]),
        reading_level("Reading level (email)", readable_text(email_lines, brand), language, template_path(renderer.env, EMAIL_TEMPLATE)),
        colour_contrast(
            "Contrast (primary colour)",
            renderer.pdf.styles.primary_hex,
            primary_backdrops((leaflet_document, plan_document)),
            MIN_CONTRAST_LARGE_PRINT if large_print else MIN_CONTRAST,
            brand.primary_colour.hex,
            "primary_colour",
        ),
        accent_use(brand.accent_colour.hex),
        *brand_words(brand, language),
        qr_address(brand.resources_url, renderer),
        logo_size(brand, renderer),
    ]
    documents: list[tuple[str, Callable[[], bytes]]] = [
        ("leaflet", lambda: renderer.leaflet(article)),
        ("tri-fold", lambda: renderer.leaflet(article, layout="trifold")),
        ("plan", lambda: renderer.plan(patient, schedule, article, today, with_article=True)),
    ]
    for name, make in documents:
        if name == "tri-fold" and large_print:
            results.append(CheckResult("Tri-fold", True, "not made in large print (18 pt does not fit its panels): the standard layout is used", measured=False))
            continue
        pdf, failed = rendered(name, make)
        results += failed
        if pdf is None:
            continue
        results += [
            smallest_type(f"Type size ({name})", pdf, large_print),
            qr_code(f"QR code ({name})", pdf, brand.resources_url, files[name]),
            fonts_embedded(f"Fonts embedded ({name})", pdf),
            tagged(f"Tagged PDF ({name})", pdf),
        ]
    if not large_print:
        # The large-print forms too: a value that breaks only at 18 pt (a long name, a wide logo) is caught here.
        large = Renderer(brand, paper, list(template_dirs), large_print=True)
        for name, make in (("large-print leaflet", lambda: large.leaflet(article)), ("large-print plan", lambda: large.plan(patient, schedule, article, today, with_article=True))):
            pdf, failed = rendered(name, make)
            results += failed if pdf is None else [smallest_type(f"Type size ({name})", pdf, large_print=True)]
    source = "the built-in example brand" if brand_dir is None else str(brand_dir)
    heading = f"Checking {brand.name} ({source}): language {language}, {paper.upper() if paper == 'a4' else paper.title()}, {'large' if large_print else 'standard'} print"
    return Report(heading, tuple(results))
