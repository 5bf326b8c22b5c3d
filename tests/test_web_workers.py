"""The front desk's render worker processes: the same PDFs as the command line, one template fill a plan, failures as one line, and no orphans."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.cookiejar
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import free_port
from starlette.testclient import TestClient
from test_web import BASE, Clock, csrf, front_desk, make_plan
from typer.testing import CliRunner

from handout import templating
from handout.cli import app as cli
from handout.errors import HandoutError
from handout.service import Clinic, PlanForm, check_plan_form
from handout.web import render_jobs
from handout.web.app import create_app
from handout.web.lists import PatientLists
from handout.web.pages import FrontDesk
from handout.web.render_jobs import SOMETHING_WENT_WRONG, ClinicSpec, MadePlan, PlanJob
from handout.web.store import ExpiringStore
from handout.web.workers import Workers

from helpers import all_text

pytestmark = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="finds worker processes in Linux's /proc")


def cli_pdf(args: list[str], tmp_path: Path) -> bytes:
    target = tmp_path / f"cli-{len(list(tmp_path.iterdir()))}.pdf"
    result = CliRunner().invoke(cli, [*args, "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target.read_bytes()


@pytest.fixture
def desk_today(tmp_path: Path) -> Iterator[tuple[FrontDesk, TestClient]]:
    """A desk issuing plans today, as `handout plan` does, for comparing their PDFs."""
    clinic = Clinic(None, (), "letter")
    desk = FrontDesk(clinic, tmp_path / "data", store=ExpiringStore(clock=Clock()), lists=PatientLists(clinic, tmp_path / "data", workers=1))
    with TestClient(create_app(clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as client:
        yield desk, client


@pytest.mark.parametrize(
    ("fields", "options"),
    [
        ({"weeks": "12"}, []),
        ({"weeks": "26", "language": "es", "large_print": "on", "with_article": "on"}, ["--lang", "es", "--large-print", "--with-article"]),
        ({"weeks": "1", "qr_url": "https://clinic.example/walk"}, ["--qr-url", "https://clinic.example/walk"]),
    ],
)
def test_a_plan_made_on_the_page_is_the_command_lines_pdf_byte_for_byte(
    desk_today: tuple[FrontDesk, TestClient], tmp_path: Path, fields: dict[str, str], options: list[str]
) -> None:
    desk, client = desk_today
    start = dt.date.today().isoformat()
    location = make_plan(client, patient="Zoë O'Brien", clinician="Dr Ana Ruiz", start_date=start, **fields)
    made = client.post(f"{location}/pdf", data={"csrf": csrf(client), "action": "download"}).content
    weeks = ["--weeks", fields["weeks"]]
    assert made == cli_pdf(
        ["plan", "--patient", "Zoë O'Brien", "--clinician", "Dr Ana Ruiz", "--start-date", start, "--paper", "letter", *weeks, *options], tmp_path
    )
    assert desk.workers.worker_ids()  # made in a worker process, not in the server's


@pytest.mark.parametrize(
    ("fields", "options"), [({"layout": "trifold", "language": "es"}, ["--layout", "trifold", "--lang", "es"]), ({"large_print": "on"}, ["--large-print"])]
)
def test_a_leaflet_made_on_the_page_is_the_command_lines_pdf_byte_for_byte(
    desk_today: tuple[FrontDesk, TestClient], tmp_path: Path, fields: dict[str, str], options: list[str]
) -> None:
    _, client = desk_today
    made = client.post("/leaflet", data={"csrf": csrf(client, "/leaflet"), "paper": "letter", **fields})
    assert made.status_code == 200 and made.headers["content-type"] == "application/pdf"
    assert made.content == cli_pdf(["leaflet", "--paper", "letter", *options], tmp_path)


def test_a_plan_and_its_preview_come_from_one_template_fill(monkeypatch: pytest.MonkeyPatch) -> None:
    fills: list[str] = []
    fill = templating.render_template

    def counted(env: object, name: str, *args: object) -> str:
        fills.append(name)
        return fill(env, name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(templating, "render_template", counted)  # the renderer takes it from templating when it fills
    today = dt.date(2026, 11, 30)
    order = check_plan_form(PlanForm(patient="Jane Doe", weeks="4"), today)
    made = render_jobs.run_job(PlanJob(ClinicSpec(None, (), "a4"), order, today))
    assert isinstance(made, MadePlan) and made.pdf.startswith(b"%PDF")
    assert fills == ["plan.xml.j2"]
    assert made.summary.startswith("Walk 10 minutes, 5 days a week this week.")  # as printed
    assert made.table[0][0] == "Week" and [row[2] for row in made.table[1:]] == ["10", "15", "20", "25"]  # the four weeks' minutes


def test_a_bug_in_a_render_worker_is_one_clear_line_and_only_its_type_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    today = dt.date(2026, 11, 30)
    order = check_plan_form(PlanForm(patient="Jane Doe", weeks="4"), today)
    workers = Workers(processes=1)
    try:
        with pytest.raises(HandoutError) as caught:
            asyncio.run(workers.run_job(PlanJob(ClinicSpec(None, (), "a4"), order, "not a date")))  # type: ignore[arg-type]
        assert caught.value.message == SOMETHING_WENT_WRONG
        assert [r.getMessage() for r in caught_errors(caplog)] == ["unexpected AttributeError in a render worker"]
        caplog.clear()
        made = asyncio.run(workers.run_job(PlanJob(ClinicSpec(None, (), "a4"), order, today)))  # the worker lives on
        assert made.pdf.startswith(b"%PDF")
    finally:
        workers.close()


def test_a_users_mistake_found_in_a_worker_is_the_pages_one_line(tmp_path: Path, clock: Clock) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "plan.xml.j2").write_text("<document>{{ patient.__class__ }}</document>", encoding="utf-8")  # refused as it runs, in the worker
    desk = front_desk(tmp_path / "data", clock, templates=(templates,))
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as client:
        posted = client.post("/plan", data={"csrf": csrf(client), "patient": "Jane Doe", "weeks": "4"})
        assert posted.status_code == 303 and posted.headers["location"].startswith("/forms/")  # back to the form, as typed
        page = client.get(posted.headers["location"])
    assert page.status_code == 422 and "plan.xml.j2, line 1: not allowed: access to attribute &#39;__class__&#39;" in page.text
    assert "Jane Doe" in page.text and "Something went wrong" not in page.text  # the form as typed, with the one line


@pytest.fixture
def clock() -> Clock:
    return Clock()


def caught_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_worker_that_was_killed_is_replaced_and_the_next_plan_is_made(tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    desk = front_desk(tmp_path / "data", clock)
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as client:
        make_plan(client)
        killed = desk.workers.worker_ids()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)  # as the system's out-of-memory killer would
        wait_until_gone(killed)
        location = make_plan(client)
        assert client.post(f"{location}/pdf", data={"csrf": csrf(client), "action": "download"}).content.startswith(b"%PDF")
        assert desk.workers.worker_ids() and not set(desk.workers.worker_ids()) & set(killed)
    assert not caught_errors(caplog)  # replaced quietly: the page never knew


# -- no orphans: the server's worker processes end with it, however it ends ---------------------------------


def children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":  # a zombie has ended; it waits only for its parent to notice
                found.setdefault(int(fields[1]), []).append(int(entry.name))
    return found


def descendants(pid: int) -> set[int]:
    tree, found, todo = children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            if (Path(f"/proc/{pid}/stat")).read_text().rsplit(")", 1)[1].split()[0] != "Z":
                living.add(pid)
        except OSError:
            pass
    return living


def wait_until_gone(pids: list[int] | set[int], seconds: float = 20) -> set[int]:
    deadline = time.monotonic() + seconds
    while alive(set(pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(set(pids))


def serve(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    log = (tmp_path / "serve.log").open("w", encoding="utf-8")
    # Its own process group, as a terminal gives a command: Ctrl-C is sent to the whole group.
    process = subprocess.Popen(
        [sys.executable, "-m", "handout", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
        stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    log.close()
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError((tmp_path / "serve.log").read_text()) from None
            time.sleep(0.1)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def plan_over_http(port: int) -> bytes:
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirects())
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', opener.open(f"{base}/plan").read().decode()).group(1)  # type: ignore[union-attr]
    try:
        opener.open(f"{base}/plan", urllib.parse.urlencode({"csrf": token, "patient": "Jane Doe", "weeks": "4"}).encode())
        raise AssertionError("the plan form did not redirect")
    except urllib.error.HTTPError as redirect:
        location = redirect.headers["location"]
    return bytes(opener.open(f"{base}{location}/pdf", urllib.parse.urlencode({"csrf": token, "action": "download"}).encode()).read())


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sigkill"])
def test_stopping_the_server_however_it_stops_leaves_no_worker_process(tmp_path: Path, how: str) -> None:
    process, port = serve(tmp_path)
    try:
        assert plan_over_http(port).startswith(b"%PDF")
        started = descendants(process.pid)
        workers = {pid for pid in started if "forkserver" in Path(f"/proc/{pid}/cmdline").read_text()}
        assert len(workers) >= 2  # the fork server and at least one render worker
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)  # as the terminal sends it: to every process of the command
        else:
            process.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
        code = process.wait(timeout=30)
        assert wait_until_gone(started) == set(), f"left running after {how}: {alive(started)}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = (tmp_path / "serve.log").read_text()
    if how != "sigkill":
        assert code == 0 and output.rstrip().endswith("handout stopped serving.") and "Traceback" not in output, output


def test_workers_print_the_brand_the_server_read_even_if_its_folder_changed_since(brand_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker reads its clinic when it first needs it (or when it replaces one that died): it must not print a
    # phone number edited into brand.toml after the server started, while the server's own pages show the old one.
    from handout.service import Clinic

    monkeypatch.setattr(render_jobs, "_clinics", {})
    spec = ClinicSpec.of(Clinic(brand_dir))
    toml = brand_dir / "brand.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("01632 960 123", "01632 960 999"), encoding="utf-8")
    today = dt.date(2026, 11, 30)
    made = render_jobs.run_job(PlanJob(spec, check_plan_form(PlanForm(patient="Jane Doe", weeks="4"), today), today))
    assert isinstance(made, MadePlan)
    text = all_text(made.pdf)
    assert "960 123" in text and "960 999" not in text
