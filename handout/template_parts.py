"""Remembers, per process, the filled text of template blocks that read only what is the same for every patient."""

from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.environment import TemplateModule

from handout import i18n
from handout.part_markers import MARKER_TARGET, Part  # the parser's half, without Jinja (markup.py)

MAX_PARTS = 256  # filled blocks kept per process (a plan has about six; a busy server a few brands × languages × print sizes)
MAX_PART_TEXT = 200_000  # characters: a block longer than this is filled each time rather than kept
# Names every template may read that are the same for every document: Jinja's and handout's functions.
_FIXED_NAMES = frozenset({"_", "gettext", "ngettext", "range", "dict", "cycler", "joiner", "namespace"})


@dataclass(frozen=True)
class Reads:
    """What a block (or a whole included template) reads from its context: names, and the templates it includes."""

    names: tuple[str, ...]
    includes: tuple[str, ...]
    cacheable: bool  # False: it reads something no name can stand for (super(), a nested block, a computed include)


def reads_of(body: list[nodes.Node]) -> Reads:
    """The names and includes in a template's nodes, judged by their syntax alone (so, over-counted: never under)."""
    names: set[str] = set()
    includes: list[str] = []
    cacheable = True
    for node in (n for top in body for n in (top, *top.find_all(nodes.Node))):
        if isinstance(node, nodes.Name) and node.ctx == "load":
            names.add(node.name)
        elif isinstance(node, nodes.Include):
            if isinstance(node.template, nodes.Const) and isinstance(node.template.value, str):
                includes.append(node.template.value)
            else:
                cacheable = False
        elif isinstance(node, (nodes.Block, nodes.Import, nodes.FromImport, nodes.Extends)):
            cacheable = False  # a block can be overridden, an import inside a block can change: fill it each time
        elif isinstance(node, nodes.Filter) and node.name == "random":
            cacheable = False
    if names & {"self", "super", "caller", "varargs", "kwargs", "loop"}:
        cacheable = False
    return Reads(tuple(sorted(names)), tuple(dict.fromkeys(includes)), cacheable)


def reads_source(template: nodes.Template) -> str:
    """Python source, appended to a compiled template, giving what its body and each of its blocks read."""
    blocks = {block.name: reads_of(block.body) for block in template.find_all(nodes.Block)}
    whole = reads_of(template.body)
    as_tuple = {name: (r.names, r.includes, r.cacheable) for name, r in blocks.items()}
    return f"\nhandout_reads = {(whole.names, whole.includes, whole.cacheable)!r}\nhandout_block_reads = {as_tuple!r}\n"


@dataclass
class _Scope:
    """What the fill under way lets blocks be kept by: the context names that are the same for every patient."""

    shared: frozenset[str]
    given: Mapping[str, object]  # the context as the caller gave it: a shared name counts only with the value given
    parts: dict[int, Part] | None  # the markers handed out in this fill, when its parser reads them
    filling: int = 0  # > 0 while a kept block is being filled: its text must hold text, never a marker


_SCOPE: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("handout_template_parts", default=None)
_PARTS: OrderedDict[tuple[Any, ...], Part] = OrderedDict()
_LOCK = threading.Lock()


def clear() -> None:
    """Forget every kept block (tests; a long-running process never needs to: the cache is bounded)."""
    with _LOCK:
        _PARTS.clear()


def kept_texts() -> list[str]:
    """The text of every kept block (for tests: what the process holds)."""
    with _LOCK:
        return [part.text for part in _PARTS.values()]


def kept_count() -> int:
    with _LOCK:
        return len(_PARTS)


class Scope:
    """`with Scope(shared, context, parts):` blocks filled inside may be kept and reused when they read only `shared` names (with the values in `context`)."""

    def __init__(self, shared: frozenset[str], given: Mapping[str, object], parts: dict[int, Part] | None = None) -> None:
        self.scope = _Scope(shared, given, parts)
        self.token: contextvars.Token[_Scope | None] | None = None

    def __enter__(self) -> Scope:
        self.token = _SCOPE.set(self.scope)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.token is not None
        _SCOPE.reset(self.token)


