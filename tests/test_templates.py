"""Templates: clinic overrides, strictness, escaping, and the closed document vocabulary."""

from __future__ import annotations

from pathlib import Path

import pytest

from handout.brand import load_brand
from handout.content import load_article
from handout.document import BulletList, Heading, Panel, Paragraph, QRCode, Span, Title, plain_text
from handout.errors import HandoutError
from handout.markup import parse_document
from handout.pipeline import Renderer
from handout.templating import make_environment, render_template

from helpers import body_text


def test_brand_template_replaces_one_block_and_keeps_the_rest(brand_dir: Path) -> None:
    (brand_dir / "templates").mkdir()
    (brand_dir / "templates" / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}\n'
        "{% block resources %}<p>Ask at reception for our exercise videos.</p>{% endblock %}\n",
        encoding="utf-8",
    )
    renderer = Renderer(load_brand(brand_dir), "a4")
    document = renderer.leaflet_document(load_article())
    assert not any(isinstance(b, QRCode) for b in document.blocks)
    assert isinstance(document.blocks[-1], Paragraph)
    assert plain_text(document.blocks[-1].text) == "Ask at reception for our exercise videos."
    text = body_text(renderer.leaflet(load_article()))
    assert "Ask at reception for our exercise videos." in text
    assert "How Walking Helps Lower Back Pain" in text and "When Walking May Not Be Enough" in text


def test_templates_option_wins_over_the_brand_folder(brand_dir: Path, tmp_path: Path) -> None:
    (brand_dir / "templates").mkdir()
    (brand_dir / "templates" / "leaflet.xml.j2").write_text('{% extends "builtin/leaflet.xml.j2" %}{% block title %}<title>Brand</title>{% endblock %}', encoding="utf-8")
    option = tmp_path / "option"
    option.mkdir()
    (option / "leaflet.xml.j2").write_text('{% extends "builtin/leaflet.xml.j2" %}{% block title %}<title>Option</title>{% endblock %}', encoding="utf-8")
    document = Renderer(load_brand(brand_dir), "a4", [option]).leaflet_document(load_article())
    titles = [plain_text(b.text) for b in document.blocks if isinstance(b, Title)]
    assert titles == ["Option"]


def test_an_undefined_variable_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "leaflet.xml.j2").write_text('{% extends "builtin/leaflet.xml.j2" %}{% block title %}<title>{{ clinic_motto }}</title>{% endblock %}', encoding="utf-8")
    with pytest.raises(HandoutError, match="'clinic_motto' is undefined"):
        Renderer(load_brand(), "a4", [tmp_path]).leaflet_document(load_article())


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "leaflet.xml.j2").write_text("<document>\n{% if %}\n</document>", encoding="utf-8")
    with pytest.raises(HandoutError, match=r"leaflet.xml.j2, line 2"):
        Renderer(load_brand(), "a4", [tmp_path]).leaflet_document(load_article())


def test_values_are_escaped_so_text_never_becomes_markup_or_template_code() -> None:
    env = make_environment()
    template = env.from_string('<document title="t" lang="en"><p>{{ name }}</p></document>')
    name = 'Ann <Smith> & "Jo" {{ 7*7 }} {% raw %}</p><pagebreak/>'
    document = parse_document(template.render(name=name), "test")
    (paragraph,) = document.blocks
    assert plain_text(paragraph.text) == name


def test_unknown_element_is_reported_with_line() -> None:
    with pytest.raises(HandoutError, match=r"template custom.xml.j2: unknown element <marquee> \(line 3 of the filled-in document\)"):
        parse_document('<document title="t" lang="en">\n<p>ok</p>\n<marquee>hi</marquee></document>', "custom.xml.j2")


def test_unknown_attribute_and_misplaced_text_are_reported() -> None:
    with pytest.raises(HandoutError, match=r"<p> has no attribute 'onclick'"):
        parse_document('<document title="t" lang="en"><p onclick="x">a</p></document>', "t")
    with pytest.raises(HandoutError, match=r"text directly inside <document>"):
        parse_document('<document title="t" lang="en">loose text</document>', "t")
    with pytest.raises(HandoutError, match=r"not well-formed"):
        parse_document('<document title="t" lang="en"><p>a</document>', "t")


