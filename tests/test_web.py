"""The front desk's web page through Starlette's test client: every route, its guards, and every mistake as a clear page."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pikepdf
import pypdf
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from handout.cli import app as cli
from handout.service import Clinic
from handout.web.app import create_app
from handout.web.lists import PatientLists
from handout.web.pages import FrontDesk, new_password
from handout.web.sessions import IDLE_SECONDS, SIGNED_IN_SECONDS, Sessions
from handout.web.store import ExpiringStore

from helpers import all_text
from smtp_server import SmtpServer, make_certificates

TODAY = dt.date(2026, 11, 30)
BASE = "http://127.0.0.1:8400"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def front_desk(data: Path, clock: Clock, password: str | None = None, templates: tuple[Path, ...] = ()) -> FrontDesk:
    """The app's pages with a fixed today, the test's clock, and lists made in this process (workers=1: no process start-up)."""
    clinic = Clinic(None, templates)
    lists = PatientLists(clinic, data, lambda: TODAY, workers=1, clock=clock)
    sessions = Sessions(password, wrong_password_delay=0, clock=clock)
    return FrontDesk(clinic, data, today=lambda: TODAY, store=ExpiringStore(clock=clock), password=password, lists=lists, sessions=sessions)


@pytest.fixture
def desk(tmp_path: Path, clock: Clock) -> FrontDesk:
    return front_desk(tmp_path / "data", clock)


@pytest.fixture
def client(desk: FrontDesk) -> Iterator[TestClient]:
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as test_client:
        yield test_client


def csrf(client: TestClient, path: str = "/plan") -> str:
    page = client.get(path)
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]


def make_plan(client: TestClient, **fields: str) -> str:
    response = client.post("/plan", data={"csrf": csrf(client), "patient": "Jane Doe", "weeks": "4", **fields})
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def held_list(desk: FrontDesk, client: TestClient, location: str) -> Any:
    """The list the client uploaded to `location`, as the server holds it for the client's session."""
    return desk.lists.get(location.rsplit("/", 1)[1], client.cookies["handout_session"])


def submit(client: TestClient, path: str, **kwargs: Any) -> Any:
    """A form posted as a browser does: every POST answers with a redirect (POST/redirect/GET); the page it leads to."""
    posted = client.post(path, **kwargs)
    assert posted.status_code == 303, posted.text
    return client.get(posted.headers["location"])


def field_errors(html: str) -> dict[str, str]:
    return {field: unescape(message) for field, message in re.findall(r'<p class="error" id="([a-z_]+)-error">([^<]+)</p>', html)}


@pytest.mark.parametrize("path", ["/", "/plan", "/leaflet", "/lists", "/sign-in", "/no-such-page", "/static/handout.css", "/static/progress.js", "/clinic/colours.css"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self'")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["cross-origin-resource-policy"] == "same-origin"
    permissions = response.headers["permissions-policy"]
    assert all(f"{feature}=()" in permissions for feature in ("camera", "microphone", "geolocation", "payment", "usb"))
    assert "<script" not in response.text


def test_the_session_cookie_is_httponly_and_samesite_strict(client: TestClient) -> None:
    cookie = client.get("/plan").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")


def test_a_post_without_the_right_csrf_token_changes_nothing_but_keeps_what_was_typed(client: TestClient, desk: FrontDesk) -> None:
    for data in ({"patient": "Jane Doe", "weeks": "7"}, {"patient": "Jane Doe", "weeks": "7", "csrf": "0" * 64}):
        page = submit(client, "/plan", data=data)
        assert page.status_code == 200 and "This form had expired" in page.text and "nothing was done" in page.text
        assert 'value="Jane Doe"' in page.text and 'value="7"' in page.text  # the session ended; what was typed did not
    assert not desk.plans._held  # nothing was made
    leaflet = submit(client, "/leaflet", data={"action": "download", "layout": "trifold"})
    assert "This form had expired" in leaflet.text and 'value="trifold" checked' in leaflet.text
    assert client.post("/sign-out", data={}).status_code == 403


def test_another_host_name_is_refused_against_dns_rebinding(client: TestClient) -> None:
    refused = client.get("/plan", headers={"host": "evil.example:8400"})
    assert refused.status_code == 400 and "This address is not handout's: open it as <a href='http://127.0.0.1:8400/'>http://127.0.0.1:8400/</a> instead." in refused.text
    # In the site's style (the stylesheet, which holds nothing, is served to any host name), with a way home.
    assert "<link rel='stylesheet' href='/static/handout.css'>" in refused.text and "Back to the front desk" in refused.text
    assert client.get("/static/handout.css", headers={"host": "evil.example:8400"}).status_code == 200
    assert client.get("/clinic/colours.css", headers={"host": "evil.example:8400"}).status_code == 400
    assert client.get("/plan", headers={"host": "localhost:8400"}).status_code == 200


def test_plan_errors_sit_next_to_their_fields_in_the_command_lines_words_and_keep_what_was_typed(client: TestClient) -> None:
    response = submit(client, "/plan", data={"csrf": csrf(client), "patient": " ", "clinician": "Sam Lee", "weeks": "30", "start_minutes": "ten", "start_date": "2026-02-30"})
    assert response.status_code == 422
    # Every wrong field at once, each in the command line's words for it.
    assert field_errors(response.text) == {
        "patient": "Patient name must not be empty",
        "start_minutes": "Start minutes must be a whole number",
        "weeks": "Weeks must be a whole number from 1 to 26, not 30",
        "start_date": "Start date must be a real date written YYYY-MM-DD",
    }
    several = submit(client, "/plan", data={"csrf": csrf(client), "patient": "Jane Doe", "start_minutes": "0", "target_minutes": "200", "walks_per_week": "8"})
    assert field_errors(several.text) == {
        "start_minutes": "Start minutes must be a whole number from 1 to 60, not 0",
        "target_minutes": "Target minutes must be a whole number from 1 to 90, not 200",
        "walks_per_week": "Walks a week must be a whole number from 1 to 7, not 8",
    }
    below = submit(client, "/plan", data={"csrf": csrf(client), "patient": "Jane Doe", "start_minutes": "20", "target_minutes": "15"})
    assert field_errors(below.text) == {"target_minutes": "Target minutes must be a whole number from 20 to 90, not 15"}
    assert 'aria-describedby="patient-hint patient-error"' in response.text and 'aria-invalid="true"' in response.text
    assert 'value="Sam Lee"' in response.text and 'value="ten"' in response.text and 'value="2026-02-30"' in response.text
    assert 'role="alert"' in response.text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Jane\u202eeoD", "Patient name has the direction control U+202E"),
        ("Jane 中", "Patient name has the character U+4E2D"),
        ("Jane\x00Doe", "Patient name has control characters"),
        ("J" * 300, "Patient name must be at most 200 characters"),
    ],
)
def test_hostile_names_get_a_field_error_never_a_500(client: TestClient, name: str, expected: str) -> None:
    response = submit(client, "/plan", data={"csrf": csrf(client), "patient": name})
    assert response.status_code == 422
    assert field_errors(response.text)["patient"].startswith(expected)


def test_a_plan_is_previewed_as_printed_and_downloads_without_the_name_in_any_url_or_file_name(client: TestClient) -> None:
    location = make_plan(client, clinician="Sam Lee")
    assert re.fullmatch(r"/plans/[A-Za-z0-9_-]{24}", location) and "Jane" not in location
    preview = client.get(location)
    assert preview.status_code == 200
    pdf = client.post(f"{location}/pdf", data={"csrf": csrf(client), "action": "download"})
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'attachment; filename="walking-plan.pdf"'
    printed = all_text(pdf.content)
    summary = re.search(r'<p class="summary">([^<]+)</p>', preview.text).group(1)  # type: ignore[union-attr]
    assert summary.startswith("Walk 10 minutes, 5 days a week this week.") and summary in printed
    cells = re.findall(r"<t[hd][^>]*>([^<]+)</t[hd]>", preview.text)
    assert cells[:5] == ["Week", "Dates", "Minutes a walk", "Walks", "Week total"]
    # A value's no-break spaces read as spaces in both; the page's word joiners (no break after a dash) are invisible.
    assert all(" ".join(cell.replace("\u2060", "").split()) in printed for cell in cells)
    assert "Jane Doe" in printed
    inline = client.post(f"{location}/pdf", data={"csrf": csrf(client), "action": "print"})
    assert inline.headers["content-disposition"] == 'inline; filename="walking-plan.pdf"'
    # The clinician is remembered for the session.
    assert 'value="Sam Lee"' in client.get("/plan").text


def test_a_held_plan_expires_after_30_minutes(client: TestClient, clock: Clock) -> None:
    location = make_plan(client)
    clock.now += 29 * 60
    assert client.get(location).status_code == 200
    clock.now += 2 * 60
    gone = client.get(location)
    assert gone.status_code == 404 and "kept for 30 minutes" in gone.text