def keeping_blocks(template: jinja2.Template, namespace: Mapping[str, Any]) -> None:
    """Wrap each of a freshly compiled template's blocks so that a block reading only shared values is filled once."""
    whole = namespace.get("handout_reads")
    block_reads = namespace.get("handout_block_reads")
    if whole is None or block_reads is None:
        return
    template.handout_reads = Reads(*whole)  # type: ignore[attr-defined]
    for name, found in block_reads.items():
        if name in template.blocks and found[2]:
            template.blocks[name] = _kept(template.blocks[name], Reads(*found))


def _kept(render: Callable[[jinja2.runtime.Context], Iterator[str]], reads: Reads) -> Callable[[jinja2.runtime.Context], Iterator[str]]:
    def block(context: jinja2.runtime.Context) -> Iterator[str]:
        # Not a generator itself: a block filled each time streams straight from Jinja's own function.
        scope = _SCOPE.get()
        key = None if scope is None or not scope.shared else _key(render, reads, context, scope)
        if key is None:
            return render(context)
        assert scope is not None
        return iter((_kept_text(render, key, context, scope),))

    return block


def _kept_text(render: Callable[[jinja2.runtime.Context], Iterator[str]], key: tuple[Any, ...], context: jinja2.runtime.Context, scope: _Scope) -> str:
    """The block's kept text (filled now if it is not kept yet), or a marker standing for it when the parser can use one."""
    with _LOCK:
        part = _PARTS.get(key)
        if part is not None:
            _PARTS.move_to_end(key)
    if part is None:
        scope.filling += 1
        try:
            text = context.environment.concat(render(context))  # type: ignore[attr-defined]
        finally:
            scope.filling -= 1
        part = Part(text)
        if len(text) <= MAX_PART_TEXT:
            with _LOCK:
                _PARTS[key] = part
                while len(_PARTS) > MAX_PARTS:
                    _PARTS.popitem(last=False)
    if scope.parts is not None and not scope.filling and part.standalone and _whole_elements(part.text):
        number = len(scope.parts)
        scope.parts[number] = part
        return f"<?{MARKER_TARGET} {number}?>"
    return part.text


def _whole_elements(text: str) -> bool:
    # Text that is elements (not words in an attribute, say): the only kind a marker can stand for.
    stripped = text.strip()
    return stripped.startswith("<") and stripped.endswith(">")


def _key(render: object, reads: Reads, context: jinja2.runtime.Context, scope: _Scope) -> tuple[Any, ...] | None:
    """What a block's text depends on: the block, the language, the templates it includes and each value it reads;
    None when it reads anything that is not the same for every patient (it is then filled each time)."""
    names, templates = set(reads.names), []
    pending, seen = list(reads.includes), set()
    environment = context.environment
    while pending:  # included templates see the whole context: what they read counts too
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            included = environment.get_template(name)
        except jinja2.TemplateError:
            return None  # the fill itself will say what is wrong
        found: Reads | None = getattr(included, "handout_reads", None)
        if found is None or not found.cacheable:
            return None
        templates.append(included)
        names.update(found.names)
        pending.extend(found.includes)
    values: list[object] = []
    for name in sorted(names):
        value = context.resolve_or_missing(name)
        if value is jinja2.utils.missing:
            return None
        # A shared name set again in the template (`{% set brand = patient %}`) is not the value given: not kept.
        if (name in scope.shared and value is scope.given.get(name, jinja2.utils.missing)) or (name in _FIXED_NAMES and value is environment.globals.get(name)):
            values.append(value)
        elif isinstance(value, TemplateModule) and _default_module(environment, value):
            values.append(value)  # an imported template's macros: the same object while that file is unchanged
        else:
            return None
    key = (render, i18n.current_language(), tuple(templates), tuple(values))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _default_module(environment: jinja2.Environment, module: TemplateModule) -> bool:
    """Whether `module` is its template's own, imported without context (so it cannot see a patient's values)."""
    if module.__name__ is None:
        return False
    try:
        return environment.get_template(module.__name__)._get_default_module() is module
    except jinja2.TemplateError:
        return False
