"""Templates are given plain data only, and whatever reaches one, it cannot touch files, processes or the network.

Two halves, each tested on its own: every context the code builds (documents, emails, every
web page) holds only plain values; and the sandbox lets a template read only plain values and
run only listed methods, so an object that slipped in (a path, the environment, a module, the
list job) is inert. Attacks come from a --templates override and from a brand's web templates.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from html import unescape
from pathlib import Path
from typing import Any

import jinja2
import pytest
from starlette.testclient import TestClient
from test_web import BASE, LIST, TODAY, Clock, csrf, front_desk, held_list, make_plan, run_list, upload
from test_web_diary import scans  # noqa: F401, F811  (a fixture: a filled diary page, scanned)
from typer.testing import CliRunner

from handout.brand import init_brand, load_brand
from handout.cli import app as cli
from handout.content import load_article
from handout.errors import HandoutError
from handout.mail import MailAddress, build_message
from handout.patients import PatientList
from handout.pipeline import ListedPlan, Patient, Renderer
from handout.plan import PlanRequest, build_plan
from handout.resources import templates_dir
from handout.service import Clinic
from handout.template_values import unplain_values
from handout.templating import make_environment, render_template
from handout.web.app import create_app
from handout.web.lists import ListJob, ListReading, PatientLists, RunState
from handout.web.pages import FrontDesk
from handout.web.store import ExpiringStore

SECRET = "s3cret-value-from-the-environment"
DOCUMENTS = {"leaflet.xml.j2", "plan.xml.j2", "to-print.xml.j2", "email/plan.txt.j2", "email/plan.html.j2"}
# Every page template (base and macros are only extended or imported by them).
PAGES = {f"web/{p.name}" for p in (templates_dir() / "web").glob("*.html.j2")} - {"web/base.html.j2", "web/macros.html.j2"}


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every (template, context) filled while the test runs, seen where every fill goes: Template.render."""
    seen: list[tuple[str, dict[str, Any]]] = []
    original = jinja2.Template.render

    def recording(self: jinja2.Template, *args: Any, **kwargs: Any) -> str:
        seen.append((str(self.name), dict(*args, **kwargs)))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Template, "render", recording)
    return seen


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A password in the environment, as HANDOUT_WEB_PASSWORD and HANDOUT_SMTP_PASSWORD are on a clinic's server."""
    monkeypatch.setenv("HANDOUT_SMTP_PASSWORD", SECRET)
    monkeypatch.delenv("HANDOUT_SMTP_HOST", raising=False)


# -- every context is plain data ---------------------------------------------------------


def test_every_template_context_the_code_builds_is_plain_data(
    rendered: list[tuple[str, dict[str, Any]]], tmp_path: Path, secret_env: None, scans: list[bytes]  # noqa: F811
) -> None:
    # The command line's documents: leaflets in both layouts and two languages, a plan with its article, the to-print sheet, the email.
    renderer = Renderer(load_brand())
    for language in ("en", "es"):
        article = load_article(language=language)
        for layout in ("standard", "trifold"):
            renderer.leaflet(article, layout=layout)
        renderer.plan_document(Patient("Ann Able", "Sam Lee"), build_plan(PlanRequest(start_date=TODAY, weeks=2)), article, TODAY, with_article=True)
    renderer.to_print_list([ListedPlan(2, "P1", "Ann Able", "1-4", "to-print.pdf")], ["to-print.pdf"], 4, TODAY)
    build_message(renderer.env, load_brand(), "en-GB", MailAddress("plans", "example.org"), "ann@example.org", "P1", b"%PDF", "x", encrypted=True)

    # Every page of the front desk, through its routes, in the states a receptionist sees them.
    clock = Clock()
    desk = front_desk(tmp_path / "data", clock)
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as client:
        for path in ("/", "/clinic", "/leaflet", "/plan", "/lists", "/diary", "/no-such-page"):
            client.get(path)
        # Every POST answers with a redirect (POST/redirect/GET): followed, so the page it leads to is filled too.
        client.post("/plan", data={"patient": "Ann Able"}, follow_redirects=True)  # no CSRF token: the expired-form page
        client.post("/leaflet", data={"csrf": csrf(client), "qr_url": "ftp://x"}, follow_redirects=True)
        client.post("/leaflet", data={"csrf": csrf(client), "layout": "trifold", "language": "es"}, follow_redirects=True)
        client.post("/plan", data={"csrf": csrf(client), "patient": "Ann Able", "weeks": "40"}, follow_redirects=True)
        location = make_plan(client)
        client.get(location)
        client.get(f"{location}/change")
        client.post(f"{location}/email", data={"csrf": csrf(client), "email": "ann@example.org"}, follow_redirects=True)  # no consent: a problem
        client.post(f"{location}/email", data={"csrf": csrf(client), "email": "ann@example.org", "protection": "consent"}, follow_redirects=True)
        client.get(f"{location}/sent")
        client.get(upload(client, b""))  # an empty list: the form again with its problem
        listed = upload(client, LIST)
        client.get(listed)
        job = held_list(desk, client, listed)
        assert job is not None
        job.state = RunState.RUNNING  # as seen while the run is under way
        client.get(listed)
        job.state = RunState.CHECKED
        run_list(client, listed)
        diary_csrf = csrf(client, "/diary")
        client.post("/diary", data={"csrf": diary_csrf}, files=[("scans", ("notes.txt", b"hello", "text/plain"))], follow_redirects=True)
        read = client.post("/diary", data={"csrf": diary_csrf}, files=[("scans", ("diary.png", scans[0], "image/png"))])
        client.get(read.headers["location"])
    guarded = front_desk(tmp_path / "guarded", clock, password="a long web password for the desk")
    with TestClient(create_app(guarded.clinic, guarded.data_dir, desk=guarded), base_url=BASE, follow_redirects=False) as client:
        client.get("/sign-in")
        client.post("/sign-in", data={"csrf": csrf(client, "/sign-in"), "password": "wrong"})

    names = {name for name, _ in rendered}
    assert names >= DOCUMENTS | PAGES, f"not filled in this test: {sorted(DOCUMENTS | PAGES - names)}"
    problems = {f"{name}: {where}" for name, context in rendered for where in unplain_values(context)}
    assert problems == set(), sorted(problems)