def test_email_needs_consent_or_a_password_in_the_same_words(client: TestClient) -> None:
    location = make_plan(client)
    response = submit(client, f"{location}/email", data={"csrf": csrf(client), "email": "jane@example.org"})
    assert response.status_code == 422
    # The rule's problem sits by the two radio buttons it is about, named as the page names them (never a "box").
    assert field_errors(response.text) == {"protection": "Choose how the plan is protected: the patient agreed to unencrypted email, or lock the PDF with a password"}
    assert 'aria-describedby="protection-error"' in response.text and "box" not in response.text
    assert 'value="jane@example.org"' in response.text  # what was typed stays
    bad = submit(client, f"{location}/email", data={"csrf": csrf(client), "email": "not an address", "protection": "consent"})
    assert field_errors(bad.text)["email"] == "Email address is not a valid email address"
    weak = submit(client, f"{location}/email", data={"csrf": csrf(client), "email": "jane@example.org", "protection": "password", "password": "short"})
    assert field_errors(weak.text)["password"].startswith("The PDF password must be at least 8 characters")


def attachment(message: Any) -> bytes:
    """The PDF attached to an email, read from an .eml file or as the test mail server received it."""
    import email

    if isinstance(message, Path):
        message = email.message_from_bytes(message.read_bytes(), policy=email.policy.default)
    return bytes(next(message.iter_attachments()).get_content())


def words(html: str) -> str:
    """A page's text as read, without its markup."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def shown_password(html: str) -> str:
    return re.search(r'<p class="password">([^<]+)</p>', html).group(1)  # type: ignore[union-attr]


def test_without_an_email_server_the_page_says_saved_not_sent_where_and_how_to_send_it(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANDOUT_SMTP_HOST", raising=False)
    location = make_plan(client, patient="Zoë Adams", clinician="Sam Lee")
    assert "saved on this computer, not sent" in client.get(location).text  # said before, on the preview
    posted = client.post(f"{location}/email", data={"csrf": csrf(client), "email": "zoe@example.org", "protection": "password"})
    assert (posted.status_code, posted.headers["location"]) == (303, f"{location}/sent")
    page = client.get(posted.headers["location"]).text
    # Whose plan, where it went (the address partly hidden), and that nothing has left the computer.
    assert "<h1>Saved, not sent yet</h1>" in page and "Done" not in page and "Nothing was sent" not in page
    assert "Walking plan for <strong>Zoë Adams</strong>" in page and "Clinician: <strong>Sam Lee</strong>" in page
    assert "the email to z…@example.org was saved at " in words(page) and "zoe@example.org" not in page
    # Where it is, as text staff can copy, and how to send it from the clinic's mail program.
    (message,) = (tmp_path / "data" / "outbox").glob("*.eml")
    assert f'<code id="outbox-folder">{tmp_path / "data" / "outbox"}</code>' in page and f'<code id="outbox-file">{message.name}</code>' in page
    assert "Resend This Message" in page and "Edit as New Message" in page and "Send Again" in page
    password = shown_password(page)
    pdf = attachment(message)
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(pdf))
    with pikepdf.open(io.BytesIO(pdf), password=password) as opened:
        assert len(opened.pages) >= 3
    assert password not in client.get(location).text  # only on the result page, for as long as the plan is kept


@pytest.fixture
def mail_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 (TLS, AUTH), with the HANDOUT_SMTP_* variables pointing at it."""
    (tmp_path / "tls").mkdir()
    server = SmtpServer(make_certificates(tmp_path / "tls")).start()
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    yield server
    server.stop()


def test_a_plan_is_emailed_through_a_real_smtp_server(client: TestClient, mail_server: SmtpServer) -> None:
    location = make_plan(client, clinician="Sam Lee")
    response = submit(client, f"{location}/email", data={"csrf": csrf(client), "email": "jane@example.org", "protection": "consent"})
    assert response.status_code == 200 and "<h1>Plan emailed</h1>" in response.text and "Emailed to j…@example.org at " in words(response.text)
    assert "Walking plan for <strong>Jane Doe</strong>" in response.text and "Clinician: <strong>Sam Lee</strong>" in response.text
    (message,) = mail_server.recorder.messages
    assert mail_server.recorder.envelopes == [["jane@example.org"]]
    pdf = next(message.iter_attachments()).get_content()  # type: ignore[attr-defined]
    assert "Jane Doe" in all_text(pdf)


