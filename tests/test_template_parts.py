"""Template blocks kept per process (template_parts.py): a block is reused only when it reads nothing of a patient's,
it is filled again when its files change, the parser reads it as the whole text would read, and the sandbox's fast paths
refuse what the full checks refuse."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from handout import api, template_parts
from handout.errors import HandoutError
from handout.markup import parse_document
from handout.pipeline import ListedPlan, Patient, Renderer
from handout.templating import ClinicSandbox, make_environment, render_template

from helpers import all_text

ROOT = Path(__file__).resolve().parents[1]
ISSUED = dt.date(2026, 11, 27)
START = dt.date(2026, 12, 7)
SHARED = frozenset({"brand"})


@pytest.fixture(autouse=True)
def fresh_parts() -> None:
    template_parts.clear()


def fill(env: jinja2.Environment, name: str, context: dict[str, object], shared: frozenset[str] = SHARED) -> str:
    """A template filled and read back as the pipeline does, then written out as the text of its blocks."""
    parts: dict[int, template_parts.Part] = {}
    markup = render_template(env, name, context, shared, parts)
    return repr(parse_document(markup, name, parts))


def folder(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


DOC = '<document title="t" lang="en">{}</document>'


def test_a_plan_after_another_patients_is_the_plan_a_fresh_process_makes() -> None:
    def plan(name: str) -> bytes:
        return api.render_plan(patient=name, clinician="Sam Lee", start_date=START, issued=ISSUED, with_article=True)

    plan("Ann Able")
    assert template_parts.kept_count() >= 4  # masthead, panels, resources, article: kept from the first plan
    second = plan("Bea Best")
    script = "import datetime as dt, sys; from handout import api; sys.stdout.buffer.write(api.render_plan(patient='Bea Best', clinician='Sam Lee', start_date=dt.date(2026, 12, 7), issued=dt.date(2026, 11, 27), with_article=True))"
    fresh = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, check=True).stdout
    assert second == fresh
    assert "Bea Best" in all_text(second) and "Ann Able" not in all_text(second)


@pytest.mark.parametrize(
    "files",
    [
        # The block reads the patient: never kept.
        {"doc.xml.j2": DOC.format("{% block b %}<p>{{ brand }} {{ patient }}</p>{% endblock %}")},
        # What it includes reads the patient (an include sees the whole context).
        {"doc.xml.j2": DOC.format('{% block b %}{% include "part.xml.j2" %}{% endblock %}'), "part.xml.j2": "<p>{{ brand }} {{ patient }}</p>"},
        # Two levels down.
        {
            "doc.xml.j2": DOC.format('{% block b %}{% include "one.xml.j2" %}{% endblock %}'),
            "one.xml.j2": '<p>{{ brand }}</p>{% include "two.xml.j2" %}',
            "two.xml.j2": "<p>{{ patient }}</p>",
        },
        # super() fills the parent's block, which reads the patient: the child's own block reads nothing, yet is not kept.
        {
            "base.xml.j2": DOC.format("{% block b %}<p>{{ patient }}</p>{% endblock %}"),
            "doc.xml.j2": '{% extends "base.xml.j2" %}{% block b %}<p>{{ brand }}</p>{{ super() }}{% endblock %}',
        },
        # An outer block holds an inner one a child template overrides with the patient's name.
        {
            "base.xml.j2": DOC.format("{% block outer %}<p>{{ brand }}</p>{% block inner %}{% endblock %}{% endblock %}"),
            "doc.xml.j2": '{% extends "base.xml.j2" %}{% block inner %}<p>{{ patient }}</p>{% endblock %}',
        },
        # A shared name set from the patient at the top of a child template.
        {
            "base.xml.j2": DOC.format("{% block b %}<p>{{ brand }}</p>{% endblock %}"),
            "doc.xml.j2": '{% extends "base.xml.j2" %}{% set brand = patient %}',
        },
        # A macro imported with the context sees the patient.
        {
            "macros.xml.j2": "{% macro who() %}<p>{{ patient }}</p>{% endmacro %}",
            "doc.xml.j2": '{% import "macros.xml.j2" as m with context %}' + DOC.format("{% block b %}{{ m.who() }}{% endblock %}"),
        },
        # A block inside a loop reads the loop's variable.
        {"doc.xml.j2": DOC.format("{% for who in [patient] %}{% block b scoped %}<p>{{ who }}</p>{% endblock %}{% endfor %}")},
    ],
    ids=["reads", "include", "nested-include", "super", "nested-block", "top-level-set", "import-with-context", "scoped-loop"],
)
def test_a_block_that_reaches_a_patients_values_never_shows_another_patients(tmp_path: Path, files: dict[str, str]) -> None:
    env = make_environment([folder(tmp_path, files)])
    first = fill(env, "doc.xml.j2", {"brand": "Clinic", "patient": "Ann Able"})
    second = fill(env, "doc.xml.j2", {"brand": "Clinic", "patient": "Bea Best"})
    assert "Ann Able" in first
    assert "Bea Best" in second and "Ann Able" not in second
    assert not any("Ann Able" in text or "Bea Best" in text for text in template_parts.kept_texts())  # nor kept in memory


def test_a_kept_block_is_filled_again_when_its_files_change(tmp_path: Path) -> None:
    files = folder(tmp_path, {"doc.xml.j2": DOC.format('{% block b %}{% include "part.xml.j2" %}{% endblock %}'), "part.xml.j2": "<p>old {{ brand }}</p>"})
    env = make_environment([files])
    assert "old Clinic" in fill(env, "doc.xml.j2", {"brand": "Clinic"})
    assert template_parts.kept_count() == 1
    (files / "part.xml.j2").write_text("<p>new {{ brand }}</p>", encoding="utf-8")
    os.utime(files / "part.xml.j2", (1_000_000_000, 1_000_000_000))  # a different time, whatever the clock's grain
    assert "new Clinic" in fill(env, "doc.xml.j2", {"brand": "Clinic"})
    # Another brand's value, another language: each its own text.
    assert "new Other" in fill(env, "doc.xml.j2", {"brand": "Other"})


def test_the_kept_blocks_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_parts, "MAX_PARTS", 3)
    env = make_environment([folder(tmp_path, {"doc.xml.j2": DOC.format("{% block b %}<p>{{ brand }}</p>{% endblock %}")})])
    for number in range(6):
        assert f"Clinic {number}" in fill(env, "doc.xml.j2", {"brand": f"Clinic {number}"})
    assert template_parts.kept_count() == 3


@pytest.mark.parametrize(
    "body",
    [
        # A kept block inside an element (its marker cannot stand there), in an attribute, and between two others.
        "<panel>{% block b %}<p>{{ brand }}</p>{% endblock %}</panel>",
        '<p>x</p><panel label="{% block b %}{{ brand }}{% endblock %}"><p>y</p></panel>',
        "{% block a %}<p>{{ brand }}</p>\n<p>two</p>{% endblock %}<p>middle</p>{% block b %}\n\n<list><item>{{ brand }}</item></list>{% endblock %}",
    ],
)
def test_kept_blocks_read_as_the_whole_text_reads(tmp_path: Path, body: str) -> None:
    env = make_environment([folder(tmp_path, {"doc.xml.j2": DOC.format(body)})])
    plain = fill(env, "doc.xml.j2", {"brand": "Clinic"}, shared=frozenset())
    assert fill(env, "doc.xml.j2", {"brand": "Clinic"}) == plain  # kept now
    assert fill(env, "doc.xml.j2", {"brand": "Clinic"}) == plain  # read from what was kept
    assert template_parts.kept_count() >= 1


@pytest.mark.parametrize(
    "body",
    [
        "{% block b %}<p>{{ brand }}</p>\n\n\n<p>more</p>{% endblock %}\n<bogus/>",
        "{% block b %}<p>{{ brand }}</p>\n\n{% endblock %}\n<p>unclosed",
        "{% block b %}\n\n<p>{{ brand }}</p>{% endblock %}<p>text</p> stray words",
    ],
)
def test_a_mistake_after_a_kept_block_names_the_line_of_the_whole_text(tmp_path: Path, body: str) -> None:
    env = make_environment([folder(tmp_path, {"doc.xml.j2": DOC.format(body)})])
    messages = []
    for shared in (frozenset(), SHARED, SHARED):  # not kept, kept now, read from what was kept
        with pytest.raises(HandoutError) as caught:
            fill(env, "doc.xml.j2", {"brand": "Clinic"}, shared)
        messages.append(caught.value.message)
    assert messages[0] == messages[1] == messages[2] and "line" in messages[0]


def test_other_documents_keep_nothing_of_their_own(tmp_path: Path) -> None:
    # The to-print sheet lists patients by name: its blocks are filled each time.
    renderer = Renderer(api.load_brand())
    renderer.to_print_list([ListedPlan(2, "P1", "Ann Able", "1-4", "to-print.pdf")], ["to-print.pdf"], 4, ISSUED)
    assert template_parts.kept_count() == 0


# -- the sandbox's fast paths --------------------------------------------------------------


def test_a_fast_attribute_read_still_refuses_a_live_value(tmp_path: Path) -> None:
    # The first record's field is plain, so (ListedPlan, "file") passes the checks that look at type and name;
    # the second's is a path, which must still be refused.
    env = make_environment([folder(tmp_path, {"t.txt.j2": "{{ good.file }} {{ bad.file }}"})])
    good, bad = ListedPlan(1, "P1", "Ann", "1", "plan.pdf"), ListedPlan(1, "P1", "Ann", "1", tmp_path)  # type: ignore[arg-type]
    assert render_template(env, "t.txt.j2", {"good": good, "bad": good}) == "plan.pdf plan.pdf"
    with pytest.raises(HandoutError, match="unsafe|not allowed"):
        render_template(env, "t.txt.j2", {"good": good, "bad": bad})


def test_macros_and_gettext_skip_the_checks_for_python_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    # A plan makes about 150 calls, nearly all of its own macros and gettext: those need not be judged callable.
    judged: list[str] = []
    judge = ClinicSandbox.is_safe_callable
    monkeypatch.setattr(ClinicSandbox, "is_safe_callable", lambda self, obj: judged.append(type(obj).__name__) or judge(self, obj))
    from handout.content import load_article
    from handout.plan import PlanRequest, build_plan

    Renderer(api.load_brand()).plan_document(Patient("Ann Able"), build_plan(PlanRequest(start_date=START, weeks=2)), load_article(), ISSUED)
    assert judged and set(judged) == {"method"}  # week.days(): a record's method, still judged
