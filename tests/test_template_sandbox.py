"""Templates run sandboxed: a clinic's override cannot reach Python, change data, or exhaust the machine."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from handout import templating
from handout.brand import load_brand
from handout.content import load_article
from handout.errors import HandoutError
from handout.pipeline import Renderer
from handout.templating import make_environment, render_template

# Each is a block body a clinic (or anyone who can write to its templates folder) might try.
ESCAPES = {
    "globals of a helper": "{{ cycler.__init__.__globals__.os.popen('echo pwned').read() }}",
    "class hierarchy": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "function internals": "{{ brand.__class__.__init__.__globals__ }}",
    "format string internals": "{{ '{0.__class__.__mro__}'.format(brand) }}",
    "loader internals": "{{ self._TemplateReference__context.environment.loader }}",
    "changing a list": "{% set items = [1] %}{{ items.append(2) }}",
    "changing a dict": "{% set d = {} %}{{ d.update({'a': 1}) }}",
}

EXHAUSTION = {
    "a huge range": "{{ range(10**9) | list | length }}",
    "a huge repeat": "{{ 'x' * 10**9 }}",
    "a huge power": "{{ 2 ** 999999999 }}",
    "nested loops": "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}{% endfor %}{% endfor %}",
    "a huge padding filter": "{{ 'x' | center(10**9) }}",
    "a huge padding method": "{{ 'x'.ljust(10**9) }}",
    "a huge format width": "{{ '{:>999999999}'.format(1) }}",
    "a huge percent width": "{{ '%999999999d' % 1 }}",
    "a huge format filter width": "{{ '%999999999d' | format(1) }}",
    "exponential macros": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "big output from a small loop": "{% set big = 'x' * 100000 %}{% for i in range(100000) %}{{ big }}{% endfor %}",
    "lorem ipsum": "{{ lipsum(10**6) }}",
}


@pytest.fixture(autouse=True)
def traced_memory() -> Iterator[None]:
    """Python's own allocations during the test, so each test's peak is its own (ru_maxrss never goes down)."""
    tracemalloc.start()
    yield
    tracemalloc.stop()


def peak_memory_mb() -> float:
    return tracemalloc.get_traced_memory()[1] / 2**20


def _override(folder: Path, body: str) -> None:
    (folder / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}{% block title %}<title>' + body + "</title>{% endblock %}", encoding="utf-8"
    )


@pytest.mark.parametrize("body", ESCAPES.values(), ids=ESCAPES.keys())
def test_a_template_cannot_reach_python_or_change_data(tmp_path: Path, body: str) -> None:
    _override(tmp_path, body)
    article = load_article()
    items_before = len(article.benefits.items)
    with pytest.raises(HandoutError, match=r"^template .*leaflet\.xml\.j2.*(unsafe|not safely|not allowed|undefined)") as caught:
        Renderer(load_brand(), "a4", [tmp_path]).leaflet_document(article)
    assert "\n" not in caught.value.message
    assert "pwned" not in caught.value.message
    assert len(article.benefits.items) == items_before


class RanAway(Exception):
    """A fill went far past the sandbox's step limit: the limit did not stop it."""