def test_a_bad_smtp_setting_is_a_clear_message_on_the_page(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOUT_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("HANDOUT_SMTP_SECURITY", "carrier-pigeon")
    location = make_plan(client)
    response = submit(client, f"{location}/email", data={"csrf": csrf(client), "email": "jane@example.org", "protection": "consent"})
    assert response.status_code == 422 and "HANDOUT_SMTP_SECURITY must be starttls, ssl or none" in response.text


def wait_for_send(client: TestClient, location: str) -> str:
    """How the plan's latest email ended."""
    deadline = time.monotonic() + 30
    while (state := client.get(f"{location}/state").json()["state"]) == "sending":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return str(state)


def test_reloading_the_result_or_posting_the_form_again_never_sends_a_second_email_only_send_again_does(client: TestClient, mail_server: SmtpServer) -> None:
    location = make_plan(client, patient="Zoë Adams")
    form = {"csrf": csrf(client), "email": "zoe@example.org", "protection": "password", "after": "0"}
    first = client.post(f"{location}/email", data=form)
    assert (first.status_code, first.headers["location"]) == (303, f"{location}/sent")
    result = client.get(f"{location}/sent").text
    password = shown_password(result)
    for _ in range(3):  # Reload: the same page, the same password, nothing sent
        again = client.get(f"{location}/sent").text
        assert "<h1>Plan emailed</h1>" in again and shown_password(again) == password
    # The browser posting the same form again (Back then resubmit, a double click, a form kept open): nothing sent.
    for repost in (form, {key: value for key, value in form.items() if key != "after"}, {**form, "password": "Other-pass 99"}):
        answer = client.post(f"{location}/email", data=repost)
        assert (answer.status_code, answer.headers["location"]) == (303, f"{location}/sent")
    assert len(mail_server.recorder.messages) == 1
    # Both pages say it was already sent, and when; sending again is a button of its own.
    assert re.search(r"It was already emailed to z…@example.org at \d\d:\d\d\.\s+Send it again only if", words(result))
    preview = client.get(location).text
    assert re.search(r"Already emailed to z…@example.org at \d\d:\d\d", words(preview)) and ">Send again</button>" in preview
    after = re.search(r'name="after" value="(\d+)"', result).group(1)  # type: ignore[union-attr]
    assert after == "1"
    resent = submit(client, f"{location}/email", data={"csrf": csrf(client), "after": after, "same": "yes"})
    assert "<h1>Plan emailed</h1>" in resent.text and "Before this" in resent.text and shown_password(resent.text) == password
    assert mail_server.recorder.envelopes == [["zoe@example.org"], ["zoe@example.org"]]
    for message in mail_server.recorder.messages:  # the second is the same plan with the same password
        with pikepdf.open(io.BytesIO(attachment(message)), password=password) as opened:
            assert len(opened.pages) >= 3
    client.post(f"{location}/email", data={"csrf": csrf(client), "after": after, "same": "yes"})  # that Send again, posted again
    assert len(mail_server.recorder.messages) == 2


def test_a_mail_server_that_never_answers_holds_up_no_other_page_and_the_page_says_sending(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from handout.web import plan_pages

    from smtp_server import SilentServer

    silent = SilentServer()
    for key, value in silent.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(plan_pages, "SEND_GRACE_SECONDS", 0.1)
    location = make_plan(client)
    answers: dict[str, Any] = {}
    token = csrf(client)
    sending = threading.Thread(target=lambda: answers.update(email=client.post(f"{location}/email", data={"csrf": token, "email": "jane@example.org", "protection": "consent"})))
    sending.start()
    try:
        assert silent.accepted.wait(20), "handout never connected to the mail server"
        # While the mail server holds the connection without a word, every other page answers: a form, a static
        # file, another plan made (rendering is not queued behind the send), and the plan's own result page.
        assert client.get("/plan").status_code == 200
        assert client.get("/static/handout.css").status_code == 200
        other = make_plan(client, patient="Ann Lee")
        sending.join(20)
        assert not sending.is_alive() and answers["email"].headers["location"] == f"{location}/sent"
        page = client.get(f"{location}/sent").text
        assert "<h1>Sending the plan</h1>" in page and "in progress since" in page and 'href="/plans/' in page
        assert client.get(f"{location}/state").json() == {"state": "sending"}
        # Posting again meanwhile starts no second send.
        assert client.post(f"{location}/email", data={"csrf": token, "email": "jane@example.org", "protection": "consent", "after": "1", "same": "yes"}).status_code == 303
        assert client.get(other).status_code == 200
        assert not silent.client_gave_up.is_set()  # all of that while handout still waited on the mail server
    finally:
        silent.release()
    assert wait_for_send(client, location) == "failed"
    failed = client.get(f"{location}/sent").text
    assert "<h1>The plan was not emailed</h1>" in failed and ">Try again</button>" in failed


def test_change_this_plan_reopens_the_form_as_typed_and_the_changed_plan_replaces_it(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANDOUT_SMTP_HOST", raising=False)
    typed = {
        "patient": "Jane Doh", "clinician": "Sam Lee", "start_minutes": "12", "target_minutes": "25", "walks_per_week": "4", "weeks": "6",
        "start_date": "2026-12-07", "language": "es", "qr_url": "https://example.org/walk", "large_print": "on", "with_article": "on",
    }
    location = make_plan(client, **typed)
    assert f'href="{location}/change"' in client.get(location).text
    form = client.get(f"{location}/change").text
    assert "<h1>Change the walking plan</h1>" in form
    for name in ("patient", "clinician", "start_minutes", "target_minutes", "walks_per_week", "weeks", "start_date", "qr_url"):
        assert f'name="{name}" type=' in form and f'value="{typed[name]}"' in form, name
    assert '<option value="es" selected>' in form and 'name="with_article" checked' in form and 'name="large_print" checked' in form
    changes = re.search(r'name="changes" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    assert location.endswith(changes)
    corrected = client.post("/plan", data={"csrf": csrf(client), **typed, "patient": "Jane Doe", "changes": changes})
    new = corrected.headers["location"]
    assert new != location and "Walking plan for <strong>Jane Doe</strong>" in client.get(new).text
    # The uncorrected plan now points to the changed one and cannot be emailed by mistake.
    old = client.get(location).text
    assert "This plan was changed" in old and f'href="{new}"' in old and 'action="' + location + '/email"' not in old
    answer = client.post(f"{location}/email", data={"csrf": csrf(client), "email": "jane@example.org", "protection": "consent"})
    assert answer.headers["location"] == location and not (tmp_path / "data" / "outbox").exists()
    # A mistake on the changed form keeps the link to the plan it changes.
    wrong = submit(client, "/plan", data={"csrf": csrf(client), **typed, "weeks": "40", "changes": changes})
    assert f'name="changes" value="{changes}"' in wrong.text and 'value="Jane Doh"' in wrong.text


def test_the_menu_marks_the_current_page(client: TestClient) -> None:
    def marked(html: str) -> list[tuple[str, str]]:
        return re.findall(r'<a href="(/[a-z]*)" aria-current="([a-z]+)">', html)

    assert marked(client.get("/plan").text) == [("/plan", "page")]
    assert marked(client.get("/lists").text) == [("/lists", "page")]
    assert marked(client.get("/").text) == []
    location = make_plan(client)
    assert marked(client.get(location).text) == [("/plan", "true")]  # a plan's preview is under "New plan"
    assert marked(submit(client, "/leaflet", data={"csrf": csrf(client), "paper": "a3"}).text) == [("/leaflet", "true")]


def test_the_leaflet_page_downloads_and_opens_to_print_in_each_layout(client: TestClient) -> None:
    token = csrf(client, "/leaflet")
    response = client.post("/leaflet", data={"csrf": token, "paper": "letter", "language": "es", "layout": "trifold", "action": "print"})
    assert response.headers["content-disposition"] == 'inline; filename="leaflet.pdf"'
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 2 and float(reader.pages[0].mediabox.width) == 792
    refused = submit(client, "/leaflet", data={"csrf": token, "layout": "trifold", "large_print": "on"})
    assert refused.status_code == 422 and field_errors(refused.text) == {"large_print": "Large print does not fit a tri-fold's panels: choose Pages for large print"}
    assert 'value="trifold" checked' in refused.text and 'name="large_print" checked' in refused.text  # what was chosen is kept
    bad_url = submit(client, "/leaflet", data={"csrf": token, "qr_url": "javascript:alert(1)", "language": "xx", "paper": "a3"})
    assert bad_url.status_code == 422 and set(field_errors(bad_url.text)) == {"qr_url", "language", "paper"}
    assert field_errors(bad_url.text)["qr_url"].startswith("QR address") and 'value="javascript:alert(1)"' in bad_url.text
    assert 'aria-describedby="language-error" aria-invalid="true"' in bad_url.text and 'aria-describedby="paper-error" aria-invalid="true"' in bad_url.text
    assert "--" not in " ".join(field_errors(bad_url.text).values())  # the page's words, not the command line's


def test_a_tampered_plan_form_language_is_an_error_by_its_field(client: TestClient) -> None:
    response = submit(client, "/plan", data={"csrf": csrf(client), "patient": "Jane Doe", "language": "xx"})
    assert response.status_code == 422 and "language" in field_errors(response.text)
    assert 'aria-describedby="language-error" aria-invalid="true"' in response.text


def test_new_passwords_read_out_easily_over_the_phone_and_are_as_strong_as_before() -> None:
    from handout.checks import password_problem
    from handout.web.sending import password_bits

    passwords = {new_password() for _ in range(300)}
    assert len(passwords) == 300
    for password in passwords:
        assert password_problem(password) is None and re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}", password), password
        assert password == password.lower() and not set(password) & set("0Oo1lIi")  # one case, no look-alikes
    # The old passwords: 12 of 57 mixed-case letters and digits without 0/O/1/l/I, with a digit: 69.7 bits.
    before = password_bits("".join(c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" if c not in "0O1lI"), 12)
    assert round(before, 1) == 69.7 and password_bits() >= before and round(password_bits(), 1) == 74.3


def test_serve_refuses_other_computers_without_a_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANDOUT_WEB_PASSWORD", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "HANDOUT_WEB_PASSWORD" in result.stderr and "Traceback" not in result.output


def test_serve_says_in_one_line_when_its_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--port", str(port), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"handout: error: port {port} is already in use (another handout serve?): choose another with --port"


def test_the_clinic_page_shows_the_brand_and_the_pre_flight_report(client: TestClient, tmp_path: Path) -> None:
    page = client.get("/clinic")
    assert page.status_code == 200
    assert "Example Physiotherapy Clinic" in page.text and "#1D5C7A, contrast 7.3:1 on white paper" in page.text
    assert "Checking Example Physiotherapy Clinic (the built-in example brand)" in page.text and "site-packages" not in page.text
    assert page.text.count("<td>Pass</td>") == 23 and "Everything passes." in page.text
    logo = client.get("/clinic/logo")
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/svg+xml"


def test_the_clinic_page_reports_a_failing_check_with_its_fix(tmp_path: Path, clock: Clock) -> None:
    brand = tmp_path / "brand"
    assert CliRunner().invoke(cli, ["init-brand", str(brand)]).exit_code == 0
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}{% block title %}<title>{{ article.title }}</title>'
        "<p>Notwithstanding comprehensive physiotherapeutic considerations, interdisciplinary musculoskeletal rehabilitation necessitates individualised, evidence-based prescriptive methodologies.</p>{% endblock %}",
        encoding="utf-8",
    )
    clinic = Clinic(brand, [templates])
    desk = FrontDesk(clinic, tmp_path / "data", today=lambda: TODAY, store=ExpiringStore(clock=clock), lists=PatientLists(clinic, tmp_path / "data", workers=1))
    with TestClient(create_app(clinic, tmp_path / "data", desk=desk), base_url=BASE) as other:
        page = other.get("/clinic")
    assert page.status_code == 200
    assert "<td>Fail</td>" in page.text and "Something needs fixing" in page.text and "<h2>To fix</h2>" in page.text


def test_the_clinic_page_lists_every_failure_and_warning_each_with_its_fix_as_check_does(tmp_path: Path, clock: Clock) -> None:
    from PIL import Image

    from handout.preflight import run_checks

    from conftest import set_brand_value

    brand = tmp_path / "brand"
    assert CliRunner().invoke(cli, ["init-brand", str(brand)]).exit_code == 0
    templates = tmp_path / "templates"  # a failure: a sentence too hard to read
    templates.mkdir()
    (templates / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}{% block title %}<title>{{ article.title }}</title>'
        "<p>Notwithstanding comprehensive physiotherapeutic considerations, interdisciplinary musculoskeletal rehabilitation necessitates individualised, evidence-based prescriptive methodologies.</p>{% endblock %}",
        encoding="utf-8",
    )
    set_brand_value(brand, "resources_url", '"https://example-physio.org/patients/back-care/walking/resources/leaflet-2026/index.html?from=qr&campaign=spring-2027&v=2"')
    Image.new("RGB", (2000, 100), "navy").save(brand / "logo.png")  # and two warnings: a long QR address, a thin logo
    set_brand_value(brand, "logo", '"logo.png"')
    clinic = Clinic(brand, [templates])
    desk = FrontDesk(clinic, tmp_path / "data", today=lambda: TODAY, store=ExpiringStore(clock=clock), lists=PatientLists(clinic, tmp_path / "data", workers=1))
    with TestClient(create_app(clinic, tmp_path / "data", desk=desk), base_url=BASE) as other:
        page = unescape(other.get("/clinic").text)
    report = run_checks(brand, [templates], "en")
    assert report.warnings == 2 and not report.passed
    assert page.count("<td>Warning</td>") == 2 and "<td>Fail</td>" in page
    fixes = page.split("<h2>To fix</h2>")[1]
    assert [unescape(f) for f in re.findall(r"<li>(.*?)</li>", fixes)] == list(report.fixes)
    assert any("shorter resources_url" in f for f in report.fixes) and any("less elongated" in f for f in report.fixes)


def test_warnings_alone_are_listed_with_their_fixes_too(tmp_path: Path, clock: Clock) -> None:
    from PIL import Image

    from conftest import set_brand_value

    brand = tmp_path / "brand"
    assert CliRunner().invoke(cli, ["init-brand", str(brand)]).exit_code == 0
    Image.new("RGB", (2000, 100), "navy").save(brand / "logo.png")
    set_brand_value(brand, "logo", '"logo.png"')
    clinic = Clinic(brand, [])
    desk = FrontDesk(clinic, tmp_path / "data", today=lambda: TODAY, store=ExpiringStore(clock=clock), lists=PatientLists(clinic, tmp_path / "data", workers=1))
    with TestClient(create_app(clinic, tmp_path / "data", desk=desk), base_url=BASE) as other:
        page = unescape(other.get("/clinic").text)
    assert "<td>Fail</td>" not in page and "Everything passes, but one thing prints worse than it could" in page
    assert "<h2>To fix</h2>" in page and "less elongated version of the logo" in page.split("<h2>To fix</h2>")[1]


def test_a_brand_overrides_the_pages_templates_which_run_sandboxed(tmp_path: Path, clock: Clock) -> None:
    templates = tmp_path / "templates"
    (templates / "web").mkdir(parents=True)
    (templates / "web" / "home.html.j2").write_text(
        '{% extends "builtin/web/home.html.j2" %}{% block main %}<h1>Welcome to the Harbour Street desk</h1>{{ super() }}{% endblock %}', encoding="utf-8"
    )
    (templates / "web" / "clinic.html.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")
    desk = front_desk(tmp_path / "data", clock, templates=(templates,))
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE) as client:
        home = client.get("/")
        assert home.status_code == 200 and "Welcome to the Harbour Street desk" in home.text and "Print the walking leaflet" in home.text
        escape = client.get("/clinic")
    assert escape.status_code == 422 and "clinic.html.j2, line 1: not allowed: access to attribute &#39;__class__&#39;" in escape.text
    assert "&lt;class" not in escape.text  # nothing of Python's insides reached the page


def test_the_plan_pages_qr_address_is_checked_by_the_same_rule_and_printed_as_a_scannable_code(client: TestClient) -> None:
    bad = submit(client, "/plan", data={"csrf": csrf(client), "patient": "Jane Doe", "qr_url": "ftp://x"})
    assert field_errors(bad.text)["qr_url"].startswith("QR address: the QR URL must start with https:// or http://")
    location = make_plan(client, qr_url="https://example.org/walk")
    pdf = client.post(f"{location}/pdf", data={"csrf": csrf(client), "action": "download"}).content
    from helpers import decode_qr_codes

    assert "https://example.org/walk" in decode_qr_codes(pdf)


# -- the request log ---------------------------------------------------------------


def test_the_request_log_names_routes_never_tokens_names_or_queries(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="handout.web.access")
    location = make_plan(client)
    client.get(location + "?patient=Jane+Doe")
    client.get("/Jane-Doe")
    lines = [record.getMessage() for record in caplog.records if record.name == "handout.web.access"]
    assert "POST /plan 303" in lines and "GET /plans/{token} 200" in lines and "GET (no such page) 404" in lines
    token = location.rsplit("/", 1)[1]
    assert not any("Jane" in line or token in line or "?" in line for line in lines)


# -- sign-in (HANDOUT_WEB_PASSWORD) --------------------------------------------------

PASSWORD = "Front-desk 2026"


@pytest.fixture
def guarded(tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    desk = front_desk(tmp_path / "data", clock, password=PASSWORD)
    with TestClient(create_app(desk.clinic, desk.data_dir, allowed_hosts=(), desk=desk), base_url="http://clinic-pc.example:8400", follow_redirects=False) as test_client:
        yield test_client


def test_with_a_password_every_page_waits_for_sign_in(guarded: TestClient) -> None:
    for path in ("/", "/plan", "/lists", "/clinic", "/clinic/logo", "/plans/abc", "/no-such-page"):
        response = guarded.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/sign-in" + (f"?next={path}" if path != "/" else "")), path
        assert response.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert guarded.post("/plan", data={"patient": "Jane Doe"}).headers["location"].startswith("/sign-in?next=/forms/")  # kept for after sign-in
    assert guarded.post("/sign-out", data={}).headers["location"] == "/sign-in"
    assert guarded.get("/static/handout.css").status_code == 200  # the sign-in page's look
    page = guarded.get("/sign-in")
    assert page.status_code == 200 and '<label for="password">Password</label>' in page.text
    assert 'autocomplete="current-password"' in page.text and 'href="/plan"' not in page.text  # no menu to pages it cannot open


@pytest.mark.parametrize(
    ("asked", "lands"),
    [("/plan", "/plan"), ("/lists", "/lists"), ("//evil.example/plan", "/"), ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("javascript:alert(1)", "/"), ("/sign-in", "/")],
)
def test_after_sign_in_back_to_the_page_asked_for_but_only_on_this_site(guarded: TestClient, asked: str, lands: str) -> None:
    if asked in ("/plan", "/lists"):
        assert guarded.get(asked).headers["location"] == f"/sign-in?next={asked}"
    form = guarded.get("/sign-in", params={"next": asked}).text
    assert (f'name="next" value="{asked}"' in form) == (lands != "/")  # only a local path is carried
    wrong = guarded.post("/sign-in", data={"csrf": csrf(guarded, "/sign-in"), "password": "not it at all", "next": asked})
    assert wrong.status_code == 303 and wrong.headers["location"] == "/sign-in?wrong=1" + (f"&next={lands}" if lands != "/" else "")
    right = guarded.post("/sign-in", data={"csrf": csrf(guarded, "/sign-in"), "password": PASSWORD, "next": asked})
    assert (right.status_code, right.headers["location"]) == (303, lands)


def test_a_form_posted_after_the_sign_in_ended_keeps_what_was_typed_for_after_signing_in(guarded: TestClient, clock: Clock) -> None:
    assert guarded.post("/sign-in", data={"csrf": csrf(guarded, "/sign-in"), "password": PASSWORD}).status_code == 303
    token = csrf(guarded, "/plan")
    clock.now += SIGNED_IN_SECONDS  # the sign-in ends while the form is being filled in
    posted = guarded.post("/plan", data={"csrf": token, "patient": "Jane Doe", "weeks": "7", "clinician": "Sam Lee"})
    location = posted.headers["location"]
    assert posted.status_code == 303 and re.fullmatch(r"/sign-in\?next=/forms/[A-Za-z0-9_-]{24}", location) and "Jane" not in location
    page = guarded.get(location).text
    back = re.search(r'name="next" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    another = TestClient(guarded.app, base_url="http://clinic-pc.example:8400", follow_redirects=False)  # another browser, signed in
    assert another.post("/sign-in", data={"csrf": csrf(another, "/sign-in"), "password": PASSWORD, "next": back}).headers["location"] == back
    assert another.get(back).status_code == 404  # what was typed is only for the browser it was typed in
    signed = guarded.post("/sign-in", data={"csrf": csrf(guarded, "/sign-in"), "password": PASSWORD, "next": back})
    assert signed.headers["location"] == back
    form = guarded.get(back).text
    assert "Your sign-in had ended, so nothing was done." in form and 'value="Jane Doe"' in form and 'value="7"' in form and 'value="Sam Lee"' in form


def test_forms_kept_for_people_not_signed_in_are_bounded(guarded: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from handout.web import forms

    monkeypatch.setattr(forms, "MAX_KEPT_BEFORE_SIGN_IN", 3)
    answers = [guarded.post("/plan", data={"patient": "x" * 1000}).headers["location"] for _ in range(5)]
    assert [a.startswith("/sign-in?next=/forms/") for a in answers] == [True, True, True, False, False]
    assert answers[3:] == ["/sign-in", "/sign-in"]


def test_error_pages_have_the_sites_look_and_a_way_home(client: TestClient) -> None:
    for path in ("/no-such-page", "/forms/no-such-form", "/plans/no-such-plan"):
        page = client.get(path)
        assert page.status_code == 404 and '<link rel="stylesheet" href="/static/handout.css">' in page.text, path
        assert '<a href="/">Back to the front desk</a>' in page.text and '<nav aria-label="Main">' in page.text


def test_signing_in_replaces_the_session_and_signing_out_ends_it(guarded: TestClient) -> None:
    token = csrf(guarded, "/sign-in")
    before = guarded.cookies["handout_session"]
    wrong = submit(guarded, "/sign-in", data={"csrf": token, "password": "front-desk 2026"})
    assert wrong.status_code == 422 and field_errors(wrong.text) == {"password": "Password is not right: type it again"}
    assert 'aria-describedby="password-error"' in wrong.text and PASSWORD not in wrong.text
    expired = guarded.post("/sign-in", data={"password": PASSWORD, "next": "/lists"})  # no CSRF token: nothing done, the form again
    assert (expired.status_code, expired.headers["location"]) == (303, "/sign-in?expired=1&next=/lists")
    assert "The sign-in form had expired: type the password again." in guarded.get(expired.headers["location"]).text
    assert guarded.get("/plan").headers["location"] == "/sign-in?next=/plan"  # (still not signed in)
    right = guarded.post("/sign-in", data={"csrf": token, "password": PASSWORD})
    assert (right.status_code, right.headers["location"]) == (303, "/")
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Secure" not in cookie  # plain HTTP: no Secure flag
    assert guarded.cookies["handout_session"] != before  # a session id known before sign-in is worth nothing after
    plan = guarded.get("/plan")
    assert plan.status_code == 200 and 'action="/sign-out"' in plan.text
    assert guarded.get("/sign-in").headers["location"] == "/"
    assert guarded.post("/sign-out", data={"csrf": csrf(guarded)}).headers["location"] == "/sign-in"
    assert guarded.get("/plan").headers["location"] == "/sign-in?next=/plan"


def test_wrong_guesses_queue_per_computer_and_never_hold_up_staff_at_another() -> None:
    import asyncio

    sessions = Sessions(PASSWORD, wrong_password_delay=0.2)
    finished: list[str] = []

    async def attempt(label: str, password: str, client: str) -> str | None:
        sid = await sessions.sign_in(password, client)
        finished.append(label)
        return sid

    async def scenario() -> list[str | None]:
        guesses = [asyncio.create_task(attempt(f"guess {n}", "wrong guess 1", "192.0.2.66")) for n in range(3)]
        await asyncio.sleep(0.05)  # the guesses are queued
        staff = asyncio.create_task(attempt("staff", PASSWORD, "192.0.2.10"))
        return list(await asyncio.gather(*guesses, staff))

    results = asyncio.run(scenario())
    assert finished[0] == "staff" and results[:3] == [None, None, None] and results[3] is not None
    assert finished[1:] == ["guess 0", "guess 1", "guess 2"]  # one at a time from the guessing computer


def test_guesses_from_many_computers_are_a_few_at_a_time_in_all(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from handout.web import sessions as web_sessions

    real_sleep, waiting, most = asyncio.sleep, 0, 0

    async def counted_sleep(seconds: float) -> None:
        nonlocal waiting, most
        waiting += 1
        most = max(most, waiting)
        await real_sleep(seconds)
        waiting -= 1

    monkeypatch.setattr(web_sessions.asyncio, "sleep", counted_sleep)
    sessions = Sessions(PASSWORD, wrong_password_delay=0.05)

    async def scenario() -> list[str | None]:
        return list(await asyncio.gather(*(sessions.sign_in("wrong guess 1", f"192.0.2.{n}") for n in range(12))))

    assert asyncio.run(scenario()) == [None] * 12
    assert most == web_sessions.MAX_PARALLEL_ATTEMPTS


def sign_in(client: TestClient) -> None:
    assert client.post("/sign-in", data={"csrf": csrf(client, "/sign-in"), "password": PASSWORD}).status_code == 303


def test_a_sign_in_lasts_a_working_day_in_use(guarded: TestClient, clock: Clock) -> None:
    sign_in(guarded)
    while clock.now + IDLE_SECONDS - 1 < SIGNED_IN_SECONDS:
        clock.now += IDLE_SECONDS - 1  # a page seen now and then keeps it
        assert guarded.get("/plan").status_code == 200, clock.now
    clock.now = SIGNED_IN_SECONDS
    assert guarded.get("/plan").headers["location"] == "/sign-in?next=/plan"


def test_a_sign_in_left_alone_for_half_an_hour_asks_for_the_password_again(guarded: TestClient, clock: Clock) -> None:
    sign_in(guarded)
    clock.now += IDLE_SECONDS - 1
    assert guarded.get("/plan").status_code == 200
    clock.now += IDLE_SECONDS - 1  # from the last page seen, not from sign-in
    assert guarded.get("/").status_code == 200
    clock.now += IDLE_SECONDS
    assert guarded.get("/plan").headers["location"] == "/sign-in?next=/plan"
    assert guarded.get("/").headers["location"] == "/sign-in"  # ended, not only asked again once


def test_behind_a_tls_proxy_the_session_cookie_is_secure(guarded: TestClient) -> None:
    cookie = guarded.get("/sign-in", headers={"x-forwarded-proto": "https"}).headers["set-cookie"]
    assert "HttpOnly" in cookie  # the test client speaks plain HTTP; the Secure flag follows the scheme the server sees
    secure = TestClient(guarded.app, base_url="https://clinic-pc.example", follow_redirects=False)
    assert "Secure" in secure.get("/sign-in").headers["set-cookie"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data-dir", "{file}"], "{file}: is a file, not a folder"),
        (["--data-dir", "{file}/data"], "{file}/data: cannot create the folder (Not a directory)"),
        (["--templates", "{missing}"], "{missing}: templates folder not found"),
        (["--brand", "{missing}"], "{missing}: brand folder not found"),
    ],
)
def test_serve_mistakes_are_one_line_before_anything_is_served(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "file").write_text("x")
    places = {"file": str(tmp_path / "file"), "missing": str(tmp_path / "missing")}
    result = CliRunner().invoke(cli, ["serve", "--port", "8498", *(a.format(**places) for a in args)])
    assert result.exit_code in (1, 2)
    assert result.stderr.strip().splitlines() == [f"handout: error: {message.format(**places)}"]
    assert "serving" not in result.stdout


def test_serve_with_a_lists_folder_it_cannot_use_is_one_line_before_serving(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "lists").write_text("not a folder")  # (as root, a folder without write permission is still writable)
    result = CliRunner().invoke(cli, ["serve", "--port", "8497", "--data-dir", str(data)])
    assert result.exit_code == 1 and result.stderr.strip() == f"handout: error: {data / 'lists'}: is a file, not a folder"
    assert "serving" not in result.stdout


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Front-desk!", "must be at least 12 characters long"),  # long enough for a PDF password, not for the sign-in
        ("password1234", "is a common password"),
        ("123qweasdzxc", "is a common password"),
        ("Password1234!", "is too easy to guess"),  # the usual "mix of kinds" does not make it hard
        ("qwertyuiopas", "is too easy to guess"),
        ("passwordpassword", "is too easy to guess"),
        ("physiotherapy", "is too easy to guess"),
        ("Reception2026!", "is too easy to guess"),
    ],
)
def test_serve_refuses_a_short_or_common_web_password(monkeypatch: pytest.MonkeyPatch, password: str, problem: str) -> None:
    monkeypatch.setenv("HANDOUT_WEB_PASSWORD", password)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"handout: error: HANDOUT_WEB_PASSWORD {problem}") and password not in lines[0]


@pytest.mark.parametrize("password", [PASSWORD, "correct horse battery", "Tulip lamp orbit 7", "ÜberLangesPasswort für die Praxis"])
def test_long_uncommon_web_passwords_are_taken_whatever_their_characters(password: str) -> None:
    from handout.web.password_rule import web_password_problem

    assert web_password_problem(password) is None


def test_serve_with_a_password_listens_beyond_this_computer_warns_about_tls_and_stops_cleanly(tmp_path: Path) -> None:
    from browser import free_port

    port = free_port()
    env = {**os.environ, "HANDOUT_WEB_PASSWORD": PASSWORD}
    process = subprocess.Popen(
        [sys.executable, "-m", "handout", "serve", "--host", "0.0.0.0", "--port", str(port), "--data-dir", str(tmp_path / "data")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, process.communicate()
                time.sleep(0.2)
        # Another host name is fine here: the password, not the Host header, keeps others out.
        request = urllib.request.Request(f"http://127.0.0.1:{port}/plan", headers={"Host": "clinic-pc.example"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.url.endswith("/sign-in?next=/plan")
    finally:
        process.send_signal(signal.SIGTERM)  # as a service manager stops it (Ctrl-C is the browser tests' way)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert f"front desk at http://{socket.gethostname()}:{port}/" in out and "handout stopped serving." in out
    assert "warning: other computers can reach this page" in err and "TLS" in err and "Traceback" not in err
    assert "GET (before sign-in) 303" in err and "GET /sign-in 200" in err  # the request log: method, route, status


# -- patient lists ---------------------------------------------------------------------

LIST = (
    "name,patient_id,email,consent_email,weeks\n"
    "Jane Doe,P1,jane@example.org,yes,2\n"
    "Ann Lee,P2,,,3\n"
    "Bob Stone,P3,not-an-address,yes,2\n"
    "Eve\u202eliam,P4,,,2\n"
    "Max Power,P5,,,30\n"
)


def upload(client: TestClient, text: str | bytes, status: int = 303, **fields: str) -> str:
    data = text.encode() if isinstance(text, str) else text
    response = client.post("/lists", data={"csrf": csrf(client, "/lists"), **fields}, files={"patients_csv": ("patients.csv", data, "text/csv")})
    assert response.status_code == status, response.text
    return str(response.headers.get("location", response.text))


def run_list(client: TestClient, location: str, delivery: str = "outbox") -> str:
    started = client.post(f"{location}/run", data={"csrf": csrf(client), "delivery": delivery})
    assert (started.status_code, started.headers["location"]) == (303, location), started.text
    assert wait_for_run(client, location) == "done", client.get(location).text
    return client.get(location).text


def wait_for_run(client: TestClient, location: str) -> str:
    """How the list's run ended."""
    deadline = time.monotonic() + 30
    while (state := client.get(f"{location}/progress").json()["state"]) == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return str(state)


def test_a_list_is_checked_row_by_row_before_anything_is_made(client: TestClient, desk: FrontDesk, tmp_path: Path) -> None:
    location = upload(client, LIST)
    assert re.fullmatch(r"/lists/[A-Za-z0-9_-]{24}", location)
    page = client.get(location)
    assert page.status_code == 200 and "Nothing has been made or sent yet." in page.text
    assert "2 rows are ready: 1 to email, 1 to print." in page.text and "3 rows have problems and will be skipped." in page.text
    rows = re.findall(r'<tr><th scope="row">(\d+)</th><td>([^<]*)</td><td>([^<]+)</td></tr>', page.text)
    assert rows == [
        ("4", "P3", "email is not a valid email address"),
        ("5", "P4", "name has the direction control U+202E, which can disguise text (type it again without it)"),
        ("6", "P5", "weeks must be a whole number from 1 to 26, not 30"),
    ]
    assert "Jane" not in page.text and "Eve" not in page.text  # rows are named by number and patient_id only
    assert not (tmp_path / "data" / "batch").exists() and not (tmp_path / "data" / "outbox").exists()  # nothing made, nothing journalled
    assert client.get(f"{location}/progress").json() == {"state": "checked", "done": 0, "total": 0}


def test_a_list_is_made_into_a_zip_of_plans_and_the_to_print_file_and_emails_go_to_the_outbox(client: TestClient, desk: FrontDesk, tmp_path: Path) -> None:
    location = upload(client, LIST, language="es")
    done = run_list(client, location)
    assert "Patient list done" in done and "Emails in the outbox" in done and "P1 (row 2)" in done
    # Saved, not sent: where, and how to send them from the clinic's mail program.
    assert "<strong>Saved, not sent yet.</strong> The 1 email is saved in the outbox folder" in done
    assert f'<code id="outbox-folder">{tmp_path / "data" / "outbox"}</code>' in done and "Resend This Message" in done
    # Rows skipped for a problem in the row are not called failed; a row to print says why it is not emailed.
    assert re.search(r'<th scope="row">Skipped: a problem in the row \(not made\)</th><td>3</td><td>P3 \(row 4\), P4 \(row 5\), P5 \(row 6\)</td>', done)
    assert re.search(r'<th scope="row">To print: no email address</th><td>1</td><td>P2 \(row 3\)</td>', done)
    assert re.search(r'<th scope="row">Failed</th><td>0</td>', done)
    download = client.post(f"{location}/zip", data={"csrf": csrf(client)})
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"] == 'attachment; filename="walking-plans.zip"'
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert sorted(archive.namelist()) == ["plans/P1.pdf", "plans/P2.pdf", "report.txt", "to-print-list.pdf", "to-print.pdf", "to-print.txt"]
    # The sheet that goes with the printed plans: who is in them and where, to tick at hand-over; a tagged PDF like the rest.
    sheet = archive.read("to-print-list.pdf")
    assert "Plans to print" in all_text(sheet) and "Ann Lee" in all_text(sheet) and "Jane Doe" not in all_text(sheet)
    assert re.search(r"Row patient_id Name Pages Handed over 3 P2 Ann Lee 1-\d+", all_text(sheet))
    from pdf_structure import check_structure

    assert check_structure(sheet).problems == []
    assert "Jane Doe" in all_text(archive.read("plans/P1.pdf")) and "Semana" in all_text(archive.read("plans/P1.pdf"))  # the list's default language
    assert "Ann Lee" in all_text(archive.read("to-print.pdf"))
    assert archive.read("to-print.txt").decode().splitlines()[1].startswith("P2\t3\t")
    report = archive.read("report.txt").decode()
    assert "Emails in the outbox: 1 (P1 (row 2))" in report and "P3 (row 4): email is not a valid email address" in report
    assert not any(name in report for name in ("Jane", "Ann", "Bob"))
    (message,) = (tmp_path / "data" / "outbox").glob("P1-*.eml")
    assert "jane@example.org" in message.read_text(encoding="utf-8")
    # The plans live only in the list's ZIP: the batch folder keeps nothing; the journal is the data folder's, shared with `handout batch`.
    assert sorted(p.name for p in (tmp_path / "data" / "batch").iterdir()) == [".handout-batch.lock"]
    assert (tmp_path / "data" / "handout-journal.sqlite").is_file() and (tmp_path / "data" / "handout-journal.key").is_file()
    job = held_list(desk, client, location)
    assert job is not None and sorted(p.name for p in job.folder.iterdir()) == ["walking-plans.zip"]  # the uploaded CSV is gone too


def test_a_lists_results_say_why_a_row_is_to_print_and_which_rows_were_never_tried(client: TestClient) -> None:
    from handout.batch import BatchResult
    from handout.delivery import NOT_TRIED
    from handout.web.list_results import in_page_words, outcomes

    page = run_list(client, upload(client, "name,patient_id,email,consent_email\nJane Doe,P1,jane@example.org,no\nAnn Lee,P2,,\n"))
    assert '<th scope="row">To print: an email address but no consent to unencrypted email (consent_email)</th><td>1</td><td>P1 (row 2)</td>' in page
    assert '<th scope="row">To print: no email address</th><td>1</td><td>P2 (row 3)</td>' in page
    # The mail server stopped answering at row 2: rows 3 and 4 were never tried, and the page says so (not "Failed 3").
    stopped = f"{NOT_TRIED}P1 (row 2); run the batch again to send it"
    result = BatchResult(failed=[(2, "not sent: the server closed the connection"), (3, stopped), (4, stopped)], patient_ids={2: "P1", 3: "P2", 4: "P3"})
    lines = {line.what: (line.count, line.rows) for line in outcomes(result, True)}
    assert lines["Failed"] == (1, "P1 (row 2)")
    assert lines["Not tried: the mail server had stopped answering (send the list again for them; nobody is emailed twice)"] == (2, "P2 (row 3), P3 (row 4)")
    assert in_page_words(stopped) == (
        "not tried: the mail server had stopped answering at P1 (row 2); upload the list again and make its plans to send it (nobody is emailed twice)"
    )


def test_the_same_list_run_twice_emails_nobody_twice(client: TestClient, mail_server: SmtpServer) -> None:
    text = "name,patient_id,email,consent_email\nJane Doe,P1,jane@example.org,yes\nAnn Lee,P2,ann@example.org,yes\n"
    first = upload(client, text)
    assert 'id="delivery-send"' in client.get(first).text
    assert "Emailed</th><td>2</td>" in run_list(client, first, "send")
    second = upload(client, text)  # uploaded again, as a receptionist would the next day
    page = run_list(client, second, "send")
    assert "Emailed</th><td>0</td>" in page and "Already sent (skipped)</th><td>2</td><td>P1 (row 2), P2 (row 3)</td>" in page
    assert sorted(envelope[0] for envelope in mail_server.recorder.envelopes) == ["ann@example.org", "jane@example.org"]


def test_bad_mail_settings_are_shown_before_anything_is_made(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOUT_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("HANDOUT_SMTP_SECURITY", "carrier-pigeon")
    location = upload(client, LIST)
    response = submit(client, f"{location}/run", data={"csrf": csrf(client), "delivery": "send"})
    assert response.status_code == 422 and "HANDOUT_SMTP_SECURITY must be starttls, ssl or none" in response.text
    assert 'role="alert"' in response.text and "Nothing has been made or sent yet." in response.text
    assert not (tmp_path / "data" / "batch").exists()


@pytest.mark.parametrize(
    ("data", "fields", "field", "message"),
    [
        (b"", {}, "patients_csv", "Patient list: the file is empty"),
        (b"name,email\r\n,\r\n", {}, "patients_csv", "Patient list: the file has a header row but no patients under it"),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)), {"encoding": "cp1252"}, "patients_csv", "Patient list: is an Excel workbook (.xlsx) or another zipped document, not a CSV file; save or export the list as 'CSV UTF-8'"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), {}, "patients_csv", "Patient list: is an Excel 97-2003 workbook (.xls), not a CSV file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", {}, "patients_csv", "Patient list: is a PDF, not a CSV file"),
        (b"patient,email\nJane,j@example.org\n", {}, "patients_csv", "Patient list: the first row has no 'name' column (2 columns, separated by commas)"),
        (b'name\n"Jane Doe\n', {}, "patients_csv", "Patient list: row 2 opens a quote"),
        ("name\nJiří Dvořák\n".encode("cp1250"), {}, "patients_csv", "Patient list: not UTF-8, and handout cannot tell for sure which encoding it is; re-save it as 'CSV UTF-8' or type its name under Text encoding (for example cp1252)"),
        (b"name\nJane Doe\n", {"encoding": "base64"}, "encoding", "Text encoding: 'base64' is not a text encoding handout knows"),
        (b"name\nJane Doe\n", {"encoding": "undefined"}, "encoding", "Text encoding: 'undefined' is not a text encoding handout knows"),
        (b"name\nJane Doe\n", {"encoding": "utf\x00-8"}, "encoding", "Text encoding: 'utf\\x00-8' is not a text encoding handout knows"),
        (b"name,email,Email\nJane Doe,a@example.org,b@example.org\n", {}, "patients_csv", "Patient list: the column 'email' is there twice (columns 2 and 3)"),
        (b"name\nJane Doe\n", {"language": "xx"}, "language", "Language"),
        (b"name\nJane Doe\n", {"encrypt": "on"}, "patients_csv", "Patient list: no 'pdf_password' column; locking each PDF needs a password for every row"),
        (b"name\n" + b"Jane Doe\n" * 5_001, {}, "patients_csv", "Patient list has 5,001 rows; the page makes at most 5,000 at a time"),
        (b"name\n" + b"x" * (2 * 1024 * 1024), {}, "patients_csv", "Patient list is larger than 2 MB: split it into shorter lists, or use handout batch"),
        (b"name\n" + b"x" * (3 * 1024 * 1024), {}, "patients_csv", "Patient list is larger than 2 MB: split it into shorter lists, or use handout batch"),
    ],
)
def test_a_list_that_cannot_be_read_is_a_clear_message_by_its_field(
    client: TestClient, tmp_path: Path, data: bytes, fields: dict[str, str], field: str, message: str
) -> None:
    response = submit(client, "/lists", data={"csrf": csrf(client, "/lists"), "large_print": "on", **fields}, files={"patients_csv": ("patients.csv", data, "text/csv")})
    assert response.status_code == 422
    assert field_errors(response.text)[field].startswith(message), field_errors(response.text)
    assert 'role="alert"' in response.text and str(tmp_path) not in response.text and "/tmp/" not in response.text
    if len(data) < 3 * 1024 * 1024:  # (a body over the limit is not read, so there is nothing to keep)
        assert 'id="large_print" name="large_print" checked' in response.text  # what was chosen is kept


def test_an_export_with_thousands_of_other_columns_still_shows_its_report(client: TestClient) -> None:
    header = "name," + ",".join(f"extra_column_{i}" + "x" * 60 * (i == 0) for i in range(60_000))
    location = upload(client, header + "\nJane Doe" + "," * 60_000 + "\n")
    page = client.get(location)
    assert page.status_code == 200 and "1 row is ready" in page.text
    assert "Columns handout does not use (ignored): extra_column_0xxxxxxxxxxxxxxxxxxxxxxxxx…, extra_column_1," in page.text
    assert "and 59,988 more." in page.text and len(page.text) < 20_000


SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "cache-control")


@pytest.mark.parametrize(
    ("path", "size", "chunked"),
    [("/plan", 100 * 1024, False), ("/plan", 100 * 1024, True), ("/sign-in", 100 * 1024, False), ("/lists", 33 * 1024 * 1024, False), ("/lists", 33 * 1024 * 1024, True), ("/plans/x/email", 100 * 1024, False)],
)
def test_a_body_over_its_limit_gets_the_too_large_page_naming_that_forms_limit(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str, size: int, chunked: bool
) -> None:
    body = b"csrf=x&patient=" + b"J" * size

    def pieces() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    content: Any = pieces() if chunked else body
    response = client.post(path, content=content, headers={"content-type": "application/x-www-form-urlencoded"})
    limit = {
        "/plan": "The plan form takes at most 64 KB",
        "/sign-in": "The sign-in form takes at most 64 KB",
        "/lists": "The patient list form takes at most 2 MB",
        "/plans/x/email": "The email form takes at most 64 KB",
    }[path]
    assert response.status_code == 413 and "<h1>Too much was sent</h1>" in response.text and limit in response.text
    assert "href='/static/handout.css'" in response.text and "<a href='/'>Back to the front desk</a>" in response.text
    assert all(header in response.headers for header in SECURITY_HEADERS)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--x--\r\n"),  # no boundary given
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"patients_csv\"; filename=\"a.csv\"\r\n\r\nname\r\n"
         b"--x\r\nContent-Disposition: form-data; name=\"patients_csv\"; filename=\"b.csv\"\r\n\r\nname\r\n--x--\r\n"),  # two files
    ],
)
def test_a_malformed_upload_is_a_message_by_the_file_field(client: TestClient, content_type: str, body: bytes) -> None:
    csrf(client, "/lists")
    response = submit(client, "/lists", content=body, headers={"content-type": content_type})
    assert response.status_code == 422
    assert field_errors(response.text) == {"patients_csv": "Patient list could not be read from the form: choose the file again"}


