"""Inputs that would print nothing or make a file no one can open are refused in one line, and a patient list is read within a cap."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pikepdf
import pytest
from typer.testing import CliRunner

import handout.patients
from handout.cli import app
from handout.errors import HandoutError
from handout.qr import check_url

INVISIBLE_NAMES = {
    "zero-width spaces": "\u200b\u200b",
    "a combining accent alone": "\u0301",
    "joiners and a word joiner": "\u200d\u200c\u2060",
    "a byte-order mark and an accent": "\ufeff\u0308",
}


def run(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(app, args, env=env)


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("handout: error: ") and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("name", INVISIBLE_NAMES.values(), ids=INVISIBLE_NAMES.keys())
def test_a_name_that_would_print_nothing_is_refused(tmp_path: Path, name: str) -> None:
    result = run(["plan", "--patient", name, "-o", str(tmp_path / "p.pdf")])
    assert result.exit_code == 2 and "--patient has nothing that would print" in one_line_error(result.stderr)
    result = run(["plan", "--patient", "Jane Doe", "--clinician", name, "-o", str(tmp_path / "p.pdf")])
    assert result.exit_code == 2 and "--clinician has nothing that would print" in one_line_error(result.stderr)
    assert not (tmp_path / "p.pdf").exists()
    csv = tmp_path / "patients.csv"
    csv.write_text(f"name,patient_id\n{name},P1\nBob Bell,P2\n", encoding="utf-8")
    result = run(["batch", str(csv), "--out-dir", str(tmp_path / "plans"), "--workers", "1"])
    assert result.exit_code == 1 and "row 2 (patient_id P1): name has nothing that would print" in result.stderr


def test_a_name_with_accents_on_letters_is_printed() -> None:
    from handout.checks import person_name

    assert person_name("--patient", "Zoe\u0308 N\u0303", True) == "Zoë Ñ"


TOO_LONG = "Aa1-" * 32  # 128 bytes
BAD_PASSWORDS = {
    "128 bytes": (TOO_LONG, "must be at most 127 bytes long"),
    "64 two-byte letters": ("é" * 63 + "A1", "must be at most 127 bytes long"),
    "a space at the end": ("Walking-2026 ", "must not begin or end with a space or a line break"),
    "a space at the start": (" Walking-2026", "must not begin or end with a space or a line break"),
    "a line break inside": ("Walking\n2026x", "must not contain a line break"),
    "a tab inside": ("Walking\t2026x", "must not contain a line break, a tab"),
}


@pytest.mark.parametrize("case", BAD_PASSWORDS, ids=BAD_PASSWORDS.keys())
def test_a_pdf_password_a_reader_could_not_open_is_refused(tmp_path: Path, case: str) -> None:
    password, words = BAD_PASSWORDS[case]
    result = run(["plan", "--patient", "Jane Doe", "--encrypt", "-o", str(tmp_path / "p.pdf")], {"HANDOUT_PDF_PASSWORD": password})
    line = one_line_error(result.stderr)
    assert result.exit_code == 2 and f"the PDF password {words}" in line and password.strip() not in line
    assert not (tmp_path / "p.pdf").exists()
    csv = tmp_path / "patients.csv"
    quoted = password.replace('"', '""')
    csv.write_text(f'name,patient_id,pdf_password\nAlice Able,P1,"{quoted}"\n', encoding="utf-8")
    result = run(["batch", str(csv), "--out-dir", str(tmp_path / "plans"), "--workers", "1", "--encrypt"])
    assert result.exit_code == 1 and f"row 2 (patient_id P1): pdf_password {words}" in result.stderr


def test_a_127_byte_password_opens_with_qpdf(tmp_path: Path) -> None:
    password = TOO_LONG[:127]
    result = run(["plan", "--patient", "Jane Doe", "--weeks", "1", "--encrypt", "-o", str(tmp_path / "p.pdf")], {"HANDOUT_PDF_PASSWORD": password})
    assert result.exit_code == 0, result.stderr
    with pikepdf.open(tmp_path / "p.pdf", password=password) as pdf:
        assert len(pdf.pages) > 0


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://clinic:s3cret@example-physio.org/back", "must not contain a user name or password"),
        ("https://user@example-physio.org/back", "must not contain a user name or password"),
        ("https://example-physio.org:99999/back", "has an impossible port"),
        ("https://example-physio.org:0/back", "has an impossible port"),
        ("https://example-physio.org:http/back", "has an impossible port"),
        ("https://:443/back", "names no website"),
    ],
)
def test_a_qr_address_a_phone_cannot_open_is_refused(tmp_path: Path, url: str, words: str) -> None:
    with pytest.raises(HandoutError, match=words):
        check_url(url)
    result = run(["leaflet", "--qr-url", url, "-o", str(tmp_path / "l.pdf")])
    assert result.exit_code == 2 and words in one_line_error(result.stderr)
    assert "s3cret" not in result.stderr


def test_a_usual_port_is_a_fine_qr_address() -> None:
    assert check_url("https://example-physio.org:8443/back") == "https://example-physio.org:8443/back"


def test_a_patient_list_larger_than_the_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as stream:  # sparse: 300 MB on paper, nothing on disk
        stream.truncate(300 * 2**20)
    result = run(["batch", str(huge), "--out-dir", str(tmp_path / "plans")])
    assert result.exit_code == 1 and "is larger than 64 MB" in one_line_error(result.stderr)


def test_a_device_is_not_a_patient_list() -> None:
    result = run(["batch", "/dev/zero", "--out-dir", "/nonexistent/plans"])
    assert result.exit_code == 1 and "/dev/zero: is a device or socket, not a patient list" in one_line_error(result.stderr)


def test_a_pipe_is_read_only_up_to_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handout.patients, "MAX_LIST_BYTES", 2**20)
    fifo = tmp_path / "list.csv"
    os.mkfifo(fifo)

    def endless_writer() -> None:
        try:
            with fifo.open("wb") as stream:
                stream.write(b"name\n")
                while True:
                    stream.write(b"Alice Able\n" * 10_000)
        except BrokenPipeError:
            pass  # the reader stopped at the cap and closed its end

    writer = threading.Thread(target=endless_writer, daemon=True)
    writer.start()
    result = run(["batch", str(fifo), "--out-dir", str(tmp_path / "plans")])
    assert result.exit_code == 1 and "is larger than 1 MB" in one_line_error(result.stderr)
    writer.join(5)
    assert not writer.is_alive()


def test_a_list_of_more_rows_than_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handout.patients, "MAX_LIST_ROWS", 3)
    csv = tmp_path / "patients.csv"
    csv.write_text("name\nA a\nB b\nC c\nD d\n", encoding="utf-8")
    result = run(["batch", str(csv), "--out-dir", str(tmp_path / "plans")])
    assert result.exit_code == 1 and "has more than 3 patients; split it into shorter lists" in one_line_error(result.stderr)


def test_a_name_and_address_in_angle_brackets_gets_a_hint(tmp_path: Path) -> None:
    csv = tmp_path / "patients.csv"
    csv.write_text('name,patient_id,email,consent_email\nJane Doe,P1,"Jane Doe <jane@example.org>",yes\n', encoding="utf-8")
    result = run(["batch", str(csv), "--out-dir", str(tmp_path / "plans"), "--workers", "1"])
    assert result.exit_code == 1
    assert "row 2 (patient_id P1): email is not a valid email address: it has a name and an address in < >; write the address only" in result.stderr
    assert "jane@example.org" not in result.stderr
    result = run(["plan", "--patient", "Jane Doe", "--email", "Jane Doe <jane@example.org>", "--consent", "-o", str(tmp_path / "p.pdf")])
    assert result.exit_code == 2 and "write the address only" in one_line_error(result.stderr)


@pytest.mark.parametrize("code", ["es-MX", "es_ES", "ES-es", "es-419"])
def test_a_language_with_a_region_is_its_language(tmp_path: Path, code: str) -> None:
    csv = tmp_path / "patients.csv"
    csv.write_text(f"name,patient_id,language,weeks\nAna García,P1,{code},1\n", encoding="utf-8")
    result = run(["batch", str(csv), "--out-dir", str(tmp_path / "plans"), "--workers", "1"])
    assert result.exit_code == 0, result.stderr
    with pikepdf.open(tmp_path / "plans" / "P1.pdf") as pdf:
        assert str(pdf.Root.Lang) == "es"
    result = run(["plan", "--patient", "Ana García", "--weeks", "1", "--lang", code, "--json"])
    assert result.exit_code == 0, result.stderr
