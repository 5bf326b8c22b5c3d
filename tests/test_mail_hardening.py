"""Email hardening (issue 7): unique outbox files, internationalised addresses, the sender's display name,
deferrals reported only for the rows deferred, TLS mismatches as settings errors. Real SMTP server, no mocks."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout.cli import app

from conftest import set_brand_value
from helpers import one_line_error
from smtp_server import Recorder, SmtpServer, make_certificates

ROOT = Path(__file__).resolve().parents[1]


class RecordingRecorder(Recorder):
    """Also keeps each message's envelope sender, whether it came with SMTPUTF8, and its raw bytes;
    answers RCPT for chosen addresses with a chosen reply (a deferral, a closing server)."""

    def __init__(self) -> None:
        super().__init__()
        self.senders: list[str] = []
        self.utf8: list[bool] = []
        self.raw: list[bytes] = []
        self.rcpt_replies: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook name
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.senders.append(envelope.mail_from)
        self.utf8.append(bool(envelope.smtp_utf8))
        self.raw.append(bytes(envelope.original_content or envelope.content))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


def start_server(certificates, smtputf8: bool = True, implicit_tls: bool = False) -> SmtpServer:
    smtp = SmtpServer(certificates, implicit_tls=implicit_tls, smtputf8=smtputf8)
    smtp.recorder = RecordingRecorder()
    return smtp.start()


@pytest.fixture
def server(certificates) -> Iterator[SmtpServer]:
    smtp = start_server(certificates)
    yield smtp
    smtp.stop()


@pytest.fixture
def plain_server(certificates) -> Iterator[SmtpServer]:
    """A server without SMTPUTF8, as many clinic relays are."""
    smtp = start_server(certificates, smtputf8=False)
    yield smtp
    smtp.stop()


def run(args: list[str], env: dict[str, str | None]):
    return CliRunner().invoke(app, args, env=env)


def plan_args(tmp_path: Path, patient: str, address: str, *extra: str) -> list[str]:
    return ["plan", "--patient", patient, "--email", address, "--consent", "-o", str(tmp_path / f"{len(list(tmp_path.iterdir()))}.pdf"), *extra]


def read_eml(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def attached_pdf_text(message: email.message.EmailMessage) -> str:
    import io

    import pypdf

    (attachment,) = list(message.iter_attachments())
    return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(attachment.get_content())).pages)


# ---------------------------------------------------------------------------
# Item 6: outbox files never overwrite each other


def test_two_single_plan_outbox_runs_keep_both_messages(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    env = {"HANDOUT_MAIL_FROM": "plans@example-physio.org"}
    for patient, address in (("Ann Able", "ann@example.org"), ("Ben Bold", "ben@example.org")):
        result = run(plan_args(tmp_path, patient, address, "--outbox", str(outbox)), env)
        assert result.exit_code == 0, result.stderr
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2, files
    assert sorted(read_eml(f)["To"] for f in files) == ["ann@example.org", "ben@example.org"]
    for f in files:
        message = read_eml(f)
        patient = {"ann@example.org": "Ann Able", "ben@example.org": "Ben Bold"}[message["To"]]
        assert patient in attached_pdf_text(message)
        for private in ("ann", "ben", "able", "bold"):
            assert private not in f.name.lower()
    assert not list(outbox.glob(".*.part")), "a temporary file was left behind"


def test_single_plan_outbox_runs_at_the_same_time_each_keep_their_message(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    env = {**os.environ, "HANDOUT_MAIL_FROM": "plans@example-physio.org"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "handout", "plan", "--patient", "Jane Doe", "--email", f"p{i}@example.org", "--consent", "-o", str(tmp_path / f"p{i}.pdf"), "--outbox", str(outbox)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    # The same patient and plan four times: identical PDFs, yet four messages, none replaced.
    assert sorted(read_eml(f)["To"] for f in outbox.glob("*.eml")) == [f"p{i}@example.org" for i in range(4)]


def batch_csv(folder: Path, name: str, rows: list[tuple[str, str]]) -> Path:
    path = folder / name
    path.write_text("name,email,consent_email,weeks\n" + "".join(f"{n},{a},yes,2\n" for n, a in rows), encoding="utf-8")
    return path


def test_batch_outbox_files_are_unique_across_lists_and_a_rerun_does_not_pile_up(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    env = {"HANDOUT_MAIL_FROM": "plans@example-physio.org"}
    monday = batch_csv(tmp_path, "monday.csv", [("Ann Able", "ann@example.org"), ("Ben Bold", "ben@example.org")])
    tuesday = batch_csv(tmp_path, "tuesday.csv", [("Cat Cole", "cat@example.org"), ("Dan Dee", "dan@example.org")])
    for csv_path in (monday, tuesday):
        # Rows without a patient_id are row-2 and row-3 in both lists: their messages must not collide.
        result = run(["batch", str(csv_path), "--out-dir", str(tmp_path / csv_path.stem), "--outbox", str(outbox), "--workers", "1"], env)
        assert result.exit_code == 0, result.stderr
    files = sorted(outbox.glob("*.eml"))
    assert sorted(read_eml(f)["To"] for f in files) == ["ann@example.org", "ben@example.org", "cat@example.org", "dan@example.org"]
    for f in files:
        assert not any(private in f.name.lower() for private in ("ann", "ben", "cat", "dan", "@"))
    # The same unchanged list again: each row rewrites its own message, nothing piles up.
    result = run(["batch", str(monday), "--out-dir", str(tmp_path / "monday"), "--outbox", str(outbox), "--workers", "1"], env)
    assert result.exit_code == 0, result.stderr
    assert sorted(outbox.glob("*.eml")) == files
    # A corrected address is a new message; rows without a patient_id cannot say which old message it replaces,
    # so the old one stays (a row with a patient_id replaces it: see test_mail_review).
    batch_csv(tmp_path, "monday.csv", [("Ann Able", "ann.new@example.org"), ("Ben Bold", "ben@example.org")])
    result = run(["batch", str(monday), "--out-dir", str(tmp_path / "monday"), "--outbox", str(outbox), "--workers", "1"], env)
    assert result.exit_code == 0, result.stderr
    assert len(list(outbox.glob("*.eml"))) == 5


# ---------------------------------------------------------------------------
# Item 7: internationalised addresses


@pytest.mark.parametrize("smtputf8", [True, False], ids=["smtputf8", "no-smtputf8"])
def test_non_ascii_domains_travel_as_punycode(certificates, tmp_path: Path, smtputf8: bool) -> None:
    smtp = start_server(certificates, smtputf8=smtputf8)
    try:
        result = run(plan_args(tmp_path, "Jane Doe", "jane@exämple.org"), smtp.env("plans@klinik-müller.de"))
        assert result.exit_code == 0, result.stderr
        recorder: RecordingRecorder = smtp.recorder  # type: ignore[assignment]
        assert recorder.envelopes == [["jane@xn--exmple-cua.org"]]
        assert recorder.senders == ["plans@xn--klinik-mller-klb.de"]
        assert recorder.utf8 == [False]  # nothing needed SMTPUTF8
        (message,) = recorder.messages
        assert message["To"] == "jane@xn--exmple-cua.org"
        assert message["From"].addresses[0].addr_spec == "plans@xn--klinik-mller-klb.de"
        assert message["Message-ID"].strip().endswith("@xn--klinik-mller-klb.de>")
        headers = recorder.raw[0].split(b"\r\n\r\n")[0]
        assert headers.isascii()
    finally:
        smtp.stop()


def test_a_non_ascii_local_part_goes_with_smtputf8(server: SmtpServer, tmp_path: Path) -> None:
    result = run(plan_args(tmp_path, "Jane Doe", "jöe@exämple.org"), server.env())
    assert result.exit_code == 0, result.stderr
    recorder: RecordingRecorder = server.recorder  # type: ignore[assignment]
    assert recorder.envelopes == [["jöe@xn--exmple-cua.org"]] and recorder.utf8 == [True]
    assert recorder.messages[0]["To"] == "jöe@xn--exmple-cua.org"


def test_a_non_ascii_local_part_without_smtputf8_fails_its_row_only(plain_server: SmtpServer, tmp_path: Path) -> None:
    csv_path = tmp_path / "p.csv"
    csv_path.write_text(
        "name,patient_id,email,consent_email,weeks\nAnn,A1,ann@exämple.org,yes,2\nJoe,A2,jöe@example.org,yes,2\nCat,A3,cat@example.org,yes,2\n", encoding="utf-8"
    )
    result = run(["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--send", "--workers", "1"], plain_server.env())
    assert result.exit_code == 1
    assert "row 3 (patient_id A2): refused by the mail server: the mail server cannot deliver to an address with non-ASCII letters before the @ (it lacks SMTPUTF8)" in result.stderr
    assert "jöe" not in result.stderr + result.stdout
    assert plain_server.recorder.envelopes == [["ann@xn--exmple-cua.org"], ["cat@example.org"]]
    # One plan: one line, exit 1.
    single = run(plan_args(tmp_path, "Joe", "jöe@example.org"), plain_server.env())
    assert single.exit_code == 1
    assert "SMTPUTF8" in one_line_error(single) and "jöe" not in single.stderr


def test_a_sender_with_non_ascii_letters_before_the_at_needs_smtputf8(plain_server: SmtpServer, tmp_path: Path) -> None:
    result = run(plan_args(tmp_path, "Jane Doe", "jane@example.org"), plain_server.env("prāxis@example.org"))
    assert result.exit_code == 1
    assert "HANDOUT_MAIL_FROM" in one_line_error(result)
    assert plain_server.recorder.messages == []


def test_the_outbox_writes_international_addresses_as_a_mail_program_reads_them(tmp_path: Path) -> None:
    env = {"HANDOUT_MAIL_FROM": "Praxis Müller <plans@klinik-müller.de>"}
    ascii_box, utf8_box = tmp_path / "ascii", tmp_path / "utf8"
    assert run(plan_args(tmp_path, "Jane Doe", "jane@exämple.org", "--outbox", str(ascii_box)), env).exit_code == 0
    assert run(plan_args(tmp_path, "Jane Doe", "jöe@exämple.org", "--outbox", str(utf8_box)), env).exit_code == 0
    # A domain alone needs nothing new: a plain ASCII message any mail program reads.
    (plain,) = ascii_box.glob("*.eml")
    raw = plain.read_bytes()
    assert raw.split(b"\n\n")[0].isascii()
    message = read_eml(plain)
    assert message["To"] == "jane@xn--exmple-cua.org" and not message["To"].defects and not message["From"].defects
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Praxis Müller", "plans@xn--klinik-mller-klb.de")
    # A non-ASCII local part: an internationalised message (RFC 6532), its headers in UTF-8.
    (international,) = utf8_box.glob("*.eml")
    message = email.message_from_string(international.read_bytes().decode("utf-8"), policy=email.policy.default)  # type: ignore[assignment]
    assert message["To"].addresses[0].addr_spec == "jöe@xn--exmple-cua.org"
    assert message["From"].addresses[0].display_name == "Praxis Müller"
    assert "Jane Doe" in attached_pdf_text(message)


@pytest.mark.parametrize(
    "value",
    [
        "plans@",
        "@clinic.org",
        "plans@клиника.рф.",
        "Example <plans@clinic.org",
        "Example <not-an-address>",
        "Example <a@clinic.org> extra",
        "a@clinic.org, b@clinic.org",
        "plans@clinic.org\r\nBcc: someone@else.org",
        "Exa\x07mple <plans@clinic.org>",
        "plans@" + "x" * 300 + ".org",
        "plans@xn--zz.org",
        "<>",
    ],
)
def test_a_bad_sender_is_one_line_naming_handout_mail_from(server: SmtpServer, tmp_path: Path, value: str) -> None:
    result = run(plan_args(tmp_path, "Jane Doe", "jane@example.org"), server.env(value))
    assert result.exit_code == 1
    assert "HANDOUT_MAIL_FROM" in one_line_error(result)
    outbox = run(plan_args(tmp_path, "Jane Doe", "jane@example.org", "--outbox", str(tmp_path / "outbox")), {"HANDOUT_MAIL_FROM": value})
    assert outbox.exit_code == 1 and "HANDOUT_MAIL_FROM" in one_line_error(outbox)
    assert server.recorder.messages == []
    assert not list((tmp_path / "outbox").glob("*.eml")) if (tmp_path / "outbox").exists() else True


# ---------------------------------------------------------------------------
# Item 8: the sender's display name; the brand's address


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("Example Physiotherapy <plans@clinic.org>", "Example Physiotherapy"),
        ('"Example Physiotherapy, Harbour St" <plans@clinic.org>', "Example Physiotherapy, Harbour St"),
        ("plans@clinic.org", "Example Physiotherapy Clinic"),  # no display name: the brand's name
    ],
)
def test_handout_mail_from_with_a_display_name(server: SmtpServer, tmp_path: Path, value: str, name: str) -> None:
    result = run(plan_args(tmp_path, "Jane Doe", "jane@example.org"), server.env(value))
    assert result.exit_code == 0, result.stderr
    (message,) = server.recorder.messages
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (name, "plans@clinic.org")
    assert server.recorder.senders == ["plans@clinic.org"]  # type: ignore[attr-defined]


def test_a_bad_brand_email_is_refused_when_the_brand_loads(brand_dir: Path, tmp_path: Path) -> None:
    set_brand_value(brand_dir, "email", '"hello at example-physio.org"')
    result = run(["leaflet", "--brand", str(brand_dir), "-o", str(tmp_path / "l.pdf")], {})
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "brand.toml" in line and "key 'email'" in line
    assert not (tmp_path / "l.pdf").exists()


def test_an_international_brand_email_is_accepted_and_used_as_reply_to(brand_dir: Path, server: SmtpServer, tmp_path: Path) -> None:
    set_brand_value(brand_dir, "email", '"hallo@klinik-müller.de"')
    result = run([*plan_args(tmp_path, "Jane Doe", "jane@example.org"), "--brand", str(brand_dir)], server.env())
    assert result.exit_code == 0, result.stderr
    assert server.recorder.messages[0]["Reply-To"].addresses[0].addr_spec == "hallo@xn--klinik-mller-klb.de"


def test_without_any_sending_address_the_outbox_says_what_to_set(brand_dir: Path, tmp_path: Path) -> None:
    path = brand_dir / "brand.toml"
    path.write_text("".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True) if not line.startswith("email =")), encoding="utf-8")
    env: dict[str, str | None] = {"HANDOUT_MAIL_FROM": None}
    pdf = tmp_path / "plan.pdf"
    result = run(["plan", "--patient", "Jane Doe", "--email", "jane@example.org", "--consent", "--outbox", str(tmp_path / "outbox"), "--brand", str(brand_dir), "-o", str(pdf)], env)
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "HANDOUT_MAIL_FROM" in line and "email" in line and "localhost" not in line
    assert not pdf.exists() and not list(tmp_path.glob("outbox/*.eml"))
    # A batch: stopped before any plan is made, but only when a row is to be emailed.
    with_email = batch_csv(tmp_path, "a.csv", [("Ann Able", "ann@example.org")])
    result = run(["batch", str(with_email), "--out-dir", str(tmp_path / "a"), "--brand", str(brand_dir)], env)
    assert result.exit_code == 1 and "HANDOUT_MAIL_FROM" in one_line_error(result)
    assert not list((tmp_path / "a").glob("*.pdf"))
    to_print = tmp_path / "b.csv"
    to_print.write_text("name,email,consent_email,weeks\nAnn Able,ann@example.org,no,2\n", encoding="utf-8")
    result = run(["batch", str(to_print), "--out-dir", str(tmp_path / "b"), "--brand", str(brand_dir)], env)
    assert result.exit_code == 0, result.stderr


# ---------------------------------------------------------------------------
# Item 12: "deferred" only for deferred rows; TLS mismatches are settings errors


def five_patients(tmp_path: Path) -> Path:
    path = tmp_path / "p.csv"
    path.write_text("name,patient_id,email,consent_email,weeks\n" + "".join(f"P {i},P{i},p{i}@example.org,yes,2\n" for i in range(1, 6)), encoding="utf-8")
    return path


def test_only_the_deferred_row_is_reported_deferred_and_the_batch_goes_on(server: SmtpServer, tmp_path: Path) -> None:
    server.recorder.rcpt_replies["p2@example.org"] = "450 4.2.0 Mailbox busy, try later"  # type: ignore[attr-defined]
    result = run(["batch", str(five_patients(tmp_path)), "--out-dir", str(tmp_path / "plans"), "--send", "--workers", "1"], server.env())
    assert result.exit_code == 1
    assert "row 3 (patient_id P2): not sent: recipient deferred (450)" in result.stderr
    assert result.stderr.count("deferred") == 1, result.stderr
    assert [e[0] for e in server.recorder.envelopes] == ["p1@example.org", "p3@example.org", "p4@example.org", "p5@example.org"]


def test_a_server_closing_at_rcpt_is_not_a_deferred_recipient(server: SmtpServer, tmp_path: Path) -> None:
    server.recorder.rcpt_replies["p2@example.org"] = "421 4.3.2 Service shutting down"  # type: ignore[attr-defined]
    result = run(["batch", str(five_patients(tmp_path)), "--out-dir", str(tmp_path / "plans"), "--send", "--workers", "1"], server.env())
    assert result.exit_code == 1
    assert "deferred" not in result.stderr, result.stderr
    assert "row 3 (patient_id P2): not sent" in result.stderr and "unavailable" in result.stderr


def test_a_server_that_is_not_there_is_temporary_and_no_row_is_called_deferred(certificates, tmp_path: Path) -> None:
    smtp = SmtpServer(certificates)  # never started: connections are refused
    result = run(["batch", str(five_patients(tmp_path)), "--out-dir", str(tmp_path / "plans"), "--send", "--workers", "1"], smtp.env())
    assert result.exit_code == 1
    assert "row 2 (patient_id P1): not sent: localhost unavailable after 3 attempts (connection refused: nothing is listening on that port)" in result.stderr
    assert "deferred" not in result.stderr
    for row in range(3, 7):
        assert f"row {row} (patient_id P{row - 1}): not sent" in result.stderr


def tls_mismatch(result, started: float) -> str:
    assert result.exit_code == 1, result.stderr
    line = one_line_error(result)
    assert "HANDOUT_SMTP_SECURITY" in line and "HANDOUT_SMTP_PORT" in line
    assert "unavailable" not in line and time.monotonic() - started < 15, "retried as if the server were away"
    return line


def test_ssl_against_a_starttls_port_is_a_settings_error(server: SmtpServer, tmp_path: Path) -> None:
    started = time.monotonic()
    result = run(plan_args(tmp_path, "Jane Doe", "jane@example.org"), {**server.env(), "HANDOUT_SMTP_SECURITY": "ssl", "HANDOUT_SMTP_BACKOFF": "5"})
    tls_mismatch(result, started)


def test_starttls_against_an_implicit_tls_port_is_a_settings_error(certificates, tmp_path: Path) -> None:
    smtp = start_server(certificates, implicit_tls=True)
    try:
        env = {**smtp.env(), "HANDOUT_SMTP_SECURITY": "starttls", "HANDOUT_SMTP_TIMEOUT": "2", "HANDOUT_SMTP_BACKOFF": "5"}
        started = time.monotonic()
        tls_mismatch(run(plan_args(tmp_path, "Jane Doe", "jane@example.org"), env), started)
    finally:
        smtp.stop()


def test_ssl_against_a_server_that_hangs_up_on_the_handshake_is_a_settings_error(certificates, tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def hang_up() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(1024)  # the ClientHello
            connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        env = {**SmtpServer(certificates, port=port).env(), "HANDOUT_SMTP_SECURITY": "ssl", "HANDOUT_SMTP_BACKOFF": "5"}
        started = time.monotonic()
        tls_mismatch(run(plan_args(tmp_path, "Jane Doe", "jane@example.org"), env), started)
    finally:
        listener.close()


def test_a_bad_smtp_timeout_is_one_line(server: SmtpServer, tmp_path: Path) -> None:
    result = run(plan_args(tmp_path, "Jane Doe", "jane@example.org"), {**server.env(), "HANDOUT_SMTP_TIMEOUT": "0"})
    assert result.exit_code == 1 and "HANDOUT_SMTP_TIMEOUT" in one_line_error(result)

