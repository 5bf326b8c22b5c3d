"""The benchmark's canvas floor draws what handout draws: the same words on each of the same pages, so it cannot drift into drawing less."""

from __future__ import annotations

import io
import sys
from collections import Counter
from pathlib import Path

import pikepdf
import pypdf
import pytest
from fontTools.ttLib import TTFont

from handout import api

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import floor  # noqa: E402


def words_by_page(pdf: bytes) -> list[Counter[str]]:
    """Each page's words as a reader's text extraction gives them (order and line breaks set aside: the floor's layout is its own)."""
    return [Counter(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def handout_plan() -> bytes:
    return api.render_plan(patient=floor.PATIENT, clinician=floor.CLINICIAN, start_date=floor.START, issued=floor.ISSUED)


def varied(count: int) -> list[floor.Patient]:
    stream = floor.varied_patients()
    return [next(stream) for _ in range(count)]


# The benchmark's own patient, then the first of the varied patients compare.py renders (other names,
# dates within one year, other minutes, walks and weeks), then two more from the same stream.
PATIENTS = [floor.DEFAULT, *varied(3)]


def test_the_varied_patients_differ_and_repeat_from_the_seed() -> None:
    patients = varied(20)
    assert patients == varied(20)
    assert len({p.name for p in patients}) > 10 and len({p.start for p in patients}) == 20 and len({p.minutes for p in patients}) > 10
    assert {p.weeks for p in patients} == {10, 11, 12} and any(not p.name.isascii() for p in patients)
    assert any(not p.with_year for p in patients) and any(p.with_year for p in patients)


@pytest.mark.parametrize("patient", PATIENTS, ids=lambda p: f"{p.start}-{p.weeks}w")
def test_the_floor_has_handouts_words_page_by_page(patient: floor.Patient) -> None:
    drawn, expected = words_by_page(floor.draw_plan(patient)), words_by_page(api.render_plan(**floor.plan_options(patient)))  # type: ignore[arg-type]
    assert len(drawn) == len(expected) == 6
    assert any(patient.name.split()[-1] in words for words in expected)
    for number, (ours, theirs) in enumerate(zip(drawn, expected, strict=True), 1):
        assert ours == theirs, f"page {number}: the floor lacks {dict(theirs - ours)} and adds {dict(ours - theirs)}"


def test_the_floor_embeds_the_same_fonts_and_is_as_big(handout_plan: bytes) -> None:
    floor_pdf = floor.draw_plan()
    fonts = {str(font["/BaseFont"]).split("+")[-1] for page in pypdf.PdfReader(io.BytesIO(floor_pdf)).pages for font in page["/Resources"]["/Font"].values()}
    assert fonts == {"AtkinsonHyperlegible-Regular", "AtkinsonHyperlegible-Bold"}
    assert len(floor_pdf) > 0.8 * len(handout_plan)  # the same drawing, less the structure tree


def test_the_floor_draws_handouts_page_codes_and_neither_searches_for_a_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    """Handout fixes the page code's mask (the eight-mask search was a plan's largest single cost); the floor must do the same work, no less."""
    import qrcode

    from handout.diary.code import PageCode, plan_tag
    from handout.render.diary import qr_modules

    def no_search(self: object) -> int:
        raise AssertionError("the page code searched for its mask")

    monkeypatch.setattr(qrcode.QRCode, "best_mask_pattern", no_search)
    for patient in PATIENTS[:2]:
        for index in range(1, 5):
            text = PageCode("a4", False, floor.DIARY_BOTTOM, patient.request(), plan_tag(patient.name, patient.issued), index, index + 2).text()
            assert floor.page_code_modules.__wrapped__(text) == qr_modules.__wrapped__(text)


def test_the_floor_embeds_font_subsets_and_page_codes_as_handout_does(handout_plan: bytes) -> None:
    """The same font tables (no hinting) and the same QR code images: the floor does neither less nor more of that work."""

    def kinds(pdf: bytes) -> tuple[set[tuple[str, ...]], list[tuple[int, int, bool]]]:
        tables, images = set(), []
        with pikepdf.open(io.BytesIO(pdf)) as document:
            for obj in document.objects:
                if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image":
                    images.append((int(obj.Width), int(obj.Height), bool(obj.get("/ImageMask"))))
                if isinstance(obj, pikepdf.Dictionary) and "/FontFile2" in obj:
                    tables.add(tuple(sorted(TTFont(io.BytesIO(obj.FontFile2.read_bytes())).keys())))
        return tables, sorted(images)

    (our_tables, our_images), (their_tables, their_images) = kinds(floor.draw_plan()), kinds(handout_plan)
    assert our_tables == their_tables and len(our_tables) == 1 and "fpgm" not in our_tables.pop()
    assert our_images == their_images == sorted([(37, 37, True)] + [(29, 29, True)] * 4)  # the website's code, and one page code per diary page
