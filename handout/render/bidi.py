"""Right-to-left runs (Arabic names) put in the order a left-to-right page draws them, or refused where they cannot be placed."""

from __future__ import annotations

import re
import unicodedata

_MIRRORED = dict(zip("()[]{}<>«»‹›", ")(][}{><»«›‹"))
_STRONG_LEFT = {"L"}
_STRONG_RIGHT = {"R", "AL"}
_DIGITS = {"EN", "AN"}


def _bidi_class(char: str) -> str:
    return unicodedata.bidirectional(char)


def right_to_left_problem(text: str) -> str | None:
    """A character that would land in the wrong place beside right-to-left letters, if any.

    The page reads left to right; a right-to-left run is drawn as HarfBuzz
    orders it. Digits after Arabic letters, or Latin letters joined to them
    in one word, would need the full bidirectional algorithm: refused.
    """
    last_strong = "L"
    for word in text.split():
        classes = [_bidi_class(c) for c in word]
        has_right = any(k in _STRONG_RIGHT for k in classes)
        for char, kind in zip(word, classes):
            if kind in _DIGITS and last_strong in _STRONG_RIGHT:
                return char
            if has_right and (kind in _STRONG_LEFT or (unicodedata.mirrored(char) and char not in _MIRRORED)):
                return char
            if kind in _STRONG_LEFT | _STRONG_RIGHT:
                last_strong = kind
    return None


def _has_right(text: str) -> bool:
    return any(_bidi_class(c) in _STRONG_RIGHT for c in text)


def visual_right_to_left(text: str) -> list[tuple[int, str]]:
    """The order ReportLab needs the characters in, as (index in `text`, character to draw).

    ReportLab's shaper hands each word to HarfBuzz whole, and HarfBuzz lays
    a word with Arabic letters out right to left. So the words of one
    right-to-left run are joined with no-break spaces (the first word lands
    on the right), and punctuation that belongs to the left-to-right page
    around the run (a comma after the name) is moved, mirrored, to the end
    HarfBuzz's reversal brings back to its place.
    """
    out: list[tuple[int, str]] = []
    words = [m.span() for m in re.finditer(r"\S+", text)]
    done = index = 0
    while index < len(words):
        if not _has_right(text[slice(*words[index])]):
            index += 1
            continue
        last_word = index
        while last_word + 1 < len(words) and _has_right(text[slice(*words[last_word + 1])]) and "\n" not in text[words[last_word][1] : words[last_word + 1][0]]:
            last_word += 1
        start, end = words[index][0], words[last_word][1]
        strong = [i for i in range(start, end) if _bidi_class(text[i]) in _STRONG_RIGHT]
        first, last = strong[0], strong[-1]
        out += [(i, text[i]) for i in range(done, start)]
        out += [(i, _MIRRORED.get(text[i], text[i])) for i in reversed(range(last + 1, end))]
        out += [(i, "\u00a0" if text[i].isspace() else text[i]) for i in range(first, last + 1)]
        out += [(i, _MIRRORED.get(text[i], text[i])) for i in reversed(range(start, first))]
        done, index = end, last_word + 1
    return out + [(i, text[i]) for i in range(done, len(text))]