def test_vocabulary_parses_to_blocks_with_roles() -> None:
    document = parse_document(
        '<document title="T" lang="en-GB" keywords="a, b">'
        "<title>Big <b>title</b></title><heading level=\"2\">H</heading>"
        "<list><item>one</item><item><b>two</b> more</item></list>"
        '<panel kind="warning" label="Stop"><p>careful</p></panel>'
        "</document>",
        "t",
    )
    title, heading, bullets, panel = document.blocks
    assert document.keywords == ("a", "b") and document.lang == "en-GB"
    assert title.text == (Span("Big "), Span("title", bold=True))
    assert isinstance(heading, Heading) and heading.level == 2 and heading.role == "heading"
    assert isinstance(bullets, BulletList) and bullets.items[1] == (Span("two", bold=True), Span(" more"))
    assert isinstance(panel, Panel) and panel.kind == "warning" and panel.role == "section"


def test_plain_text_mail_templates_are_not_escaped() -> None:
    env = make_environment()
    assert env.autoescape("x.txt.j2") is False  # type: ignore[operator]
    assert env.autoescape("x.xml.j2") is True  # type: ignore[operator]
    assert env.autoescape("x.html.j2") is True  # type: ignore[operator]


def test_missing_template_is_a_clear_error() -> None:
    with pytest.raises(HandoutError, match="template nothing.xml.j2 not found"):
        render_template(make_environment(), "nothing.xml.j2", {})


def test_a_long_diary_table_splits_across_pages_repeating_its_header(tmp_path: Path) -> None:
    rows = "".join(f"<row><cell>Day {i}</cell><cell tick=\"yes\"/><cell/></row>" for i in range(1, 61))
    (tmp_path / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}{% block benefits %}'
        f'<table widths="2,1,3" header="1" style="diary"><row><cell>Day</cell><cell>Done</cell><cell>Notes</cell></row>{rows}</table>'
        "{% endblock %}",
        encoding="utf-8",
    )
    import io

    import pypdf

    pdf = Renderer(load_brand(), "a4", [tmp_path]).leaflet(load_article())
    pages = [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    text = body_text(pdf)
    for i in range(1, 61):
        assert f"Day {i} " in text + " "
    assert len(pages) >= 3
    split_pages = [p for p in pages if "Day " in p]
    assert len(split_pages) >= 2, "the table did not split"
    for page in split_pages:
        assert "Day Done Notes" in page.replace("\n", " "), "a page of the table lacks its header row"
        assert page.count("Day ") - 1 >= 3, "a page carries fewer than three rows of the table"


def test_element_errors_name_the_override_file(tmp_path: Path) -> None:
    (tmp_path / "leaflet.xml.j2").write_text('{% extends "builtin/leaflet.xml.j2" %}{% block title %}<blink>hi</blink>{% endblock %}', encoding="utf-8")
    with pytest.raises(HandoutError, match=r"template .*leaflet.xml.j2: unknown element <blink>") as caught:
        Renderer(load_brand(), "a4", [tmp_path]).leaflet_document(load_article())
    assert str(tmp_path) in caught.value.message


def test_a_filter_misused_in_a_template_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "leaflet.xml.j2").write_text('{% extends "builtin/leaflet.xml.j2" %}{% block title %}<title>{{ brand.name | long_date }}</title>{% endblock %}', encoding="utf-8")
    with pytest.raises(HandoutError, match=r"template leaflet.xml.j2 failed while being filled in"):
        Renderer(load_brand(), "a4", [tmp_path]).leaflet_document(load_article())


def test_a_clinics_diary_words_are_printed_after_a_built_in_plan_in_the_same_process(brand_dir: Path) -> None:
    """The diary's places and instruction lines are kept per process (render/diary_kept.py, diary.instruction_lines):
    a clinic's own column names and instructions still take effect after plans with the built-in words were drawn."""
    import datetime as dt
    import re

    from handout import api
    from handout.resources import templates_dir

    def plan(brand: Path | None) -> str:
        return body_text(api.render_plan(patient="Jane Doe", start_date=dt.date(2026, 12, 7), issued=dt.date(2026, 11, 27), brand=brand))

    assert "Walked" in plan(None) and "Write your steps and notes by hand." in plan(None)
    builtin = (templates_dir() / "plan.xml.j2").read_text(encoding="utf-8")
    diary = re.search(r"{% block diary %}.*?{% endblock %}", builtin, re.S)
    assert diary is not None
    block = diary.group(0).replace("walked=\"{{ _('Walked') }}\"", 'walked="Done"')
    block = re.sub(r'write="[^"]*"', 'write="Bring this diary to your next visit."', block)
    (brand_dir / "templates").mkdir()
    (brand_dir / "templates" / "plan.xml.j2").write_text('{% extends "builtin/plan.xml.j2" %}\n' + block + "\n", encoding="utf-8")
    text = plan(brand_dir)
    assert text.count("Day Done Pain Minutes Steps Notes") == 12 and "Walked" not in text
    assert "Bring this diary to your next visit." in text and "Write your steps" not in text
