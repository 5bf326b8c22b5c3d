"""Every document stays small enough to email (60 KB; a 26-week plan 120 KB), with its structure tree for screen readers included."""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools

import pikepdf
import pytest

from handout import api
from handout.checks import MAX_NAME_LENGTH

EMAIL_LIMIT = 60 * 1024  # guidance.md: what a patient's mailbox and a phone on mobile data take without fuss
LONG_PLAN_LIMIT = 120 * 1024  # 26 weeks: 12 pages of diary on A4, 16 on Letter
PROFILES = list(itertools.product(("a4", "letter"), ("en", "es"), (False, True)))  # paper, language, large print
DOCUMENTS = ("leaflet", "trifold", *(f"plan-{weeks}{article}" for weeks in (1, 12, 26) for article in ("", "-article")))
# Over the limit on 4 December 2026, after the diary became machine-readable (issue 17); brought under by drawing
# each day's circles once as a form, packing the page, font and annotation dictionaries into the object stream,
# then (issue 18) embedding font subsets without TrueType hinting and drawing each QR code as a 1-bit image
# mask: the largest, a large-print 12-week plan with the article, 70.7 -> 57.6 KB; a 26-week one 115.8 -> 98.4 KB.
# A long name in another script embeds a subset of its fallback font too (3 to 6 KB): a 200-letter Devanagari name
# took that plan to 64.6 KB, until furniture every page repeats was written once as a form (56.3 KB; 26 weeks 105.7 -> 85.3 KB).


def longest_name(words: str) -> str:
    """As many of these words as the longest name handout takes holds: the most letters, so the most glyphs, a name can embed."""
    name = ""
    for word in itertools.cycle(words.split()):
        if len(name) + 1 + len(word) > MAX_NAME_LENGTH:
            return name
        name = f"{name} {word}".strip()
    raise AssertionError("unreachable")


# Names in each script handout prints through a fallback font, made of many different letters (and, for Arabic and
# Devanagari, joined forms and conjuncts: glyphs of their own).
LONG_NAMES = {
    "greek": longest_name("Αικατερίνη Παναγιώτα Κωνσταντινοπούλου Παπαδημητρίου Ξενοφώντος Ψυχογιός Ζαχαρίου Ευθυμίου Φωτεινή Χριστοδουλάκη Βασιλική Γεωργίου Ηλίας Θεόδωρος Λάμπρος Ύψιλον Ωραιόπουλος Ϊούλιος"),
    "cyrillic": longest_name("Александра Екатерина Константиновна Щербакова Преображенская Фёдоровна Жукова Эйхенбаум Юрьевна Цветаева Гончарова Шахматова Ярославна Іваненка Їжак Єлизавета Ґалаган Хлебников Чайковская"),
    "arabic": longest_name("عبد الرحمن بن محمد بن عبد الله بن إبراهيم الشهري القحطاني الظاهري المصطفى بن يوسف بن غسان ضياء ظافر ثامر خديجة ذكوان صفية طارق غيث فهد"),
    "devanagari": longest_name("श्रीमती अनुराधा कृष्णमूर्ति वेंकटरमण सुब्रह्मण्यम् भट्टाचार्य क्षत्रिय ज्ञानेश्वरी ऋषिकेश ठाकुर ढोलकिया झुनझुनवाला घनश्याम छगनलाल ऐश्वर्या औदुम्बर ओंकार ईश्वरचन्द्र ऊषा"),
}


@functools.cache
def example_brand() -> api.Brand:
    """The example clinic's brand (logo included), as a clinic starts from it."""
    return api.load_brand()


