"""Reading real patient lists (broken rows, Excel's encodings) and the typed values both faces share: plan limits, PDF passwords."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout.cli import app
from handout.errors import HandoutError
from handout.patients import read_patient_list

from helpers import body_text

TODAY = dt.date(2026, 11, 27)
# Names that must never appear in a message; each has letters outside ASCII that single-byte code pages disagree on.
WESTERN_NAMES = ("Zoë Müller", "Renée, Anne", "François Lefèvre")


def write_bytes(folder: Path, data: bytes, name: str = "patients.csv") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def read(folder: Path, text: str, **kwargs: object):
    return read_patient_list(write_bytes(folder, text.encode("utf-8")), TODAY, **kwargs)  # type: ignore[arg-type]


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def no_names_in(text: str, names: tuple[str, ...]) -> None:
    for name in names:
        for part in name.replace(",", " ").split():
            assert part not in text, part


# ---------------------------------------------------------------------------
# Item 5: a broken row is an error with its number, never a silently wrong plan


def test_an_unquoted_comma_is_a_row_error_that_names_no_value(tmp_path: Path) -> None:
    text = "name,patient_id,email\nDoe, Jane,P1,jane@example.org\nBo Bell,P2,\n"
    patients = read(tmp_path, text)
    assert [r.key for r in patients.rows] == ["P2"]
    (problem,) = patients.problems
    # A shifted row's patient_id cell may hold part of a name: it is not repeated.
    assert str(problem) == "row 2: the row has 4 cells but the header has 3; put a value that contains ',' in double quotes"
    no_names_in(str(problem), ("Doe Jane", "jane@example.org"))


@pytest.mark.parametrize(
    ("header", "column", "where"),
    [("name,email,email", "email", "2 and 3"), ("Name,patient_id, NAME ,Email", "name", "1 and 3"), ("name,weeks,x,weeks,weeks", "weeks", "2, 4 and 5")],
)
def test_a_column_handout_uses_given_twice_stops_the_file(tmp_path: Path, header: str, column: str, where: str) -> None:
    # Last one wins was the old rule: the second email column's address got the first patient's plan.
    cells = ",".join(["Jane Doe"] + ["4"] * (header.count(",")))
    path = write_bytes(tmp_path, f"{header}\n{cells}\n".encode())
    with pytest.raises(HandoutError) as caught:
        read_patient_list(path, TODAY)
    assert caught.value.message == f"{path}: the column '{column}' is there twice (columns {where}); keep one and delete the other"
    result = run("batch", str(path), "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 1 and "is there twice" in result.stderr and not (tmp_path / "out").exists()


def test_a_column_handout_does_not_use_may_repeat(tmp_path: Path) -> None:
    assert read(tmp_path, "name,notes,notes\nJane Doe,a,b\n").ignored_columns == ("notes",)


def test_a_row_missing_a_cell_is_an_error_not_a_shift(tmp_path: Path) -> None:
    # patient_id was deleted with its comma: the address would land in patient_id, "yes" in email.
    text = "name,patient_id,email,consent_email\nJane Doe,jane@example.org,yes\nBo Bell,P2,,\n"
    patients = read(tmp_path, text)
    assert [r.key for r in patients.rows] == ["P2"]
    assert [str(p) for p in patients.problems] == [
        "row 2: the row has 3 cells but the header has 4; every row needs a cell for each column, even an empty one"
    ]


def test_a_row_shifted_by_a_comma_is_caught_even_when_its_pushed_out_last_cell_was_empty(tmp_path: Path) -> None:
    # "Shifted, Row" splits in two; every value after it moves right, and the empty last value falls off the end.
    text = "patient_id,name,email,consent_email,weeks\nP1,Jane Doe,jane@example.org,yes,\nP2,Shifted, Row,row@example.org,yes,\nP3,Bo Bell,,,4\n"
    patients = read(tmp_path, text)
    assert [r.key for r in patients.rows] == ["P1", "P3"]
    (problem,) = patients.problems
    assert str(problem) == (
        "row 3: the row has 6 cells but the header has 5: put a value that contains ',' in double quotes, "
        "or, if its last cells are empty padding, delete the empty columns after the last one"
    )


def test_rows_shifted_alike_are_caught_and_padding_only_some_rows_have_is_reported_with_both_causes(tmp_path: Path) -> None:
    # Two "Surname, First" names shift their rows alike, each pushing out an empty clinician: neither is read.
    shifted = read(tmp_path, "patient_id,name,clinician\nP1,Able, Ann,\nP2,Bold, Ben,\nP3,Cy Dunn,\n")
    assert [r.key for r in shifted.rows] == ["P3"] and [p.row for p in shifted.problems] == [2, 3]
    # Padding in a block (old Excel): those rows cannot be told from shifted ones, so they are reported, naming both causes.
    padded = read(tmp_path, "name,patient_id,weeks\nAnn Lee,P1,4\nCy Dunn,P3,6,,\nDi Eng,P4,7,,\n")
    assert [r.key for r in padded.rows] == ["P1"]
    assert all("delete the empty columns after the last one" in p.reason for p in padded.problems)


def test_an_empty_list_is_no_error_on_the_command_line(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"name,email\r\n,\r\n")
    result = run("batch", str(path), "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output


def test_an_export_that_ends_every_row_with_a_delimiter_is_read(tmp_path: Path) -> None:
    patients = read(tmp_path, "name,patient_id,weeks\nJane Doe,P1,4,\nBo Bell,P2,,\n")
    assert patients.problems == () and [(r.key, r.request.weeks) for r in patients.rows] == [("P1", 4), ("P2", 12)]


def test_empty_cells_spreadsheets_add_at_the_end_are_harmless(tmp_path: Path) -> None:
    text = "name,patient_id,weeks\nJane Doe,P1,4,,\nBo Bell,P2,,,\n\n"
    patients = read(tmp_path, text)
    assert patients.problems == ()
    assert [(r.key, r.request.weeks) for r in patients.rows] == [("P1", 4), ("P2", 12)]


@pytest.mark.parametrize(
    "text",
    [
        # The quote is never closed: the csv module reads to the end of the file.
        'name,patient_id\nAnn Able,P1\n"Zoë Müller,P2\nJane Doe,P3\nBo Bell,P4\n',
        # The open quote runs on until a later row's own quotes.
        'name,patient_id\nAnn Able,P1\n"Zoë Müller,P2\nJane Doe,P3\n"Renée, Anne",P4\n',
    ],
)
def test_an_unclosed_quote_stops_the_file_naming_the_row_it_opened_in(tmp_path: Path, text: str) -> None:
    with pytest.raises(HandoutError) as caught:
        read(tmp_path, text)
    message = caught.value.message
    assert "row 3" in message and "quote" in message
    no_names_in(message, ("Zoë Müller", "Jane Doe", "Renée Anne"))


def test_a_quote_closed_rows_later_fails_the_row_that_swallowed_the_others(tmp_path: Path) -> None:
    text = 'name,patient_id\nAnn Able,P1\n"Zoë Müller,P2\nJane Doe,P3\nBo Bell",P4\nCy Dee,P5\n'
    patients = read(tmp_path, text)
    assert [r.key for r in patients.rows] == ["P1", "P5"]
    (problem,) = patients.problems
    assert str(problem) == 'row 3: the row has a quote (") that runs on over the next 2 lines, which look like rows of their own; close the quote'


@pytest.mark.parametrize(
    "text",
    [
        'name,patient_id,email\n"Ivy Late,B10,\nJoe Row,B11,\nKay Row,B12,"\nLee Good,B13,\n',  # closes at a line's end
        'name,patient_id,email\n"Ivy Late,B10,\nJoe Row,B11,\nKay Row,B12",\nLee Good,B13,\n',  # closes before the last cell
    ],
    ids=["at the end of a line", "mid-line"],
)
def test_wherever_a_late_quote_closes_the_fix_given_is_to_close_it(tmp_path: Path, text: str) -> None:
    patients = read(tmp_path, text)
    assert [r.key for r in patients.rows] == ["B13"]
    (problem,) = patients.problems
    assert str(problem) == 'row 2: the row has a quote (") that runs on over the next 2 lines, which look like rows of their own; close the quote'


def test_a_row_with_one_cell_says_one_cell(tmp_path: Path) -> None:
    (problem,) = read(tmp_path, "name,patient_id,email\nAnn Able\n").problems
    assert "the row has 1 cell but the header has 3" in str(problem)


def test_an_unclosed_quote_renders_nothing(tmp_path: Path) -> None:
    csv_path = write_bytes(tmp_path, 'name,patient_id\nAnn Able,P1\n"Zoë Müller,P2\nJane Doe,P3\n'.encode())
    out = tmp_path / "plans"
    result = run("batch", str(csv_path), "--out-dir", str(out), "--workers", "1")
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1].startswith("handout: error: ") and "row 3" in result.stderr
    assert not list(out.glob("*.pdf")) if out.exists() else True


def test_legitimate_line_breaks_inside_quotes_still_read(tmp_path: Path) -> None:
    text = 'name,patient_id,notes\n"Zoë\nMüller",P1,"rang twice\nleft a message"\nBo Bell,P2,\n'
    patients = read(tmp_path, text)
    assert patients.problems == () and [r.name for r in patients.rows] == ["Zoë Müller", "Bo Bell"]


def test_strict_stops_on_a_shifted_row(tmp_path: Path) -> None:
    csv_path = write_bytes(tmp_path, b"name,patient_id\nDoe, Jane,P1\nBo Bell,P2\n")
    out = tmp_path / "plans"
    result = run("batch", str(csv_path), "--out-dir", str(out), "--strict")
    assert result.exit_code == 1
    assert "row 2: the row has 3 cells" in result.stderr and "--strict" in result.stderr
    assert not out.exists() or not list(out.glob("*.pdf"))
    no_names_in(result.output, ("Doe Jane", "Bo Bell"))


# ---------------------------------------------------------------------------
# Item 14: Excel's "CSV (Comma delimited)" (Windows-1252) and "Unicode Text" (UTF-16, tabs)

WESTERN_CSV = "name,patient_id,weeks\r\nZoë Müller,P1,2\r\n\"Renée, Anne\",P2,2\r\nFrançois Lefèvre,P3,2\r\n"


def test_excel_comma_delimited_windows_1252(tmp_path: Path) -> None:
    patients = read_patient_list(write_bytes(tmp_path, WESTERN_CSV.encode("cp1252")), TODAY)
    assert patients.problems == ()
    assert [r.name for r in patients.rows] == list(WESTERN_NAMES)
    assert patients.encoding == "Windows-1252 (detected)"


def test_excel_unicode_text_utf16_with_tabs(tmp_path: Path) -> None:
    text = "\ufeffname\tpatient_id\tweeks\r\nZoë Müller\tP1\t2\r\n\"Renée, Anne\"\tP2\t2\r\nΣοφία Παπαδοπούλου\tP3\t2\r\n"
    patients = read_patient_list(write_bytes(tmp_path, text.encode("utf-16-le"), "patients.txt"), TODAY)
    assert patients.problems == ()
    assert [r.name for r in patients.rows] == ["Zoë Müller", "Renée, Anne", "Σοφία Παπαδοπούλου"]
    assert [r.request.weeks for r in patients.rows] == [2, 2, 2]
    assert patients.encoding == "UTF-16 (from its byte-order mark)"


@pytest.mark.parametrize(("prefix", "label"), [(b"", "UTF-8"), (b"\xef\xbb\xbf", "UTF-8 (with a byte-order mark)")])
def test_utf8_reads_as_before(tmp_path: Path, prefix: bytes, label: str) -> None:
    patients = read_patient_list(write_bytes(tmp_path, prefix + WESTERN_CSV.encode()), TODAY)
    assert [r.name for r in patients.rows] == list(WESTERN_NAMES) and patients.encoding == label


def test_a_windows_1252_batch_prints_the_names_right_and_says_the_encoding(tmp_path: Path) -> None:
    csv_path = write_bytes(tmp_path, WESTERN_CSV.encode("cp1252"))
    out = tmp_path / "plans"
    result = run("batch", str(csv_path), "--out-dir", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "Windows-1252 (detected)" in result.stdout
    assert "For Zoë Müller" in body_text((out / "P1.pdf").read_bytes())
    assert "For François Lefèvre" in body_text((out / "P3.pdf").read_bytes())
    no_names_in(result.output, WESTERN_NAMES)


def test_other_windows_code_pages_are_read_when_only_one_makes_sense(tmp_path: Path) -> None:
    polish = "name,patient_id\nŁukasz Żółć,P1\nAgnieszka Wąs,P2\n"
    assert [r.name for r in read_patient_list(write_bytes(tmp_path, polish.encode("cp1250"), "pl.csv"), TODAY).rows] == [
        "Łukasz Żółć",
        "Agnieszka Wąs",
    ]
    russian = "name,patient_id\nСофия Петрова,P1\nИван Иванов,P2\n"
    patients = read_patient_list(write_bytes(tmp_path, russian.encode("cp1251"), "ru.csv"), TODAY)
    assert [r.name for r in patients.rows] == ["София Петрова", "Иван Иванов"] and patients.encoding == "Windows-1251 (detected)"
    greek = "name,patient_id\nΣοφία Παπαδοπούλου,P1\n"
    patients = read_patient_list(write_bytes(tmp_path, greek.encode("cp1253"), "el.csv"), TODAY)
    assert [r.name for r in patients.rows] == ["Σοφία Παπαδοπούλου"] and patients.encoding == "Windows-1253 (detected)"


def test_excel_for_mac_comma_separated_values_mac_roman(tmp_path: Path) -> None:
    patients = read_patient_list(write_bytes(tmp_path, WESTERN_CSV.encode("mac_roman")), TODAY)
    assert [r.name for r in patients.rows] == list(WESTERN_NAMES) and patients.encoding == "Mac OS Roman (detected)"


@pytest.mark.parametrize(
    ("names", "code_page"),
    [
        ("Jiří Dvořák\nŽaneta Nováková", "cp1250"),  # as Windows-1252: "Jiøí Dvoøák"
        ("Jonas Jankauskas\nŽivilė Petrauskienė", "cp1257"),  # "Þivilë Petrauskienë"
        ("Şükrü Öztürk\nAyşe Yılmaz", "cp1254"),  # "Þükrü Öztürk"
    ],
)
def test_a_list_that_reads_two_ways_is_refused_not_misread(tmp_path: Path, names: str, code_page: str) -> None:
    path = write_bytes(tmp_path, f"name\n{names}\n".encode(code_page))
    with pytest.raises(HandoutError) as caught:
        read_patient_list(path, TODAY)
    assert "not UTF-8" in caught.value.message and "--encoding" in caught.value.message
    assert [r.name for r in read_patient_list(path, TODAY, encoding=code_page).rows] == names.split("\n")


def test_an_unsure_guess_is_refused_in_one_line_and_encoding_settles_it(tmp_path: Path) -> None:
    # Czech in Windows-1250 also reads as Western letters in Windows-1252 ("Dvoøák"): handout cannot be sure.
    csv_path = write_bytes(tmp_path, "name,patient_id\nJiří Dvořák,P1\n".encode("cp1250"))
    out = tmp_path / "plans"
    result = run("batch", str(csv_path), "--out-dir", str(out), "--workers", "1")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("handout: error: ") and "UTF-8" in line and "--encoding" in line
    result = run("batch", str(csv_path), "--out-dir", str(out), "--workers", "1", "--encoding", "cp1250")
    assert result.exit_code == 0, result.output
    assert "Windows-1250 (as --encoding said)" in result.stdout
    assert "For Jiří Dvořák" in body_text((out / "P1.pdf").read_bytes())


@pytest.mark.parametrize("name", ["klingon", "base64"])
def test_an_unknown_encoding_is_a_usage_error(tmp_path: Path, name: str) -> None:
    csv_path = write_bytes(tmp_path, b"name\nJane\n")
    result = run("batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--encoding", name)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "--encoding" in line and name in line
    assert not (tmp_path / "plans").exists()


def test_a_file_that_does_not_match_the_given_encoding_is_one_line(tmp_path: Path) -> None:
    csv_path = write_bytes(tmp_path, WESTERN_CSV.encode("cp1252"))
    result = run("batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--encoding", "utf-8")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert "not UTF-8 text" in line and "--encoding" in line
    no_names_in(line, WESTERN_NAMES)


# ---------------------------------------------------------------------------
# Item 18: PDF passwords that protect health information

SHORT = "must be at least 8 characters long"
ONE_KIND = "must mix at least two kinds of character (lowercase letters, capitals, digits, symbols)"


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Ab1-x", SHORT),
        ("12345678", ONE_KIND),
        ("walkingplan", ONE_KIND),
        ("WALKINGPLAN", ONE_KIND),
        ("ëëëëëëëëë", ONE_KIND),
        ("        ", "must not begin or end with a space or a line break"),  # spaces only: never what the patient types
    ],
)
def test_weak_pdf_passwords_are_refused_on_both_faces(tmp_path: Path, password: str, rule: str) -> None:
    target = tmp_path / "plan.pdf"
    result = run("plan", "--patient", "Jane Doe", "--encrypt", "-o", str(target), env={"HANDOUT_PDF_PASSWORD": password})
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == f"handout: error: the PDF password {rule}", line
    assert password not in result.output and not target.exists()

    text = f"name,patient_id,pdf_password\nJane Doe,P1,{password}\nBo Bell,P2,lamp-post-77\n"
    patients = read(tmp_path, text, require_password=True)
    assert [r.key for r in patients.rows] == ["P2"]
    (problem,) = patients.problems
    assert str(problem) == f"row 2 (patient_id P1): pdf_password {rule}"


def test_a_good_password_still_encrypts(tmp_path: Path) -> None:
    target = tmp_path / "plan.pdf"
    result = run("plan", "--patient", "Jane Doe", "--encrypt", "-o", str(target), env={"HANDOUT_PDF_PASSWORD": "lamp-post-77"})
    assert result.exit_code == 0, result.output
    assert b"/Encrypt" in target.read_bytes()


def test_without_encrypt_the_password_column_is_not_judged(tmp_path: Path) -> None:
    patients = read(tmp_path, "name,patient_id,pdf_password\nJane Doe,P1,1234\n")
    assert patients.problems == () and len(patients.rows) == 1


# ---------------------------------------------------------------------------
# Item 12: one set of plan limits, in the same words, for options and columns

PLAN_OPTIONS = {
    "start_minutes": "--start-minutes",
    "target_minutes": "--target-minutes",
    "walks_per_week": "--walks-per-week",
    "weeks": "--weeks",
    "start_date": "--start-date",
}


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("start_minutes", "0", "must be a whole number from 1 to 60, not 0"),
        ("start_minutes", "61", "must be a whole number from 1 to 60, not 61"),
        ("start_minutes", "ten", "must be a whole number"),
        ("target_minutes", "5", "must be a whole number from 10 to 90, not 5"),
        ("target_minutes", "91", "must be a whole number from 10 to 90, not 91"),
        ("walks_per_week", "0", "must be a whole number from 1 to 7, not 0"),
        ("walks_per_week", "8", "must be a whole number from 1 to 7, not 8"),
        ("weeks", "0", "must be a whole number from 1 to 26, not 0"),
        ("weeks", "27", "must be a whole number from 1 to 26, not 27"),
        ("start_date", "2026-02-30", "must be a real date written YYYY-MM-DD"),
        ("start_date", "07/12/2026", "must be a real date written YYYY-MM-DD"),
        ("start_date", "1999-12-31", "must be a date from 2000 to 2100"),
        ("start_date", "2101-01-01", "must be a date from 2000 to 2100"),
    ],
)
def test_the_command_line_and_the_csv_share_limits_and_words(tmp_path: Path, column: str, value: str, problem: str) -> None:
    option = PLAN_OPTIONS[column]
    result = run("plan", "--patient", "Jane Doe", option, value, "--json")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert option in line and problem in line, line
    others = [o for o in PLAN_OPTIONS.values() if o != option]
    assert not any(o in line for o in others), line

    (found,) = read(tmp_path, f"name,{column}\nJane Doe,{value}\n").problems
    assert str(found) == f"row 2: {column} {problem}"
    # The same words: what follows the option on the command line is what follows the column in the CSV report.
    if value.isdigit() or "-" in value:
        assert line.endswith(f"{option} {problem}"), line


@pytest.mark.parametrize("start", ["40", "60"])
def test_a_start_above_the_default_target_holds_the_target_at_the_start(tmp_path: Path, start: str) -> None:
    result = run("plan", "--patient", "Jane Doe", "--start-minutes", start, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["target_minutes"] == int(start) and {w["minutes_per_walk"] for w in data["weeks"]} == {int(start)}
    (row,) = read(tmp_path, f"name,start_minutes\nJane Doe,{start}\n").rows
    assert (row.request.start_minutes, row.request.target_minutes) == (int(start), int(start))


def test_an_error_names_only_the_option_typed(tmp_path: Path) -> None:
    result = run("plan", "--patient", "Jane Doe", "--start-minutes", "95", "--json")
    assert result.exit_code == 2
    assert "--start-minutes must be a whole number from 1 to 60, not 95" in result.stderr and "--target-minutes" not in result.stderr
