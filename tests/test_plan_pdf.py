"""The walking plan PDF: what the patient reads, names exactly as typed, plain words, private metadata."""

from __future__ import annotations

import datetime as dt
import io
import re
from functools import cache

import pypdf
import pytest
import textstat

from handout.brand import load_brand
from handout.content import load_article
from handout.document import BulletList, Diary, Heading, Keep, Panel, Paragraph, QRCode, Title, plain_text
from handout.errors import HandoutError
from handout.pipeline import Patient, Renderer
from handout.plan import PlanRequest, build_plan

from helpers import article_sentences, assert_in_order, body_text, decode_qr_codes, fonts, normalise

ISSUED = dt.date(2026, 11, 27)
START = dt.date(2026, 12, 7)


@cache
def renderer(paper: str = "a4") -> Renderer:
    return Renderer(load_brand(), paper)


def make_plan(name: str = "Jane Doe", paper: str = "a4", with_article: bool = False, clinician: str = "Sam Lee", **request: int) -> bytes:
    plan = build_plan(PlanRequest(start_date=START, **request))
    return renderer(paper).plan(Patient(name, clinician), plan, load_article(), ISSUED, with_article)


@cache
def default_plan(paper: str = "a4") -> bytes:
    return make_plan(paper=paper)


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_first_page_has_everything_a_patient_needs(paper: str) -> None:
    reader = pypdf.PdfReader(io.BytesIO(default_plan(paper)))
    first = normalise(reader.pages[0].extract_text())
    for expected in [
        "Example Physiotherapy Clinic",
        "01632 960 123",
        "Your walking plan",
        "For Jane Doe",
        "From Sam Lee, Example Physiotherapy Clinic",
        "Given on 27 November 2026",
        "Starts on 7 December 2026",
        "Walk 10 minutes, 5 days a week this week. Add about 2 minutes each week until you reach 30 minutes.",
        "On a bad day: if your pain is worse the day after a walk, repeat last week's time instead of moving up.",
        "STOP AND GET ADVICE When Walking May Not Be Enough",
        "Your lower back feels unstable or catches during movement",
    ]:
        assert expected in first, expected
    text = body_text(default_plan(paper))
    assert "STOP AND GET ADVICE When Walking May Not Be Enough" in text
    assert_in_order(text, [s for s in article_sentences() if "walking may not be enough" in s.lower() or s.startswith(("Pain increases", "You experience", "Your lower back", "These may be", "If you’re", "While walking", "Avoid or pause"))])


def test_schedule_table_lists_every_week() -> None:
    text = body_text(default_plan())
    minutes = [10, 12, 14, 16, 18, 20, 21, 23, 25, 27, 29, 30]
    # The plan runs into 2027, so its dates carry the year.
    # A week within one month is one range ("7–13 Dec 2026"); across months each date is written whole.
    rows = [f"{n} {d}" for n, d in zip(range(1, 13), ["7–13 Dec 2026", "14–20 Dec 2026", "21–27 Dec 2026", "28 Dec 2026 – 3 Jan 2027"])]
    assert_in_order(text, rows)
    assert_in_order(text, [f"{m} 5 {m * 5} minutes" for m in minutes])


def test_diary_has_a_table_for_every_week_and_every_day() -> None:
    text = body_text(default_plan())
    assert "Your walking diary" in text
    # A week within one month reads as one range, as in the weekly table ("7–13 Dec 2026").
    headings = re.findall(r"Week (\d+): ([^.]+)\. Aim: 5 walks of (\d+) minutes", text)
    assert [int(h[0]) for h in headings] == list(range(1, 13))
    assert headings[0][1:] == ("7–13 Dec 2026", "10") and headings[3][1] == "28 Dec 2026 – 3 Jan 2027" and headings[-1][2] == "30"
    # The machine-readable diary (test_diary_page.py): the circles' numbers under the column names.
    assert text.count("Day Walked Pain Minutes Steps Notes 0 1 2 3 4 5 6 7 8 9 10") == 12
    for day in ["Mon 7 Tue 8", "Sun 13", "Mon 22", "Sun 28"]:
        assert day in text


def test_dates_leave_out_the_year_within_one_year() -> None:
    plan = build_plan(PlanRequest(start_date=dt.date(2027, 3, 1), weeks=4))
    text = body_text(renderer().plan(Patient("Jane Doe"), plan, load_article(), ISSUED))
    assert "Week 1: 1–7 Mar." in text and "2027" not in text.split("Week 1:")[1][:40]


def test_us_clinic_writes_dates_the_us_way(brand_dir) -> None:
    from conftest import set_brand_value

    set_brand_value(brand_dir, "locale", '"en-US"')
    plan = build_plan(PlanRequest(start_date=START, weeks=2))
    pdf = Renderer(load_brand(brand_dir), "letter").plan(Patient("Jane Doe"), plan, load_article(), ISSUED)
    text = body_text(pdf)
    assert "Given on November 27, 2026" in text and "Week 1: Dec 7–13" in text
    assert pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Lang"] == "en-US"


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_qr_code_decodes(paper: str) -> None:
    codes = decode_qr_codes(default_plan(paper))
    # The resources link, and one page code for each diary page (read by `handout read-diary`).
    assert [c for c in codes if not c.startswith("HD2:")] == ["https://example-physio.org/back"]
    assert len([c for c in codes if c.startswith("HD2:")]) == (4 if paper == "a4" else 6)


def test_metadata_title_and_no_patient_name_anywhere_but_the_page() -> None:
    pdf = make_plan(name="Zoë O'Brien-Smith")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    info = reader.metadata
    assert info.title == "Your walking plan"
    assert info.author == "Example Physiotherapy Clinic"
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    for value in info.values():
        assert "Zo" not in str(value) and "Brien" not in str(value)
    assert b"Brien" not in pdf  # text is in compressed streams and subset glyph codes, metadata is plain
    for font in fonts(pdf):
        assert font.embedded and font.subset
    assert b"Helvetica" not in pdf


