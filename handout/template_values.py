"""What a template may touch: plain values, handout's frozen records and Jinja's own helpers, and the few methods it may call on them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
from collections.abc import Iterator

from jinja2.environment import TemplateModule
from jinja2.runtime import BlockReference, LoopContext, Macro, TemplateReference, Undefined
from jinja2.utils import Cycler, Joiner, Namespace

# Values a template is given or builds: text, numbers, truth values, dates, nothing, and collections of them.
SCALARS: tuple[type, ...] = (str, int, float, bool, type(None), dt.date, dt.time, dt.timedelta)
COLLECTIONS: tuple[type, ...] = (tuple, list, dict, frozenset, set, range, types.MappingProxyType, type({}.keys()), type({}.values()), type({}.items()))
# Jinja's own objects a template makes or is handed: loops, macros, blocks, imported templates, namespace(), cycler(), joiner().
JINJA_HELPERS: tuple[type, ...] = (LoopContext, Macro, BlockReference, TemplateReference, TemplateModule, Namespace, Cycler, Joiner)

# The methods a template may call, by the kind of value; nothing else has callable methods.
# Every one only reads its value and returns a new plain value (no files, no processes, no network).
_TEXT_METHODS = frozenset(
    {
        "capitalize", "casefold", "center", "count", "endswith", "find", "format", "index", "isalnum", "isalpha",
        "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "join", "ljust",
        "lower", "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
        "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper",
        "zfill", "striptags", "unescape",
    }
)  # fmt: skip
_METHODS: tuple[tuple[tuple[type, ...], frozenset[str]], ...] = (
    ((str,), _TEXT_METHODS),
    ((dict, types.MappingProxyType), frozenset({"get", "items", "keys", "values"})),
    ((tuple, list, range), frozenset({"count", "index"})),
    ((dt.date, dt.time), frozenset({"isoformat", "strftime", "weekday", "isoweekday", "isocalendar", "toordinal", "date"})),
    ((LoopContext,), frozenset({"cycle", "changed"})),
    ((Cycler,), frozenset({"next", "reset"})),
)
_METHOD_TYPES = (types.MethodType, types.BuiltinMethodType, types.MethodWrapperType)


# Each type's verdict, worked out once: a template reads thousands of attributes per document.
_RECORD_TYPES: dict[type, bool] = {}
_TEMPLATE_TYPES: dict[type, bool] = {}


def is_record(value: object) -> bool:
    """A frozen dataclass of handout's own: a record of values whose methods are handout's code and change nothing."""
    kind = type(value)
    verdict = _RECORD_TYPES.get(kind)
    if verdict is None:
        params = getattr(kind, "__dataclass_params__", None)
        verdict = _RECORD_TYPES[kind] = params is not None and params.frozen and kind.__module__.split(".")[0] == "handout"
    return verdict


def is_template_value(value: object) -> bool:
    """Whether a value may be handed to a template as it is (its contents are checked when they are reached)."""
    kind = type(value)
    verdict = _TEMPLATE_TYPES.get(kind)
    if verdict is None:
        verdict = _TEMPLATE_TYPES[kind] = _template_type(value)
    return verdict


def _template_type(value: object) -> bool:
    if isinstance(value, (*SCALARS, *COLLECTIONS, *JINJA_HELPERS, Undefined)) or is_record(value):
        return True
    # An enumeration's members are constants; allowed when every one's value is plain (RunState.DONE.value == "done").
    return isinstance(value, enum.Enum) and all(isinstance(member.value, SCALARS) for member in type(value))


def may_read(owner: object, name: str, value: object) -> bool:
    """Whether a template may have `owner.name`, which is `value`: plain data, or a method it may call."""
    if isinstance(value, _METHOD_TYPES) and getattr(value, "__self__", None) is owner:
        return may_call_method(owner, name)
    if isinstance(owner, enum.Enum) and name not in ("name", "value"):
        return False
    return is_template_value(value)


def may_call_method(owner: object, name: str) -> bool:
    """Whether `owner.name(...)` is one of the calls a template may make."""
    if name.startswith("_"):
        return False
    if is_record(owner):
        return True  # handout's own records: their methods compute from their fields
    return any(isinstance(owner, kinds) and name in names for kinds, names in _METHODS)


def may_call(function: object, known: Iterator[object]) -> bool:
    """Whether a template may call `function`: a macro, block or Jinja helper, one of the environment's globals, or a listed method."""
    if isinstance(function, (Macro, BlockReference, LoopContext, Joiner)):
        return True
    if isinstance(function, _METHOD_TYPES):
        owner = getattr(function, "__self__", None)
        if owner is not None and not isinstance(owner, types.ModuleType):
            return is_template_value(owner) and may_call_method(owner, function.__name__)
    if any(function is item for item in known):
        return True
    wrapped = getattr(function, "__wrapped__", None)  # the sandbox's own wrapper of str.format
    return isinstance(wrapped, _METHOD_TYPES) and isinstance(getattr(wrapped, "__self__", None), str) and wrapped.__name__ == "format"


def unplain_values(value: object, where: str = "context", seen: set[int] | None = None) -> Iterator[str]:
    """Where a value holds anything but plain data ("context['brand'].logo: PosixPath"), walking every field, property and item.

    Properties are read as a template would read them; methods are not called.
    """
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, SCALARS):
        return
    if isinstance(value, enum.Enum):
        if not isinstance(value.value, SCALARS):
            yield f"{where}: {type(value).__name__} of {type(value.value).__name__}"
        return
    if isinstance(value, (dict, types.MappingProxyType)):
        for key, item in value.items():
            yield from unplain_values(key, f"{where} key", seen)
            yield from unplain_values(item, f"{where}[{key!r}]", seen)
        return
    if isinstance(value, (tuple, list, frozenset, set, range)):
        for index, item in enumerate(value):
            yield from unplain_values(item, f"{where}[{index}]", seen)
        return
    if is_record(value):
        names = [field.name for field in dataclasses.fields(value)]  # type: ignore[arg-type]
        names += [name for name in dir(type(value)) if isinstance(getattr(type(value), name, None), property) and not name.startswith("_")]
        for name in names:
            yield from unplain_values(getattr(value, name), f"{where}.{name}", seen)
        return
    yield f"{where}: {type(value).__name__}"
