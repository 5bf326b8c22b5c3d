"""`handout check` end to end on real brands and templates, and each checker shown failing on a PDF made to fail it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import textstat
from reportlab.pdfgen.canvas import Canvas
from typer.testing import CliRunner

from handout.brand import load_brand
from handout.cli import app
from handout.content import load_article
from handout.pipeline import Renderer
from handout.preflight import fonts_embedded, qr_code, reading_level, smallest_type, tagged
from handout.render.styles import contrast

from conftest import set_brand_value
from helpers import one_line_error

runner = CliRunner()
CHECKS = [
    "Reading level (leaflet)",
    "Reading level (plan)",
    "Reading level (email)",
    "Contrast (primary colour)",
    "Contrast (accent colour)",
    "Brand words (disclaimer, en)",
    "Brand words (logo description, en)",
    "QR address",
    "Logo size",
    *(f"{check} ({document})" for document in ("leaflet", "tri-fold", "plan") for check in ("Type size", "QR code", "Fonts embedded", "Tagged PDF")),
    "Type size (large-print leaflet)",
    "Type size (large-print plan)",
]
HARD_WORDS = (
    "Notwithstanding considerable interindividual physiological heterogeneity, consistent ambulatory rehabilitation "
    "demonstrably ameliorates musculoskeletal symptomatology, particularly concerning degenerative intervertebral "
    "pathologies characteristically associated with occupational immobility."
)


def check(*args: str) -> tuple[int, dict[str, str], str]:
    """Exit code, each check's line by name, and the whole output."""
    result = runner.invoke(app, ["check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = {m["name"]: m["line"] for m in re.finditer(r"^(?P<line>(?:PASS|FAIL|SKIP)  (?P<name>[^:]+): .*)$", result.stdout, re.MULTILINE)}
    return result.exit_code, lines, result.stdout


def canvas_pdf(size: float = 12, scale: float = 1, in_form: bool = False) -> bytes:
    """A plain ReportLab page: Helvetica (not embedded), no tags, no QR code, text at `size` pt drawn at `scale`
    (inside a form XObject, as a logo may be, when `in_form`)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    if in_form:
        canvas.beginForm("words")
    else:
        canvas.scale(scale, scale)
    canvas.setFont("Helvetica", size)
    canvas.drawString(72, 700, "Walk a little further each week.")
    if in_form:
        canvas.endForm()
        canvas.scale(scale, scale)
        canvas.doForm("words")
    canvas.save()
    return buffer.getvalue()


def test_the_default_brand_passes_everything() -> None:
    code, lines, out = check()
    assert list(lines) == CHECKS, out
    assert all(line.startswith("PASS  ") for line in lines.values()), out
    assert code == 0 and "To fix" not in out
    assert re.search(r"Flesch–Kincaid grade \d+\.\d \(≤ 8\)", lines["Reading level (leaflet)"])
    assert "#1D5C7A 7.3:1 on white (≥ 4.5:1)" in lines["Contrast (primary colour)"]
    # The plan's commonest size is now the diary's 12 pt (its circles' numbers and day names, issue 17).
    assert "smallest 9.5 pt (≥ 9), body text 12 pt (≥ 12)" in lines["Type size (plan)"]
    assert "decodes to https://example-physio.org/back" in lines["QR code (leaflet)"]


def test_a_too_light_primary_colour_fails_contrast_and_names_a_dark_enough_shade(tmp_path: Path) -> None:
    brand = tmp_path / "pale-clinic"
    assert runner.invoke(app, ["init-brand", str(brand)]).exit_code == 0
    set_brand_value(brand, "primary_colour", '"#7FB3D5"')  # handout leaflet refuses it; check reports it
    code, lines, out = check("--brand", str(brand))
    assert code == 1
    assert lines["Contrast (primary colour)"] == "FAIL  Contrast (primary colour): #7FB3D5 2.2:1 on white (≥ 4.5:1)"
    assert [name for name, line in lines.items() if line.startswith("FAIL")] == ["Contrast (primary colour)"], out
    (suggested,) = re.findall(r"darken primary_colour in brand.toml from #7FB3D5 to (#[0-9A-F]{6}) or darker", out)
    assert 4.5 <= contrast(suggested, "#FFFFFF") < 4.6  # the lightest shade that passes, not just any dark one
    refused = runner.invoke(app, ["leaflet", "--brand", str(brand), "-o", str(tmp_path / "l.pdf")])
    assert refused.exit_code != 0 and "(contrast 2.2:1 on white" in refused.stderr  # the same ratio as the check's, rounded the same way


def test_long_hard_words_in_a_template_fail_the_reading_level(tmp_path: Path) -> None:
    (tmp_path / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}\n{% block benefits %}\n' + f"<p>{HARD_WORDS}</p>\n" * 3 + "{% endblock %}\n", encoding="utf-8"
    )
    code, lines, out = check("--templates", str(tmp_path))
    assert code == 1
    grade = float(re.findall(r"FAIL  Reading level \(leaflet\): Flesch–Kincaid grade (\d+\.\d) \(≤ 8\)", out)[0])
    assert grade > 8
    assert lines["Reading level (plan)"].startswith("PASS")
    assert f"in {tmp_path / 'leaflet.xml.j2'}; the hardest sentence: \u201cNotwithstanding" in out


def test_a_missing_brand_folder_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--brand", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "brand folder not found" in one_line_error(result)


def test_the_qr_check_fails_on_a_page_without_a_code_and_on_another_address() -> None:
    url = "https://example-physio.org/back"
    missing = qr_code("QR code", canvas_pdf(), url)
    assert not missing.passed and missing.detail == "no QR code could be read from the page"
    elsewhere = Renderer(load_brand()).leaflet(load_article(), "https://elsewhere.example/x")
    wrong = qr_code("QR code", elsewhere, url)
    assert not wrong.passed and wrong.detail == f"decodes to https://elsewhere.example/x, not the brand's resources_url {url}"


def test_a_font_that_is_not_embedded_fails() -> None:
    result = fonts_embedded("Fonts embedded", canvas_pdf())
    assert not result.passed and result.detail == "1 of 1 fonts not embedded: Helvetica" and "Helvetica" in result.fix


def test_an_untagged_pdf_fails() -> None:
    result = tagged("Tagged PDF", canvas_pdf())
    assert not result.passed
    assert result.detail == "missing /MarkInfo /Marked true, a /StructTreeRoot, /Lang, /StructParents on 1 of 1 pages"


# 6 pt set as 6 pt, as 12 pt drawn at half size, or as 12 pt in a form XObject drawn at half size
@pytest.mark.parametrize(("size", "scale", "in_form"), [(6, 1, False), (12, 0.5, False), (12, 0.5, True)])
def test_six_point_text_fails_the_type_size(size: float, scale: float, in_form: bool) -> None:
    result = smallest_type("Type size", canvas_pdf(size, scale, in_form), large_print=False)
    assert not result.passed and result.detail.startswith("smallest 6 pt (≥ 9)")


def test_standard_print_type_fails_the_large_print_minimum() -> None:
    leaflet = Renderer(load_brand()).leaflet(load_article())
    assert smallest_type("Type size", leaflet, large_print=False).passed
    result = smallest_type("Type size", leaflet, large_print=True)
    assert not result.passed and result.detail == "smallest 9.5 pt (≥ 14), body text 14 pt (≥ 18)"


def test_spanish_is_measured_with_its_own_formula_and_textstat_is_left_as_it_was() -> None:
    textstat.set_lang("en_US")
    easy = reading_level("Reading level", "Camine diez minutos cada día. Si le duele más, pare y llame.", "es")
    assert easy.passed and easy.detail.startswith("Szigriszt-Pazos reading ease ")
    hard = reading_level("Reading level", HARD_WORDS, "en")
    assert not hard.passed and "Notwithstanding" in hard.fix
    assert textstat.textstat._textstatistics__lang == "en_US"
