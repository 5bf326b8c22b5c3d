"""Printing a batch: one merged, double-sided-ready to-print.pdf and a to-print list by patient_id, never a name."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from handout import printing
from handout.cli import app

from helpers import normalise

HEADER = "name,patient_id,email,consent_email,weeks,pdf_password"
ROWS = [
    # name, patient_id, email, consent, weeks (3 pages for 3 weeks, 2 for 1 week)
    ("Ann Able", "P1", "", "", 3),  # to print, 3 pages: padded to 4
    ("Ben Bold", "P2", "ben@example.org", "yes", 1),  # emailed (outbox), not printed
    ("Cat Cole", "", "", "", 1),  # to print, 2 pages
    ("Dan Dale", "P4", "dan@example.org", "no", 3),  # no consent: to print, padded to 4
]


def write_csv(folder: Path, rows: list[tuple[str, str, str, str, int]]) -> Path:
    lines = [HEADER] + [f"{name},{pid},{email},{consent},{weeks},pw-{name.split()[0].lower()}-4242" for name, pid, email, consent, weeks in rows]
    path = folder / "patients.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def batch(csv_path: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, ["batch", str(csv_path), "--out-dir", str(out), "--workers", "1", *extra])


def page_texts(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert not reader.is_encrypted
    return [normalise(page.extract_text()) for page in reader.pages]


def plans_in(pages: list[str]) -> list[tuple[str, int]]:
    """(name, pages) for each plan in the merged file, in order: a plan starts on the page that greets its patient."""
    found: list[tuple[str, int]] = []
    for text in pages:
        greeting = re.search(r"For (\w+ \w+)", text)
        if greeting and (not found or greeting.group(1) != found[-1][0]):
            found.append((greeting.group(1), 1))
        else:
            assert found, "the merged file starts without a plan"
            found[-1] = (found[-1][0], found[-1][1] + 1)
    return found


def test_to_print_pdf_holds_each_printed_plan_on_its_own_sheets_in_row_order(tmp_path: Path) -> None:
    out = tmp_path / "plans"
    result = batch(write_csv(tmp_path, ROWS), out)
    assert result.exit_code == 0, result.stderr
    merged = (out / "to-print.pdf").read_bytes()
    pages = page_texts(merged)
    singles = {key: len(pypdf.PdfReader(out / f"{key}.pdf").pages) for key in ("P1", "row-4", "P4")}
    assert singles == {"P1": 3, "row-4": 3, "P4": 3}  # a one-week plan's diary is a page of its own (issue 17)
    # Each plan starts on a new sheet: odd page counts get one blank page after them.
    assert plans_in(pages) == [("Ann Able", 4), ("Cat Cole", 4), ("Dan Dale", 4)]
    assert pages[3] == "" and pages[7] == "" and pages[11] == "" and len(pages) == 12
    for key, first in (("P1", 0), ("row-4", 4), ("P4", 8)):
        assert pages[first : first + singles[key]] == page_texts((out / f"{key}.pdf").read_bytes())
    assert "Ben Bold" not in " ".join(pages)

    listing = (out / "to-print.txt").read_text(encoding="utf-8")
    assert listing.splitlines()[0] == "patient_id\trow\tfile\tpages"
    assert [line.split("\t") for line in listing.splitlines()[1:]] == [
        ["P1", "2", "to-print.pdf", "1-4"],
        ["", "4", "to-print.pdf", "5-8"],
        ["P4", "5", "to-print.pdf", "9-12"],
    ]
    for name in ("Ann", "Cat", "Dan", "Able"):
        assert name not in listing and name not in result.stdout
    assert "P1 (row 2), row 4, P4 (row 5)" in result.stdout
    assert "to-print.pdf" in result.stdout

    # Identical inputs, identical bytes: again in the same folder, and in a fresh one.
    assert batch(write_csv(tmp_path, ROWS), out).exit_code == 0
    assert (out / "to-print.pdf").read_bytes() == merged
    assert batch(write_csv(tmp_path, ROWS), tmp_path / "elsewhere").exit_code == 0
    assert (tmp_path / "elsewhere" / "to-print.pdf").read_bytes() == merged


def test_a_run_with_nothing_to_print_leaves_no_old_to_print_file(tmp_path: Path) -> None:
    out = tmp_path / "plans"
    assert batch(write_csv(tmp_path, ROWS), out).exit_code == 0
    assert (out / "to-print.pdf").exists() and (out / "to-print.txt").exists()
    emailed_only = [row for row in ROWS if row[3] == "yes"]
    assert batch(write_csv(tmp_path, emailed_only), out).exit_code == 0
    assert not (out / "to-print.pdf").exists() and not (out / "to-print.txt").exists()


def test_with_encrypt_the_printed_plans_need_no_password_and_no_unlocked_copy_is_left(tmp_path: Path) -> None:
    out = tmp_path / "plans"
    result = batch(write_csv(tmp_path, ROWS), out, "--encrypt")
    assert result.exit_code == 0, result.stderr
    pages = page_texts((out / "to-print.pdf").read_bytes())  # opens without a password
    # With --encrypt every row with an address is emailed, so Dan's plan goes by email, locked.
    assert plans_in(pages) == [("Ann Able", 4), ("Cat Cole", 4)]
    plans = sorted(p.name for p in out.glob("*.pdf"))
    assert plans == ["P1.pdf", "P2.pdf", "P4.pdf", "row-4.pdf", "to-print-list.pdf", "to-print.pdf"]
    for name in plans[:-2]:
        assert pypdf.PdfReader(out / name).is_encrypted, name  # each plan's own file stays locked
    unlocked = [p.name for p in out.rglob("*") if p.is_file() and p.name != "to-print.pdf" and p.read_bytes().startswith(b"%PDF") and not pypdf.PdfReader(p).is_encrypted]
    assert unlocked == ["to-print-list.pdf"], "an unencrypted copy of a plan was left on disk"
    sheet = " ".join(page_texts((out / "to-print-list.pdf").read_bytes()))
    assert "Plans to print" in sheet and "Ann Able" in sheet and "walking diary" not in sheet.lower()  # names to hand over, no plan
    for secret in ("pw-ann-4242", "pw-cat-4242"):
        assert secret not in result.stdout + result.stderr


def test_a_long_list_to_print_is_split_into_files_of_bounded_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Merging holds a file's plans in memory: a 10,000-row list must not merge into one.
    monkeypatch.setattr(printing, "PLANS_PER_FILE", 2)
    out = tmp_path / "plans"
    result = batch(write_csv(tmp_path, ROWS), out)
    assert result.exit_code == 0, result.stderr
    assert not (out / "to-print.pdf").exists()
    first, second = (page_texts((out / f"to-print-{n}.pdf").read_bytes()) for n in (1, 2))
    assert plans_in(first) == [("Ann Able", 4), ("Cat Cole", 4)] and plans_in(second) == [("Dan Dale", 4)]
    rows = [line.split("\t") for line in (out / "to-print.txt").read_text(encoding="utf-8").splitlines()[1:]]
    assert [(r[0], r[2], r[3]) for r in rows] == [("P1", "to-print-1.pdf", "1-4"), ("", "to-print-1.pdf", "5-8"), ("P4", "to-print-2.pdf", "1-4")]
    assert "2 files, to-print-1.pdf to to-print-2.pdf" in normalise(result.stdout)
    sheet = " ".join(page_texts((out / "to-print-list.pdf").read_bytes()))
    # Which file each plan is in: a table for each file, under its name.
    assert re.search(r"to-print-1\.pdf .*Ann Able 1-4 .*Cat Cole 5-8 .*to-print-2\.pdf .*Dan Dale 1-4 ", sheet), sheet

    # A later, shorter run leaves one plain to-print.pdf and none of the earlier run's files.
    monkeypatch.setattr(printing, "PLANS_PER_FILE", 100)
    assert batch(write_csv(tmp_path, ROWS[:1]), out).exit_code == 0
    assert sorted(p.name for p in out.glob("to-print*")) == ["to-print-list.pdf", "to-print.pdf", "to-print.txt"]


@pytest.mark.parametrize("second", ["name,patient_id\n", "name,patient_id,weeks\nBad Row,P9,99\n", "--strict"])
def test_a_run_that_makes_nothing_leaves_no_earlier_to_print_files(tmp_path: Path, second: str) -> None:
    out = tmp_path / "plans"
    assert batch(write_csv(tmp_path, ROWS), out).exit_code == 0
    assert sorted(p.name for p in out.glob("to-print*")) == ["to-print-list.pdf", "to-print.pdf", "to-print.txt"]
    if second == "--strict":
        csv_path = tmp_path / "strict.csv"
        csv_path.write_text("name,patient_id,weeks\nAnn Able,P1,4\nBad Row,P9,99\n", encoding="utf-8")
        result = batch(csv_path, out, "--strict")
    else:
        csv_path = tmp_path / "second.csv"
        csv_path.write_text(second, encoding="utf-8")
        result = batch(csv_path, out)
    assert "Traceback" not in result.stderr
    assert list(out.glob("to-print*")) == []  # last week's plans are never printed again by mistake


def test_a_to_print_sheet_longer_than_the_template_step_limit_comes_in_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from handout import templating
    from handout.pipeline import Renderer

    # The same proportions as 100,000 rows against the sandbox's 50,000 steps, at a size a test can render
    # (the step limit lowered for the sheet only: a plan's own template needs more than 20).
    sheet_maker = Renderer.to_print_list

    def with_few_steps(self: Renderer, *args: object, **kwargs: object) -> bytes:
        usual = templating.MAX_STEPS
        templating.MAX_STEPS = 20
        try:
            return sheet_maker(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            templating.MAX_STEPS = usual

    monkeypatch.setattr(Renderer, "to_print_list", with_few_steps)
    monkeypatch.setattr(printing, "SHEET_ROWS", 10, raising=False)
    monkeypatch.setattr(printing, "PLANS_PER_FILE", 4)
    names = [f"Person Number{i:02d}" for i in range(25)]
    csv_path = tmp_path / "patients.csv"
    csv_path.write_text("name,patient_id,weeks\n" + "".join(f"{name},P{i:02d},1\n" for i, name in enumerate(names)), encoding="utf-8")
    out = tmp_path / "plans"
    result = batch(csv_path, out)
    assert result.exit_code == 0 and "was not made" not in result.stderr, result.stderr
    sheets = [out / f"to-print-list-{n}.pdf" for n in (1, 2, 3)]
    assert sorted(p.name for p in out.glob("to-print-list*")) == [p.name for p in sheets]
    texts = [normalise(" ".join(page_texts(p.read_bytes()))) for p in sheets]
    assert "Part 1 of 3 of this list: 10 of the 25 plans" in texts[0] and "in to-print-1.pdf to to-print-3.pdf" in texts[0]
    assert "Part 3 of 3 of this list: 5 of the 25 plans" in texts[2]
    for n, name in enumerate(names):  # each patient on the sheet of their part, and only there
        assert [name in text for text in texts] == [part == n // 10 for part in range(3)], name
    assert "the 3 sheets to-print-list-1.pdf to to-print-list-3.pdf" in normalise(result.stdout)
    # The next, shorter run removes every part: they are in the manifest.
    csv_path.write_text("name,patient_id,weeks\nAnn Able,P1,1\n", encoding="utf-8")
    assert batch(csv_path, out).exit_code == 0
    assert sorted(p.name for p in out.glob("to-print*")) == ["to-print-list.pdf", "to-print.pdf", "to-print.txt"]
