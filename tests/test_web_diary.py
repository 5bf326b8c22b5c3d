"""The front desk's "Read a diary" page, driven in-process: upload scans, see the weeks, download the report and the JSON."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from diary_scans import degrade, fill_page, render_page
from starlette.testclient import TestClient

from handout.diary.layout import diary_map_page
from handout.service import Clinic, PlanForm, check_plan_form
from handout.web.app import create_app
from handout.web.pages import FrontDesk
from handout.web.store import ExpiringStore

TODAY = dt.date(2026, 2, 20)
BASE = "http://127.0.0.1:8400"


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("scans")
    order = check_plan_form(PlanForm(patient="Jane Doe", weeks="3", start_date="2026-01-05"), dt.date(2026, 1, 2))
    pdf, pages = Clinic(None).plan_with_diary(order, dt.date(2026, 1, 2))
    (folder / "plan.pdf").write_bytes(pdf)
    image = render_page(str(folder / "plan.pdf"), pages[0].code.pdf_page, 150)
    fill_page(image, diary_map_page(pages[0]), 150, random.Random(3))
    buffer = io.BytesIO()
    degrade(image, random.Random(1), rotate=2).save(buffer, "PNG")
    first_page = io.BytesIO()
    render_page(str(folder / "plan.pdf"), 1, 100).save(first_page, "JPEG")
    return [buffer.getvalue(), first_page.getvalue()]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Clock]]:
    clinic = Clinic(None)
    clock = Clock()
    desk = FrontDesk(clinic, tmp_path, today=lambda: TODAY, store=ExpiringStore(clock=clock))
    app = create_app(clinic, tmp_path, desk=desk)
    with TestClient(app, base_url=BASE, follow_redirects=False) as test_client:
        yield test_client, clock


def csrf(client: TestClient) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/diary").text).group(1)  # type: ignore[union-attr]


def test_read_a_diary_from_the_page(client: tuple[TestClient, Clock], scans: list[bytes]) -> None:
    test, _ = client
    page = test.get("/diary")
    assert page.status_code == 200 and 'href="/diary"' in page.text and 'type="file" multiple' in page.text
    files = [("scans", ("Jane Doe diary.png", scans[0], "image/png")), ("scans", ("front.jpg", scans[1], "image/jpeg"))]
    response = test.post("/diary", data={"csrf": csrf(test)}, files=files)
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/diary/[A-Za-z0-9_-]{20,}", location) and "Jane" not in location
    shown = test.get(location)
    assert shown.status_code == 200
    assert re.search(r"Walked on \d+ of 15 planned days", shown.text) and "front.jpg page 1 (not a diary page)" in shown.text
    report = test.get(f"{location}/report.pdf")
    assert report.headers["content-type"] == "application/pdf" and report.content.startswith(b"%PDF") and "Jane" not in report.headers["content-disposition"]
    record = json.loads(test.get(f"{location}/diary.json").content)
    assert len(record["days"]) == 21 and record["skipped"] == [{"file": "front.jpg", "page": 1, "reason": "not a diary page"}]


def test_a_bad_upload_is_one_message_on_the_form_and_a_wrong_token_changes_nothing(client: tuple[TestClient, Clock], scans: list[bytes]) -> None:
    test, _ = client
    # Every POST answers with a redirect (POST/redirect/GET): the form again, saying why; Reload never sends the scans again.
    refused = test.post("/diary", data={"csrf": "0" * 64}, files=[("scans", ("a.png", scans[0], "image/png"))])
    assert refused.status_code == 303 and refused.headers["location"].startswith("/forms/")
    assert "expired" in test.get(refused.headers["location"]).text
    wrong = sent_back(test, [("scans", ("notes.txt", b"hello", "text/plain"))])
    assert wrong.status_code == 422 and "notes.txt: not a PDF or a PNG, JPEG or TIFF image" in wrong.text
    none = sent_back(test, [("scans", ("front.jpg", scans[1], "image/jpeg"))])
    assert none.status_code == 422 and "front.jpg: the scan is about" in none.text and "diary page" in none.text


def sent_back(test: TestClient, files: list[tuple[str, tuple[str, bytes, str]]]) -> Any:
    """The diary form as it comes back after a bad upload."""
    posted = test.post("/diary", data={"csrf": csrf(test)}, files=files)
    assert posted.status_code == 303 and posted.headers["location"].startswith("/forms/"), posted.headers.get("location")
    return test.get(posted.headers["location"])


def test_a_reading_belongs_to_the_browser_that_uploaded_it(client: tuple[TestClient, Clock], scans: list[bytes]) -> None:
    test, _ = client
    location = test.post("/diary", data={"csrf": csrf(test)}, files=[("scans", ("a.png", scans[0], "image/png"))]).headers["location"]
    assert test.get(location).status_code == 200
    other = TestClient(test.app, base_url=BASE, follow_redirects=False)  # another browser (not `with`: that would stop the app)
    assert other.get(location).status_code == 404 and other.get(f"{location}/report.pdf").status_code == 404
    assert test.get(f"{location}/diary.json").status_code == 200


def test_a_reading_is_forgotten_after_30_minutes(client: tuple[TestClient, Clock], scans: list[bytes]) -> None:
    test, clock = client
    location = test.post("/diary", data={"csrf": csrf(test)}, files=[("scans", ("a.png", scans[0], "image/png"))]).headers["location"]
    assert test.get(location).status_code == 200
    clock.now += 31 * 60
    gone = test.get(location)
    assert gone.status_code == 404 and "no longer here" in gone.text
    assert test.get(f"{location}/report.pdf").status_code == 404


def test_make_the_next_plan_from_a_diary_read_on_the_page(client: tuple[TestClient, Clock], scans: list[bytes]) -> None:
    """"Make the next plan from this diary": the plan form starts where the diary left off (the CLI's --continue-from rule), and the plan says so."""
    from handout.diary.continuation import continuation

    from helpers import body_text

    test, _ = client
    location = test.post("/diary", data={"csrf": csrf(test)}, files=[("scans", ("Jane Doe.png", scans[0], "image/png"))]).headers["location"]
    assert f'href="{location}/next-plan"' in test.get(location).text
    expected = continuation(json.loads(test.get(f"{location}/diary.json").content))
    form = test.get(f"{location}/next-plan")
    assert form.status_code == 200 and 'action="/plan"' in form.text
    token = location.rsplit("/", 1)[1]
    assert f'name="continues" value="{token}"' in form.text
    fields = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', form.text))
    assert (fields["start_minutes"], fields["target_minutes"]) == (str(expected.start_minutes), str(expected.target_minutes))
    fields.update(patient="Jane Doe", weeks="2", csrf=re.search(r'name="csrf" value="([0-9a-f]+)"', form.text).group(1))  # type: ignore[union-attr]
    made = test.post("/plan", data=fields)
    assert made.status_code == 303 and made.headers["location"].startswith("/plans/") and "Jane" not in made.headers["location"]
    plan_page = made.headers["location"]
    pdf = test.post(f"{plan_page}/pdf", data={"csrf": fields["csrf"]}).content
    text = " ".join(body_text(pdf).split())
    if expected.week is not None:
        sentence = f"This plan starts where your diary left off. In week {expected.week} you walked {expected.walks} of {expected.planned} times"
    else:
        sentence = "This plan starts again at"
    assert sentence in text, text[:600]
    # "Change this plan" keeps the diary it follows; a reading gone (or another browser's token) makes no plan that claims to follow it.
    assert f'name="continues" value="{token}"' in test.get(f"{plan_page}/change").text
    other = TestClient(test.app, base_url=BASE, follow_redirects=False)
    assert other.get(f"{location}/next-plan").status_code == 404
    plain = dict(fields, start_minutes=str(expected.start_minutes + 1))
    moved = test.post("/plan", data=plain)
    other_start = " ".join(body_text(test.post(f"{moved.headers['location']}/pdf", data={"csrf": fields["csrf"]}).content).split())
    assert "diary left off" not in other_start and "starts again at" not in other_start
