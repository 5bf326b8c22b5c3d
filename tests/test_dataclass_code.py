"""The kept dataclass code: a second start compiles none of it, and the classes it makes behave exactly as dataclasses' own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Made once with the kept code switched on and once without: everything a data class answers is printed.
PROBE = """
import dataclasses, sys
if sys.argv[1] == "kept":
    from handout.dataclass_code import keep_dataclass_code
    keep_dataclass_code()
compiled = []
real_compile = compile
def counting(*args, **kwargs):
    compiled.append(args[0])
    return real_compile(*args, **kwargs)
import builtins
builtins.compile = counting

@dataclasses.dataclass(frozen=True)
class Dose:
    name: str
    minutes: int = 10
    days: tuple[str, ...] = dataclasses.field(default_factory=tuple)

builtins.compile = real_compile
a, b = Dose("walk", 15, ("mon",)), Dose("walk", 15, ("mon",))
try:
    a.minutes = 3
except dataclasses.FrozenInstanceError as exc:
    frozen = repr(exc)
try:
    del a.name
except dataclasses.FrozenInstanceError as exc:
    frozen += repr(exc)
print(repr(a), a == b, a != Dose("walk"), hash(a) == hash(b), Dose("x"), frozen, Dose.__match_args__, [f.name for f in dataclasses.fields(Dose)], dataclasses.replace(a, minutes=1))
print("compiled:", len(compiled) if "exec" in vars(dataclasses) else -1)  # -1: dataclasses compiles as it always does
"""


def made(mode: str, cache: Path, **environment: str) -> tuple[str, int]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "HANDOUT_CACHE": "", **environment}
    result = subprocess.run([sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, check=True)
    answers, compiled = result.stdout.rsplit("compiled:", 1)
    return answers, int(compiled)


def kept_files(cache: Path) -> list[Path]:
    return sorted((cache / "handout").glob("dataclass-code-*.bin"))


def test_a_second_start_compiles_no_dataclass_code_and_the_class_behaves_the_same(tmp_path: Path) -> None:
    plain, plain_compiled = made("plain", tmp_path)
    assert plain_compiled == -1
    first, first_compiled = made("kept", tmp_path)
    assert (first, first_compiled) == (plain, 6)  # __init__, __repr__, __eq__, __hash__, __setattr__, __delattr__
    [kept] = kept_files(tmp_path)
    assert kept.stat().st_mode & 0o077 == 0
    second, second_compiled = made("kept", tmp_path)
    assert (second, second_compiled) == (plain, 0)


def test_a_damaged_file_is_compiled_again_and_written_whole(tmp_path: Path) -> None:
    made("kept", tmp_path)
    [kept] = kept_files(tmp_path)
    kept.write_bytes(kept.read_bytes()[:40])
    plain, _ = made("plain", tmp_path)
    assert made("kept", tmp_path) == (plain, 6)
    assert made("kept", tmp_path) == (plain, 0)


@pytest.mark.parametrize("setting", ["off", "cache folder others may write to"])
def test_nothing_is_kept_when_caches_are_off_or_the_folder_is_not_private(tmp_path: Path, setting: str) -> None:
    if setting == "off":
        environment = {"HANDOUT_CACHE": "off"}
    else:
        (tmp_path / "handout").mkdir()
        (tmp_path / "handout").chmod(0o777)
        environment = {}
    plain, _ = made("plain", tmp_path)
    for _ in range(2):
        assert made("kept", tmp_path, **environment) == (plain, -1)
    assert kept_files(tmp_path) == []
