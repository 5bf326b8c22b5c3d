"""Command-line values read without Typer's pydantic layer: the everyday values take a plain path, everything else Typer's own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from typer.core import TyperCommand

# Typer 0.2x reads every option through a pydantic TypeAdapter built on first use: importing
# pydantic and building the adapters is about a tenth of `handout leaflet`. The values the
# commands take are plain (str, int, Path, a choice), so this reads the ones it can be sure
# of exactly as Typer would, with Typer's own helpers, and hands anything else (a value Typer
# would refuse, so its message stays word for word, or a type not listed here) to Typer.
try:
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path
except ImportError:  # pragma: no cover - a Typer without the pydantic layer: nothing to spare
    RuntimeParam = None  # type: ignore[assignment,misc]

# Whole numbers the plain path reads: ASCII digits that Python's int() and pydantic agree on
# (pydantic refuses other scripts' digits, which int() takes).
_DIGITS = re.compile(r"[0-9]{1,18}")


class _NotPlain(Exception):
    """This value is for Typer's own coercion (its result or its error message)."""


def _in_range(number: int, descriptor: Any) -> int:
    info = descriptor.parameter_info
    if info.clamp or (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
        raise _NotPlain
    return number


def _plain_int(value: Any, descriptor: Any, param: Any, ctx: Any) -> int:
    if type(value) is int:
        return _in_range(value, descriptor)
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return _in_range(int(value), descriptor)
    raise _NotPlain


def _plain_bool(value: Any, descriptor: Any, param: Any, ctx: Any) -> bool:
    if type(value) is bool:
        return value
    raise _NotPlain


def _plain_str(value: Any, descriptor: Any, param: Any, ctx: Any) -> str:
    if type(value) is str:
        return value
    raise _NotPlain


def _plain_path(value: Any, descriptor: Any, param: Any, ctx: Any) -> Any:
    path_type = descriptor.annotation
    if not isinstance(value, (str, path_type)):
        raise _NotPlain
    try:  # pydantic makes a str into path_type(str): so does this, then the same checks Typer runs
        return coerce_cli_path(path_type(value), descriptor.parameter_info, path_type=path_type, param=param, ctx=ctx)
    except (BadParameter, ValueError):  # Typer words the message from the value as typed (pydantic wraps a ValueError)
        raise _NotPlain from None


def _plain_choice(value: Any, descriptor: Any, param: Any, ctx: Any) -> Any:
    try:
        return coerce_cli_choice(value, choices=tuple(descriptor.annotation), case_sensitive=descriptor.parameter_info.case_sensitive, ctx=ctx)
    except ValueError:
        raise _NotPlain from None


def _reader(descriptor: Any) -> Any:
    """The plain reader for this parameter's type, or None where Typer's own is the only one."""
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if info.parser is not None or getattr(info, "click_type", None) is not None or descriptor.is_file:
        return None
    if annotation is int:
        return _plain_int
    if annotation is str:
        return _plain_str
    if annotation is bool:
        return _plain_bool
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _plain_choice
    if isinstance(annotation, type) and issubclass(annotation, Path) and info.path_type is None and not info.resolve_path and not info.allow_dash:
        return _plain_path
    return None


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class PlainRuntimeParam(RuntimeParam):  # type: ignore[misc,valid-type]
        """Typer's runtime coercion for one parameter, taking the plain path first."""

        descriptor: TypeDescriptor
        read: Any

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.read(value, self.descriptor, param, ctx)
            except _NotPlain:
                return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)


def read_plainly(params: list[Any]) -> list[Any]:
    """Give each single-valued Typer parameter the plain reader for its type; returns the parameters."""
    if RuntimeParam is None:
        return params  # pragma: no cover
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", "absent") is not None:
            continue  # not a Typer parameter, or its reader is already made
        if param.multiple or param.nargs != 1:
            continue
        read = _reader(descriptor)
        if read is not None:
            try:
                param._runtime_param = PlainRuntimeParam(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, descriptor=descriptor, read=read)
            except (TypeError, AttributeError):
                return params  # a Typer whose private classes changed shape: let it read every value itself, as it would anyway
    return params


class PlainValues:
    """Mixin for a Typer command or group: its parameters (--help too) read their values plainly."""

    def get_params(self, ctx: Any) -> list[Any]:
        return read_plainly(super().get_params(ctx))  # type: ignore[misc]


class PlainValuesCommand(PlainValues, TyperCommand):
    """A Typer command whose options are read without pydantic."""
