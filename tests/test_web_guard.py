"""The front desk's guards as an attacker tries them: whose plan or list it is, who makes session ids, forms from other sites, odd bytes anywhere, redirects, loopback names and how much is held."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_web
from starlette.testclient import TestClient
from test_web import BASE, LIST, PASSWORD, Clock, csrf, front_desk, make_plan, run_list, upload
from typer.testing import CliRunner

from handout.cli import app as cli
from handout.web.app import create_app
from handout.web.pages import PLAN_GONE, FrontDesk
from handout.web.security import CROSS_SITE_PAGE, is_loopback, relative_location
from handout.web.store import ExpiringStore, HoldLimits, RecentMemory

client, clock, desk = test_web.client, test_web.clock, test_web.desk  # test_web's fixtures, for the tests here

Headers = list[tuple[bytes, bytes]]


def another_browser(client: TestClient) -> TestClient:
    """A second browser on the same server: its own cookies, so its own session."""
    return TestClient(client.app, base_url=BASE, follow_redirects=False)


def test_a_plans_address_shows_nothing_to_another_session(client: TestClient) -> None:
    location = make_plan(client)
    other = another_browser(client)
    for response in (
        other.get(location),
        other.post(f"{location}/pdf", data={"csrf": csrf(other), "action": "download"}),
        other.post(f"{location}/email", data={"csrf": csrf(other), "email": "x@example.org", "protection": "consent"}),
    ):
        assert response.status_code == 404 and PLAN_GONE in response.text.replace("&#39;", "'")
        assert "Jane Doe" not in response.text and response.headers["content-type"].startswith("text/html")
    assert client.get(location).status_code == 200  # still there for the session that made it


def test_a_lists_address_shows_nothing_to_another_session(client: TestClient) -> None:
    location = upload(client, LIST)
    other = another_browser(client)
    assert other.get(location).status_code == 404 and "Jane" not in other.get(location).text
    assert other.post(f"{location}/run", data={"csrf": csrf(other), "delivery": "outbox"}).status_code == 404
    assert other.get(f"{location}/progress").json() == {"state": "gone"}
    run_list(client, location)
    assert other.post(f"{location}/zip", data={"csrf": csrf(other)}).status_code == 404
    assert client.post(f"{location}/zip", data={"csrf": csrf(client)}).headers["content-type"] == "application/zip"


@pytest.mark.parametrize("chosen", ["A" * 43, "A" * 43 + "." + "0" * 64, "session-of-my-choosing", "Zm9v" * 10 + "abc.ab"])
def test_a_session_id_the_browser_makes_up_is_never_taken(client: TestClient, chosen: str) -> None:
    client.cookies.set("handout_session", chosen)
    page = client.get("/plan")
    issued = page.cookies["handout_session"]
    assert issued != chosen and re.fullmatch(r"[A-Za-z0-9_-]{43}\.[0-9a-f]{64}", issued)
    # The form's token belongs to the id the server issued, not the one chosen.
    client.cookies.clear()
    client.cookies.set("handout_session", chosen)
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert client.post("/plan", data={"csrf": token, "patient": "Jane Doe"}).status_code == 403
    # The id the server issued is kept from page to page.
    client.cookies.clear()
    client.cookies.set("handout_session", issued)
    assert client.get("/plan").cookies["handout_session"] == issued


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},  # another host of the same domain is another site's page too
        {"origin": "http://evil.example"},
        {"origin": "http://127.0.0.1:8401"},  # another program on this computer
        {"origin": "null", "sec-fetch-site": "cross-site"},  # a sandboxed frame, or a redirect from elsewhere
        {"origin": "http://[::1"},
        {"sec-fetch-site": "cross-site", "origin": "http://127.0.0.1:8400"},
    ],
)
def test_a_form_sent_from_another_site_is_refused_before_anything_is_done(client: TestClient, desk: FrontDesk, headers: dict[str, str]) -> None:
    token = csrf(client)  # even with the right token and cookie (a page that got both)
    for path, data in (("/plan", {"patient": "Jane Doe"}), ("/leaflet", {"action": "download"}), ("/sign-in", {"password": "x"})):
        refused = client.post(path, data={"csrf": token, **data}, headers=headers)
        assert refused.status_code == 403 and refused.text == CROSS_SITE_PAGE, path
        assert refused.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in refused.headers["content-security-policy"]
    assert not desk.plans._held


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "same-origin", "origin": "http://127.0.0.1:8400"},
        {"sec-fetch-site": "same-origin", "origin": "null"},  # what Chromium sends from a page with Referrer-Policy: no-referrer
        {"sec-fetch-site": "none"},
        {"origin": "http://127.0.0.1:8400"},
        {},
    ],
)
def test_a_form_from_the_page_itself_is_taken(client: TestClient, headers: dict[str, str]) -> None:
    assert client.post("/plan", data={"csrf": csrf(client), "patient": "Jane Doe", "weeks": "2"}, headers=headers).status_code == 303


ODD = "é\u2603\U0001f600\x7f"


@pytest.mark.parametrize(
    ("method", "path", "headers", "data"),
    [
        ("POST", "/plan", [], {"csrf": ODD * 16, "patient": "Jane Doe"}),  # the issue's 500
        ("POST", "/plan", [], {"csrf": "é", "patient": "Jane Doe"}),
        ("POST", "/leaflet", [], {"csrf": "\u00ff" * 64}),
        ("POST", "/sign-out", [], {"csrf": ODD}),
        ("GET", "/plan", [(b"cookie", "handout_session=é☃".encode())], None),
        ("GET", "/plan", [(b"cookie", b"handout_session=\xe9\xff\x00; other=\x80")], None),
        ("POST", "/plan", [(b"cookie", "handout_session=é".encode())], {"csrf": "é"}),
        ("GET", "/plan", [(b"host", b"\xe9vil.example")], None),
        ("GET", "/plan", [(b"host", b"[::1")], None),
        ("GET", "/plan", [(b"host", b"127.0.0.1:8400:80")], None),
        ("GET", "/plan", [(b"host", b"")], None),
        ("POST", "/plan", [(b"origin", b"http://\xe9vil.example")], {"csrf": "x"}),
        ("POST", "/plan", [(b"sec-fetch-site", b"\xe9")], {"csrf": "x"}),
        ("POST", "/plan", [(b"content-length", b"\xe9")], {"csrf": "x"}),
        ("GET", "/plans/%C3%A9%E2%98%83", [], None),
        ("GET", "/lists/%FF%FE/progress", [], None),
    ],
)
def test_odd_bytes_in_any_field_header_or_cookie_are_a_clear_answer_never_a_500(
    client: TestClient, method: str, path: str, headers: Headers, data: dict[str, str] | None
) -> None:
    client.get("/plan")  # a session, so the cookie and the token are compared, not just missing
    response = client.request(method, path, headers=headers, data=data)
    assert response.status_code < 500, response.text


def test_odd_bytes_in_a_patient_lists_csrf_field_are_refused_not_a_500(client: TestClient) -> None:
    response = client.post("/lists", data={"csrf": ODD}, files={"patients_csv": ("patients.csv", LIST.encode(), "text/csv")})
    assert response.status_code == 403


@pytest.fixture
def guarded_anywhere(tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    """Served beyond this computer (any Host name is taken), signed in."""
    desk = front_desk(tmp_path / "data", clock, password=PASSWORD)
    with TestClient(
        create_app(desk.clinic, desk.data_dir, allowed_hosts=(), desk=desk), base_url="http://clinic-pc.example:8400", follow_redirects=False
    ) as test_client:
        yield test_client


def test_a_password_with_odd_characters_is_a_wrong_password_not_a_500(guarded_anywhere: TestClient) -> None:
    response = guarded_anywhere.post("/sign-in", data={"csrf": csrf(guarded_anywhere, "/sign-in"), "password": ODD * 4})
    assert response.status_code == 422


def test_every_redirect_stays_on_this_site_whatever_the_host_header_says(guarded_anywhere: TestClient) -> None:
    evil = {"host": "evil.example"}
    locations = [guarded_anywhere.get("/plan", headers=evil).headers["location"]]
    locations.append(
        guarded_anywhere.post("/sign-in", data={"csrf": csrf(guarded_anywhere, "/sign-in"), "password": PASSWORD}, headers=evil).headers["location"]
    )
    for path in ("/plan/", "//evil.example/", "/\\evil.example/", "/sign-in/"):
        response = guarded_anywhere.get(path, headers=evil)
        if response.is_redirect:
            locations.append(response.headers["location"])
    assert len(locations) >= 4
    for location in locations:
        assert location.startswith("/") and not location.startswith(("//", "/\\")) and "evil.example" not in location.split("/")[1:2], location


@pytest.mark.parametrize(
    ("location", "relative"),
    [
        ("http://evil.example/plan", "/plan"),
        ("https://evil.example", "/"),
        ("//evil.example/plan", "/plan"),
        ("/\\evil.example/plan", "/evil.example/plan"),
        ("///evil.example", "/evil.example"),
        ("/plans/abc?x=1", "/plans/abc?x=1"),
        ("http://[::1", "/"),
    ],
)
def test_a_redirects_location_is_made_a_path_on_this_site(location: str, relative: str) -> None:
    assert relative_location(location) == relative


@pytest.mark.parametrize("host", ["127.0.0.2:8400", "127.1.2.3", "127.255.255.254:8400", "[::1]:8400", "[::ffff:127.0.0.9]:8400", "LOCALHOST:8400"])
def test_every_loopback_address_is_this_computers_own(client: TestClient, host: str) -> None:
    assert client.get("/plan", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1.evil.example", "localhost.evil.example", "evil.example", "128.0.0.1", "0x7f000001", "[::2]"])
def test_names_that_only_look_like_this_computer_are_refused(client: TestClient, host: str) -> None:
    assert client.get("/plan", headers={"host": host}).status_code == 400
    assert not is_loopback(host.strip("[]"))


def test_serve_on_another_loopback_address_needs_no_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANDOUT_WEB_PASSWORD", raising=False)
    with socket.socket() as taken:  # the port is taken, so the check gets as far as the port and stops there
        taken.bind(("127.0.0.2", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--host", "127.0.0.2", "--port", str(port), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "already in use" in result.stderr and "HANDOUT_WEB_PASSWORD" not in result.stderr


def test_held_plans_are_capped_per_session_and_in_all_with_a_clear_page(tmp_path: Path, clock: Clock) -> None:
    desk = front_desk(tmp_path / "data", clock)
    desk.plans = ExpiringStore(clock=clock, limits=HoldLimits(per_session=2, in_all=3, noun="plans"))
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as first:
        made = [make_plan(first, weeks="1") for _ in range(2)]
        full = first.post("/plan", data={"csrf": csrf(first), "patient": "Jane Doe", "weeks": "1"})
        assert full.status_code == 503 and full.headers["retry-after"] == "300"
        assert "This page already holds 2 plans, the most it keeps for one browser" in full.text and 'href="/"' in full.text
        second = another_browser(first)
        make_plan(second, weeks="1")
        all_full = another_browser(first).post("/plan", data={"csrf": csrf(first), "patient": "Jane Doe", "weeks": "1"})
        third = another_browser(first)
        all_full = third.post("/plan", data={"csrf": csrf(third), "patient": "Jane Doe", "weeks": "1"})
        assert all_full.status_code == 503 and "The front desk holds 3 plans just now, the most it keeps" in all_full.text
        assert all(first.get(location).status_code == 200 for location in made)  # what is held is untouched
        clock.now += 31 * 60  # the oldest go: room again
        assert make_plan(first, weeks="1").startswith("/plans/")


def test_held_lists_are_capped_per_session_with_the_reason_by_the_file_field(client: TestClient, desk: FrontDesk) -> None:
    from handout.web.store import LIST_LIMITS

    desk.lists.held.limits = HoldLimits(per_session=1, in_all=LIST_LIMITS.in_all, noun="patient lists")
    upload(client, LIST)
    refused = upload(client, LIST, status=422)
    assert "This page already holds 1 patient lists, the most it keeps for one browser" in refused
    assert len(list(desk.lists.own_dir.glob("list-*"))) == 1  # the refused upload's folder went at once


def test_the_clinician_remembered_by_session_is_trimmed_to_the_newest_sessions(tmp_path: Path) -> None:
    clock = Clock()
    memory: RecentMemory[str] = RecentMemory(size=3, lifetime=60, clock=clock)
    for n in range(10):
        memory[f"session {n}"] = f"Clinician {n}"
    assert len(memory) == 3 and memory.get("session 0", "") == "" and memory.get("session 9", "") == "Clinician 9"
    memory["session 7"] = "Sam Lee"  # remembered again: newest now
    memory["session 10"] = "Ann"
    assert memory.get("session 7", "") == "Sam Lee" and memory.get("session 8", "") == ""
    clock.now = 61
    assert memory.get("session 7", "") == ""  # and never longer than a working day's session


def test_the_front_desk_remembers_clinicians_in_a_bounded_memory(desk: FrontDesk) -> None:
    from handout.web.store import REMEMBERED_SESSIONS

    assert isinstance(desk.clinicians, RecentMemory) and desk.clinicians.size == REMEMBERED_SESSIONS


def test_thirty_guesses_at_once_from_one_address_never_make_a_queue() -> None:
    import asyncio

    from handout.web.sessions import MAX_WAITING_PER_ADDRESS, Sessions, TooManyAttempts

    sessions = Sessions(PASSWORD, wrong_password_delay=0.05)
    order: list[str] = []

    async def attempt(label: str, password: str) -> str:
        try:
            outcome = "signed in" if await sessions.sign_in(password, "192.0.2.66") else "wrong"
        except TooManyAttempts:
            outcome = "try again in a minute"
        order.append(label)
        return outcome

    async def scenario() -> tuple[list[str], str]:
        guesses = [asyncio.create_task(attempt(f"guess {n}", f"wrong guess {n}")) for n in range(30)]
        await asyncio.sleep(0.01)  # all 30 have arrived
        staff = await attempt("staff", PASSWORD)  # behind the same NAT or proxy
        return list(await asyncio.gather(*guesses)), staff

    guesses, staff = asyncio.run(scenario())
    assert guesses.count("wrong") == MAX_WAITING_PER_ADDRESS and guesses.count("try again in a minute") == 30 - MAX_WAITING_PER_ADDRESS
    # Staff are answered at once (told to try again), not after thirty guesses' pauses; once those are done, they sign in.
    assert staff == "try again in a minute" and order.index("staff") < order.index("guess 0")
    assert asyncio.run(sessions.sign_in(PASSWORD, "192.0.2.66")) is not None


def test_connections_from_one_address_make_room_only_among_their_own(caplog: pytest.LogCaptureFixture) -> None:
    from handout.web.connections import ConnectionLimits, _Connections

    class Connection:
        def __init__(self, address: str, waiting: bool) -> None:
            self.address, self.waiting_for_request, self.closed = address, waiting, False

        def close_now(self) -> None:
            self.closed = True
            book.forget(self)  # type: ignore[arg-type]

    book = _Connections(ConnectionLimits(max_connections=16), exempt=())
    assert book.limits.per_address == 8
    others = [Connection("192.0.2.10", waiting=True) for _ in range(4)]
    flood = [Connection("192.0.2.66", waiting=True) for _ in range(8)]
    assert all(book.admit(c) for c in others + flood)  # type: ignore[arg-type]
    newcomer = Connection("192.0.2.66", waiting=True)
    assert book.admit(newcomer)  # type: ignore[arg-type]
    assert flood[0].closed and not any(c.closed for c in others)  # its own oldest made room, nobody else's
    busy = [Connection("192.0.2.77", waiting=False) for _ in range(8)]
    assert all(book.admit(c) for c in busy[:4])  # type: ignore[arg-type]
    # 16 open now: a new one closes the oldest connection that has sent nothing, from anywhere.
    assert book.admit(Connection("192.0.2.99", waiting=True))  # type: ignore[arg-type]
    assert others[0].closed
    # A page being answered is never closed to make room: with only those from an address, its next is refused.
    assert all(book.admit(c) for c in busy[4:])  # type: ignore[arg-type]
    assert not book.admit(Connection("192.0.2.77", waiting=False))  # type: ignore[arg-type]
    assert not any(c.closed for c in busy)
    said = {record.getMessage() for record in caplog.records}
    assert said == {
        "too many connections from one address: closed the oldest that had sent no request",
        "too many connections: closed the oldest that had sent no request",
        "too many connections from one address with requests under way: refused a new one",
    }
    caplog.clear()  # (warnings said on purpose: the log's own budget keeps them few)
