"""Decodes a spreadsheet's text export: UTF-8, what a byte-order mark says, or the one code page that reads as names."""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

# What Excel's "CSV (Comma delimited)" writes: the Windows code page of the computer's language (Excel for
# Mac: Mac OS Roman). Windows-1252 (Western Europe and the Americas) first: it is Excel's default and wins a tie.
CODE_PAGES = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "mac_roman")
_BYTE_ORDER_MARKS = (  # UTF-32's marks first: UTF-32-LE's begins with UTF-16-LE's
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_TOKEN_WITH_NON_ASCII = re.compile(r"[^\s,;\"]*[^\x00-\x7f][^\s,;\"]*")
# The languages that write each accented letter of Windows-1252 (ISO 639-1 codes).
_WESTERN_LETTERS = {
    "à": "fr it pt ca", "á": "es pt hu cs sk is ga ca", "â": "fr pt ro tr", "ã": "pt", "ä": "de sv fi et sk",
    "å": "sv no da fi", "æ": "da no is", "ç": "fr pt ca tr sq", "è": "fr it ca", "é": "fr es pt it hu cs sk is ga ca nl en",
    "ê": "fr pt", "ë": "fr nl de en sq", "ì": "it", "í": "es pt hu cs sk is ga ca", "î": "fr ro it", "ï": "fr nl ca en",
    "ð": "is", "ñ": "es", "ò": "it ca", "ó": "es pt hu pl cs sk is ga ca", "ô": "fr pt sk", "õ": "pt et",
    "ö": "de sv fi hu tr is et", "ø": "da no", "ù": "fr it", "ú": "es pt hu cs sk is ga ca", "û": "fr",
    "ü": "de hu tr es et ca", "ý": "cs sk is", "þ": "is", "ÿ": "fr nl", "ß": "de", "š": "cs sk sl hr fi et",
    "ž": "cs sk sl hr fi et", "œ": "fr",
}  # fmt: skip
_ORDINALS = set("ªº")  # "Nº 5", "1ª": letters of any Latin-script language
_BESIDE_LETTERS = set("’‐·°")  # a typographic apostrophe or hyphen in a name, "38°C" in a note


class NotText(ValueError):
    """The bytes cannot be read as text with confidence; the message says what to do (no file name, no content)."""


@dataclass(frozen=True)
class DecodedText:
    """The text, and how a summary names the encoding that was used."""

    text: str
    encoding: str


def decode_export(data: bytes, encoding: str | None = None) -> DecodedText:
    """The file's text: in `encoding` when given, else as its byte-order mark or UTF-8 says, else the one code page that makes sense."""
    if encoding is not None:
        name = display_name(encoding)
        codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as exc:
            raise NotText(f"not {name} text (byte {exc.start + 1} does not fit), as --encoding said; check --encoding") from None
        return DecodedText(text.lstrip("\ufeff"), f"{name} (as --encoding said)")
    for mark, codec, name in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise NotText(f"starts with a {name} byte-order mark but is not {name} text; re-save it as 'CSV UTF-8'") from None
            # lstrip: a file saved twice with a mark (an export, then an editor) has two; the second would start the header.
            text = text.lstrip("\ufeff")
            return DecodedText(text, f"{name} (with a byte-order mark)" if name == "UTF-8" else f"{name} (from its byte-order mark)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if text.count("\0") > len(text) // 8:
            # What UTF-16 looks like when the byte-order mark was lost: every other byte NUL. A stray NUL or
            # two is a damaged cell, not an encoding: the row check names its row and column.
            raise NotText("has NUL bytes, as UTF-16 without a byte-order mark has; re-save it as 'CSV UTF-8' or pass --encoding utf-16-le")
        return DecodedText(text, "UTF-8")
    code_page = _code_page(data)
    if code_page is None:
        raise NotText(
            "not UTF-8, and handout cannot tell for sure which encoding it is; "
            "re-save it as 'CSV UTF-8' or pass --encoding NAME (for example --encoding cp1252)"
        )
    return DecodedText(data.decode(code_page), f"{display_name(code_page)} (detected)")


def display_name(encoding: str) -> str:
    """How people know an encoding: Windows-1252, UTF-16, ISO8859-1."""
    name = codecs.lookup(encoding).name
    if name == "mac-roman":
        return "Mac OS Roman"
    return f"Windows-{name[2:]}" if re.fullmatch(r"cp125\d", name) else name.upper()


def _code_page(data: bytes) -> str | None:
    """The code page whose reading makes sense as a patient list, when only one reading does (Windows-1252 wins a tie)."""
    from charset_normalizer import from_bytes

    # charset-normalizer drops readings that are a mess of symbols; the check below drops what it cannot
    # judge on a short list of names (letters of two alphabets in one word, a '£' inside a word).
    matches = from_bytes(data, cp_isolation=list(CODE_PAGES))
    candidates = {codecs.lookup(name).name for match in matches for name in match.could_be_from_charset}
    readings: dict[str, str] = {}  # text -> the first code page that reads it so
    for code_page in CODE_PAGES:
        if codecs.lookup(code_page).name not in candidates:
            continue
        try:
            text = data.decode(code_page)
        except UnicodeDecodeError:
            continue
        if _reads_as_names(text):
            readings.setdefault(text, code_page)
    if len(readings) == 1:
        return next(iter(readings.values()))
    western = next((text for text, code_page in readings.items() if code_page == "cp1252"), None)
    if western is not None and _words_fit_western_languages(western):
        return "cp1252"  # Excel's default; another code page's reading would have put two languages' letters in one word
    return None


def _reads_as_names(text: str) -> bool:
    """False when a word could not be part of a real name or note: the tell-tale of the wrong code page."""
    for match in _TOKEN_WITH_NON_ASCII.finditer(text):
        token = match.group()
        scripts = {_script(c) for c in token if c.isalpha() and c not in _ORDINALS}
        if len(scripts) > 1:
            return False  # "Zoл": Latin and Cyrillic letters in one word
        letters = [c for c in token if c.isalpha()]
        if any(ord(c) >= 128 and c.isupper() for c in letters[1:]) and not all(c.isupper() for c in letters):
            return False  # "MŸller": an accented capital inside a word in small letters
        for i, char in enumerate(token):
            if ord(char) < 128 or char.isalpha() or unicodedata.category(char).startswith("M") or char in _BESIDE_LETTERS:
                continue
            if (i > 0 and token[i - 1].isalpha()) or (i + 1 < len(token) and token[i + 1].isalpha()):
                return False  # "£ukasz", "¯ó³æ": a symbol or superscript inside a word
        latin = [c for c in token if c.isalpha() and _script(c) == "LATIN"]
        accented = sum(1 for c in latin if ord(c) >= 128)
        if len(latin) >= 5 and accented > 0.6 * len(latin):
            return False  # "Ïåòðîâà": Cyrillic or Greek read as accented Latin letters
    return True


def _words_fit_western_languages(text: str) -> bool:
    """Whether each word's accented letters all belong to one Western European language.

    Czech "Dvořák" in Windows-1250 reads as "Dvoøák" in Windows-1252, Lithuanian "Živilė" as "Þivilë":
    letters no one language has together. A real name mixing them is refused as unsure, never misread.
    """
    for match in _TOKEN_WITH_NON_ASCII.finditer(text):
        languages: set[str] | None = None
        for char in match.group().lower():
            if ord(char) < 128 or not char.isalpha() or char in _ORDINALS:
                continue
            found = set(_WESTERN_LETTERS.get(char, "").split())
            languages = found if languages is None else languages & found
            if not languages:
                return False
    return True


def _script(char: str) -> str:
    return "LATIN" if ord(char) < 128 else unicodedata.name(char, "UNKNOWN").split()[0]
