"""The to-print sheet's names: drawn in the sheet's grid, each in a face that has its letters, and read back as typed."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest

from handout.brand import load_brand
from handout.pipeline import ListedPlan, Renderer

from helpers import fonts

MADE = dt.date(2026, 12, 5)
NAMES = ["Σοφία Παπαδοπούλου", "Анна Иванова", "Nguyễn Thị Minh Khai", "Zoë O'Brien-Smith", "Ana & Bea Núñez"]


def sheet(names: list[str], paper: str = "a4") -> bytes:
    entries = [ListedPlan(row, f"P{row}", name, f"{6 * index + 1}-{6 * index + 6}", "to-print.pdf") for index, (row, name) in enumerate(enumerate(names, start=2))]
    return Renderer(load_brand(None), paper, ()).to_print_list(entries, ["to-print.pdf"], 6 * len(names), MADE)


def text_objects(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        return sum(1 for page in opened.pages for _, operator in pikepdf.parse_content_stream(page) if str(operator) == "BT")


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils' pdfinfo reads the structure as a screen reader's software does")
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_names_in_greek_cyrillic_and_vietnamese_are_each_a_cell_read_back_as_typed_in_the_face_with_their_letters(tmp_path: Path, paper: str) -> None:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(sheet(NAMES, paper))
    printed = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout
    cells = re.findall(r'^\s*TD\n\s*"(.*?) ?"$', printed, re.M)
    assert cells[1::3] == NAMES  # patient_id, name, pages (the row is a row header, the tick box empty): each name one whole cell
    used = {font.name.split("+")[-1] for font in fonts(path.read_bytes())}
    assert {"NotoSans", "AtkinsonHyperlegible-Regular"} <= used


def test_a_sheet_of_names_in_other_alphabets_is_drawn_as_one_grid_not_cell_by_cell() -> None:
    # The grid writes every cell in one text object; a platypus table writes each cell in its own (6 rows of 4: 24 more).
    # The words above and below the table, the masthead and the footer take the rest.
    latin = text_objects(sheet(["Jane Doe", "John Smith", "Ann Able", "Bob Bell", "Cat Cole"]))
    assert text_objects(sheet(NAMES)) == latin < 15


def test_names_that_need_shaping_are_still_paragraphs_shaped_in_their_own_script() -> None:
    # Arabic letters join and run right to left: HarfBuzz shapes them in a Paragraph, outside the grid (a text object a
    # cell), and the shaped glyphs carry the name as typed for a screen reader.
    names = ["فاطمة الزهراء", "Jane Doe", "John Smith", "Ann Able", "Bob Bell"]
    pdf = sheet(names)
    assert any("NotoSansArabic" in font.name for font in fonts(pdf))
    assert text_objects(pdf) > text_objects(sheet(names[1:] + ["Cat Cole"])) + 10
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        assert b"/ActualText" in b"".join(page.Contents.read_bytes() for page in opened.pages) or any(
            "/ActualText" in element for element in (repr(obj) for obj in opened.objects if isinstance(obj, pikepdf.Dictionary))
        )


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils' pdfinfo reads the structure as a screen reader's software does")
def test_each_to_print_file_is_a_section_heading_one_level_below_the_title(tmp_path: Path) -> None:
    # A screen reader lists the headings: "Plans to print", then each file; a level skipped (H1 to H3) is a PDF/UA failure.
    entries = [ListedPlan(row, f"P{row}", f"Patient {row}", "1-6", f"to-print-{1 + (row - 2) // 3}.pdf") for row in range(2, 8)]
    path = tmp_path / "sheet.pdf"
    path.write_bytes(Renderer(load_brand(None), "a4", ()).to_print_list(entries, ["to-print-1.pdf", "to-print-2.pdf"], 36, MADE))
    printed = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout
    headings = re.findall(r"^\s*(H\d?) \(block\)\n\s*\"(.*?) ?\"$", printed, re.M)
    assert headings == [("H1", "Plans to print"), ("H2", "to-print-1.pdf"), ("H2", "to-print-2.pdf")]
