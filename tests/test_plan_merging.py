"""The to-print merge that copies plans' objects (plan_merging.py): the same file pikepdf's merge makes, tagged, valid and never quietly skipped."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
from pdf_structure import Element, check_structure
from typer.testing import CliRunner

from handout import plan_merging, printing
from handout.api import render_plan
from handout.cli import app
from handout.plan_merging import NotOurLayout, PlanMerger
from handout.printing import Printable, ToPrintWriter, merge_plans

needs_poppler = pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils (pdfinfo) is not installed; .ci/run installs it")
ISSUED = dt.date(2026, 11, 27)
START = dt.date(2026, 11, 30)


@cache
def plan(name: str, weeks: int = 12, **options: object) -> bytes:
    return render_plan(patient=name, clinician="Sam Lee", start_date=START, issued=ISSUED, weeks=weeks, **options)  # type: ignore[arg-type]


def mixed_plans() -> list[bytes]:
    """Names that need the fallback font, two languages, both papers, large print, an article, odd and even page counts."""
    return [
        plan("Jane Doe"),
        plan("Σοφία Παπαδοπούλου", 3),  # 3 pages: a blank back follows
        plan("Łukasz Żółć", 1, paper="letter"),  # Letter, and its blank back is Letter too
        plan("Ana García", 4, language="es", with_article=True),
        plan("Zoë O'Brien-Smith (Room 12 0 R)", 3, large_print=True, paper="letter"),  # a name that reads like a reference
        plan("José Ñúñez", 26),
    ]


def fast_merge(plans: list[bytes]) -> tuple[bytes, list[str], int]:
    merger = PlanMerger(printing.TO_PRINT_TITLE)
    ranges = ["{}-{}".format(*merger.add(data)) for data in plans]
    return merger.finish(), ranges, merger.page_count


def struct_text(data: bytes, folder: Path) -> str:
    """The structure tree as pdfinfo reads it, but for the numbers of the annotations' objects (each merge numbers its own)."""
    path = folder / "merged.pdf"
    path.write_bytes(data)
    return re.sub(r"Object \d+ 0", "Object", subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout)


def drawing(page: pikepdf.Page) -> bytes:
    """What a page draws (a blank back: nothing, with or without an empty content stream)."""
    return page.Contents.read_bytes() if "/Contents" in page.obj else b""


def merged_problems(data: bytes, plans: list[bytes], folder: Path) -> list[str]:
    """What is wrong with a merged file, measured against pikepdf's merge of the same plans: structure, pages, text, validity."""
    problems = list(check_structure(data).problems)
    reference, ranges, pages = merge_plans([Printable(n, f"P{n}", p) for n, p in enumerate(plans)])
    with pikepdf.open(io.BytesIO(data)) as merged, pikepdf.open(io.BytesIO(reference)) as expected:
        problems += [f"qpdf: {line}" for line in merged.check_pdf_syntax()]
        if len(merged.pages) != pages:
            problems.append(f"{len(merged.pages)} pages, pikepdf's merge has {pages}")
        for number, (page, twin) in enumerate(zip(merged.pages, expected.pages), start=1):
            if list(page.mediabox) != list(twin.mediabox):
                problems.append(f"page {number}: {list(page.mediabox)} wide, pikepdf's merge {list(twin.mediabox)}")
            if drawing(page) != drawing(twin):
                problems.append(f"page {number}: drawn differently")
            if page.obj.get("/Tabs") != pikepdf.Name.S:
                problems.append(f"page {number}: no /Tabs /S")
        if str(merged.docinfo.get("/Title")) != printing.TO_PRINT_TITLE or str(merged.Root.Lang) != str(expected.Root.Lang):
            problems.append("title or language differs from pikepdf's merge")
    if shutil.which("pdfinfo") and struct_text(data, folder) != struct_text(reference, folder):
        problems.append("the structure tree reads differently from pikepdf's merge (pdfinfo -struct-text)")
    parts = check_structure(data).root
    if parts is None or [kid.kind for kid in parts.kids if isinstance(kid, Element)] != ["Part"] * len(plans):
        problems.append("not one Part per plan under the Document")
    return problems


