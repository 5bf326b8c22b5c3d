"""Paragraphs whose markup parsing and line breaking are kept per process: most of a plan's paragraphs are the same in every plan."""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from typing import Any

from reportlab.lib.styles import ParagraphStyle

from handout.render.tagged_flowables import TaggedParagraph

_STYLES_KEPT = 1024  # distinct styles (a brand and print size has about 25)
_PARSES_KEPT = 1024  # parsed paragraphs kept per process (a plan has about 60; the article's leaflet about 80)
_WRAPS_KEPT = 2048  # line breakings kept (a paragraph is broken at one or two widths): about 1.5 KB each

_parses: OrderedDict[tuple[Any, ...], tuple[Any, ...]] = OrderedDict()
_wraps: OrderedDict[tuple[Any, ...], tuple[tuple[float, float], dict[str, Any]]] = OrderedDict()
_style_keys: weakref.WeakKeyDictionary[ParagraphStyle, int | None] = weakref.WeakKeyDictionary()
_style_numbers: dict[tuple[Any, ...], int] = {}  # each distinct set of style values seen, numbered: a short key to hash
_numbers = itertools.count()  # style numbers: each given once in the process's life


class KeptParagraph(TaggedParagraph):
    """A TaggedParagraph that parses its markup and breaks its lines once per process for each text, style and width.

    ReportLab's results are kept, not the paragraph: parsing gives fragments and wrapping gives the
    lines (with the fragment words they are made of), neither of which ReportLab changes once made
    for the common paragraph: left-to-right, unshaped, unhyphenated (the only ones kept; the others
    are parsed and broken every time). A paragraph that comes from a split is not kept either.
    Keyed by the text, every attribute of the style (its values, not its name or identity) and the
    width, so a different brand colour, print size or language is a different entry.
    """

    text: Any  # ReportLab's: what `_setup` (ReportLab's or kept) gives every paragraph
    frags: Any
    style: Any
    bulletText: Any  # noqa: N815
    _kept: tuple[Any, ...] | None = None  # the parse's key, when this paragraph's results may be kept
    _wrapped: tuple[Any, ...] | None = None  # the key of its last wrap: a wrap starts from the one before it

    def _setup(self, text: Any, style: Any, bulletText: Any, frags: Any, cleaner: Any) -> None:  # noqa: N803 - ReportLab's names
        style_key = _style_key(style) if frags is None and isinstance(text, str) else None
        if style_key is None or not (bulletText is None or isinstance(bulletText, str)):
            self._kept = None
            super()._setup(text, style, bulletText, frags, cleaner)
            return
        key = (text, style_key, bulletText, self.caseSensitive)
        kept = _parses.get(key)
        if kept is None:
            super()._setup(text, style, bulletText, frags, cleaner)
            kept = _remember(_parses, key, (self.text, self.frags, self.style, self.bulletText), _PARSES_KEPT)
        else:
            _touch(_parses, key)
            self.text, self.frags, self.style, self.bulletText = kept
            self.debug = 0
        self._kept = key

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 - ReportLab's names
        if self._kept is None or "autoLeading" in self.__dict__:
            return super().wrap(availWidth, availHeight)  # type: ignore[no-any-return]
        # ReportLab's wrap changes the paragraph (its fragments become the lines' words), and a second
        # wrap starts from there: each wrap is kept as the step from the paragraph's state before it.
        key = self._wrapped = (self._kept, availWidth, self._wrapped)
        kept = _wraps.get(key)
        if kept is None:
            before = dict(self.__dict__)
            size = super().wrap(availWidth, availHeight)
            made = {name: value for name, value in self.__dict__.items() if (name not in before or before[name] is not value) and name != "_wrapped"}
            kept = _remember(_wraps, key, (size, made), _WRAPS_KEPT)
        else:
            _touch(_wraps, key)
            self.__dict__.update(kept[1])
        return kept[0]


def _remember(memo: OrderedDict[Any, Any], key: Any, value: Any, limit: int) -> Any:
    memo[key] = value
    if len(memo) > limit:
        try:
            memo.popitem(last=False)
        except KeyError:  # emptied meanwhile by another thread's render: nothing to drop
            pass
    return value


def _touch(memo: OrderedDict[Any, Any], key: Any) -> None:
    """Mark an entry as just used (it may have been dropped meanwhile by a render in another thread: then nothing)."""
    try:
        memo.move_to_end(key)
    except KeyError:
        pass


def _style_key(style: ParagraphStyle) -> int | None:
    """Every attribute of a style that can change how its paragraphs parse, break or draw; None for a style never kept.

    Right-to-left and shaped text (its lines are reversed in place when drawn), hyphenation and end
    dots (their splits change fragments) are not kept.
    """
    try:
        return _style_keys[style]
    except KeyError:
        pass
    values = vars(style)
    keepable = (
        type(style) is ParagraphStyle
        and not values.get("shaping")
        and not values.get("wordWrap")
        and not values.get("hyphenationLang")
        and not values.get("embeddedHyphenation")
        and not values.get("endDots")
    )
    number = None
    if keepable:
        key = tuple((name, _value_key(value)) for name, value in sorted(values.items()) if name not in ("name", "parent"))
        if key not in _style_numbers and len(_style_numbers) >= _STYLES_KEPT:
            _forget_all()  # numbers are never given twice: they and everything keyed by them go together
        number = _style_numbers.setdefault(key, next(_numbers))  # never len(): two threads, or a number given before a clear, would share it
    _style_keys[style] = number
    return number


def _forget_all() -> None:
    _style_numbers.clear()
    _style_keys.clear()
    _parses.clear()
    _wraps.clear()


def _value_key(value: Any) -> Any:
    if isinstance(value, int | float | str | bool | type(None)):
        return value
    if isinstance(value, list | tuple):
        return tuple(_value_key(v) for v in value)
    return (type(value).__name__, tuple(sorted((k, _value_key(v)) for k, v in vars(value).items())) if hasattr(value, "__dict__") else repr(value))