@pytest.fixture
def steps_taken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The most steps any one fill took; a fill that runs on to twice the sandbox's limit is stopped here.

    Counting the sandbox's own steps, not the clock: a loaded machine cannot make this fail, and a template the
    sandbox does not stop fails in a fraction of a second instead of running for minutes.
    """
    most = [0]
    step = templating._Budget.step
    ceiling = 2 * templating.MAX_STEPS

    def counted(budget: templating._Budget) -> None:
        most[0] = max(most[0], budget.steps + 1)
        if budget.steps >= ceiling:
            raise RanAway(f"a fill ran {budget.steps:,} steps")
        step(budget)

    monkeypatch.setattr(templating._Budget, "step", counted)
    return most


@pytest.mark.parametrize("body", EXHAUSTION.values(), ids=EXHAUSTION.keys())
def test_a_template_cannot_exhaust_time_or_memory(tmp_path: Path, body: str, steps_taken: list[int]) -> None:
    _override(tmp_path, body)
    with pytest.raises(HandoutError, match=r"^template .*leaflet\.xml\.j2") as caught:
        Renderer(load_brand(), "a4", [tmp_path]).leaflet_document(load_article())
    assert "\n" not in caught.value.message
    # Time is bounded by steps: no fill ran past the sandbox's limit (a step is a loop turn or a call, each bounded
    # in size by the other limits). Memory: an unbounded template takes gigabytes, a refused one a few megabytes.
    assert steps_taken[0] <= templating.MAX_STEPS + 1
    assert peak_memory_mb() < 64


def test_without_the_step_limit_exponential_macros_would_run_away(tmp_path: Path, steps_taken: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    # The check above is not vacuous: with the sandbox's limit lifted, the exponential macro runs on (2**40 calls).
    limit = templating.MAX_STEPS
    monkeypatch.setattr(templating, "MAX_STEPS", 10**15)
    _override(tmp_path, EXHAUSTION["exponential macros"])
    with pytest.raises(HandoutError, match="RanAway"):
        Renderer(load_brand(), "a4", [tmp_path]).leaflet_document(load_article())
    assert steps_taken[0] > limit + 1  # the assertion the test above makes fails


def test_the_refusal_names_the_template_line(tmp_path: Path) -> None:
    (tmp_path / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}\n{% block title %}\n<title>\n{{ "".__class__ }}\n</title>\n{% endblock %}', encoding="utf-8"
    )
    with pytest.raises(HandoutError, match=r"leaflet\.xml\.j2, line 4: .*unsafe"):
        Renderer(load_brand(), "a4", [tmp_path]).leaflet_document(load_article())


def test_email_templates_are_sandboxed_too(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "plan.txt.j2").write_text("{{ brand.__class__.__init__.__globals__ }}", encoding="utf-8")
    with pytest.raises(HandoutError, match=r"^template .*email/plan\.txt\.j2.*unsafe"):
        render_template(make_environment([tmp_path]), "email/plan.txt.j2", {"brand": load_brand()})


def test_ordinary_template_features_still_work(tmp_path: Path) -> None:
    body = (
        "{% set ns = namespace(count=0) %}{% for item in article.benefits.items %}{% set ns.count = ns.count + 1 %}{% endfor %}"
        "{{ ns.count }} ways {{ '%d%%' | format(50) }} {{ '{} {}'.format('a', 'b') }} {{ ['x', 'y'] | join('+') }}"
        "{% for i in range(3) if i > 0 %}{{ i }}{% endfor %} {{ 'ab' * 2 }} {{ 2 ** 3 }} {{ brand.name | upper }}"
    )
    _override(tmp_path, body)
    document = Renderer(load_brand(), "a4", [tmp_path]).leaflet_document(load_article())
    from handout.document import Title, plain_text

    (title,) = [plain_text(b.text) for b in document.blocks if isinstance(b, Title)]
    assert title == f"{len(load_article().benefits.items)} ways 50% a b x+y12 abab 8 EXAMPLE PHYSIOTHERAPY CLINIC"


MEMORY = {
    "doubling joins": '{% set a = "x" * 1000000 %}{% set b = a ~ a %}{% set c = b ~ b %}{% set d = c ~ c %}{% set e = d ~ d %}{% set f = e ~ e %}{{ f | length }}',
    "a joined list of big strings": '{{ (["x" * 1000000] * 300) | join | length }}',
    "a joined literal list": '{% set b = "x" * 1000000 %}{% set l = [b, b, b, b, b, b, b, b, b, b] %}{{ (l + l + l + l) | join | length }}',
    "a joining method": '{% set b = "x" * 1000000 %}{% set l = [b, b, b, b, b, b, b, b, b, b] %}{{ "".join(l + l + l + l) | length }}',
    "a growing replace": '{{ ("x" * 1000000) | replace("x", "y" * 300) | length }}',
    "a growing replace method": '{{ ("x" * 1000000).replace("x", "y" * 300) | length }}',
}


@pytest.mark.parametrize("body", MEMORY.values(), ids=MEMORY.keys())
def test_values_are_refused_before_they_fill_memory(tmp_path: Path, body: str) -> None:
    # Checked before the value is built: a check of the result would come after the memory was taken.
    _override(tmp_path, body)
    with pytest.raises(HandoutError, match=r"^template .*leaflet\.xml\.j2, line 1: not allowed: the template builds a value of more than"):
        Renderer(load_brand(), "a4", [tmp_path]).leaflet_document(load_article())
    assert peak_memory_mb() < 16


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ("{{ {}[patient] }}", False),  # 'dict object' has no attribute '<the name>'
        ("{{ patient | int(patient.foo) }}", True),
        ("{{ {patient: 1}[patient ~ ' Jr'] }}", False),
        ("{{ no_such_thing.x }}", True),  # 'no_such_thing' is undefined: the template's own word
        ("{{ patient.__class__ }}", True),  # access to attribute '__class__' of 'str' object is unsafe
    ],
)
def test_a_template_error_never_quotes_a_value_from_the_document(tmp_path: Path, template: str, shown: bool) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "plan.txt.j2").write_text(template, encoding="utf-8")
    with pytest.raises(HandoutError) as caught:
        render_template(make_environment([tmp_path]), "email/plan.txt.j2", {"patient": "Ann Able"})
    message = caught.value.message
    assert "Ann" not in message and message.startswith("template ")
    assert ("not shown here" not in message) == shown, message
