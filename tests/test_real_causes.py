"""Messages name the real cause: a huge logo is too large, a pipe is not a file, a NUL is not an encoding, a typo is not an outage."""

from __future__ import annotations

import os
import socket
import ssl
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from typer.testing import CliRunner

from handout.brand import load_brand
from handout.cli import app
from handout.errors import HandoutError
from handout.smtp import SmtpSettings

from conftest import set_brand_value
from smtp_server import Certificates, SmtpServer, make_certificates


def run(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(app, args, env=env)


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("handout: error: ") and "Traceback" not in stderr, stderr
    return lines[0]


def huge_png(path: Path, side: int) -> None:
    """A real, valid 1-bit PNG of side × side pixels (small on disk: its rows are all zero)."""
    row = b"\x00" * (1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def test_a_20000_pixel_png_logo_is_too_large_not_damaged(brand_dir: Path) -> None:
    huge_png(brand_dir / "logo.png", 20000)
    set_brand_value(brand_dir, "logo", '"logo.png"')
    with pytest.raises(HandoutError) as caught:
        load_brand(brand_dir)
    assert "logo.png is too large, 20000×20000 pixels; use at most 4000 on each side" in caught.value.message
    assert "damaged" not in caught.value.message


def test_a_named_pipe_or_a_device_as_logo_or_brand_file_is_not_a_regular_file(brand_dir: Path) -> None:
    os.mkfifo(brand_dir / "logo-pipe.svg")
    for logo, kind in (("logo-pipe.svg", "a named pipe"), ("/dev/zero", "a device")):
        set_brand_value(brand_dir, "logo", f'"{logo}"')
        with pytest.raises(HandoutError) as caught:  # returns at once: a pipe is never opened
            load_brand(brand_dir)
        assert f"is {kind}, not a regular file" in caught.value.message and "not found" not in caught.value.message
    (brand_dir / "brand.toml").unlink()
    os.mkfifo(brand_dir / "brand.toml")
    result = run(["leaflet", "--brand", str(brand_dir), "-o", str(brand_dir / "x.pdf")])
    assert result.exit_code == 1 and "brand.toml: is a named pipe, not a regular file" in one_line_error(result.stderr)


def test_a_brand_file_saved_with_a_byte_order_mark_is_read(brand_dir: Path) -> None:
    path = brand_dir / "brand.toml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_brand(brand_dir).name  # as if the mark were not there


def batch(tmp_path: Path, data: bytes, *extra: str):
    path = tmp_path / "patients.csv"
    path.write_bytes(data)
    return run(["batch", str(path), "--out-dir", str(tmp_path / "plans"), "--workers", "1", *extra])


def test_one_nul_byte_in_a_cell_is_that_rows_problem_not_an_encoding(tmp_path: Path) -> None:
    result = batch(tmp_path, b"name,patient_id\nAlice\x00Able,P1\nBob Bell,P2\n")
    assert result.exit_code == 1
    assert "row 2 (patient_id P1): name has control characters" in result.stderr
    assert "UTF-16" not in result.stderr and "encoding" not in result.stderr
    assert (tmp_path / "plans" / "P2.pdf").exists()  # the other rows are made


def test_a_doubled_byte_order_mark_is_stripped(tmp_path: Path) -> None:
    result = batch(tmp_path, b"\xef\xbb\xbf\xef\xbb\xbfname,patient_id\nAlice Able,P1\n")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "plans" / "P1.pdf").exists()


def test_one_bad_row_is_one_bad_row(tmp_path: Path) -> None:
    result = batch(tmp_path, b"name,patient_id,weeks\nAlice Able,P1,99\nBob Bell,P2,4\n", "--strict")
    assert result.exit_code == 1 and ": 1 bad row (listed above)" in result.stderr


SETTINGS = {"HANDOUT_SMTP_SECURITY": "starttls", "HANDOUT_MAIL_FROM": "plans@example-physio.org"}


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("smtp.example.org:587", "put the port in HANDOUT_SMTP_PORT=587 and set HANDOUT_SMTP_HOST=smtp.example.org"),
        ("smtps://smtp.example.org", "without smtps://"),
        ("smtp example.org", "is not a server name"),
    ],
)
def test_a_port_or_scheme_in_the_host_is_a_settings_error(host: str, words: str) -> None:
    with pytest.raises(HandoutError) as caught:
        SmtpSettings.from_env({**SETTINGS, "HANDOUT_SMTP_HOST": host})
    assert words in caught.value.message


def test_an_ipv6_address_is_still_a_host() -> None:
    assert SmtpSettings.from_env({**SETTINGS, "HANDOUT_SMTP_HOST": "[::1]", "HANDOUT_SMTP_SECURITY": "none"}).host == "[::1]"


@pytest.fixture
def one_patient(tmp_path: Path) -> Path:
    path = tmp_path / "patients.csv"
    path.write_text("name,patient_id,email,consent_email\nAlice Able,P1,alice@example.org,yes\n", encoding="utf-8")
    return path


def send(one_patient: Path, env: dict[str, str]):
    return run(["batch", str(one_patient), "--out-dir", str(one_patient.parent / "plans"), "--send", "--workers", "1"], env)


def test_a_mistyped_mail_server_name_is_a_settings_error_not_an_outage(one_patient: Path) -> None:
    env = {**SETTINGS, "HANDOUT_SMTP_HOST": "smtp.no-such-clinic.invalid", "HANDOUT_SMTP_ATTEMPTS": "4", "HANDOUT_SMTP_BACKOFF": "5"}
    result = send(one_patient, env)  # four attempts with this backoff would take 35 s: the first says it all
    line = one_line_error(result.stderr)
    assert "HANDOUT_SMTP_HOST: there is no mail server called 'smtp.no-such-clinic.invalid' (check the spelling)" in line


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word (an overloaded server, or a firewall that drops)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_timeout_says_timeout(one_patient: Path, silent_server: int) -> None:
    env = {**SETTINGS, "HANDOUT_SMTP_HOST": "localhost", "HANDOUT_SMTP_PORT": str(silent_server), "HANDOUT_SMTP_TIMEOUT": "1", "HANDOUT_SMTP_ATTEMPTS": "1"}
    result = send(one_patient, env)
    assert result.exit_code == 1
    assert "timed out: no answer within 1 second (HANDOUT_SMTP_TIMEOUT)" in result.stderr, result.stderr


def test_a_certificate_for_another_name_says_so(one_patient: Path, tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("mail.other-clinic.example").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    server = SmtpServer(Certificates(tmp_path / "ca.pem", context)).start()
    try:
        result = send(one_patient, server.env())
    finally:
        server.stop()
    line = one_line_error(result.stderr)
    assert "the certificate of localhost is for another server name" in line and "HANDOUT_SMTP_HOST" in line
    assert server.recorder.messages == []