def test_a_list_upload_needs_a_file_and_the_csrf_token(client: TestClient) -> None:
    response = submit(client, "/lists", data={"csrf": csrf(client, "/lists")})
    assert response.status_code == 422 and field_errors(response.text)["patients_csv"] == "Patient list: choose the CSV file your practice system exported"
    assert 'aria-describedby="patients_csv-hint patients_csv-error"' in response.text
    expired = submit(client, "/lists", data={"encoding": "cp1252"}, files={"patients_csv": ("p.csv", b"name\nJane\n", "text/csv")})
    assert "This form had expired" in expired.text and "Choose the file again" in expired.text and 'value="cp1252"' in expired.text
    location = upload(client, LIST)
    assert "This form had expired" in submit(client, f"{location}/run", data={"delivery": "outbox"}).text
    assert client.get(f"{location}/progress").json()["state"] == "checked"  # nothing was made
    assert client.post(f"{location}/zip", data={}).status_code == 403


@pytest.fixture
def held_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """A list's run waits until the event is set, so a test can look at a list while it is being made."""
    from handout.web import lists

    release = threading.Event()
    real_run = lists.run_batch

    def held_back(*args: Any) -> Any:
        assert release.wait(20)
        return real_run(*args)

    monkeypatch.setattr(lists, "run_batch", held_back)
    yield release
    release.set()