def tagged_size(pdf: bytes) -> int:
    """The file's size, after checking it carries the structure tree (a smaller file without tags would not count)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert "/StructTreeRoot" in document.Root and document.Root.MarkInfo.Marked
        assert len(document.Root.StructTreeRoot.ParentTree.Nums) > 0
    return len(pdf)


def cases() -> list[object]:
    found = []
    for paper, language, large in PROFILES:
        for document in DOCUMENTS:
            if document == "trifold" and large:
                continue  # no large-print tri-fold: refused, see the README's "Tri-fold leaflets"
            found.append(pytest.param(document, paper, language, large, id="-".join((document, paper, language, "large" if large else "standard"))))
    return found


def render(document: str, paper: str, language: str, large: bool) -> bytes:
    if document in ("leaflet", "trifold"):
        layout = "trifold" if document == "trifold" else "standard"
        return api.render_leaflet(paper=paper, language=language, large_print=large, layout=layout, brand=example_brand())
    weeks = int(document.split("-")[1])
    return api.render_plan(
        patient="Zoë O'Brien-Smith", clinician="Sam Lee", start_date=dt.date(2027, 1, 4), weeks=weeks, with_article=document.endswith("article"),
        paper=paper, language=language, large_print=large, brand=example_brand(),
    )  # fmt: skip


@pytest.mark.parametrize(("document", "paper", "language", "large"), cases())
def test_every_document_fits_its_limit_with_its_structure_tree(document: str, paper: str, language: str, large: bool) -> None:
    limit = LONG_PLAN_LIMIT if document.startswith("plan-26") else EMAIL_LIMIT
    size = tagged_size(render(document, paper, language, large))
    assert size <= limit, f"{size / 1024:.1f} KB, over {limit // 1024} KB"


@pytest.mark.parametrize("weeks", (12, 26))
@pytest.mark.parametrize("language", ("en", "es"))
@pytest.mark.parametrize("paper", ("a4", "letter"))
@pytest.mark.parametrize("script", sorted(LONG_NAMES))
def test_the_largest_plans_fit_with_the_longest_name_in_any_script(script: str, paper: str, language: str, weeks: int) -> None:
    """Large print with the article, the largest forms, for a name of the most letters handout takes in each fallback font's script."""
    pdf = api.render_plan(
        patient=LONG_NAMES[script], clinician="Sam Lee", start_date=dt.date(2027, 1, 4), weeks=weeks, with_article=True,
        paper=paper, language=language, large_print=True, brand=example_brand(),
    )  # fmt: skip
    limit = LONG_PLAN_LIMIT if weeks == 26 else EMAIL_LIMIT
    size = tagged_size(pdf)
    assert size <= limit, f"{size / 1024:.1f} KB, over {limit // 1024} KB"
    with pikepdf.open(io.BytesIO(pdf)) as document:  # the name's own font is in it: the size counts its glyphs
        fonts = {str(font.BaseFont).split("+")[-1] for page in document.pages for font in page.Resources.Font.values()}
    assert any(name.startswith("NotoSans") for name in fonts), fonts


def test_a_name_no_shipped_font_prints_is_refused_not_embedded() -> None:
    """Chinese, Japanese and Korean letters have no font in handout (the fonts would be megabytes): such a name is refused, so no size to hold."""
    with pytest.raises(api.HandoutError, match="cannot print"):
        api.render_plan(patient="欧阳娜娜司马相如", start_date=dt.date(2027, 1, 4), weeks=12, with_article=True, large_print=True, brand=example_brand())


def test_the_long_names_are_as_long_as_handout_takes() -> None:
    assert all(MAX_NAME_LENGTH - 12 < len(name) <= MAX_NAME_LENGTH for name in LONG_NAMES.values())


def test_the_cases_cover_every_form() -> None:
    """Both papers, languages and print sizes; two-page and tri-fold leaflets; plans of 1, 12 and 26 weeks with and without the article."""
    ids = {case.id for case in cases()}  # type: ignore[attr-defined]
    assert len(ids) == 2 * 2 * (2 * len(DOCUMENTS) - 1)
    for document in DOCUMENTS:
        assert any(i.startswith(document + "-") for i in ids)
