"""Text as typed, correctly drawn: composed accents, no direction tricks, shaped scripts, one weight per name."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import unicodedata
from functools import cache
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
import uharfbuzz
from fontTools.ttLib import TTFont
from typer.testing import CliRunner

from handout.brand import load_brand
from handout.cli import app
from handout.content import load_article
from handout.patients import read_patient_list
from handout.pipeline import Patient, Renderer
from handout.plan import PlanRequest, build_plan

from conftest import set_brand_value
from helpers import all_text, body_text, content_operations

ISSUED = dt.date(2026, 11, 27)
START = dt.date(2026, 12, 7)
BIDI_CONTROLS = [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]

# One name per script that needs shaping, each with conjuncts, stacked or reordered marks.
SHAPED_NAMES = {
    "Devanagari": "क्षत्रिय स्मिता",
    "Tamil": "தமிழ்செல்வி கார்த்திக்",
    "Telugu": "శ్రీనివాస్ లక్ష్మి",
    "Thai": "สมศักดิ์ น้ำใจ",
    "Khmer": "ស្រីមុំ សុខា",
    "Arabic": "فاطمة الزهراء",
}


@cache
def renderer() -> Renderer:
    return Renderer(load_brand(), "a4")


def make_plan(name: str, clinician: str = "Sam Lee") -> bytes:
    plan = build_plan(PlanRequest(start_date=START, weeks=1))
    return renderer().plan(Patient(name, clinician), plan, load_article(), ISSUED, False)


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------------------
# Reading glyphs back out of the PDF, independently of ReportLab


@cache
def _outline_index(data: bytes) -> dict[tuple, list[int]]:
    """Original glyph ids by outline and advance, so a subset glyph can be traced to its source."""
    font = TTFont(io.BytesIO(data))
    glyf, hmtx, order = font["glyf"], font["hmtx"], font.getGlyphOrder()
    index: dict[tuple, list[int]] = {}
    for gid, name in enumerate(order):
        index.setdefault(_outline_key(glyf, hmtx, name), []).append(gid)
    return index


def _outline_key(glyf: object, hmtx: object, name: str) -> tuple:
    coords, ends, _flags = glyf[name].getCoordinates(glyf)  # type: ignore[index]
    return (hmtx[name][0], tuple(tuple(round(v) for v in xy) for xy in coords), tuple(ends))  # type: ignore[index]


def drawn_glyphs(pdf: bytes, originals: dict[str, bytes]) -> list[set[int]]:
    """For every glyph drawn, in page order, in a font named in `originals` (any subset), the glyph ids it can be in that font's file.

    The embedded subset's own cmap gives each code's glyph; its outline and
    advance say which glyph of the original font file it was copied from.
    """
    out: list[set[int]] = []
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            fonts = page.Resources.get("/Font", {})
            decoders: dict[str, dict[int, set[int]]] = {}
            for key, font in fonts.items():
                base_font = str(font.BaseFont).split("+", 1)[-1]
                if base_font not in originals:
                    continue
                index = _outline_index(originals[base_font])
                sub = TTFont(io.BytesIO(font.FontDescriptor.FontFile2.read_bytes()))
                glyf, hmtx = sub["glyf"], sub["hmtx"]
                decoders[key] = {code: set(index.get(_outline_key(glyf, hmtx, name), [])) for code, name in sub["cmap"].tables[0].cmap.items()}
            current: dict[int, set[int]] | None = None
            for operands, operator in content_operations(page):
                op = str(operator)
                if op == "Tf":
                    current = decoders.get(str(operands[0]))
                elif op in ("Tj", "TJ", "'", '"') and current is not None:
                    strings = operands[-1] if op != "TJ" else [x for x in operands[0] if isinstance(x, pikepdf.String)]
                    for s in strings if op == "TJ" else [strings]:
                        out.extend(current.get(b, set()) for b in bytes(s))
    return out


def harfbuzz_glyphs(text: str, data: bytes) -> list[int]:
    """The glyph ids HarfBuzz itself chooses for `text` in the font file `data`."""
    font = uharfbuzz.Font(uharfbuzz.Face(data))
    buf = uharfbuzz.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    uharfbuzz.shape(font, buf, {"kern": True, "liga": True})
    return [info.codepoint for info in buf.glyph_infos]


def spaces_as_one(drawn: list[set[int]], data: bytes) -> list[set[int]]:
    """A no-break space may stand where HarfBuzz, given a plain space, drew a space."""
    nbsp, space = harfbuzz_glyphs("\u00a0", data)[0], harfbuzz_glyphs(" ", data)[0]
    return [g | {space} if nbsp in g else g for g in drawn]


def contains_run(drawn: list[set[int]], expected: list[int]) -> bool:
    return any(all(expected[i] in drawn[start + i] for i in range(len(expected))) for start in range(len(drawn) - len(expected) + 1))


def font_file(script: str, bold: bool) -> tuple[str, bytes]:
    """The PDF base font name and the exact font bytes handout draws `script` names with."""
    from handout.render import fonts

    face = fonts.SCRIPTS.get(script, fonts.GENERAL)
    name = face.bold if bold else face.regular
    return name, fonts.font_data(name)


# ---------------------------------------------------------------------------
# NFC at the boundary


def test_a_decomposed_name_prints_composed_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "plan.pdf"
    code, _, stderr = run(["plan", "--patient", "Zoe\u0308 Mu\u0308ller", "--clinician", "Rene\u0301e", "--weeks", "1", "-o", str(out)])
    assert code == 0, stderr
    text = body_text(out.read_bytes())
    assert "For Zoë Müller" in text and "From Renée," in text
    assert "\u0308" not in text and "\u0301" not in text


def test_json_output_gives_the_composed_name() -> None:
    code, stdout, _ = run(["plan", "--patient", "Zoe\u0308", "--json"])
    assert code == 0
    assert '"patient": "Zoë"' in stdout


def test_csv_names_are_composed_before_fingerprinting(tmp_path: Path) -> None:
    composed, decomposed = tmp_path / "a.csv", tmp_path / "b.csv"
    composed.write_text("name,clinician\nZoë Müller,Renée\n", encoding="utf-8")
    decomposed.write_text("name,clinician\nZoe\u0308 Mu\u0308ller,Rene\u0301e\n", encoding="utf-8")
    a, b = (read_patient_list(p, START).rows[0] for p in (composed, decomposed))
    assert b.name == "Zoë Müller" and b.clinician == "Renée"
    assert a.fingerprint == b.fingerprint


def test_brand_strings_are_composed(brand_dir: Path) -> None:
    set_brand_value(brand_dir, "name", '"Cre\u0300me Physiotherapy"')
    brand = load_brand(brand_dir)
    assert brand.name == "Crème Physiotherapy"
    assert all(unicodedata.is_normalized("NFC", getattr(brand, k)) for k in ("name", "address", "phone", "disclaimer"))


# ---------------------------------------------------------------------------
# Direction controls


@pytest.mark.parametrize("code_point", BIDI_CONTROLS)
def test_bidi_controls_on_the_command_line_are_one_line_naming_the_option(tmp_path: Path, code_point: int) -> None:
    code, _, stderr = run(["plan", "--patient", f"Ann{chr(code_point)}Secret", "--weeks", "1", "-o", str(tmp_path / "p.pdf")])
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1, stderr
    assert "--patient" in lines[0] and f"U+{code_point:04X}" in lines[0]
    assert "Secret" not in stderr and chr(code_point) not in stderr
    assert not (tmp_path / "p.pdf").exists()


def test_bidi_control_in_the_clinician_names_that_option(tmp_path: Path) -> None:
    code, _, stderr = run(["plan", "--patient", "Ann", "--clinician", "Sam\u2067Lee", "--json"])
    assert code == 2 and "--clinician" in stderr and "U+2067" in stderr


@pytest.mark.parametrize("column", ["name", "clinician"])
def test_bidi_controls_in_a_csv_are_a_row_error_naming_the_column(tmp_path: Path, column: str) -> None:
    path = tmp_path / "p.csv"
    values = {"name": "Jane Doe", "clinician": "Sam Lee"}
    values[column] = "Jane\u202eSecret"
    path.write_text(f"name,clinician\nJo Bloggs,Sam\n{values['name']},{values['clinician']}\n", encoding="utf-8")
    checked = read_patient_list(path, START)
    assert len(checked.rows) == 1 and len(checked.problems) == 1
    message = str(checked.problems[0])
    assert message.startswith(f"row 3: {column} ") and "U+202E" in message and "Secret" not in message


def test_direction_marks_are_dropped_not_printed(tmp_path: Path) -> None:
    out = tmp_path / "plan.pdf"
    code, _, stderr = run(["plan", "--patient", "\u200fAnn Lee\u200e", "--weeks", "1", "-o", str(out)])
    assert code == 0, stderr
    assert "For Ann Lee Given" in body_text(out.read_bytes())


def test_a_brand_with_a_bidi_control_is_refused(brand_dir: Path) -> None:
    set_brand_value(brand_dir, "phone", '"01632 \u202e960 123"')
    code, _, stderr = run(["leaflet", "--brand", str(brand_dir), "-o", str(brand_dir / "l.pdf")])
    assert code == 1 and "phone" in stderr and "U+202E" in stderr


# ---------------------------------------------------------------------------
# Scripts that need shaping


@pytest.mark.parametrize("script", sorted(SHAPED_NAMES))
def test_shaped_names_draw_harfbuzz_glyphs_in_bold_and_regular(script: str) -> None:
    name = SHAPED_NAMES[script]
    pdf = make_plan(name, clinician=name)
    for bold in (True, False):  # "For <name>" is bold, "From <clinician>, clinic" is not
        base, data = font_file(script, bold)
        drawn = drawn_glyphs(pdf, {base: data})
        assert drawn, f"nothing drawn in {base}"
        # Right to left is one run: HarfBuzz orders the glyphs visually.
        words = [name] if script == "Arabic" else name.split()
        drawn = spaces_as_one(drawn, data)
        for word in words:
            expected = harfbuzz_glyphs(word, data)
            assert contains_run(drawn, expected), (script, bold, word, expected)


def test_virama_is_not_drawn_as_a_visible_sign() -> None:
    base, data = font_file("Devanagari", True)
    drawn = drawn_glyphs(make_plan("स्मिता"), {base: data})
    virama_alone = harfbuzz_glyphs("\u094d", data)[0]
    assert drawn and not any(g == {virama_alone} for g in drawn)


def test_arabic_name_keeps_its_place_and_the_comma_stays_after_it() -> None:
    name = SHAPED_NAMES["Arabic"]
    pdf = make_plan("Jane Doe", clinician=name)
    base, data = font_file("Arabic", False)
    drawn = spaces_as_one(drawn_glyphs(pdf, {base: data}), data)
    expected = harfbuzz_glyphs(name, data) + harfbuzz_glyphs(",", data)
    assert contains_run(drawn, expected)
    assert "Example Physiotherapy Clinic" in all_text(pdf)


def test_bold_arabic_name_before_a_plain_comma_keeps_the_comma_after_it() -> None:
    from handout import document as doc
    from handout.render.pdf import PdfRenderer

    name = SHAPED_NAMES["Arabic"]
    spans = (doc.Span("From "), doc.Span(name, bold=True), doc.Span(", Example Physiotherapy Clinic"))
    document = doc.Document("t", "s", (), "en", (doc.Paragraph(spans),))
    pdf = PdfRenderer(load_brand()).render(document, dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    (base, data), (regular, regular_data) = font_file("Arabic", True), font_file("Arabic", False)
    # The weights share glyph ids (one variable font, two instances): whichever the comma takes, it follows the run.
    drawn = spaces_as_one(drawn_glyphs(pdf, {base: data, regular: regular_data}), data)
    assert contains_run(drawn, harfbuzz_glyphs(name, data) + harfbuzz_glyphs(",", data))
    assert contains_run(spaces_as_one(drawn_glyphs(pdf, {base: data}), data), harfbuzz_glyphs(name, data)), "every letter of the name is bold"


def test_shaped_name_gives_byte_identical_pdfs_whatever_was_drawn_before(tmp_path: Path) -> None:
    script = (
        "import sys, datetime as dt\n"
        "from handout.brand import load_brand\nfrom handout.content import load_article\n"
        "from handout.pipeline import Patient, Renderer\nfrom handout.plan import PlanRequest, build_plan\n"
        "r = Renderer(load_brand(), 'a4')\n"
        "plan = build_plan(PlanRequest(start_date=dt.date(2026, 12, 7), weeks=1))\n"
        "for name in sys.argv[1:]:\n"
        "    pdf = r.plan(Patient(name, ''), plan, load_article(), dt.date(2026, 11, 27), False)\n"
        "sys.stdout.buffer.write(pdf)\n"
    )
    alone = subprocess.run([sys.executable, "-c", script, "क्षत्रिय स्मिता"], capture_output=True, check=True).stdout
    again = subprocess.run([sys.executable, "-c", script, "क्षत्रिय स्मिता"], capture_output=True, check=True).stdout
    after = subprocess.run([sys.executable, "-c", script, "द्वारका ह्रदय श्री", "क्षत्रिय स्मिता"], capture_output=True, check=True).stdout
    assert alone == again == after


def test_a_plain_leaflet_loads_no_script_font() -> None:
    script = (
        "from handout.brand import load_brand\nfrom handout.content import load_article\n"
        "from handout.pipeline import Renderer\nfrom reportlab.pdfbase import pdfmetrics\n"
        "Renderer(load_brand(), 'a4').leaflet(load_article())\n"
        "print(sorted(pdfmetrics.getRegisteredFontNames()))\n"
    )
    names = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "Atkinson" in names and "Noto" not in names, names


# ---------------------------------------------------------------------------
# One weight per name


def _ink_per_area(pdf: bytes, needle: str) -> list[float]:
    """Share of dark pixels inside the boxes of each occurrence of `needle` on page 1."""
    doc = pypdfium2.PdfDocument(pdf)
    page = doc[0]
    scale = 4
    image = page.render(scale=scale, grayscale=True).to_pil()
    text = page.get_textpage()
    height = page.get_height()
    shares = []
    searcher = text.search(needle)
    while (found := searcher.get_next()) is not None:
        start, count = found
        boxes = [text.get_charbox(i) for i in range(start, start + count)]
        left, bottom = min(b[0] for b in boxes), min(b[1] for b in boxes)
        right, top = max(b[2] for b in boxes), max(b[3] for b in boxes)
        crop = image.crop((int(left * scale), int((height - top) * scale), int(right * scale), int((height - bottom) * scale)))
        pixels = crop.tobytes()
        shares.append(sum(1 for p in pixels if p < 128) / len(pixels))
    return shares


@pytest.mark.parametrize("name", ["Σοφία Παπαδοπούλου", "Дмитрий Иванов", "Nguyễn Thị Minh"])
def test_fallback_text_inside_bold_is_really_bold(name: str) -> None:
    pdf = make_plan(name, clinician=name)
    bold, regular = _ink_per_area(pdf, name.split()[0])[:2]  # "For <name>" (bold), then "From <name>," (regular)
    assert bold > regular * 1.2, (bold, regular)


# ---------------------------------------------------------------------------
# Still refused


@pytest.mark.parametrize(("name", "code_point"), [("王小明", "U+738B"), ("Anna 😀", "U+1F600")])
def test_unsupported_scripts_are_refused_naming_the_code_point_and_what_works(name: str, code_point: str) -> None:
    code, _, stderr = run(["plan", "--patient", name, "-o", "/nonexistent/never.pdf"])
    assert code == 2 and code_point in stderr
    for script in ("Latin", "Greek", "Cyrillic", "Arabic", "Devanagari", "Tamil", "Telugu", "Thai", "Khmer"):
        assert script in stderr, script


def test_digits_after_an_arabic_name_are_refused_as_misplaced_not_unprintable() -> None:
    code, _, stderr = run(["plan", "--patient", "فاطمة 2", "-o", "/nonexistent/never.pdf"])
    assert code == 2 and "--patient" in stderr and "U+0032" in stderr
    assert "after Arabic letters" in stderr and "cannot print" not in stderr, stderr
    assert "فاطمة" not in stderr


def test_a_batch_row_gives_the_same_reason_as_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from handout.cli import app

    _, _, command_line = run(["plan", "--patient", "فاطمة 2", "-o", "/nonexistent/never.pdf"])
    reason = command_line.strip().split("--patient ", 1)[1]
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id\nفاطمة 2,P1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["batch", str(patients), "--out-dir", str(tmp_path / "out")])
    assert f"row 2 (patient_id P1): name {reason}" in result.stderr, result.stderr
    assert "فاطمة" not in result.stdout + result.stderr