def test_plan_renders_byte_identical() -> None:
    assert make_plan() == make_plan()


def test_with_article_appends_the_whole_article_word_for_word() -> None:
    pdf = make_plan(with_article=True)
    text = body_text(pdf)
    article_start = text.rindex("Is Walking The Best Exercise For Lower Back Pain?")
    assert text.index("Your walking diary") < article_start
    article = load_article()
    # The warning signs are on page 1, boxed: the appended article does not print them (or have them read) again.
    warnings = [normalise(article.warnings.heading), normalise(article.warnings.closing)]
    assert all(text.count(w) == 1 and text.index(w) < text.index("Your walking diary") for w in warnings)
    appended = [s for s in article_sentences() if not any(s in w or w in s for w in (article.warnings.lead_in, article.warnings.closing, *(i.text for i in article.warnings.items)))]
    appended = [s for s in appended if s != article.warnings.heading]
    assert_in_order(text[article_start:], appended)
    # It starts on a page of its own.
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    starts = [n for n, page in enumerate(reader.pages) if normalise(page.extract_text()).startswith(normalise(article.title))]
    assert starts and normalise(reader.pages[starts[-1] - 1].extract_text()).find(normalise(article.title)) == -1


NAMES = [
    "Zoë O'Brien-Smith",
    "José Ñúñez",
    "Łukasz Żółć",
    "Nguyễn Thị Minh Khai",
    "Σοφία Παπαδοπούλου",
    "Дмитрий Иванов",
    'Ann <Smith> & "Jo"',
    "{{ 7*7 }} {% raw %}",
]


@pytest.mark.parametrize("name", NAMES)
def test_names_print_exactly_as_typed(name: str) -> None:
    pdf = make_plan(name=name, weeks=1, clinician=name)
    text = body_text(pdf)
    assert f"For {name}" in text
    assert f"From {name}, Example Physiotherapy Clinic" in text
    for font in fonts(pdf):
        assert font.embedded, font


def test_names_outside_the_main_font_use_the_embedded_fallback() -> None:
    pdf = make_plan(name="Σοφία Παπαδοπούλου", weeks=1)
    names = {f.name for f in fonts(pdf)}
    assert any("NotoSans" in n for n in names), names


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_a_120_character_name_wraps_inside_the_page(paper: str) -> None:
    name = " ".join(["Bartholomew-Alexander"] * 5) + " " + "Q" * 10
    name = name[:120]
    assert len(name) == 120
    pdf = make_plan(name=name, weeks=1, paper=paper)
    assert f"For {name}" in body_text(pdf)
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    assert "STOP AND GET ADVICE" in page.extract_text(), "the warning panel was pushed off page 1"
    right_edge = float(page.mediabox.width) - 15 * 72 / 25.4
    widths: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if "Bartholomew" in text:
            x = cm[0] * tm[4] + cm[4]
            widths.append(x + len(text) * size * 0.6)  # generous: Atkinson averages ~0.55 em a letter

    page.extract_text(visitor_text=visit)
    assert len(widths) >= 2, "the name did not wrap onto a second line"
    assert max(widths) <= right_edge + 1


def test_one_unbroken_long_name_is_split_rather_than_overflowing() -> None:
    name = "X" * 120
    pdf = make_plan(name=name, weeks=1)
    assert name in body_text(pdf).replace(" ", "")


@pytest.mark.parametrize(("name", "char"), [("王小明", "王"), ("Anna 😀", "😀")])
def test_a_script_no_font_covers_fails_naming_the_character(name: str, char: str) -> None:
    with pytest.raises(HandoutError, match=f"'{char}'.*U\\+{ord(char):04X}"):
        make_plan(name=name, weeks=1)


def project_sentences(document) -> list[str]:
    """Everything the project itself writes for the patient: not the article, not names or numbers."""
    article = set(load_article().sentences_source())
    texts: list[str] = []

    def walk(blocks) -> None:
        for block in blocks:
            if isinstance(block, (Paragraph, Heading, Title)):
                texts.append(plain_text(block.text))
            elif isinstance(block, BulletList):
                texts.extend(plain_text(item) for item in block.items)
            elif isinstance(block, Diary):
                texts.extend(block.text(key) for key in ("mark", "correct", "write"))
            elif isinstance(block, (Panel, QRCode, Keep)):
                if isinstance(block, Panel) and block.label:
                    texts.append(block.label)
                walk(block.children)

    walk(document.blocks)
    return [t for t in texts if t not in article and not t.startswith("Week ") and "physio.org" not in t]


@pytest.mark.parametrize("request_kwargs", [{}, {"start_minutes": 5, "target_minutes": 60, "weeks": 4}, {"start_minutes": 30, "target_minutes": 30, "walks_per_week": 1}])
def test_project_text_reads_at_grade_8_or_below(request_kwargs: dict[str, int]) -> None:
    plan = build_plan(PlanRequest(start_date=START, **request_kwargs))
    document = renderer().plan_document(Patient("Jane Doe", "Sam Lee"), plan, load_article(), ISSUED)
    sentences = project_sentences(document)
    assert len(sentences) >= 10
    text = " ".join(s if s.endswith((".", "!", "?", ":")) else s + "." for s in sentences)
    grade = textstat.flesch_kincaid_grade(text)
    assert grade <= 8, (grade, text)
    for sentence in sentences:
        if len(sentence.split()) >= 8:
            assert textstat.flesch_kincaid_grade(sentence) <= 10, sentence
