"""`handout batch` without a mail server: CSV handling, validation by row, output files, outbox, privacy."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import io
import sqlite3
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from handout.batch import BatchOptions, run_batch
from handout.cli import app
from handout.errors import HandoutError
from handout.patients import read_patient_list

from conftest import set_brand_value
from helpers import body_text, normalise

TODAY = dt.date(2026, 11, 27)
NAMES = ["Jane Doe", "Zoë O'Brien-Smith", "Σοφία Παπαδοπούλου", "Ann <Smith> & \"Jo\""]


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["batch", *args], env=env)


def test_reads_what_spreadsheets_export(tmp_path: Path) -> None:
    text = (
        "\ufeff Name ;PATIENT_ID; Email ;consent_email;start_minutes;weeks;start_date;Practice Notes\r\n"
        'Jane Doe;P1;jane@example.org;Yes;5;8;2027-01-04;x\r\n'
        '"Zoë\nO\'Brien";P2;;n;;;;"multi\nline"\r\n'
        "\r\n"
    )
    patients = read_patient_list(write_csv(tmp_path / "p.csv", text), TODAY)
    assert patients.problems == () and patients.ignored_columns == ("practice notes",)
    first, second = patients.rows
    assert (first.row, first.key, first.email, first.consent_email) == (2, "P1", "jane@example.org", True)
    assert (first.request.start_minutes, first.request.weeks, first.request.start_date) == (5, 8, dt.date(2027, 1, 4))
    assert (second.row, second.name, second.consent_email, second.request.start_date) == (3, "Zoë O'Brien", False, TODAY)
    assert second.request.start_minutes == 10 and second.request.target_minutes == 30


def test_comma_delimited_with_quotes(tmp_path: Path) -> None:
    text = 'name,patient_id,clinician\n"Doe, Jane",A-1,"Lee, Sam"\n'
    (row,) = read_patient_list(write_csv(tmp_path / "p.csv", text), TODAY).rows
    assert (row.name, row.clinician, row.key) == ("Doe, Jane", "Lee, Sam", "A-1")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("patient;email\nJane;j@x.org\n", "no 'name' column"),
        ("patient\temail\nJane\tj@x.org\n", "no 'name' column"),
    ],
)
def test_whole_file_problems(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(HandoutError, match=fragment):
        read_patient_list(write_csv(tmp_path / "p.csv", text), TODAY)


def test_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    # Windows-1252 is now read (tests/test_csv_input.py); Czech in Windows-1250 also reads as Windows-1252: unsure.
    with pytest.raises(HandoutError, match="not UTF-8"):
        read_patient_list(write_csv(tmp_path / "p.csv", "name\nJiří Dvořák\n", "cp1250"), TODAY)


def test_bad_rows_are_reported_by_row_and_column_and_skipped(tmp_path: Path) -> None:
    text = (
        "name,patient_id,email,consent_email,start_minutes,target_minutes,weeks,start_date\n"
        "Good One,G1,good@example.org,yes,,,,\n"          # row 2
        "Bad Email,B1,not-an-address,yes,,,,\n"           # row 3
        "Bad Number,B2,,,ten,,,\n"                         # row 4
        "Bad Range,B3,,,0,,,\n"                            # row 5
        "Bad Date,B4,,,,,,2026-02-30\n"                    # row 6
        "Bad Consent,B5,,maybe,,,,\n"                      # row 7
        ",B6,,,,,,\n"                                      # row 8
        "Duplicate,G1,,,,,,\n"                             # row 9
        "Bad Id,../../etc,,,,,,\n"                         # row 10
        "Too Long,B7,,,,,27,\n"                            # row 11
        "Target Low,B8,,,20,10,,\n"                        # row 12
    )
    patients = read_patient_list(write_csv(tmp_path / "p.csv", text), TODAY)
    assert [r.key for r in patients.rows] == ["G1"]
    problems = {p.row: str(p) for p in patients.problems}
    assert problems == {
        3: "row 3 (patient_id B1): email is not a valid email address",
        4: "row 4 (patient_id B2): start_minutes must be a whole number",
        5: "row 5 (patient_id B3): start_minutes must be a whole number from 1 to 60, not 0",
        6: "row 6 (patient_id B4): start_date must be a real date written YYYY-MM-DD",
        7: "row 7 (patient_id B5): consent_email must be yes or no (also y/n, true/false, 1/0)",
        8: "row 8 (patient_id B6): name is empty",
        9: "row 9 (patient_id G1): patient_id repeats row 2",
        10: "row 10: patient_id may only use letters, digits, '.', '_' and '-' (at most 64), as it names the PDF file",
        11: "row 11 (patient_id B7): weeks must be a whole number from 1 to 26, not 27",
        12: "row 12 (patient_id B8): target_minutes must be a whole number from 20 to 90, not 10",
    }
    for message in problems.values():
        for name in ("Bad Email", "not-an-address", "Duplicate", "Target Low"):
            assert name not in message


def test_ids_that_would_share_a_file_are_refused(tmp_path: Path) -> None:
    text = "name,patient_id\nA,\nB,row-2\nC,P1\nD,p1\nE,Bad\x01Id\n"
    patients = read_patient_list(write_csv(tmp_path / "p.csv", text), TODAY)
    assert [r.key for r in patients.rows] == ["row-2", "P1"]
    problems = [str(p) for p in patients.problems]
    assert problems[0] == "row 3 (patient_id row-2): patient_id must not begin with to-print or be row-N (N a number): handout names its own files that way"
    assert problems[1] == "row 5 (patient_id p1): patient_id repeats row 4"
    assert problems[2].startswith("row 6: patient_id may only use")


def test_control_characters_and_header_values_never_reach_the_report(tmp_path: Path) -> None:
    patients = read_patient_list(write_csv(tmp_path / "p.csv", "name,patient_id\nJane\x01Doe,P1\n"), TODAY)
    assert str(patients.problems[0]) == "row 2 (patient_id P1): name has control characters (copy it from the original record again)"
    with pytest.raises(HandoutError) as caught:
        read_patient_list(write_csv(tmp_path / "q.csv", "Jane Doe,jane@example.org,yes\n"), TODAY)
    assert "Jane" not in caught.value.message and "jane@" not in caught.value.message
    assert "first row must be a header" in caught.value.message


def test_encrypt_needs_a_password_on_every_row(tmp_path: Path) -> None:
    text = "name,patient_id,pdf_password\nA,P1,horse-battery\nB,P2,\n"
    patients = read_patient_list(write_csv(tmp_path / "p.csv", text), TODAY, require_password=True)
    assert [r.key for r in patients.rows] == ["P1"]
    assert str(patients.problems[0]) == "row 3 (patient_id P2): pdf_password is empty, and --encrypt needs a password for every row"


def sample_csv(tmp_path: Path) -> Path:
    lines = ["name,patient_id,email,consent_email,weeks"]
    lines.append(f'"{NAMES[0]}",P001,jane@example.org,yes,4')
    lines.append(f'"{NAMES[1]}",P002,zoe@example.org,no,4')
    lines.append(f'"{NAMES[2]}",,,,4')
    lines.append(f'"{NAMES[3].replace(chr(34), chr(34) * 2)}",P004,ann@example.org,y,4')
    lines.append("王小明,P005,,,4")
    return write_csv(tmp_path / "patients.csv", "\n".join(lines) + "\n")


def test_batch_to_outbox_end_to_end(tmp_path: Path, own_data_folder: Path) -> None:
    csv_path = sample_csv(tmp_path)
    out = tmp_path / "plans"
    result = invoke(str(csv_path), "--out-dir", str(out), "--workers", "2")
    assert result.exit_code == 1, result.output  # row 6 cannot be printed
    assert sorted(p.name for p in out.glob("*.pdf")) == ["P001.pdf", "P002.pdf", "P004.pdf", "row-4.pdf", "to-print-list.pdf", "to-print.pdf"]
    sheet = body_text((out / "to-print-list.pdf").read_bytes())
    assert NAMES[1] in sheet and NAMES[2] in sheet and NAMES[0] not in sheet  # who is to be handed a plan, by name
    assert "row 6 (patient_id P005): name has the character U+738B" in result.stderr
    for name in [*NAMES, "王", "jane@", "zoe@", "ann@"]:
        assert name not in result.stdout and name not in result.stderr, name
    assert "To print" in result.stdout and "Failed" in result.stdout
    # Each plan carries its own patient's name.
    for key, name in (("P001", NAMES[0]), ("P002", NAMES[1]), ("row-4", NAMES[2]), ("P004", NAMES[3])):
        assert f"For {name}" in body_text((out / f"{key}.pdf").read_bytes())
    # Consented rows with an address are in the outbox; the others are to print.
    outbox = out / "outbox"
    # Named by patient_id and Message-ID (issue 7): two lists' messages never share a file.
    assert sorted(p.name.split("-")[0] for p in outbox.glob("*.eml")) == ["P001", "P004"]
    (p001,) = outbox.glob("P001-*.eml")
    message = email.message_from_bytes(p001.read_bytes(), policy=email.policy.default)
    assert message["To"] == "jane@example.org"
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "walking-plan.pdf"
    assert attachment.get_content() == (out / "P001.pdf").read_bytes()
    journal = sqlite3.connect(own_data_folder / "handout-journal.sqlite")
    states = dict(journal.execute("SELECT key, state FROM rows"))
    journal.close()
    assert states == {"P001": "outbox", "P002": "to_print", "row-4": "to_print", "P004": "outbox"}
    journal_bytes = (own_data_folder / "handout-journal.sqlite").read_bytes()
    for secret in [*NAMES, "jane@example.org", "Zo", "Σοφία"]:
        assert secret.encode() not in journal_bytes, secret


def test_same_rows_twice_give_byte_identical_files(tmp_path: Path) -> None:
    csv_path = sample_csv(tmp_path)
    hashes = []
    for run in ("a", "b"):
        out = tmp_path / run
        run_batch(BatchOptions(csv_path, out_dir=out, workers=2, today=TODAY), {})
        hashes.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.glob("*.pdf")})
    assert hashes[0] == hashes[1] and len(hashes[0]) == 6  # four plans, to-print.pdf and its sheet


def test_strict_renders_nothing_when_a_row_is_bad(tmp_path: Path) -> None:
    out = tmp_path / "plans"
    result = invoke(str(sample_csv(tmp_path)), "--out-dir", str(out), "--strict")
    assert result.exit_code == 1
    assert "--strict" in result.stderr and "row 6" in result.stderr
    assert not out.exists() or not list(out.glob("*.pdf"))


def test_all_good_rows_exit_0_and_unknown_columns_warn_once(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "p.csv", "name,patient_id,shoe size,shoe size\nJane,P1,9,9\nJo,P2,8,8\n")
    result = invoke(str(csv_path), "--out-dir", str(tmp_path / "plans"), "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("warning: ignoring unknown columns: shoe size") == 1


def test_encrypt_without_a_password_column_says_so(tmp_path: Path) -> None:
    with pytest.raises(HandoutError, match="no 'pdf_password' column"):
        read_patient_list(write_csv(tmp_path / "p.csv", "name\nJane\n"), TODAY, require_password=True)


def test_encrypted_plans_open_only_with_the_rows_password(tmp_path: Path, own_data_folder: Path) -> None:
    import pikepdf

    csv_path = write_csv(tmp_path / "p.csv", "name,patient_id,email,pdf_password\nJane Doe,P1,jane@example.org,correct-horse-42\n")
    out = tmp_path / "plans"
    result = invoke(str(csv_path), "--out-dir", str(out), "--encrypt")
    assert result.exit_code == 0, result.stderr
    pdf = (out / "P1.pdf").read_bytes()
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(pdf))
    with pikepdf.open(io.BytesIO(pdf), password="correct-horse-42") as document:
        assert document.encryption.R == 6 and document.encryption.bits == 256
        assert document.encryption.stream_method.name == "aesv3"
        allowed = document.allow
        assert allowed.print_highres and allowed.accessibility and not allowed.modify_other
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert reader.is_encrypted and reader.decrypt("correct-horse-42")
    assert "For Jane Doe" in normalise(" ".join(page.extract_text() for page in reader.pages))
    # Encrypted rows with an address are emailed even without consent; the password goes nowhere.
    (eml_path,) = (out / "outbox").glob("P1-*.eml")
    eml = eml_path.read_bytes()
    assert b"correct-horse-42" not in eml and "password" in eml.decode("ascii", "replace").lower()
    assert "correct-horse-42" not in result.stdout + result.stderr
    journal = (own_data_folder / "handout-journal.sqlite").read_bytes()
    assert b"correct-horse-42" not in journal


def test_ten_thousand_rows_with_a_few_bad_ones_validate(tmp_path: Path) -> None:
    lines = ["name,patient_id,start_minutes"]
    for i in range(10_000):
        lines.append(f"Patient {i},ID{i},{0 if i in (17, 4242, 9999) else 10}")
    patients = read_patient_list(write_csv(tmp_path / "p.csv", "\n".join(lines)), TODAY)
    assert len(patients.rows) == 9997
    assert [p.row for p in patients.problems] == [19, 4244, 10001]


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "nope.csv"))
    assert result.exit_code == 1 and "file not found" in result.stderr
    result = invoke(str(tmp_path / "nope.csv"), "--workers", "0")
    assert result.exit_code == 2 and "--workers" in result.stderr
    result = invoke(str(sample_csv(tmp_path)), "--resend")
    assert result.exit_code == 2 and "--resend" in result.stderr


def test_send_without_smtp_settings_fails_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "plans"
    result = invoke(str(sample_csv(tmp_path)), "--out-dir", str(out), "--send", env={"HANDOUT_SMTP_HOST": ""})
    assert result.exit_code == 1 and "HANDOUT_SMTP_HOST" in result.stderr
    assert not list(out.glob("*.pdf")) if out.exists() else True


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"HANDOUT_SMTP_HOST": "mail.example.org", "HANDOUT_SMTP_SECURITY": "none", "HANDOUT_MAIL_FROM": "a@b.org"}, "only allowed for a server on this computer"),
        ({"HANDOUT_SMTP_HOST": "mail.example.org", "HANDOUT_SMTP_SECURITY": "tls1", "HANDOUT_MAIL_FROM": "a@b.org"}, "starttls, ssl or none"),
        ({"HANDOUT_SMTP_HOST": "mail.example.org", "HANDOUT_SMTP_PORT": "x", "HANDOUT_MAIL_FROM": "a@b.org"}, "HANDOUT_SMTP_PORT"),
        ({"HANDOUT_SMTP_HOST": "mail.example.org"}, "HANDOUT_MAIL_FROM"),
        ({"HANDOUT_SMTP_HOST": "localhost", "HANDOUT_SMTP_SECURITY": "none", "HANDOUT_SMTP_USERNAME": "u", "HANDOUT_MAIL_FROM": "a@b.org"}, "only logs in over TLS"),
    ],
)
def test_smtp_settings_are_checked(env: dict[str, str], fragment: str) -> None:
    from handout.smtp import SmtpSettings

    with pytest.raises(HandoutError, match=fragment):
        SmtpSettings.from_env(env)


def test_plain_smtp_is_allowed_on_localhost_only() -> None:
    from handout.smtp import SmtpSettings

    settings = SmtpSettings.from_env({"HANDOUT_SMTP_HOST": "127.0.0.1", "HANDOUT_SMTP_SECURITY": "none", "HANDOUT_MAIL_FROM": "a@b.org", "HANDOUT_SMTP_PASSWORD": ""})
    assert settings.port == 25 and "password" not in repr(settings).lower()


def test_a_brand_whose_own_words_cannot_print_stops_the_batch_before_any_plan(tmp_path: Path, brand_dir: Path) -> None:
    """The batch's own process draws nothing, so it checks the brand's words itself: one line, no plan, not one failure a row."""
    set_brand_value(brand_dir, "name", '"Clínica 山"')  # no shipped font has CJK
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id\nJane Doe,P1\nAna García,P2\n", encoding="utf-8")
    out = tmp_path / "plans"
    result = CliRunner().invoke(app, ["batch", str(patients), "--out-dir", str(out), "--brand", str(brand_dir), "--workers", "2"], env={"XDG_DATA_HOME": str(tmp_path / "data")})
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "brand.toml: key 'name' has the character U+5C71" in lines[0], result.output
    assert not out.exists() or not list(out.glob("*.pdf"))
