"""Parses a filled template into document blocks, refusing anything outside the vocabulary."""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Mapping
from dataclasses import dataclass, field

from handout.document import (
    DIARY_TEXTS,
    Block,
    BulletList,
    Cell,
    Diary,
    DiaryWeek,
    Document,
    Heading,
    Inline,
    Keep,
    Masthead,
    PageBreak,
    Panel,
    Paragraph,
    QRCode,
    Spacer,
    Span,
    Table,
    Title,
    has_content,
    plain_text,
)
from handout.errors import HandoutError
from handout.part_markers import MARKER_TARGET, Part


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Node | str] = field(default_factory=list)
    spliced: tuple[Block, ...] | None = None  # the blocks read once from a kept block's text, standing where its marker was


PARAGRAPH_STYLES = ("body", "lead", "small", "label", "summary")
PANEL_KINDS = ("warning", "note")
TABLE_STYLES = ("grid", "diary", "plain")
_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "document": ("title", "subject", "keywords", "lang"),
    "masthead": (),
    "title": (),
    "subtitle": (),
    "heading": ("level",),
    "p": ("style",),
    "list": (),
    "item": (),
    "table": ("widths", "header", "style", "caption"),
    "row": (),
    "cell": ("tick",),
    "panel": ("kind", "label"),
    "qr": ("url", "alt"),
    "keep": (),
    "pagebreak": (),
    "spacer": ("mm",),
    "diary": ("start", "target", "walks", "weeks", "date", "tag", *DIARY_TEXTS),
    "week": ("heading", "caption"),
    "day": (),
    "b": (),
    "a": ("href",),
    "br": (),
}
_BLOCK_TAGS = ("masthead", "title", "heading", "p", "list", "table", "panel", "qr", "keep", "pagebreak", "spacer", "diary")
_INLINE_TAGS = ("b", "a", "br")
_SPACE = re.compile(r"[ \t\n\r\f\v]+")  # ASCII white space only: a no-break space (| nowrap) must survive
LINK_SCHEMES = ("http", "https", "mailto", "tel")  # what a PDF reader should open; never javascript:, file:, data:
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


class _NotWhole(Exception):
    """A kept block's marker stands where its text is not whole elements at the top of the document."""


_MARKER = re.compile(rf"<\?{MARKER_TARGET} (\d+)\?>")


def parse_document(markup: str, source: str, parts: Mapping[int, Part] | None = None) -> Document:
    """Parse a filled template; any element outside the vocabulary is an error naming source and line.

    `parts`: the kept blocks whose markers the text holds (templating.render_template); each is read into
    blocks once per process. Anything unusual (a marker inside an element, any mistake) is read again from
    the whole text, so errors and their line numbers are those of the text as filled.
    """
    if parts:
        try:
            return _document(markup, source, parts)
        except (HandoutError, _NotWhole):
            for found in _MARKER.finditer(markup):  # a marker inside a tag is text in an attribute: keep that block as text
                if markup.rfind("<", 0, found.start()) > markup.rfind(">", 0, found.start()):
                    parts[int(found.group(1))].standalone = False
            markup = _MARKER.sub(lambda found: parts[int(found.group(1))].text, markup)
    return _document(markup, source, None)


def _document(markup: str, source: str, parts: Mapping[int, Part] | None) -> Document:
    root = _parse_tree(markup, source, parts)
    if root.tag != "document":
        raise _error(source, root, "the top element must be <document>")
    reader = _BlockReader(source)
    keywords = tuple(k.strip() for k in root.attrs.get("keywords", "").split(",") if k.strip())
    title, lang = _required(source, root, "title"), _required(source, root, "lang")
    blocks = reader.blocks(root)
    if not has_content(blocks):
        # Else a blank or zero-page PDF would be printed or emailed as if it were a plan.
        raise HandoutError(f"template {source}: the document has nothing to print (no text, table, masthead or QR code)")
    return Document(title=title, subject=root.attrs.get("subject", ""), keywords=keywords, lang=lang, blocks=blocks)


def _parse_tree(markup: str, source: str, parts: Mapping[int, Part] | None = None) -> _Node:
    parser = xml.parsers.expat.ParserCreate()
    parser.buffer_text = True  # a text's run in one piece, not cut at each entity or line end: one span, drawn as a plain string where it can be
    stack: list[_Node] = []
    roots: list[_Node] = []

    def instruction(target: str, data: str) -> None:
        if target != MARKER_TARGET or parts is None:
            return  # a processing instruction in a template means nothing to a document
        part = parts[int(data)]
        if len(stack) != 1:
            part.standalone = False
            raise _NotWhole
        stack[0].children.append(_Node("", {}, parser.CurrentLineNumber, spliced=_part_blocks(part, source)))

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, attrs, parser.CurrentLineNumber)
        allowed = _ATTRIBUTES.get(tag)
        if allowed is None:
            raise _error(source, node, f"unknown element <{tag}>")
        for name in attrs:
            if name not in allowed:
                raise _error(source, node, f"<{tag}> has no attribute '{name}'")
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].children.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.ProcessingInstructionHandler = instruction
    try:
        parser.Parse(markup, True)
    except xml.parsers.expat.ExpatError as exc:
        raise HandoutError(
            f"template {source}: not well-formed ({xml.parsers.expat.ErrorString(exc.code)}) at line {exc.lineno} of the filled-in document"
        ) from None
    return roots[0]