def test_one_list_is_made_at_a_time_and_its_progress_shows_without_script(client: TestClient, held_run: threading.Event) -> None:
    release = held_run
    location = upload(client, LIST)
    client.post(f"{location}/run", data={"csrf": csrf(client), "delivery": "outbox"})
    try:
        page = client.get(location)
        assert "<h1>Making the plans</h1>" in page.text and '<progress id="progress-bar" max="2" value="0">' in page.text
        assert '<label for="progress-bar">Plans made</label>' in page.text and f'<a href="{location}" class="button">Check progress</a>' in page.text
        assert '<script src="/static/progress.js" defer></script>' in page.text and 'http-equiv="refresh"' not in page.text
        assert client.get(f"{location}/progress").json() == {"state": "running", "done": 0, "total": 2}
        assert client.post(f"{location}/run", data={"csrf": csrf(client), "delivery": "outbox"}).status_code == 303  # a second click does nothing
        other = upload(client, LIST)
        busy = submit(client, f"{other}/run", data={"csrf": csrf(client), "delivery": "outbox"})
        assert busy.status_code == 422 and "another patient list is being made; wait for it to finish, then make this one" in busy.text
    finally:
        release.set()
    wait_for_run(client, location)
    assert client.get(f"{location}/progress").json() == {"state": "done", "done": 2, "total": 2}
    assert "Patient list done" in run_list(client, other)  # the next list, once the first is made


