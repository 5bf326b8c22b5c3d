"""The diary page as printed: the map's schema, codes and marks clear of the edges, type at the body minimum, every form."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout.cli import app
from handout.diary.code import parse_page_code
from handout.diary.layout import MARK_INSET, MM, QR_MODULE, QR_QUIET, page_layout

from helpers import decode_qr_codes

runner = CliRunner()
FORMS = [(paper, lang, large) for paper in ("a4", "letter") for lang in ("en", "es") for large in (False, True)]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, bool], tuple[bytes, dict]]:
    folder = tmp_path_factory.mktemp("forms")
    result = {}
    for paper, lang, large in FORMS:
        pdf, diary_map = folder / f"{paper}-{lang}-{large}.pdf", folder / f"{paper}-{lang}-{large}.json"
        args = ["plan", "--patient", "Ana García", "--weeks", "4", "--start-date", "2026-01-05", "--paper", paper, "--lang", lang, "-o", str(pdf), "--diary-map", str(diary_map)]
        outcome = runner.invoke(app, args + (["--large-print"] if large else []))
        assert outcome.exit_code == 0, outcome.output
        result[(paper, lang, large)] = (pdf.read_bytes(), json.loads(diary_map.read_text()))
    return result


def test_map_has_the_schema_and_every_day(made: dict) -> None:
    _, diary_map = made[("a4", "en", False)]
    assert set(diary_map) == {"pages"}
    days = set()
    for page in diary_map["pages"]:
        assert set(page) == {"page", "width", "height", "fields"}
        assert (page["width"], page["height"]) == (595.28, 841.89)
        for f in page["fields"]:
            assert set(f) == {"date", "field", "value", "rect"}
            x0, y0, x1, y1 = f["rect"]
            assert 0 < x0 < x1 < page["width"] and 0 < y0 < y1 < page["height"]
            assert (f["value"] is None) == (f["field"] == "walked")
            days.add(f["date"])
        for date in {f["date"] for f in page["fields"]}:
            fields = [f for f in page["fields"] if f["date"] == date]
            assert [f["value"] for f in fields if f["field"] == "pain"] == list(range(11))
            assert len([f for f in fields if f["field"] == "walked"]) == 1
        rects = [f["rect"] for f in page["fields"]]
        for i, a in enumerate(rects):  # no two mark areas overlap: a mark counts for one of them
            for b in rects[i + 1 : i + 40]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    assert len(days) == 28 and min(days) == "2026-01-05"


@pytest.mark.parametrize("form", FORMS, ids=lambda f: str(f))
def test_codes_and_marks_and_type(made: dict, form: tuple[str, str, bool], tmp_path: Path) -> None:
    pdf, diary_map = made[form]
    paper, lang, large = form
    codes = [c for c in (parse_page_code(text) for text in decode_qr_codes(pdf)) if c is not None]
    assert [c.pdf_page for c in codes] == [p["page"] for p in diary_map["pages"]]
    assert all("García" not in text and "Garc" not in text for text in decode_qr_codes(pdf))
    per_page = {2 if paper == "letter" else 3} if not large else {1}
    for code in codes:
        layout = page_layout(code)
        assert len(layout.weeks) in per_page | {4 - (code.diary_page - 1) * max(per_page)}
        width, height = layout.width, layout.height
        for x0, y0, x1, y1 in layout.marks:
            assert min(x0, y0, width - x1, height - y1) >= MARK_INSET - 0.01
        qx0, qy0, qx1, qy1 = layout.qr
        quiet = QR_QUIET * QR_MODULE
        assert min(qx0 - quiet, qy0 - quiet, width - qx1 - quiet, height - qy1 - quiet) >= 10 * MM
        for mx0, my0, mx1, my1 in layout.marks:  # the code's quiet zone is white: no mark in it
            assert mx1 <= qx0 - quiet or mx0 >= qx1 + quiet or my1 <= qy0 - quiet or my0 >= qy1 + quiet
        day = layout.weeks[0].rows[0]
        assert day[3] - day[1] >= (18 if large else 7.8) * MM - 0.01
    # Type on the diary pages: nothing smaller than the body minimum.
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    minimum = 18 if large else 12
    for page in diary_map["pages"]:
        bottom = next(c for c in codes if c.pdf_page == page["page"]).bottom
        sizes = _font_sizes(path, page["page"], bottom)
        assert sizes and min(sizes) >= minimum - 0.01, sorted(sizes)[:5]


def _font_sizes(path: Path, page: int, bottom: float) -> list[float]:
    """Sizes of the text above `bottom` (the clinic's footer below it is page furniture, tested elsewhere)."""
    import pypdf

    sizes: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip() and tm[5] * (cm[3] or 1) + cm[5] > bottom:
            sizes.append(size * abs(tm[3]) * abs(cm[3]) if tm[3] and cm[3] else size)

    pypdf.PdfReader(path).pages[page - 1].extract_text(visitor_text=visit)
    return sizes


def test_diary_is_tagged_with_headings_and_tables(made: dict, tmp_path: Path) -> None:
    pdf, _ = made[("a4", "es", False)]
    path = tmp_path / "es.pdf"
    path.write_bytes(pdf)
    structure = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Su diario de paseos" in structure
    assert "Para cambiar una marca" in structure
    assert structure.count("/Table") >= 0
    for words in ("Semana 1:", "Semana 4:", "Dolor", "¿Caminó?" if "¿Caminó?" in structure else "Caminó", "lun 5"):
        assert words in structure, words


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("large", [False, True], ids=["standard", "large"])
def test_every_diary_page_fills_its_body_to_the_foot(paper: str, large: bool) -> None:
    """The rows take the page's spare space (taller rows, more room to write), on a plan's last page too: never a white foot."""
    import datetime as dt

    from handout.diary.code import PageCode
    from handout.diary.layout import page_count, sizes_for
    from handout.plan import PlanRequest

    least = sizes_for(large).min_day * MM
    for weeks in (1, 2, 5, 12, 26):
        for bottom in (80, 140):  # the usual footer, and a clinic's long one
            base = PageCode(paper, large, bottom, PlanRequest(start_date=dt.date(2026, 12, 7), weeks=weeks), "ABCD", 1, 1)
            for index in range(1, page_count(base) + 1):
                layout = page_layout(base.on_page(index, index + 2))
                last_row = layout.weeks[-1].rows[-1]
                assert abs(last_row[1] - bottom) < 0.01, (weeks, bottom, index, (last_row[1] - bottom) / MM)
                assert all(row[3] - row[1] >= least - 0.01 for week in layout.weeks for row in week.rows)


LABEL_CLEARANCE_MM = 0.8  # a header word ends this far at least before the column's rule
NUMBER_GAP_MM = 1.4  # two circles' numbers are this far apart at least (a number's own digits are 0.3–0.6 mm apart; 0.9 read as one number)


def header_crowding(pdf: bytes, layouts: list) -> list[str]:  # type: ignore[type-arg]
    """Header words that run into their column's rule, and circles' numbers that run into each other ("102030")."""
    from test_layout import read_pages

    pages = read_pages(pdf)[-len(layouts):]  # the diary pages end the plan
    problems = []
    for number, (page, layout) in enumerate(zip(pages, layouts), start=1):
        for week in layout.weeks:
            for key, (x0, y0, x1, y1) in week.labels:
                inside = [g for g in page.glyphs if x0 <= g.left < x1 and y0 <= g.baseline <= y1]
                if inside and max(g.right for g in inside) > x1 - LABEL_CLEARANCE_MM * MM:
                    problems.append(f"diary page {number}: the {key} label reaches its column's rule")
            extents: dict[str, list[tuple[float, float, int]]] = {}
            for field, value, (x0, y0, x1, y1) in week.numbers:
                digits = [g for g in page.glyphs if x0 <= (g.left + g.right) / 2 < x1 and y0 <= g.baseline <= y1 and g.char.isdigit()]
                extents.setdefault(field, []).append((min(g.left for g in digits), max(g.right for g in digits), value))
            for field, spans in extents.items():
                for (_, right, a), (left, _, b) in zip(spans, spans[1:]):
                    if left - right < NUMBER_GAP_MM * MM:
                        problems.append(f"diary page {number}: {field} numbers {a} and {b} are {(left - right) / MM:.1f} mm apart")
    return sorted(set(problems))


@pytest.mark.parametrize("form", FORMS, ids=lambda f: str(f))
def test_header_words_and_circle_numbers_stand_clear(form: tuple[str, str, bool]) -> None:
    import datetime as dt

    from handout.brand import load_brand
    from handout.content import load_article
    from handout.pipeline import Patient, Renderer
    from handout.plan import TARGET_MAX, PlanRequest, build_plan

    paper, lang, large = form
    renderer = Renderer(load_brand(), paper, large_print=large)
    # Minutes per walk from 10 (circles 5–30) on to the most a plan allows (15–90): the widest numbers.
    plan = build_plan(PlanRequest(start_date=dt.date(2026, 12, 7), weeks=26, start_minutes=10, target_minutes=TARGET_MAX))
    pdf, layouts = renderer.plan_with_diary(Patient("Ana García"), plan, load_article(language=lang), dt.date(2026, 12, 1))
    assert header_crowding(pdf, layouts) == []


def test_pages_printed_with_the_first_format_are_read_at_their_own_places() -> None:
    # Format 2 moved the minutes circles apart; a diary printed before ("HD1:…") is still in patients' hands.
    from handout.diary.code import any_format

    old, new = (parse_page_code(f"HD{n}:A4S:84:20260105:10:30:5:12:K7QF:2:4") for n in (1, 2))
    assert old is not None and new is not None and (old.page_format, new.page_format) == (1, 2)
    assert old.text().startswith("HD1:") and new.text().startswith("HD2:")

    def minutes_pitch_and_walked_column(code) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        week = page_layout(code).weeks[0]
        centres = sorted({a.centre[0] for a in week.areas if a.field == "minutes"})
        return round((centres[1] - centres[0]) / MM, 2), round((week.columns[2] - week.columns[1]) / MM, 2)

    assert minutes_pitch_and_walked_column(old) == (5.8, 21.0)
    assert minutes_pitch_and_walked_column(new) == (6.5, 23.0)
    large_old, large_new = (parse_page_code(f"HD{n}:A4L:84:20260105:10:30:5:12:K7QF:2:4") for n in (1, 2))
    assert minutes_pitch_and_walked_column(large_old)[0] == 8.0 and minutes_pitch_and_walked_column(large_new)[0] > 14
    assert parse_page_code("HD3:A4S:84:20260105:10:30:5:12:K7QF:2:4") is None and any_format("HD3:A4S:84")  # a newer handout's: said so
    assert not any_format("HDTV-guide.example")
