"""ReportLab's seldom-used regular expressions compiled when first used rather than when ReportLab is imported."""

from __future__ import annotations

import re
from typing import Any

# ReportLab compiles these at import, and they cost more than any other start-up work of theirs
# size (the web-address pattern alone, case-insensitive over most of Unicode, about 30 ms of a
# 0.3 s command), yet a render rarely uses them: paragraph.uri_pat only to break a web address
# too long for its line, textsplit.rx only for cjkwrap, PyFontify's (imported by xpreformatted)
# only to colour Python source. Each is matched character for character with its flags as
# ReportLab passes them; a ReportLab whose pattern differs simply compiles its own at import.
DEFERRED: tuple[tuple[str, int], ...] = (
    ('(^(?:[a-z0-9\\.\\-\\+]*)://)(?:\\S+(?::\\S*)?@)?(?:(?:25[0-5]|2[0-4]\\d|[0-1]?\\d?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|[0-1]?\\d?\\d)){3}|\\[[0-9a-f:\\.]+\\]|([a-z¡-\uffff0-9](?:[a-z¡-\uffff0-9-]{0,61}[a-z¡-\uffff0-9])?(?:\\.(?!-)[a-z¡-\uffff0-9-]{1,63}(?<!-))*\\.(?!-)(?:[a-z¡-\uffff-]{2,63}|xn--[a-z0-9]{1,59})(?<!-)\\.?|localhost))(?::\\d{2,5})?(?:[/?#][^\\s]*)?\\Z', re.IGNORECASE),  # reportlab.platypus.paragraph.uri_pat
    ('([⺀-\uffff])', re.UNICODE),  # reportlab.lib.textsplit.rx
    ('#[^\\n]*|(^|[^a-zA-Z0-9_.\\"\'])(as|assert|exec|del|from|lambda|return|and|elif|global|not|try|break|else|if|or|while|class|except|import|pass|continue|finally|in|print|def|for|is|raise|yield|with)(^|[^a-zA-Z0-9_.\\"\'])|\'\'\'[^\\\\\']*((\\\\[\\000-\\377]|\'(\\\\[\\000-\\377]|[^\\\']|\'(\\\\[\\000-\\377]|[^\\\\\'])))[^\\\\\']*)*\'\'\'|"""[^\\\\"]*((\\\\[\\000-\\377]|"(\\\\[\\000-\\377]|[^\\"]|"(\\\\[\\000-\\377]|[^\\\\"])))[^\\\\"]*)*"""|\'[^\\\\\'\\n]*(\\\\[\\000-\\377][^\\\\\'\\n]*)*\'|"[^\\\\"\\n]*(\\\\[\\000-\\377][^\\\\"\\n]*)*"', 0),  # reportlab.lib.PyFontify.matchRE
)


class LazyPattern:
    """Stands in for a compiled pattern, compiling it (with the same compiler re.compile uses) on first use."""

    __slots__ = ("_compiled", "_flags", "_pattern")

    def __init__(self, pattern: str, flags: int) -> None:
        self._pattern, self._flags, self._compiled = pattern, flags, None

    def __getattr__(self, name: str) -> Any:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re._compiler.compile(self._pattern, self._flags)  # type: ignore[attr-defined]
        return getattr(compiled, name)


def defer_reportlab_patterns() -> None:
    """Have re.compile hand ReportLab a LazyPattern for each DEFERRED pattern: call before ReportLab is imported."""
    cache = getattr(re, "_cache", None)
    if not isinstance(cache, dict) or not hasattr(re, "_compiler"):
        return  # another Python's re: ReportLab compiles them itself, as before
    for pattern, flags in DEFERRED:
        cache.setdefault((str, pattern, int(flags)), LazyPattern(pattern, int(flags)))