def test_a_plan_emailed_while_a_list_writes_to_the_outbox_is_told_to_wait_in_the_pages_words(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handout.web import lists

    release, started = threading.Event(), threading.Event()
    real_start = lists.ListProgress.start

    def held_start(self: lists.ListProgress, total: int) -> None:  # the batch holds the outbox's lock by now
        started.set()
        assert release.wait(20)
        real_start(self, total)

    monkeypatch.setattr(lists.ListProgress, "start", held_start)
    location = upload(client, LIST)
    client.post(f"{location}/run", data={"csrf": csrf(client), "delivery": "outbox"})
    plan = make_plan(client)
    try:
        assert started.wait(20)
        busy = submit(client, f"{plan}/email", data={"csrf": csrf(client), "email": "jane@example.org", "protection": "consent"})
        assert "<h1>The plan was not emailed</h1>" in busy.text
        assert "A patient list is being written to the outbox just now: email this plan when the list has finished" in busy.text
        assert str(tmp_path) not in busy.text and "--outbox" not in busy.text
    finally:
        release.set()
    wait_for_run(client, location)
    after = re.search(r'name="after" value="(\d+)"', busy.text).group(1)  # type: ignore[union-attr]
    sent = submit(client, f"{plan}/email", data={"csrf": csrf(client), "after": after, "same": "yes"})  # "Try again"
    assert "<h1>Saved, not sent yet</h1>" in sent.text and "Before this" in sent.text


def test_a_list_made_while_another_run_holds_the_data_folder_is_told_so_in_the_pages_words(client: TestClient, desk: FrontDesk, tmp_path: Path) -> None:
    from handout.runcontrol import folder_lock

    location = upload(client, LIST)
    batch = desk.data_dir / "batch"
    batch.mkdir(parents=True, exist_ok=True)
    with folder_lock(batch, "held by this test, as a handout batch on the same folder would"):
        client.post(f"{location}/run", data={"csrf": csrf(client), "delivery": "outbox"})
        assert wait_for_run(client, location) == "failed"
    page = client.get(location).text
    assert "Another handout run (a handout batch, or another handout serve on this data folder) is using the data folder just now" in page
    assert str(tmp_path) not in page and "--out-dir" not in page and "--outbox" not in page


def test_a_brands_broken_to_print_sheet_leaves_the_plans_made_and_says_so(tmp_path: Path, clock: Clock) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "to-print.xml.j2").write_text("<document>{{ entries.__class__ }}</document>", encoding="utf-8")  # fails as it runs, past the checks
    desk = front_desk(tmp_path / "data", clock, templates=(templates,))
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as client:
        location = upload(client, LIST)
        page = run_list(client, location)
        assert "Patient list done" in page and "to-print-list.pdf was not made" in page
        archive = zipfile.ZipFile(io.BytesIO(client.post(f"{location}/zip", data={"csrf": csrf(client)}).content))
        assert "to-print.pdf" in archive.namelist() and "to-print-list.pdf" not in archive.namelist()


