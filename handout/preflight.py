"""`handout check`: renders a clinic's leaflet and a sample plan and measures what a patient will meet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

from handout import document as doc
from handout.brand import Brand, BrandReading, read_brand
from handout.content import load_article
from handout.errors import HandoutError
from handout.i18n import use_language
from handout.mail import email_context
from handout.pipeline import LEAFLET_TEMPLATE, PLAN_TEMPLATE, Patient, Renderer
from handout.plan import PlanRequest, build_plan
from handout.preflight_colours import MIN_CONTRAST, MIN_CONTRAST_LARGE_PRINT, WHITE, accent_use, colour_contrast, primary_backdrops
from handout.preflight_pdf import fonts_embedded, qr_code, smallest_type, tagged
from handout.preflight_report import CheckResult, Report
from handout.preflight_words import _shortened, document_texts, email_texts, readable_text, reading_level
from handout.render.styles import readable
from handout.templating import render_template, template_path

EMAIL_TEMPLATE = "email/plan.txt.j2"

MIN_QR_MODULE_MM = 0.6  # guidance.md: a printed QR code's modules at 0.6 mm or more scan with ordinary phones
MIN_LOGO_MM = 8.0  # a logo under 8 mm in either direction prints as a sliver nobody recognises


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