def _part_blocks(part: Part, source: str) -> tuple[Block, ...]:
    """The blocks in a kept block's text, read the first time they are needed; _NotWhole when it is not whole blocks."""
    if part.blocks is None:
        try:
            part.blocks = _BlockReader(source).blocks(_parse_tree(f"<document>{part.text}</document>", source))
        except HandoutError:
            part.standalone = False
            raise _NotWhole from None
    blocks: tuple[Block, ...] = part.blocks
    return blocks


def _error(source: str, node: _Node, problem: str) -> HandoutError:
    return HandoutError(f"template {source}: {problem} (line {node.line} of the filled-in document)")


def _required(source: str, node: _Node, name: str) -> str:
    value = node.attrs.get(name, "").strip()
    if not value:
        raise _error(source, node, f"<{node.tag}> needs a non-empty '{name}' attribute")
    return value


def _link(source: str, node: _Node, name: str) -> str:
    """A link attribute that is an http, https, mailto or tel address."""
    value = _required(source, node, name)
    scheme = _SCHEME.match(value)
    problem = ""
    if scheme is None:
        problem = "it has no scheme"
    elif scheme.group(1).lower() not in LINK_SCHEMES:
        problem = f"not {scheme.group(1)[:20]}:"
    elif any(ch.isspace() or ord(ch) < 32 for ch in value):
        problem = "it has spaces or control characters"
    elif scheme.group(1).lower() in ("http", "https") and not value[scheme.end() :].startswith("//"):
        problem = "a web address needs // and a site name"
    if problem:
        raise _error(source, node, f"<{node.tag} {name}=...> must be an http, https, mailto or tel link ({problem})")
    return value


def _choice(source: str, node: _Node, name: str, choices: tuple[str, ...], default: str) -> str:
    value = node.attrs.get(name, default)
    if value not in choices:
        raise _error(source, node, f"<{node.tag} {name}=...> must be one of {', '.join(choices)}")
    return value


