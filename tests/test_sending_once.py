"""Issue 15, items 3 to 6: a message that may have arrived is never sent again unasked, a new PDF password is a new
plan, --send with --outbox is refused, and the outbox holds only what is still to send. Real SMTP server on
127.0.0.1 that drops, stalls or refuses after DATA; no mocks."""

from __future__ import annotations

import email
import email.policy
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout.cli import app

from helpers import one_line_error
from smtp_server import AfterData, Certificates, SmtpServer, make_certificates

HEADER = "name,patient_id,email,consent_email,weeks"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def hostile(certificates: Certificates) -> Iterator[SmtpServer]:
    smtp = SmtpServer(certificates)
    smtp.recorder = AfterData()
    smtp.start()
    yield smtp
    smtp.stop()


def write_list(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "patients.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def batch(csv_path: Path, out: Path, env: dict[str, str], *extra: str):
    return CliRunner().invoke(app, ["batch", str(csv_path), "--out-dir", str(out), "--workers", "1", *extra], env=env)


def deliveries(data: Path) -> list[str]:
    with sqlite3.connect(data / "handout-journal.sqlite") as db:
        return sorted(state for (state,) in db.execute("SELECT state FROM deliveries"))


# ---------------------------------------------------------------------------
# Item 3: lost after the handover, the plan is "maybe sent": never retried unasked


@pytest.mark.parametrize("behaviour", ["drop", "stall"], ids=["connection dropped after DATA", "no reply after DATA (timeout)"])
def test_a_plan_lost_after_the_handover_is_maybe_sent_and_never_retried_unasked(hostile: SmtpServer, tmp_path: Path, own_data_folder: Path, behaviour: str) -> None:
    recorder: AfterData = hostile.recorder  # type: ignore[assignment]
    recorder.behaviour = [behaviour]
    recorder.stall_seconds = 2.5
    csv_path = write_list(tmp_path, ["Ann Able,P1,ann@example.org,yes,1", "Ben Bold,P2,ben@example.org,yes,1"])
    env = {**hostile.env(), "HANDOUT_SMTP_ATTEMPTS": "4", "HANDOUT_SMTP_TIMEOUT": "1"}
    first = batch(csv_path, tmp_path / "plans", env, "--send")
    assert first.exit_code == 1
    # One copy of Ann's plan reached the server, however many attempts were allowed; Ben's went on normally.
    assert [m["To"] for m in recorder.received] == ["ann@example.org", "ben@example.org"]
    assert "Maybe sent" in first.stdout and "P1 (row 2)" in first.stdout
    assert "maybe sent" in first.stderr and "Message-ID" in first.stderr and "--resend-maybe-sent" in first.stderr
    assert deliveries(own_data_folder) == ["maybe", "sent"]

    again = batch(csv_path, tmp_path / "plans", env, "--send")
    assert again.exit_code == 1 and "Maybe sent" in again.stdout
    assert len(recorder.received) == 2, "a re-run sent a maybe-sent plan again without being asked"

    asked = batch(csv_path, tmp_path / "plans", env, "--send", "--resend-maybe-sent")
    assert asked.exit_code == 0, asked.stderr
    assert [m["To"] for m in recorder.received] == ["ann@example.org", "ben@example.org", "ann@example.org"]
    assert recorder.received[0]["Message-ID"] == recorder.received[2]["Message-ID"], "the re-sent copy must be recognisable"
    assert deliveries(own_data_folder) == ["sent", "sent"]


def test_a_reply_after_data_is_not_maybe_sent_a_4xx_is_retried_and_a_5xx_fails(hostile: SmtpServer, tmp_path: Path, own_data_folder: Path) -> None:
    recorder: AfterData = hostile.recorder  # type: ignore[assignment]
    recorder.behaviour = ["451 4.3.0 Try again later", "accept", "554 5.6.0 Message refused"]
    csv_path = write_list(tmp_path, ["Ann Able,P1,ann@example.org,yes,1", "Ben Bold,P2,ben@example.org,yes,1"])
    result = batch(csv_path, tmp_path / "plans", hostile.env(), "--send")
    assert result.exit_code == 1
    # Ann: refused for now, then accepted on the retry (the server said no, so nothing had arrived). Ben: refused for good.
    assert [m["To"] for m in recorder.messages] == ["ann@example.org"]
    assert "Maybe sent" not in result.stdout and "refused by the mail server: 554" in result.stderr
    assert deliveries(own_data_folder) == ["sent"]


def test_a_single_plan_lost_after_the_handover_is_not_sent_twice(hostile: SmtpServer, tmp_path: Path) -> None:
    recorder: AfterData = hostile.recorder  # type: ignore[assignment]
    recorder.behaviour = ["drop"]
    args = ["plan", "--patient", "Jane Doe", "--email", "jane@example.org", "--consent", "-o", str(tmp_path / "p.pdf")]
    result = CliRunner().invoke(app, args, env={**hostile.env(), "HANDOUT_SMTP_ATTEMPTS": "4"})
    assert result.exit_code == 1 and "may have arrived" in one_line_error(result)
    assert len(recorder.received) == 1


# ---------------------------------------------------------------------------
# Item 4: a new PDF password is a new plan


def test_a_changed_pdf_password_sends_the_plan_again(hostile: SmtpServer, tmp_path: Path) -> None:
    header = "name,patient_id,email,weeks,pdf_password"
    out = tmp_path / "plans"
    write_list(tmp_path, ["Ann Able,P1,ann@example.org,1,Walk-daily-42"], header)
    csv_path = tmp_path / "patients.csv"
    assert batch(csv_path, out, hostile.env(), "--send", "--encrypt").exit_code == 0
    same = batch(csv_path, out, hostile.env(), "--send", "--encrypt")
    assert same.exit_code == 0 and "Already sent" in same.stdout
    write_list(tmp_path, ["Ann Able,P1,ann@example.org,1,New-password-77"], header)
    changed = batch(csv_path, out, hostile.env(), "--send", "--encrypt")
    assert changed.exit_code == 0, changed.stderr
    assert "PDF password" in changed.stderr
    messages = hostile.recorder.messages
    assert len(messages) == 2, "the patient holds only the old password for the plan on disk"
    assert messages[0]["Message-ID"] != messages[1]["Message-ID"], "a mail program would take the new plan for a repeat"
    import pikepdf

    with pikepdf.open(out / "P1.pdf", password="New-password-77"):
        pass


# ---------------------------------------------------------------------------
# Item 5: --send with --outbox


def test_send_with_an_outbox_is_refused_in_one_line(hostile: SmtpServer, tmp_path: Path) -> None:
    csv_path = write_list(tmp_path, ["Ann Able,P1,ann@example.org,yes,1"])
    result = batch(csv_path, tmp_path / "plans", hostile.env(), "--send", "--outbox", str(tmp_path / "outbox"))
    assert result.exit_code == 2
    assert "--outbox" in one_line_error(result) and "--send" in one_line_error(result)
    assert not (tmp_path / "plans").exists() and not (tmp_path / "outbox").exists()
    assert hostile.recorder.messages == []


# ---------------------------------------------------------------------------
# Item 6: the outbox shows only what is still to send


def test_the_outbox_keeps_only_what_is_still_to_send(hostile: SmtpServer, tmp_path: Path) -> None:
    out = tmp_path / "plans"
    outbox = out / "outbox"
    csv_path = write_list(tmp_path, ["Ann Able,P1,ann@example.org,yes,1", "Ben Bold,,ben@example.org,yes,1"])
    dry = batch(csv_path, out, hostile.env())
    assert dry.exit_code == 0, dry.stderr
    assert len(list(outbox.glob("*.eml"))) == 2

    sent = batch(csv_path, out, hostile.env(), "--send")
    assert sent.exit_code == 0, sent.stderr
    assert list(outbox.glob("*.eml")) == [], "messages already emailed stayed in the outbox, ready to be sent again"

    # A new patient joins; a dry run writes only her message and says who was sent already.
    write_list(tmp_path, ["Ann Able,P1,ann@example.org,yes,1", "Ben Bold,,ben@example.org,yes,1", "Cat Cole,P3,cat@example.org,yes,1"])
    again = batch(csv_path, out, hostile.env())
    assert again.exit_code == 0, again.stderr
    (only,) = outbox.glob("*.eml")
    assert email.message_from_bytes(only.read_bytes(), policy=email.policy.default)["To"] == "cat@example.org"
    assert "Already sent (not in the outbox)" in again.stdout


# ---------------------------------------------------------------------------
# The page and the command line share one journal; the page lists a maybe-sent row with what to do


def test_the_page_shares_the_journal_with_the_command_line_and_lists_a_maybe_sent_row(hostile: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.testclient import TestClient
    from test_web import BASE, Clock, front_desk, run_list, upload

    from handout.web.app import create_app

    for key, value in hostile.env().items():
        monkeypatch.setenv(key, value)
    data = tmp_path / "data"
    ben = write_list(tmp_path, ["Ben Bold,P2,ben@example.org,yes,1"])
    assert batch(ben, tmp_path / "plans", hostile.env(), "--send", "--data-dir", str(data)).exit_code == 0
    recorder: AfterData = hostile.recorder  # type: ignore[assignment]
    recorder.behaviour = ["drop"]  # Ann's message, the next one the server gets
    desk = front_desk(data, Clock())
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as client:
        page = run_list(client, upload(client, f"{HEADER}\nAnn Able,P1,ann@example.org,yes,1\nBen Bold,P2,ben@example.org,yes,1\n"), "send")
    assert "Already sent (skipped)</th><td>1</td><td>P2 (row 3)" in page, "the page sent again what the command line had sent"
    assert "Maybe sent (not sent again)</th><td>1</td><td>P1 (row 2)" in page
    assert "Message-ID" in page and "handout batch --send --resend-maybe-sent" in page
    assert [m["To"] for m in recorder.received] == ["ben@example.org", "ann@example.org"]
