"""The languages handout writes in: found from the files present, with each one's message catalog and the one in use."""

from __future__ import annotations

import contextvars
import gettext as gettext_module
import io
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from pathlib import Path

from handout.content import DEFAULT_ARTICLE, DEFAULT_LANGUAGE, articles_dir
from handout.errors import HandoutError, UsageError
from handout.resources import templates_dir

DOMAIN = "handout"

# The language of the document being made now: each template fill and each PDF
# chooses its own, so one batch can mix languages in the same process.
_LANGUAGE: contextvars.ContextVar[str] = contextvars.ContextVar("handout_language", default=DEFAULT_LANGUAGE)


def locale_dir() -> Path:
    """The folder of message catalogs: locale/<code>/LC_MESSAGES/handout.po."""
    return templates_dir() / "locale"


def catalog_path(language: str) -> Path:
    return locale_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=1)
def available_languages() -> tuple[str, ...]:
    """Every language with both an article and a message catalog: adding a language is adding those two files."""
    articles = {p.name.removesuffix(".toml").rsplit(".", 1)[1] for p in articles_dir().glob(f"{DEFAULT_ARTICLE}.*.toml")}
    catalogs = {p.parent.parent.name for p in locale_dir().glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(articles & catalogs))


def canonical_language(code: str) -> str:
    """A language code as typed made canonical: `ES` → es; a region or script the files do not distinguish dropped (es-MX, es_ES → es)."""
    language = code.strip().lower().replace("_", "-")
    base = language.split("-", 1)[0]
    if language not in available_languages() and base in available_languages():
        return base
    return language


def checked_language(option: str, code: str) -> str:
    """A language code as typed (`ES`, ` es `, `es-MX`) made canonical, or one line listing the languages there are."""
    language = canonical_language(code)
    if language not in available_languages():
        raise UsageError(f"{option}: no language '{code.strip()[:20]}' (available: {', '.join(available_languages())})")
    return language


@cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The language's catalog, read from its .po file once per process (no compile step: the .po is the source)."""
    path = catalog_path(language)
    if _header_only(path):
        # English is the templates' own language: its catalog holds no messages, and translating with no
        # messages gives every msgid (singular or plural by n == 1) back, as NullTranslations does, without
        # importing babel (about 20 ms of every English leaflet's start).
        return gettext_module.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=DOMAIN)
    except FileNotFoundError:
        raise HandoutError(f"no message catalog for language '{language}' ({path})") from None
    except Exception as exc:  # a hand-edited catalog with a syntax mistake: one line naming the file
        raise HandoutError(f"{path}: not a valid message catalog ({exc})") from None
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is a guess, not a reviewed translation
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def _header_only(path: Path) -> bool:
    """Whether a catalog is nothing but comments and its header entry (msgid ""); anything else, or no file, is for babel to read and judge."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    entries = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return entries[:2] == ['msgid ""', 'msgstr ""'] and all(line.startswith('"') and line.endswith('"') for line in entries[2:])


def current_language() -> str:
    return _LANGUAGE.get()


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Everything written inside the block (templates, labels, dates) is in `language`."""
    token = _LANGUAGE.set(language)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def gettext(message: str) -> str:
    """`message` in the language in use (the English itself when it has no translation)."""
    return translations(_LANGUAGE.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for `count`, by the rules of the language in use."""
    return translations(_LANGUAGE.get()).ngettext(singular, plural, count)


def language_tag(brand_locale: str, language: str) -> str:
    """A document's language tag: the clinic's locale when it is the same language (en → en-GB), else the language."""
    return brand_locale if brand_locale.split("-")[0].lower() == language else language
