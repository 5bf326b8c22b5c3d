"""The command line's plain value readers give exactly what Typer's own (pydantic) coercion gives: the same value, or the same error."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from handout import cli, cli_values


@functools.cache
def parameter(command: str, name: str) -> tuple[Any, Any]:
    group = typer.main.get_command(cli.app)
    ctx = group.make_context("handout", [command, "--help"], resilient_parsing=True)
    sub = group.commands[command]
    sub_ctx = sub.make_context(command, [], parent=ctx, resilient_parsing=True)
    (param,) = [p for p in sub.get_params(sub_ctx) if p.name == name]
    return param, sub_ctx


def outcome(reader: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        return "value", reader._coerce_value(value, param=param, ctx=ctx)
    except BadParameter as exc:
        return "error", exc.format_message()
    except ValueError as exc:  # a NUL in a path: os.stat's own error, either way
        return type(exc).__name__, str(exc)


PARAMETERS = [("plan", "weeks"), ("batch", "workers"), ("serve", "port"), ("plan", "patient"), ("leaflet", "paper"), ("leaflet", "layout"), ("leaflet", "output"), ("plan", "outbox")]
VALUES = st.text(max_size=12) | st.from_regex(r"[ +-]?[0-9_٣]{0,22} ?", fullmatch=True) | st.sampled_from(["A4", "letter", "TRIFOLD", "", ".", "-", "a/./b", "/", "/etc/shadow", "007", "64", "65"])


@pytest.mark.parametrize(("command", "name"), PARAMETERS)
@settings(max_examples=80, deadline=None)
@given(value=VALUES)
def test_the_plain_reader_agrees_with_typers_own(command: str, name: str, value: str) -> None:
    param, ctx = parameter(command, name)
    plain = param.get_runtime_param()
    assert isinstance(plain, cli_values.PlainRuntimeParam)  # every one of these is read plainly
    assert outcome(plain, value, param, ctx) == outcome(build_runtime_param(plain.descriptor), value, param, ctx)


def test_defaults_and_typed_values_take_the_plain_path_without_typers_layer() -> None:
    param, ctx = parameter("leaflet", "output")
    assert param.get_runtime_param().read(Path("leaflet.pdf"), param.type_descriptor, param, ctx) == Path("leaflet.pdf")
    param, ctx = parameter("leaflet", "paper")
    assert param.get_runtime_param().read(cli.Paper.a4, param.type_descriptor, param, ctx) is cli.Paper.a4
    param, ctx = parameter("plan", "weeks")
    with pytest.raises(cli_values._NotPlain):  # other scripts' digits: int() takes them, Typer refuses them
        param.get_runtime_param().read("٣", param.type_descriptor, param, ctx)


def test_every_command_reads_its_values_plainly() -> None:
    group = typer.main.get_command(cli.app)
    assert isinstance(group, cli_values.PlainValues)
    assert all(isinstance(command, cli_values.PlainValues) for command in group.commands.values())