class _BlockReader:
    """Turns the element tree into block dataclasses, checking what may nest where."""

    def __init__(self, source: str) -> None:
        self.source = source

    def blocks(self, parent: _Node) -> tuple[Block, ...]:
        result: list[Block] = []
        for child in parent.children:
            if isinstance(child, str):
                if child.strip():
                    raise _error(self.source, parent, f"text directly inside <{parent.tag}>; put it in a <p>")
                continue
            if child.spliced is not None:
                result.extend(child.spliced)
                continue
            if child.tag not in _BLOCK_TAGS:
                raise _error(self.source, child, f"<{child.tag}> is not allowed inside <{parent.tag}>")
            result.append(self.block(child))
        return tuple(result)

    def block(self, node: _Node) -> Block:
        tag = node.tag
        if tag == "masthead":
            return Masthead()
        if tag == "title":
            main = [c for c in node.children if not (isinstance(c, _Node) and c.tag == "subtitle")]
            subtitles = [c for c in node.children if isinstance(c, _Node) and c.tag == "subtitle"]
            return Title(
                text=self.inline(_Node("title", {}, node.line, main)),
                subtitle=self.inline(subtitles[0]) if subtitles else (),
            )
        if tag == "heading":
            level = node.attrs.get("level", "1")
            if level not in ("1", "2", "3"):  # 3: a sub-heading of a section that is itself under a section (an appended article)
                raise _error(self.source, node, "<heading level=...> must be 1, 2 or 3")
            return Heading(int(level), self.inline(node))
        if tag == "p":
            return Paragraph(self.inline(node), _choice(self.source, node, "style", PARAGRAPH_STYLES, "body"))
        if tag == "list":
            items = self.elements(node, "item")
            if not items:
                raise _error(self.source, node, "<list> needs at least one <item>")
            return BulletList(tuple(self.inline(item) for item in items))
        if tag == "table":
            return self.table(node)
        if tag == "panel":
            return Panel(
                kind=_choice(self.source, node, "kind", PANEL_KINDS, "note"),
                label=node.attrs.get("label", ""),
                children=self.blocks(node),
            )
        if tag == "qr":
            return QRCode(url=_link(self.source, node, "url"), alt=_required(self.source, node, "alt"), children=self.blocks(node))
        if tag == "keep":
            return Keep(self.blocks(node))
        if tag == "pagebreak":
            return PageBreak()
        if tag == "diary":
            return self.diary(node)
        try:
            height = float(node.attrs.get("mm", "4"))
            if not 0 <= height <= 100:
                raise ValueError
            return Spacer(height)
        except ValueError:
            raise _error(self.source, node, "<spacer mm=...> must be a number from 0 to 100") from None

    def elements(self, parent: _Node, tag: str) -> list[_Node]:
        found: list[_Node] = []
        for child in parent.children:
            if isinstance(child, str):
                if child.strip():
                    raise _error(self.source, parent, f"text directly inside <{parent.tag}>; put it in an <{tag}>")
            elif child.tag != tag:
                raise _error(self.source, child, f"<{parent.tag}> may only contain <{tag}>, not <{child.tag}>")
            else:
                found.append(child)
        return found

    def table(self, node: _Node) -> Table:
        rows = tuple(
            tuple(Cell(text=self.inline(cell), tick=cell.attrs.get("tick", "no") == "yes") for cell in self.elements(row, "cell"))
            for row in self.elements(node, "row")
        )
        columns = {len(r) for r in rows}
        if len(columns) != 1:
            raise _error(self.source, node, "every <row> of a <table> needs the same number of cells")
        count = columns.pop()
        try:
            widths = tuple(float(w) for w in node.attrs["widths"].split(",")) if "widths" in node.attrs else (1.0,) * count
            header = int(node.attrs.get("header", "1"))
        except ValueError:
            raise _error(self.source, node, "<table> widths must be numbers separated by commas, header a whole number") from None
        if len(widths) != count:
            raise _error(self.source, node, f"<table> has {count} columns but {len(widths)} widths")
        if not all(w > 0 for w in widths) or min(widths) < sum(widths) / 50:
            raise _error(self.source, node, "<table> widths must be positive, and no column narrower than a fiftieth of the table")
        if not 0 <= header <= len(rows):
            raise _error(self.source, node, f"<table header=...> must be from 0 to its {len(rows)} rows")
        return Table(rows, header, widths, _choice(self.source, node, "style", TABLE_STYLES, "grid"), node.attrs.get("caption", ""))

    def diary(self, node: _Node) -> Diary:
        try:
            numbers = [int(node.attrs[name]) for name in ("start", "target", "walks", "weeks")]
            date = node.attrs["date"]
        except (KeyError, ValueError):
            raise _error(self.source, node, "<diary> needs whole numbers start, target, walks and weeks, and a date") from None
        weeks = tuple(
            DiaryWeek(
                _required(self.source, week, "heading"),
                week.attrs.get("caption", ""),
                tuple(plain_text(self.inline(day)) for day in self.elements(week, "day")),
            )
            for week in self.elements(node, "week")
        )
        if len(weeks) != numbers[3] or any(len(w.days) != 7 for w in weeks):
            raise _error(self.source, node, "<diary> needs one <week> of seven <day> elements for each of its weeks")
        texts = tuple((key, node.attrs.get(key, "")) for key in DIARY_TEXTS)
        return Diary(*numbers, date, node.attrs.get("tag", "AAAA"), texts, weeks)

    def inline(self, node: _Node, bold: bool = False, href: str | None = None) -> Inline:
        spans: list[Span] = []
        for child in node.children:
            if isinstance(child, str):
                text = _SPACE.sub(" ", child)
                if text:
                    spans.append(Span(text, bold, href))
            elif child.tag == "br":
                spans.append(Span("\n", bold, href))
            elif child.tag == "b":
                spans.extend(self.inline(child, True, href))
            elif child.tag == "a":
                spans.extend(self.inline(child, bold, _link(self.source, child, "href")))
            else:
                raise _error(self.source, child, f"<{child.tag}> is not allowed inside <{node.tag}>; only {', '.join(_INLINE_TAGS)}")
        return _trim(tuple(spans))


def _trim(spans: Inline) -> Inline:
    """Drop the layout whitespace a template leaves at the start and end of a block."""
    if spans and _kept_end(spans[0].text, spans[0].text.startswith(" ")) and _kept_end(spans[-1].text, spans[-1].text.endswith(" ")):
        return spans  # nothing to drop (most runs): the same spans, without building them again
    items = list(spans)
    while items and items[0].text != "\n" and not items[0].text.strip():
        items.pop(0)
    while items and items[-1].text != "\n" and not items[-1].text.strip():
        items.pop()
    if items:
        first = items[0]
        items[0] = Span(first.text.lstrip(" "), first.bold, first.href)
        last = items[-1]  # the first span again when there is only one
        items[-1] = Span(last.text.rstrip(" "), last.bold, last.href)
    return tuple(s for s in items if s.text)


def _kept_end(text: str, spaced: bool) -> bool:
    """Whether a run's first (or last) span is kept whole by _trim: a line break, or text not starting (ending) with a space."""
    return not spaced and (text == "\n" or bool(text.strip()))
