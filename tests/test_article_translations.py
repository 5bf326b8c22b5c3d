"""Every translation of the article matches the English one part for part and reads easily in its language."""

from __future__ import annotations

import pytest
import textstat

from handout.content import available_articles, load_article

TRANSLATIONS = [name.rsplit(".", 1)[1] for name in available_articles() if name.rsplit(".", 1)[1] != "en"]


def test_spanish_is_built_in() -> None:
    assert "es" in TRANSLATIONS


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_a_translation_has_every_part_of_the_english(language: str) -> None:
    english, translated = load_article(), load_article(language=language)
    assert translated.language == language and translated.id == english.id
    for section in ("benefits", "tips", "warnings"):
        ours, theirs = getattr(english, section), getattr(translated, section)
        assert len(theirs.items) == len(ours.items), section
        assert [bool(i.title) for i in theirs.items] == [bool(i.title) for i in ours.items], section
        assert bool(theirs.lead_in) == bool(ours.lead_in) and bool(theirs.closing) == bool(ours.closing), section
    # A range as its readers say it: the English dash in English, "de 5 a 10" in Spanish.
    assert {"es": "de 5 a 10 minutos"}.get(language, "5 – 10") in " ".join(translated.sentences_source())
    assert all(s.strip() == s for s in translated.sentences_source())


def test_the_spanish_article_reads_easily() -> None:
    # Szigriszt-Pazos (INFLESZ): 55–65 is "normal", 65–80 "bastante fácil"; patient material should be easy.
    text = " ".join(load_article(language="es").sentences_source())
    textstat.set_lang("es")
    try:
        score = textstat.szigriszt_pazos(text)
    finally:
        textstat.set_lang("en")
    assert score >= 65, score