def test_a_list_stopped_mid_run_keeps_nothing_and_says_how_to_finish(client: TestClient, desk: FrontDesk, tmp_path: Path) -> None:
    location = upload(client, LIST)
    job = held_list(desk, client, location)
    assert job is not None
    job.stop_asked = True  # as when the server is stopped: the run ends after the plan in hand
    client.post(f"{location}/run", data={"csrf": csrf(client), "delivery": "outbox"})
    assert wait_for_run(client, location) == "stopped"
    page = client.get(location).text
    assert "<h1>Patient list stopped</h1>" in page and "upload the list again" in page
    assert not list((tmp_path / "data" / "batch").glob("*.pdf"))
    assert client.post(f"{location}/zip", data={"csrf": csrf(client)}).status_code == 404


def test_a_held_list_and_its_folder_go_after_30_minutes_and_at_shutdown(desk: FrontDesk, clock: Clock) -> None:
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as client:
        location = upload(client, LIST)
        job = held_list(desk, client, location)
        assert job is not None and (job.folder / "patients.csv").is_file()
        assert oct(job.folder.stat().st_mode & 0o777) == "0o700"
        clock.now += 31 * 60
        gone = client.get(location)
        assert gone.status_code == 404 and "lists are kept for 30 minutes" in gone.text
        assert not job.folder.exists()
        kept = upload(client, LIST)
        kept_job = held_list(desk, client, kept)
        assert kept_job is not None
    assert not kept_job.folder.exists()  # the server stopped