def test_the_walk_finds_what_is_not_plain_however_deep(tmp_path: Path) -> None:
    # The check above is only as good as its walk: it must see a path inside a record inside a list, and a live object.
    job = ListJob(tmp_path, PatientList((), (), (), "UTF-8"), ListReading())
    found = list(unplain_values({"brand": load_brand(), "rows": [{"file": tmp_path}], "job": job, "fine": (1, "a", None, TODAY, 2.5)}))
    assert "context['brand'].directory: PosixPath" in found and "context['brand'].logo: PosixPath" in found
    assert "context['rows'][0]['file']: PosixPath" in found and "context['job']: ListJob" in found
    assert not any("fine" in where for where in found)


# -- nothing that slips in can be used ---------------------------------------------------

# A template's ways to a file, a process or the network, each given an object a context
# must never hold. The sandbox refuses them all, not only Python's insides.
LIVE_OBJECTS_ATTACKS = [
    "{{ folder.joinpath('secret.txt').read_text() }}",
    "{{ folder.joinpath('secret.txt').read_bytes() }}",
    "{{ folder.joinpath('canary').write_text('x') }}",
    "{{ folder.joinpath('canary').touch() }}",
    "{{ (folder / 'canary').open('w') }}",
    "{{ folder.joinpath('canary').mkdir() }}",
    "{{ folder.joinpath('secret.txt').unlink() }}",
    "{{ folder.exists() }}",
    "{{ folder.parent }}",
    "{{ folder | attr('iterdir') }}",
    "{{ [folder] | map(attribute='parent') | list }}",
    "{{ '{0.parent}'.format(folder) }}",
    "{{ environ.get('HANDOUT_SMTP_PASSWORD') }}",
    "{{ environ['HANDOUT_SMTP_PASSWORD'] }}",
    "{{ environ.HANDOUT_SMTP_PASSWORD }}",
    "{{ os.system('touch ' ~ canary) }}",
    "{{ os.popen('env').read() }}",
    "{{ os.environ }}",
    "{{ subprocess.run(['touch', canary]) }}",
    "{{ socket.create_connection(('127.0.0.1', 9)) }}",
    "{{ opener(canary, 'w') }}",
    "{{ job.discard() }}",
    "{{ job.folder }}",
    "{{ job.csv.read_text() }}",
    "{{ job.patients }}",
    "{{ folder.__class__ }}",
    "{{ range.__self__ }}",
    "{{ namespace.__init__.__globals__ }}",
]


@pytest.mark.parametrize("body", LIVE_OBJECTS_ATTACKS)
def test_a_live_object_that_reaches_a_template_is_inert(tmp_path: Path, secret_env: None, body: str) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "plan.txt.j2").write_text(body, encoding="utf-8")
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    job = ListJob(tmp_path, PatientList((), (), (), "UTF-8"), ListReading())
    hostile = {"folder": tmp_path, "environ": os.environ, "os": os, "subprocess": subprocess, "socket": socket, "opener": open, "job": job}
    with pytest.raises(HandoutError) as caught:
        render_template(make_environment([tmp_path]), "email/plan.txt.j2", {**hostile, "canary": str(tmp_path / "canary")})
    message = caught.value.message
    assert message.startswith("template ") and "\n" not in message and SECRET not in message
    assert re.search(r"not allowed|unsafe|undefined|no attribute", message), message
    assert not (tmp_path / "canary").exists() and (tmp_path / "secret.txt").is_file()