@needs_poppler
def test_the_merge_makes_the_file_pikepdfs_merge_makes_tagged_and_valid(tmp_path: Path) -> None:
    plans = mixed_plans()
    data, ranges, pages = fast_merge(plans)
    assert merged_problems(data, plans, tmp_path) == []
    assert (ranges, pages) == merge_plans([Printable(n, f"P{n}", p) for n, p in enumerate(plans)])[1:]
    assert ranges[:3] == ["1-6", "7-10", "11-14"]  # 6 pages; 3 + a blank back; 3 (Letter) + a blank back
    assert fast_merge(plans)[0] == data  # byte-identical run to run
    assert data.startswith(b"%PDF-1.7") and len(data) < sum(map(len, plans)) * 1.1  # no bigger than the plans it holds

    # Every plan's structure is there, in order, in its language, with the names that need the fallback font.
    path = tmp_path / "merged.pdf"
    path.write_bytes(data)
    printed = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout
    names = ["Jane Doe", "Σοφία Παπαδοπούλου", "Łukasz Żółć", "Ana García", "Zoë O'Brien-Smith (Room 12 0 R)", "José Ñúñez"]
    assert all(name in printed for name in names)
    assert sorted(names, key=printed.index) == names
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert sorted(names, key=text.index) == names
    root = check_structure(data).root
    assert root is not None
    assert [str(kid.obj.Lang) for kid in root.kids if isinstance(kid, Element)] == ["en-GB", "en-GB", "en-GB", "es", "en-GB", "en-GB"]
    result = subprocess.run([str(Path(sys.executable).with_name("pdfua")), "check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout

    # Every page renders: the plans' pages have ink, the blank backs none, each the size of its plan's paper.
    document = pypdfium2.PdfDocument(data)
    try:
        inked = [document[i].render(scale=0.3).to_pil().convert("L").getextrema()[0] < 128 for i in range(len(document))]
        sizes = [tuple(round(v) for v in document[i].get_size()) for i in range(len(document))]
    finally:
        document.close()
    odd = sum(len(pikepdf.open(io.BytesIO(p)).pages) % 2 for p in plans)
    assert inked.count(False) == odd and not inked[9] and not inked[13]  # the blank backs, and only they, are blank
    assert sizes[9] == (595, 842) and sizes[13] == (612, 792)  # A4 after the A4 plan, Letter after the Letter plan


@needs_poppler
def test_the_checker_finds_a_merge_that_shares_parent_tree_keys_between_plans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """merged_problems above is shown to catch a broken merge: every plan's pages keep their own ParentTree keys (0, 1, …)."""
    plans = [plan("Jane Doe", 3), plan("Ana García", 1, language="es")]
    monkeypatch.setattr(plan_merging, "_moved_key", lambda match, next_key, key_offset: match[0])
    broken, _, _ = fast_merge(plans)
    assert merged_problems(broken, plans, tmp_path) != []


def test_a_batch_to_print_is_merged_by_copying_never_with_pikepdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(plans: object) -> None:
        raise AssertionError("the plans to print were merged with pikepdf")

    monkeypatch.setattr(printing, "merge_plans", refused)
    monkeypatch.setattr(printing, "PLANS_PER_FILE", 3)
    names = ["Jane Doe", "Σοφία Παπαδοπούλου", "Łukasz Żółć", "Zoë O'Brien-Smith", "José Ñúñez"]
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id,weeks,language\n" + "".join(f'"{n}",P{i},{1 + i % 3},{"es" if i == 3 else ""}\n' for i, n in enumerate(names)), encoding="utf-8")
    out = tmp_path / "plans"
    result = CliRunner().invoke(app, ["batch", str(patients), "--out-dir", str(out), "--workers", "1", "--paper", "letter"])
    assert result.exit_code == 0, result.output
    first, second = (out / "to-print-1.pdf").read_bytes(), (out / "to-print-2.pdf").read_bytes()
    plans = [(out / f"P{i}.pdf").read_bytes() for i in range(5)]
    assert merged_problems(first, plans[:3], tmp_path) == []
    assert merged_problems(second, plans[3:], tmp_path) == []


def test_a_plan_not_laid_out_as_handouts_writer_lays_it_out_is_merged_with_pikepdf_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ours = plan("Jane Doe", 3)
    buffer = io.BytesIO()
    with pikepdf.open(io.BytesIO(ours)) as opened:
        opened.save(buffer, object_stream_mode=pikepdf.ObjectStreamMode.disable)  # a classic xref table, no object streams
    theirs = buffer.getvalue()
    with pytest.raises(NotOurLayout):
        PlanMerger("x").add(theirs)

    writer = ToPrintWriter(tmp_path)
    for row, data in enumerate([ours, theirs, ours], start=2):
        writer.add(Printable(row, f"P{row}", data))
    made = writer.finish()
    assert made is not None and writer.merged_with_pikepdf == 1
    assert [e.pages for e in made.entries] == ["1-4", "5-8", "9-12"]
    assert check_structure((tmp_path / "to-print.pdf").read_bytes()).problems == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "merged with pikepdf" in warnings[0] and "Jane" not in warnings[0]
    caplog.clear()  # the warning was the point of this test


def test_a_plan_the_merge_cannot_read_leaves_the_file_being_built_as_it_was() -> None:
    merger = PlanMerger("x")
    merger.add(plan("Jane Doe", 1))
    before = merger.page_count
    for broken in (b"%PDF-1.7\n", plan("Jane Doe", 1)[:-200], plan("Jane Doe", 1).replace(b"/Type/ObjStm", b"/Type/ObjStn")):
        with pytest.raises(NotOurLayout):
            merger.add(broken)
    assert merger.page_count == before
    assert check_structure(merger.finish()).problems == []


@pytest.mark.parametrize(
    "text",
    [
        b"<</T (Room 12 0 R)/K 5 0 R>>",  # a string holding what reads like a reference
        b"<</T (a /StructParent 3)>>",  # or a ParentTree key
        b"<</T (nested (deeper (than) one))/K 5 0 R>>",  # a string nested deeper than ReportLab writes
        b"<</K[] 0 R>>",  # " 0 R" after something that is not a number
        b"<</K 5 0 Rx>>",  # or run into what follows
    ],
)
def test_text_whose_references_a_replace_would_get_wrong_is_not_merged_by_copying(text: bytes) -> None:
    with pytest.raises(NotOurLayout):
        plan_merging._check_references(text)


def test_strings_with_balanced_parentheses_and_escapes_are_merged_by_copying() -> None:
    plan_merging._check_references(b"<</T (Week 1 \\(of 4\\))/Alt (a (small) walk)/K[5 0 R 6 0 R]/P 4 0 R>>")


def test_a_plan_read_from_its_writers_objects_merges_to_the_same_bytes_as_read_from_its_file() -> None:
    """A batch's worker hands over each plan to print as the writer kept its objects (WrittenFiles); a kept plan is read from its file."""
    from handout.render.packing import WrittenFiles

    cases = [
        {"patient": "Jane Doe"},
        {"patient": "Σοφία Παπαδοπούλου", "weeks": 3},
        {"patient": "Ana García", "weeks": 4, "language": "es", "with_article": True},  # laid out twice: the kept layout's objects
        {"patient": "Zoë O'Brien-Smith (Room 12 0 R)", "weeks": 3, "large_print": True, "paper": "letter"},
        {"patient": "José Ñúñez", "weeks": 26},
    ]
    from_files, from_writer = PlanMerger(printing.TO_PRINT_TITLE), PlanMerger(printing.TO_PRINT_TITLE)
    for case in cases:
        options = {"clinician": "Sam Lee", "start_date": START, "issued": ISSUED, **case}
        with WrittenFiles() as written:
            pdf = render_plan(**options)  # type: ignore[arg-type]
        objects = written.objects(pdf)
        assert objects is not None and objects == plan_merging.objects_in(pdf)
        assert from_writer.add(plan_merging.readable(objects)) == from_files.add(pdf)
    assert from_writer.finish() == from_files.finish()
    assert WrittenFiles().objects(pdf) is None  # only what was written while it was open