def test_a_list_being_made_is_not_stopped_by_its_30_minutes(client: TestClient, desk: FrontDesk, clock: Clock, held_run: threading.Event) -> None:
    release = held_run
    location = upload(client, LIST)
    clock.now += 29 * 60  # the row report read for 29 minutes before "Make the plans"
    assert client.post(f"{location}/run", data={"csrf": csrf(client), "delivery": "outbox"}).status_code == 303
    clock.now += 5 * 60  # 34 minutes after the upload, still being made
    assert client.get(f"{location}/progress").json()["state"] == "running"
    desk.lists.held.expire()
    release.set()
    assert wait_for_run(client, location) == "done"
    job = held_list(desk, client, location)
    assert job is not None and job.zip_path.is_file() and job.result is not None and len(job.result.rendered) == 2
    clock.now += 29 * 60  # the ZIP is kept 30 minutes from when the plans were made
    assert client.get(location).status_code == 200
    clock.now += 2 * 60
    assert client.get(location).status_code == 404 and not job.folder.exists()


def test_an_idle_server_forgets_expired_plans_and_lists_without_a_visit(desk: FrontDesk, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    import handout.web.app as app_module

    monkeypatch.setattr(app_module, "EXPIRY_CHECK_SECONDS", 0.02)
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as client:
        location = upload(client, LIST)
        make_plan(client)
        job = held_list(desk, client, location)
        assert job is not None and job.folder.exists()
        clock.now += 31 * 60
        deadline = time.monotonic() + 5
        while job.folder.exists() or desk.plans._held:
            assert time.monotonic() < deadline, "expired patient data was kept until the next visit"
            time.sleep(0.02)


def test_lists_a_killed_server_left_go_at_the_next_start_but_never_another_running_servers(desk: FrontDesk, clock: Clock) -> None:
    left = desk.data_dir / "lists" / "server-killed" / "list-x"
    older = desk.data_dir / "lists" / "list-from-the-version-before"
    unnamed = desk.data_dir / "lists" / "new-killed-while-starting"
    for folder in (left, older, unnamed):
        folder.mkdir(parents=True)
        (folder / "patients.csv").write_text("name\nJane Doe\n", encoding="utf-8")
    os.utime(unnamed, (time.time() - 120, time.time() - 120))
    other = front_desk(desk.data_dir, clock)  # a second server on the same data folder (another port)
    a = TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False).__enter__()
    b = TestClient(create_app(other.clinic, other.data_dir, desk=other), base_url=BASE, follow_redirects=False).__enter__()
    try:
        assert not left.parent.exists() and not older.exists() and not unnamed.exists()  # no server held them: killed
        first = held_list(desk, a, upload(a, LIST))
        location = upload(b, LIST)
        second = held_list(other, b, location)
        assert first is not None and second is not None and first.folder.exists()
        a.__exit__(None, None, None)  # the first server stops: its lists go with it, the second's stay
        assert not first.folder.exists() and second.folder.exists()
        restarted = front_desk(desk.data_dir, clock)
        with TestClient(create_app(restarted.clinic, restarted.data_dir, desk=restarted), base_url=BASE):
            assert (second.folder / "patients.csv").is_file()  # it starts again while the second still runs
        assert "Patient list checked" in b.get(location).text
    finally:
        b.__exit__(None, None, None)
    assert not second.folder.exists()
    assert sorted(p.name for p in (desk.data_dir / "lists").iterdir()) == []  # every server cleaned up after itself


def test_the_clinics_colour_is_used_on_the_page_when_it_is_dark_enough(client: TestClient) -> None:
    css = client.get("/clinic/colours.css")
    assert css.headers["content-type"].startswith("text/css") and css.text == ":root { --primary: #1D5C7A; }\n"
    assert '<link rel="stylesheet" href="/clinic/colours.css">' in client.get("/").text


def test_a_bug_is_a_plain_page_with_the_usual_headers_and_only_its_type_in_the_log(
    client: TestClient, desk: FrontDesk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise KeyError("Jane Doe")

    monkeypatch.setattr(desk.plans, "put", broken)  # a bug in the server itself (a render worker's bug: test_web_workers.py)
    response = client.post("/plan", data={"csrf": csrf(client), "patient": "Jane Doe"})
    assert response.status_code == 500 and "<h1>Something went wrong</h1>" in response.text and "Jane" not in response.text
    assert "href='/static/handout.css'" in response.text and "<a href='/'>Back to the front desk</a>" in response.text  # the site's look, a way home
    assert response.headers["cache-control"] == "no-store" and response.headers["x-frame-options"] == "DENY"
    messages = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert messages == ["unexpected KeyError while handling POST /plan"]
    caplog.clear()  # the one error this test expects


def test_plans_a_killed_server_left_in_the_batch_folder_go_at_the_next_start(desk: FrontDesk) -> None:
    batch = desk.data_dir / "batch"
    batch.mkdir(parents=True)
    for name in ("P1.pdf", "to-print.pdf", "to-print.txt", ".P2.pdf.part", "handout-journal.sqlite"):
        (batch / name).write_bytes(b"x")
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE):
        assert sorted(p.name for p in batch.iterdir()) == [".handout-batch.lock", "handout-journal.sqlite"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, a folder nobody can write in")
def test_a_folder_nobody_can_write_in_is_refused_in_one_line() -> None:
    from handout.errors import HandoutError
    from handout.output import writable_folder

    with pytest.raises(HandoutError) as caught:
        writable_folder(Path("/proc/self"))
    assert caught.value.message.startswith("/proc/self: cannot write here (")