def test_plain_values_keep_what_templates_do_with_them(tmp_path: Path) -> None:
    body = (
        "{{ name.upper() }} {{ name.split(' ') | join('+') }} {{ '{}-{}'.format(day.year, day.isoformat()) }} {{ values.get('a', 'none') }} "
        "{% for key, value in values.items() %}{{ key }}={{ value }}{% endfor %} {{ rows.index(2) }} {{ brand.primary_colour.hex }} "
        "{{ brand.primary_colour.contrast_with_white() | round(1) }} {{ plan.weeks[0].days() | length }} {{ state.value }} "
        "{% for w in plan.weeks %}{{ loop.cycle('odd', 'even') }}{% endfor %} {{ cycler('x', 'y').next() }}"
    )
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "plan.txt.j2").write_text(body, encoding="utf-8")
    context = {
        "name": "Ann Able",
        "day": TODAY,
        "values": {"a": "1"},
        "rows": (1, 2),
        "brand": load_brand().for_templates(),
        "plan": build_plan(PlanRequest(start_date=TODAY, weeks=2)),
        "state": RunState.DONE,
    }
    text = render_template(make_environment([tmp_path]), "email/plan.txt.j2", context)
    assert text == f"ANN ABLE Ann+Able 2026-{TODAY.isoformat()} 1 a=1 1 #1D5C7A 7.3 7 done oddeven x"


# -- attacks from a --templates override (the command line) and a brand's web templates ------

# What a document's context holds, and Jinja's own helpers a template always has.
TARGETS = ["brand", "brand.logo", "brand.primary_colour", "article", "article.benefits.items[0]", "plan", "plan.weeks[0]", "patient", "issued"]
TARGETS += ["qr_url", "lang", "cycler", "joiner", "namespace", "range", "dict", "gettext", "_", "self", "lipsum"]
ACTIONS = [
    "joinpath('/proc/self/environ').read_bytes()",
    "read_text()",
    "write_text('x')",
    "open('w')",
    "unlink()",
    "mkdir()",
    "directory.joinpath('canary').touch()",
    "templates_dir",
    "__class__.__init__.__globals__['os'].system('touch {canary}')",
    "__init__.__globals__.__builtins__.open('{canary}', 'w')",
    "__globals__",
    "days.__func__.__globals__",
    "contrast_with_white.__self__.__class__",
]


def test_a_templates_override_cannot_touch_files_or_processes(tmp_path: Path, secret_env: None) -> None:
    canary = tmp_path / "canary"
    overrides = tmp_path / "templates"
    overrides.mkdir()
    brand = load_brand(init_brand(tmp_path / "brand"))  # a copy: an attack that got through must not harm the built-in brand
    renderer = Renderer(brand, "a4", [overrides])
    schedule = build_plan(PlanRequest(start_date=TODAY, weeks=1))
    answered: list[str] = []
    for number, (target, action) in enumerate((t, a) for t in TARGETS for a in ACTIONS):
        body = "{{ " + target + "." + action.format(canary=canary) + " }}"
        template = overrides / "plan.xml.j2"
        template.write_text('{% extends "builtin/plan.xml.j2" %}{% block title %}<title>' + body + "</title>{% endblock %}", encoding="utf-8")
        os.utime(template, (number + 1, number + 1))  # a new text each time: Jinja reloads a file whose time changed
        try:
            renderer.plan_document(Patient("Ann Able"), schedule, load_article(), TODAY)
        except HandoutError as exc:
            if not (exc.message.startswith("template ") and "\n" not in exc.message and SECRET not in exc.message):
                answered.append(f"{body}: {exc.message}")
        else:
            answered.append(f"{body}: filled in")
    assert answered == []
    assert not list(tmp_path.rglob("canary")) and brand.logo.is_file()


def test_the_command_line_refuses_a_template_reaching_for_a_file_in_one_line(tmp_path: Path, secret_env: None) -> None:
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}{% block title %}<title>{{ brand.logo.joinpath("/proc/self/environ").read_bytes() }}</title>{% endblock %}',
        encoding="utf-8",
    )
    brand = init_brand(tmp_path / "brand")
    result = CliRunner().invoke(cli, ["leaflet", "--brand", str(brand), "--templates", str(overrides), "-o", str(tmp_path / "leaflet.pdf")])
    assert result.exit_code != 0 and not (tmp_path / "leaflet.pdf").exists()
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("handout: error: template ") and "leaflet.xml.j2, line 1" in line and SECRET not in result.output


