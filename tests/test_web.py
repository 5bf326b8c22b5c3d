"""The front desk's web page through Starlette's test client: every route, its guards, and every mistake as a clear page."""

from __future__ import annotations

import datetime as dt
import io
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pypdf
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from handout.cli import app as cli
from handout.service import Clinic
from handout.web.app import create_app
from handout.web.pages import FrontDesk, new_password
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


@pytest.fixture
def client(tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    clinic = Clinic(None)
    desk = FrontDesk(clinic, tmp_path / "data", today=lambda: TODAY, store=ExpiringStore(clock=clock))
    with TestClient(create_app(clinic, tmp_path / "data", desk=desk), base_url=BASE, follow_redirects=False) as test_client:
        yield test_client


def csrf(client: TestClient, path: str = "/plan") -> str:
    page = client.get(path)
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]


def make_plan(client: TestClient, **fields: str) -> str:
    response = client.post("/plan", data={"csrf": csrf(client), "patient": "Jane Doe", "weeks": "4", **fields})
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="error" id="([a-z_]+)-error">([^<]+)</p>', html))


@pytest.mark.parametrize("path", ["/", "/plan", "/leaflet", "/no-such-page", "/static/handout.css"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self'")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert "<script" not in response.text


def test_the_session_cookie_is_httponly_and_samesite_strict(client: TestClient) -> None:
    cookie = client.get("/plan").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")


def test_a_post_without_the_right_csrf_token_changes_nothing(client: TestClient) -> None:
    for data in ({"patient": "Jane Doe"}, {"patient": "Jane Doe", "csrf": "0" * 64}):
        response = client.post("/plan", data=data)
        assert response.status_code == 403 and "form has expired" in response.text
    assert client.post("/leaflet", data={"action": "download"}).status_code == 403


def test_another_host_name_is_refused_against_dns_rebinding(client: TestClient) -> None:
    assert client.get("/plan", headers={"host": "evil.example:8400"}).status_code == 400
    assert client.get("/plan", headers={"host": "localhost:8400"}).status_code == 200


def test_plan_errors_sit_next_to_their_fields_in_the_command_lines_words_and_keep_what_was_typed(client: TestClient) -> None:
    response = client.post("/plan", data={"csrf": csrf(client), "patient": " ", "clinician": "Sam Lee", "weeks": "30", "start_minutes": "ten", "start_date": "2026-02-30"})
    assert response.status_code == 422
    # The plan's numbers are checked in order, so the first wrong one is named (as on the command line).
    assert field_errors(response.text) == {"patient": "Patient name must not be empty", "start_minutes": "Start minutes must be a whole number"}
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
    response = client.post("/plan", data={"csrf": csrf(client), "patient": name})
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
    assert all(cell in printed for cell in cells)
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
    response = client.post(f"{location}/email", data={"csrf": csrf(client), "email": "jane@example.org"})
    assert response.status_code == 422
    assert field_errors(response.text)["email"] == (
        "Email address needs the consent box (the patient agreed to unencrypted email) or a PDF password (a password-locked PDF)"
    )
    bad = client.post(f"{location}/email", data={"csrf": csrf(client), "email": "not an address", "protection": "consent"})
    assert field_errors(bad.text)["email"] == "Email address is not a valid email address"
    weak = client.post(f"{location}/email", data={"csrf": csrf(client), "email": "jane@example.org", "protection": "password", "password": "short"})
    assert field_errors(weak.text)["password"].startswith("The PDF password must be at least 8 characters")


def test_without_an_email_server_the_plan_goes_to_the_outbox_locked_with_a_password_shown_once(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANDOUT_SMTP_HOST", raising=False)
    location = make_plan(client)
    response = client.post(f"{location}/email", data={"csrf": csrf(client), "email": "jane@example.org", "protection": "password"})
    assert response.status_code == 200, response.text
    password = re.search(r'<p class="password">([^<]+)</p>', response.text).group(1)  # type: ignore[union-attr]
    assert "jane@example.org" not in response.text
    (message,) = (tmp_path / "data" / "outbox").glob("*.eml")
    import email

    parsed = email.message_from_bytes(message.read_bytes(), policy=email.policy.default)
    attachment = next(parsed.iter_attachments()).get_content()  # type: ignore[attr-defined]
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(attachment))
    with pikepdf.open(io.BytesIO(attachment), password=password) as opened:
        assert len(opened.pages) >= 3
    assert password not in client.get(location).text  # shown once


def test_a_plan_is_emailed_through_a_real_smtp_server(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tls").mkdir()
    server = SmtpServer(make_certificates(tmp_path / "tls")).start()
    try:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        location = make_plan(client)
        response = client.post(f"{location}/email", data={"csrf": csrf(client), "email": "jane@example.org", "protection": "consent"})
        assert response.status_code == 200 and "Emailed the walking plan" in response.text
        (message,) = server.recorder.messages
        assert server.recorder.envelopes == [["jane@example.org"]]
        pdf = next(message.iter_attachments()).get_content()  # type: ignore[attr-defined]
        assert "Jane Doe" in all_text(pdf)
    finally:
        server.stop()


def test_a_bad_smtp_setting_is_a_clear_message_on_the_page(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOUT_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("HANDOUT_SMTP_SECURITY", "carrier-pigeon")
    location = make_plan(client)
    response = client.post(f"{location}/email", data={"csrf": csrf(client), "email": "jane@example.org", "protection": "consent"})
    assert response.status_code == 422 and "HANDOUT_SMTP_SECURITY must be starttls, ssl or none" in response.text


def test_the_leaflet_page_downloads_and_opens_to_print_in_each_layout(client: TestClient) -> None:
    token = csrf(client, "/leaflet")
    response = client.post("/leaflet", data={"csrf": token, "paper": "letter", "language": "es", "layout": "trifold", "action": "print"})
    assert response.headers["content-disposition"] == 'inline; filename="leaflet.pdf"'
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 2 and float(reader.pages[0].mediabox.width) == 792
    refused = client.post("/leaflet", data={"csrf": token, "layout": "trifold", "large_print": "on"})
    assert refused.status_code == 422 and "does not go with --layout trifold" in refused.text
    bad_url = client.post("/leaflet", data={"csrf": token, "qr_url": "javascript:alert(1)"})
    assert bad_url.status_code == 422 and "QR address" in bad_url.text


def test_new_passwords_are_strong_and_easy_to_read_out() -> None:
    from handout.checks import password_problem

    passwords = {new_password() for _ in range(200)}
    assert len(passwords) == 200
    assert all(password_problem(p) is None and len(p) == 14 and not set(p) & set("0O1lI") for p in passwords)


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
    assert page.text.count("<td>Pass</td>") == 13 and "Everything passes." in page.text
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
    desk = FrontDesk(clinic, tmp_path / "data", today=lambda: TODAY, store=ExpiringStore(clock=clock))
    with TestClient(create_app(clinic, tmp_path / "data", desk=desk), base_url=BASE) as other:
        page = other.get("/clinic")
    assert page.status_code == 200
    assert "<td>Fail</td>" in page.text and "Something needs fixing" in page.text and "<h2>To fix</h2>" in page.text


def test_the_plan_pages_qr_address_is_checked_by_the_same_rule_and_printed_as_a_scannable_code(client: TestClient) -> None:
    bad = client.post("/plan", data={"csrf": csrf(client), "patient": "Jane Doe", "qr_url": "ftp://x"})
    assert field_errors(bad.text)["qr_url"].startswith("QR address: the QR URL must start with https:// or http://")
    location = make_plan(client, qr_url="https://example.org/walk")
    pdf = client.post(f"{location}/pdf", data={"csrf": csrf(client), "action": "download"}).content
    from helpers import decode_qr_codes

    assert "https://example.org/walk" in decode_qr_codes(pdf)
