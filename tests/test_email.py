"""Email delivery against a real SMTP server on 127.0.0.1 (aiosmtpd) with TLS and AUTH: no mocks."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pypdf
import pytest
import textstat
from typer.testing import CliRunner

from handout.cli import app

from helpers import normalise
from smtp_server import SmtpServer, make_certificates

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(certificates):
    smtp = SmtpServer(certificates).start()
    yield smtp
    smtp.stop()


def patients_csv(folder: Path, count: int) -> tuple[Path, dict[str, str]]:
    """`count` consenting patients plus two who are to print; returns address → name."""
    lines = ["name,patient_id,email,consent_email,weeks"]
    names: dict[str, str] = {}
    for i in range(count):
        name = ["Zoë O'Brien", "Łukasz Żółć", "Σοφία Π.", "Jane Doe"][i % 4] + f" {i}"
        address = f"patient{i}@example.org"
        names[address] = name
        lines.append(f'"{name}",P{i:03d},{address},yes,2')
    lines.append("No Consent,NC1,nc@example.org,no,2")
    lines.append("No Address,NA1,,yes,2")
    path = folder / "patients.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, names


def attachment_text(message) -> str:
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "walking-plan.pdf"
    reader = pypdf.PdfReader(io.BytesIO(attachment.get_content()))
    return normalise(" ".join(page.extract_text() for page in reader.pages))


def assert_each_patient_got_exactly_their_own_plan(server: SmtpServer, names: dict[str, str]) -> None:
    received = Counter(to for envelope in server.recorder.envelopes for to in envelope)
    assert received == Counter(list(names)), received
    for message in server.recorder.messages:
        (address,) = [message["To"]]
        assert f"For {names[address]}" in attachment_text(message)


def run(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(app, args, env=env)


def test_batch_sends_each_patient_their_own_plan_over_starttls(server: SmtpServer, tmp_path: Path) -> None:
    csv_path, names = patients_csv(tmp_path, 6)
    out = tmp_path / "plans"
    result = run(["batch", str(csv_path), "--out-dir", str(out), "--send", "--workers", "2"], server.env())
    assert result.exit_code == 0, result.stderr
    assert_each_patient_got_exactly_their_own_plan(server, names)
    assert "nc@example.org" not in {to for e in server.recorder.envelopes for to in e}
    # Nothing identifying on the terminal.
    for text in (result.stdout, result.stderr):
        for address, name in names.items():
            assert address not in text and name not in text
    assert "Emailed" in result.stdout and "To print" in result.stdout

    message = server.recorder.messages[0]
    assert message["Subject"] == "Your walking plan from Example Physiotherapy Clinic"
    assert message["From"] == "Example Physiotherapy Clinic <plans@example-physio.org>"
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "01632 960 123" in text and "01632 960 123" in html
    for body in (text, html, message["Subject"]):
        for word in ("back pain", "diagnos", "Zoë", "Jane"):
            assert word.lower() not in body.lower()
    # The words handout writes: the signature (clinic name and address) is the brand's, not ours.
    words = text.replace("\r\n", "\n").split("\n\nExample Physiotherapy Clinic\n")[0].replace("Example Physiotherapy Clinic", "our clinic")
    assert "attached" in words and textstat.flesch_kincaid_grade(words) <= 8, words
    assert message["Message-ID"].strip().startswith("<handout.") and message["Message-ID"].strip().endswith("@example-physio.org>")


def test_one_connection_carries_the_whole_batch(server: SmtpServer, tmp_path: Path) -> None:
    csv_path, names = patients_csv(tmp_path, 5)
    connections: list[object] = []
    original = server.recorder.handle_DATA

    async def counting(srv, session, envelope):
        connections.append(session.peer)
        return await original(srv, session, envelope)

    server.recorder.handle_DATA = counting  # type: ignore[method-assign]
    result = run(["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--send", "--workers", "1"], server.env())
    assert result.exit_code == 0, result.stderr
    assert len(connections) == 5 and len(set(connections)) == 1


def test_implicit_tls(certificates, tmp_path: Path) -> None:
    smtp = SmtpServer(certificates, implicit_tls=True).start()
    try:
        csv_path, names = patients_csv(tmp_path, 2)
        result = run(["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--send"], smtp.env())
        assert result.exit_code == 0, result.stderr
        assert_each_patient_got_exactly_their_own_plan(smtp, names)
    finally:
        smtp.stop()


def test_rerun_sends_nothing_twice_and_resend_forces_it(server: SmtpServer, tmp_path: Path) -> None:
    csv_path, names = patients_csv(tmp_path, 3)
    args = ["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--send"]
    assert run(args, server.env()).exit_code == 0
    first_ids = [m["Message-ID"] for m in server.recorder.messages]
    again = run(args, server.env())
    assert again.exit_code == 0 and "Already sent" in again.stdout
    assert len(server.recorder.messages) == 3
    assert run([*args, "--resend"], server.env()).exit_code == 0
    assert [m["Message-ID"] for m in server.recorder.messages[3:]] == first_ids  # the same plan, recognisably


def test_a_refused_recipient_fails_that_row_and_the_batch_goes_on(server: SmtpServer, tmp_path: Path) -> None:
    csv_path, names = patients_csv(tmp_path, 4)
    server.recorder.reject_rcpt.add("patient1@example.org")
    result = run(["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--send"], server.env())
    assert result.exit_code == 1
    assert "row 3 (patient_id P001): refused by the mail server: recipient refused (550)" in result.stderr
    assert "patient1@example.org" not in result.stderr + result.stdout
    assert Counter(to for e in server.recorder.envelopes for to in e) == Counter(a for a in names if a != "patient1@example.org")


def test_wrong_password_and_untrusted_certificate_are_clear_errors(server: SmtpServer, tmp_path: Path) -> None:
    csv_path, _ = patients_csv(tmp_path, 1)
    args = ["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--send"]
    result = run(args, {**server.env(), "HANDOUT_SMTP_PASSWORD": "wrong"})
    assert result.exit_code == 1 and "refused the login" in result.stderr and "wrong" not in result.stderr
    result = run(args, {**server.env(), "HANDOUT_SMTP_CAFILE": ""})
    assert result.exit_code == 1 and "the certificate of localhost is signed by a certificate authority this computer does not know: set HANDOUT_SMTP_CAFILE" in result.stderr
    assert server.recorder.messages == []


def test_single_plan_by_email(server: SmtpServer, tmp_path: Path) -> None:
    out = tmp_path / "plan.pdf"
    result = run(["plan", "--patient", "Jane Doe", "--email", "jane@example.org", "-o", str(out)], server.env())
    assert result.exit_code == 2 and "--consent" in result.stderr
    result = run(["plan", "--patient", "Jane Doe", "--email", "jane@example.org", "--consent", "-o", str(out)], server.env())
    assert result.exit_code == 0, result.stderr
    (message,) = server.recorder.messages
    assert message["To"] == "jane@example.org" and "For Jane Doe" in attachment_text(message)
    assert "jane@example.org" not in result.stdout


def test_single_encrypted_plan_by_email(server: SmtpServer, tmp_path: Path) -> None:
    env = {**server.env(), "HANDOUT_PDF_PASSWORD": "lamp-post-77"}
    result = run(["plan", "--patient", "Jane Doe", "--email", "jane@example.org", "--encrypt", "-o", str(tmp_path / "p.pdf")], env)
    assert result.exit_code == 0, result.stderr
    (message,) = server.recorder.messages
    (attachment,) = list(message.iter_attachments())
    reader = pypdf.PdfReader(io.BytesIO(attachment.get_content()))
    assert reader.is_encrypted and reader.decrypt("lamp-post-77")
    assert "lamp-post-77" not in message.as_string()


class BatchProcess:
    """`handout batch --send` in its own process, so a test can kill it; output goes to files."""

    def __init__(self, csv_path: Path, out: Path, env: dict[str, str]) -> None:
        self.stdout_path, self.stderr_path = out.parent / "stdout.txt", out.parent / "stderr.txt"
        with self.stdout_path.open("w") as stdout, self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "handout", "batch", str(csv_path), "--out-dir", str(out), "--send", "--workers", "2"],
                env={**os.environ, **env},
                stdout=stdout,
                stderr=stderr,
                cwd=ROOT,
            )
        self.pid = self.process.pid

    def communicate(self, timeout: float) -> tuple[str, str]:
        self.process.wait(timeout=timeout)
        return self.stdout_path.read_text(), self.stderr_path.read_text()

    @property
    def returncode(self) -> int | None:
        return self.process.returncode


def batch_process(csv_path: Path, out: Path, env: dict[str, str]) -> BatchProcess:
    return BatchProcess(csv_path, out, env)


def test_server_stopped_mid_batch_then_restarted(certificates, tmp_path: Path) -> None:
    csv_path, names = patients_csv(tmp_path, 12)
    out = tmp_path / "plans"
    smtp = SmtpServer(certificates).start()
    smtp.recorder.hold_at_mail = 5  # the server goes down while the batch waits on message 5
    process = batch_process(csv_path, out, smtp.env())
    assert smtp.recorder.held.wait(60), "the batch never reached message 5"
    smtp.stop()
    delivered_before = list(smtp.recorder.messages)  # 4, or 5 if a retry beat the shutdown
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert "not sent" in stderr and "unavailable" in stderr
    assert 4 <= len(delivered_before) < len(names)

    restarted = SmtpServer(certificates, port=smtp.port).start()
    try:
        rerun = batch_process(csv_path, out, restarted.env())
        stdout, stderr = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, stderr
        restarted.recorder.messages[:0] = delivered_before
        restarted.recorder.envelopes[:0] = [[m["To"]] for m in delivered_before]
        assert_each_patient_got_exactly_their_own_plan(restarted, names)
    finally:
        restarted.stop()


def test_killed_mid_batch_then_rerun(certificates, tmp_path: Path) -> None:
    csv_path, names = patients_csv(tmp_path, 12)
    out = tmp_path / "plans"
    smtp = SmtpServer(certificates).start()
    try:
        smtp.recorder.hold_at_mail = 7
        process = batch_process(csv_path, out, smtp.env())
        assert smtp.recorder.held.wait(60), "the batch never reached message 7"
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
        time.sleep(1.5)  # render workers notice the batch is gone and exit (they check twice a second)
        for pdf in out.glob("*.pdf"):  # whatever was written is a whole plan
            assert len(pypdf.PdfReader(pdf).pages) >= 1
        assert len(smtp.recorder.messages) == 6
        smtp.recorder.hold_at_mail = None
        smtp.recorder.release.set()
        rerun = batch_process(csv_path, out, smtp.env())
        stdout, stderr = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, stderr
        assert_each_patient_got_exactly_their_own_plan(smtp, names)
        assert not list(out.glob(".*.part")), "a partial file was left behind"
        assert len(list(out.glob("*.pdf"))) == 16  # 14 plans, to-print.pdf and its sheet
    finally:
        smtp.stop()


def test_rerun_on_a_later_day_sends_nothing_new_but_a_corrected_address_gets_its_plan(server: SmtpServer, tmp_path: Path) -> None:
    import datetime as dt

    from handout.batch import BatchOptions, run_batch

    csv_path = tmp_path / "p.csv"
    csv_path.write_text("name,patient_id,email,consent_email\nJane Doe,P1,jane.typo@example.org,yes\nJo Bloggs,P2,jo@example.org,yes\n", encoding="utf-8")
    out = tmp_path / "plans"
    first = run_batch(BatchOptions(csv_path, out_dir=out, send=True, workers=1, today=dt.date(2027, 1, 30)), server.env())
    assert first.emailed == [2, 3]
    next_day = run_batch(BatchOptions(csv_path, out_dir=out, send=True, workers=1, today=dt.date(2027, 1, 31)), server.env())
    assert next_day.emailed == [] and next_day.already_sent == [2, 3]
    csv_path.write_text(csv_path.read_text().replace("jane.typo@", "jane@"), encoding="utf-8")

    class Collect:
        warnings: list[str] = []

        def warn(self, message: str) -> None:
            self.warnings.append(message)

        def problem(self, message: str) -> None: ...

        def start(self, total: int) -> None: ...

        def advance(self) -> None: ...

        def finish(self) -> None: ...

    reporter = Collect()
    corrected = run_batch(BatchOptions(csv_path, out_dir=out, send=True, workers=1, today=dt.date(2027, 1, 31)), server.env(), reporter)  # type: ignore[arg-type]
    assert corrected.emailed == [2] and corrected.already_sent == [3]
    assert any("row 2 (patient_id P1): the row changed since its plan was emailed" in w for w in reporter.warnings)
    assert [m["To"] for m in server.recorder.messages] == ["jane.typo@example.org", "jo@example.org", "jane@example.org"]


def test_rows_without_patient_id_are_not_resent_when_the_list_shifts(server: SmtpServer, tmp_path: Path, own_data_folder: Path) -> None:
    out = tmp_path / "plans"
    first = tmp_path / "a.csv"
    first.write_text("name,email,consent_email\nAnn Able,ann@example.org,yes\nBen Bold,ben@example.org,yes\nCat Cole,cat@example.org,yes\n", encoding="utf-8")
    assert run(["batch", str(first), "--out-dir", str(out), "--send"], server.env()).exit_code == 0
    shifted = tmp_path / "b.csv"
    shifted.write_text("name,email,consent_email\nBen Bold,ben@example.org,yes\nCat Cole,cat@example.org,yes\n", encoding="utf-8")
    again = run(["batch", str(shifted), "--out-dir", str(out), "--send"], server.env())
    assert again.exit_code == 0 and "Already sent" in again.stdout
    assert sorted(m["To"] for m in server.recorder.messages) == ["ann@example.org", "ben@example.org", "cat@example.org"]
    import sqlite3

    with sqlite3.connect(own_data_folder / "handout-journal.sqlite") as journal:
        states = dict(journal.execute("SELECT key, state FROM rows"))
    assert states["row-2"] == "sent" and states["row-3"] == "sent"


def test_message_id_stays_the_same_when_a_plan_is_resent_on_another_day(server: SmtpServer, tmp_path: Path) -> None:
    import datetime as dt

    from handout.batch import BatchOptions, run_batch

    csv_path = tmp_path / "p.csv"
    csv_path.write_text("name,patient_id,email,consent_email,start_date\nJane Doe,P1,jane@example.org,yes,2027-03-01\n", encoding="utf-8")
    for day in (dt.date(2027, 2, 27), dt.date(2027, 2, 28)):
        run_batch(BatchOptions(csv_path, out_dir=tmp_path / "plans", send=True, resend=True, workers=1, today=day), server.env())
    first, second = (m["Message-ID"].strip() for m in server.recorder.messages)
    assert first == second


def test_an_address_the_server_cannot_take_fails_only_its_row(certificates, tmp_path: Path) -> None:
    server = SmtpServer(certificates, smtputf8=False).start()
    try:
        csv_path = tmp_path / "p.csv"
        csv_path.write_text("name,patient_id,email,consent_email\nAnn,A1,ann@example.org,yes\nJoe,A2,jöe@example.org,yes\nCat,A3,cat@example.org,yes\n", encoding="utf-8")
        result = run(["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--send"], server.env())
        assert result.exit_code == 1
        assert "row 3 (patient_id A2): refused by the mail server: the mail server cannot deliver to an address with non-ASCII letters" in result.stderr
        assert sorted(m["To"] for m in server.recorder.messages) == ["ann@example.org", "cat@example.org"]
    finally:
        server.stop()


def test_a_non_ascii_smtp_password_is_refused_up_front(server: SmtpServer, tmp_path: Path) -> None:
    csv_path, _ = patients_csv(tmp_path, 1)
    result = run(["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--send"], {**server.env(), "HANDOUT_SMTP_PASSWORD": "Pässwort"})
    assert result.exit_code == 1 and "plain ASCII" in result.stderr and "Pässwort" not in result.stderr
