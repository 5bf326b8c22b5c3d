"""Refuses a filled-in web page whose markup would act without a click: a <meta http-equiv> (refresh, set-cookie, its own policy)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from handout.errors import HandoutError

# Any tag that spells the attribute, however a parser might read the rest of it: values are escaped, so only template markup matches.
_HTTP_EQUIV_IN_A_TAG = re.compile(r"<[^<>]*http-equiv", re.IGNORECASE)


class _HttpEquivFinder(HTMLParser):
    """Finds the first element carrying an http-equiv attribute, as a browser's parser would read the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: tuple[str, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Names arrive lower-cased, however the template spelled them (HTTP-EQUIV, Http-Equiv).
        if self.found is None and any(name == "http-equiv" for name, _ in attrs):
            self.found = (tag, self.getpos()[0])


def check_page_markup(html: str, source: str) -> None:
    """Raise a one-line HandoutError when a page template's output has an http-equiv attribute.

    A brand's web template may restyle or reword a page, but `<meta http-equiv="refresh">`
    sends the browser to another site without a click (and other http-equiv values set
    cookies or loosen the page's policy): it is refused as a document template's unknown
    markup is, naming the template and the line of the filled-in page.
    """
    loose = _HTTP_EQUIV_IN_A_TAG.search(html)
    if loose is None and "http-equiv" not in html.lower():
        return  # an attribute name is never written with character references: no such name anywhere, no such attribute
    finder = _HttpEquivFinder()
    finder.feed(html)
    finder.close()
    if finder.found is None and loose is not None:  # parsed otherwise than a browser might: refused all the same
        finder.found = ("meta", html.count("\n", 0, loose.start()) + 1)
    if finder.found is not None:
        tag, line = finder.found
        raise HandoutError(
            f"template {source}: <{tag} http-equiv> is not allowed in a web page: it can send the browser elsewhere "
            f"or change the page's rules without a click (line {line} of the filled-in page)"
        )
