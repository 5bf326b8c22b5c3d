"""A leaflet's filled template kept between runs (leaflet_text.py): the same bytes as a fill, never stale, never a patient's address, no Jinja when warm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from handout import leaflet_text
from handout.brand import load_brand
from handout.content import load_article
from handout.pipeline import Renderer

from helpers import as_the_command

# `handout leaflet …` as the installed command runs it, then whether Jinja was imported.
PROBE = as_the_command(
    """
print("jinja:", "jinja2" in sys.modules)
"""
)
OVERRIDE = '{% extends "builtin/leaflet.xml.j2" %}\n{% block title %}\n<title>{{ article.title }} (TITLE)</title>\n{% endblock %}\n'


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")
    monkeypatch.delenv("HANDOUT_CACHE", raising=False)
    return tmp_path / "cache" / "handout" / "leaflets"


def leaflet(tmp_path: Path, *args: str, cache: bool = True) -> tuple[bytes, bool]:
    """The PDF `handout leaflet ARGS` writes, and whether the process imported Jinja."""
    out = tmp_path / "leaflet.pdf"
    env = {**os.environ, **({} if cache else {"HANDOUT_CACHE": "off"})}
    result = subprocess.run([sys.executable, "-c", PROBE, "leaflet", *args, "-o", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    return out.read_bytes(), result.stdout.rsplit("jinja:", 1)[1].strip() == "True"


@pytest.mark.parametrize("args", [[], ["--lang", "es", "--layout", "trifold"], ["--large-print", "--paper", "letter"]])
def test_a_warm_leaflet_is_the_filled_one_byte_for_byte_and_needs_no_jinja(args: list[str], tmp_path: Path, cache_home: Path) -> None:
    made, filled_cold = leaflet(tmp_path, *args)
    kept, filled_warm = leaflet(tmp_path, *args)
    assert filled_cold and not filled_warm  # the second run read the kept text
    assert kept == made == leaflet(tmp_path, *args, cache=False)[0]
    assert len(list(cache_home.glob("*.json"))) == 1


def test_an_edited_override_template_makes_a_new_leaflet(tmp_path: Path, cache_home: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "leaflet.xml.j2").write_text(OVERRIDE.replace("TITLE", "first"), encoding="utf-8")
    first, _ = leaflet(tmp_path, "--templates", str(folder))
    assert leaflet(tmp_path, "--templates", str(folder)) == (first, False)  # kept
    (folder / "leaflet.xml.j2").write_text(OVERRIDE.replace("TITLE", "second"), encoding="utf-8")
    second, filled = leaflet(tmp_path, "--templates", str(folder))
    assert filled and second != first
    assert second == leaflet(tmp_path, "--templates", str(folder), cache=False)[0]
    (folder / "partials").mkdir()  # a new file the override could include: another key, though the leaflet is the same
    (folder / "partials" / "resources.xml.j2").write_text("<p>ours</p>\n", encoding="utf-8")
    third, filled = leaflet(tmp_path, "--templates", str(folder))
    assert filled and third != second  # the built-in leaflet includes partials/resources.xml.j2: the clinic's own is found first


def test_an_edited_brand_makes_a_new_leaflet(tmp_path: Path, cache_home: Path, brand_dir: Path) -> None:
    first, _ = leaflet(tmp_path, "--brand", str(brand_dir))
    toml = brand_dir / "brand.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("Example Physiotherapy Clinic", "Harbour Physio"), encoding="utf-8")
    second, filled = leaflet(tmp_path, "--brand", str(brand_dir))
    assert filled and second != first
    assert second == leaflet(tmp_path, "--brand", str(brand_dir), cache=False)[0]


def test_a_leaflet_for_a_given_address_is_never_kept(tmp_path: Path, cache_home: Path) -> None:
    url = "https://example-physio.org/p/TOKEN123"  # may be one patient's
    leaflet(tmp_path, "--qr-url", url)
    assert leaflet(tmp_path, "--qr-url", url)[1]  # filled again
    assert list(cache_home.glob("*.json")) == []


def key(tmp_path: Path, folders: list[Path], language: str = "en") -> str | None:
    renderer = Renderer(load_brand(), template_dirs=folders)
    return leaflet_text.cache_key(renderer.template_folders, renderer._common(load_article(language=language), None))


def test_the_key_changes_with_every_thing_that_decides_the_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "templates"
    (folder / "deep").mkdir(parents=True)
    (folder / "deep" / "x.xml.j2").write_text("a", encoding="utf-8")
    keys = [key(tmp_path, [folder]), key(tmp_path, [folder], "es"), key(tmp_path, [])]
    (folder / "deep" / "x.xml.j2").write_text("b", encoding="utf-8")  # a file deep in a clinic's folder
    keys.append(key(tmp_path, [folder]))
    (folder / "deep" / "y.xml.j2").write_text("", encoding="utf-8")  # an empty new one
    keys.append(key(tmp_path, [folder]))
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    monkeypatch.setattr(leaflet_text, "templates_dir", lambda: builtin)  # the built-in templates (and catalogs) differ
    keys.append(key(tmp_path, [folder]))
    monkeypatch.setattr(leaflet_text, "FILLING_CODE", (*leaflet_text.FILLING_CODE[:-1],))  # handout's filling code differs
    keys.append(key(tmp_path, [folder]))
    monkeypatch.setattr(leaflet_text.private_cache, "installed_version", lambda package, module: f"{package} 99")  # another Jinja
    keys.append(key(tmp_path, [folder]))
    assert None not in keys and len(set(keys)) == len(keys)


def test_values_are_told_apart_by_type_and_position() -> None:
    texts = [leaflet_text.plain(value) for value in ("1", 1, 1.0, True, None, ("a", "b"), ["a", "b"], ("a,b",), ("a", "b", ""), {"a": "b"}, {"a,b": ""})]
    assert None not in texts and len(set(texts)) == len(texts)
    assert leaflet_text.plain(object()) is None and leaflet_text.plain({"x": [object()]}) is None


def test_a_huge_folder_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    for number in range(5):
        (folder / f"{number}.j2").write_text("x", encoding="utf-8")
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    monkeypatch.setattr(leaflet_text, "templates_dir", lambda: builtin)
    assert key(tmp_path, [folder]) is not None
    monkeypatch.setattr(leaflet_text, "MAX_FILES", 4)
    assert key(tmp_path, [folder]) is None
    monkeypatch.setattr(leaflet_text, "MAX_FILES", 5)
    assert key(tmp_path, [folder]) is not None
    (folder / "again").symlink_to(folder)  # a loop of links: walked until the limit, never for ever
    assert key(tmp_path, [folder]) is None


def test_a_named_pipe_among_the_templates_is_not_waited_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe has no writer: opening it to hash it would wait for ever. It is no template file, so the leaflet is not kept."""
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "a.j2").write_text("x", encoding="utf-8")
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    monkeypatch.setattr(leaflet_text, "templates_dir", lambda: builtin)
    assert key(tmp_path, [folder]) is not None
    os.mkfifo(folder / "pipe")
    assert key(tmp_path, [folder]) is None


def test_a_damaged_entry_is_filled_again(tmp_path: Path, cache_home: Path) -> None:
    made, _ = leaflet(tmp_path)
    for entry in cache_home.glob("*.json"):
        kept = json.loads(entry.read_text(encoding="utf-8"))
        entry.write_text(json.dumps({**kept, "text": 5}), encoding="utf-8")
    assert leaflet(tmp_path) == (made, True)