WEB_ATTACKS = {
    "web/home.html.j2": [
        "{{ brand.logo.joinpath('/proc/self/environ').read_bytes() }}",
        "{{ brand.directory }}",
        "{{ brand.templates_dir }}",
        "{{ problems.__class__ }}",
        "{{ languages.__class__.__mro__ }}",
        "{{ csrf.__class__.__init__.__globals__ }}",
        "{{ self._TemplateReference__context.environment.globals }}",
        "{{ cycler.__init__.__globals__.os.popen('touch {canary}').read() }}",
    ],
    "web/list-checked.html.j2": [
        "{{ job.discard() }}",
        "{{ job.folder }}",
        "{{ job.patients.rows[0].request.start_date.__class__ }}",
        "{{ outbox.joinpath('canary').write_text('x') }}",
        "{{ outbox.parent }}",
        "{{ job.reading.__class__.__init__.__globals__ }}",
    ],
}


def test_a_brands_web_template_cannot_touch_files_or_processes(tmp_path: Path, secret_env: None) -> None:
    brand = tmp_path / "brand"
    assert CliRunner().invoke(cli, ["init-brand", str(brand)]).exit_code == 0
    (brand / "templates" / "web").mkdir(parents=True)
    canary = tmp_path / "canary"
    clinic, data = Clinic(brand), tmp_path / "data"
    desk = FrontDesk(clinic, data, today=lambda: TODAY, store=ExpiringStore(), lists=PatientLists(clinic, data, lambda: TODAY, workers=1))
    answered = []
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as client:
        listed = upload(client, LIST)
        for number, (name, body) in enumerate((n, b) for n, bodies in WEB_ATTACKS.items() for b in bodies):
            template = brand / "templates" / name
            template.write_text(body.replace("{canary}", str(canary)), encoding="utf-8")
            os.utime(template, (number + 1, number + 1))
            page = client.get("/" if name == "web/home.html.j2" else listed)
            template.unlink()
            said = unescape(re.sub(r"<[^>]+>", " ", page.text))
            if page.status_code != 422 or not re.search(rf"template \S*{re.escape(name)}, line 1: \S", said) or SECRET in page.text:
                answered.append(f"{body}: {page.status_code} {said.split()[:40]}")
        job = held_list(desk, client, listed)
        assert job is not None and job.folder.is_dir()  # not discarded by a template
    assert answered == []
    assert not canary.exists() and not (tmp_path / "data" / "outbox" / "canary").exists()


# -- a page template cannot send the browser elsewhere without a click -------------------

HTTP_EQUIV = [
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "<META HTTP-EQUIV=Refresh CONTENT='1; URL=https://evil.example/'>",
    "<meta/http-equiv=refresh content=0;url=https://evil.example/>",
    '<meta content="0;url=https://evil.example/>" http-equiv="refresh">',
    '<meta http-equiv="set-cookie" content="session=x">',
    '<meta http-equiv="content-security-policy" content="default-src *">',
    '<noscript><meta http-equiv="refresh" content="0;url=https://evil.example/"></noscript>',
    '<meta {{ "http-" ~ "equiv" }}="refresh" content="0;url=https://evil.example/">',
]


@pytest.mark.parametrize("markup", HTTP_EQUIV)
def test_a_brands_web_template_with_http_equiv_is_refused_in_one_line(tmp_path: Path, markup: str) -> None:
    overrides = tmp_path / "templates"
    (overrides / "web").mkdir(parents=True)
    (overrides / "web" / "home.html.j2").write_text(
        '{% extends "builtin/web/home.html.j2" %}{% block title %}Home{% endblock %}{% block main %}\n' + markup + "{{ super() }}{% endblock %}",
        encoding="utf-8",
    )
    desk = front_desk(tmp_path / "data", Clock(), templates=(overrides,))
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE, follow_redirects=False) as client:
        page = client.get("/")
        other = client.get("/plan")  # the other pages are the built-in ones, and work
    assert page.status_code == 422 and "evil.example" not in page.text and "http-equiv=" not in page.text.lower()
    (message,) = [unescape(m) for m in re.findall(r"template [^<]*home\.html\.j2[^<]*", page.text)]
    assert "http-equiv> is not allowed in a web page" in message and "(line " in message
    assert other.status_code == 200


def test_the_built_in_pages_and_ordinary_meta_tags_pass(tmp_path: Path) -> None:
    overrides = tmp_path / "templates"
    (overrides / "web").mkdir(parents=True)
    (overrides / "web" / "home.html.j2").write_text(
        '{% extends "builtin/web/home.html.j2" %}{% block main %}<meta name="description" content="Walking plans">'
        "<p>Our http-equiv policy: none.</p>{{ super() }}{% endblock %}",
        encoding="utf-8",
    )
    desk = front_desk(tmp_path / "data", Clock(), templates=(overrides,))
    with TestClient(create_app(desk.clinic, desk.data_dir, desk=desk), base_url=BASE) as client:
        assert client.get("/").status_code == 200
