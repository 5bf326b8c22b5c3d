"""Templates run sandboxed: a clinic's override cannot reach Python, change data, or exhaust the machine."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("body", EXHAUSTION.values(), ids=EXHAUSTION.keys())
def test_a_template_cannot_exhaust_time_or_memory(tmp_path: Path, body: str) -> None:
    _override(tmp_path, body)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(HandoutError, match=r"^template .*leaflet\.xml\.j2") as caught:
        Renderer(load_brand(), "a4", [tmp_path]).leaflet_document(load_article())
    assert "\n" not in caught.value.message
    # Generous bounds: an unbounded template takes minutes or gigabytes, a refused one milliseconds.
    assert time.monotonic() - started < 20
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kib < 300 * 1024, f"peak memory grew by {grown_kib // 1024} MB"


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
