"""The article content file holds the source article word for word."""

from __future__ import annotations

import pytest

from handout.content import available_articles, load_article
from handout.errors import HandoutError

from helpers import article_sentences, assert_in_order, normalise


def test_every_sentence_of_the_source_is_in_the_content_in_order() -> None:
    article = load_article()
    text = normalise(" ".join(article.sentences_source()))
    assert_in_order(text, article_sentences())


def test_typography_of_the_source_is_kept() -> None:
    article = load_article()
    assert article.benefits.items[0].title == "Improves blood flow & healing"
    assert "5 – 10" in article.tips.items[0].text
    assert "you’re" in article.warnings.closing
    assert len(article.benefits.items) == 5 and len(article.tips.items) == 5 and len(article.warnings.items) == 3


def test_web_page_debris_is_gone() -> None:
    text = " ".join(load_article().sentences_source())
    for debris in ("Pinterest", "LinkedIn", "Advice", ", ,"):
        assert debris not in text
    assert text.count("Is Walking The Best Exercise For Lower Back Pain?") == 1


def test_unknown_article_names_the_ones_built_in() -> None:
    with pytest.raises(HandoutError, match="walking-lower-back-pain.en"):
        load_article("no-such-article")
    assert "walking-lower-back-pain.en" in available_articles()


def test_a_translation_is_just_another_file(tmp_path) -> None:
    source = load_article()
    from handout.content import articles_dir

    text = (articles_dir() / "walking-lower-back-pain.en.toml").read_text(encoding="utf-8")
    translated = tmp_path / "walking-lower-back-pain.fr.toml"
    translated.write_text(text.replace('language = "en"', 'language = "fr"').replace(source.title, "La marche est-elle le meilleur exercice ?"), encoding="utf-8")
    article = load_article(str(translated))
    assert article.language == "fr" and article.title == "La marche est-elle le meilleur exercice ?"


def test_a_broken_article_file_names_the_key(tmp_path) -> None:
    path = tmp_path / "bad.en.toml"
    path.write_text('id = "x"\nlanguage = "en"\ntitle = "T"\n[benefits]\nheading = "H"\nitems = []\n', encoding="utf-8")
    with pytest.raises(HandoutError, match=r"bad.en.toml: key 'benefits.items'"):
        load_article(str(path))
