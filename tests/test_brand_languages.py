"""The brand speaks the document's language: its disclaimer and logo description per language, or tagged with their own."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from typer.testing import CliRunner

from handout.brand import load_brand
from handout.cli import app
from handout.content import load_article
from handout.pipeline import Renderer

from conftest import set_brand_value
from helpers import normalise

runner = CliRunner()
EXAMPLE_ES = "Información general. No sustituye el consejo de su fisioterapeuta o de su médico."


def elements(pdf: bytes) -> list[tuple[str, str, str, str]]:
    """Every structure element as (type, /Lang, /Alt, its text as PDFium has no hand in it: the marked content's text is read by pdfinfo)."""
    import io

    found: list[tuple[str, str, str, str]] = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        stack = [document.Root.StructTreeRoot.K]
        while stack:
            node = stack.pop()
            if isinstance(node, pikepdf.Array):
                stack.extend(reversed(list(node)))
                continue
            if not isinstance(node, pikepdf.Dictionary) or "/S" not in node:
                continue
            found.append((str(node.S)[1:], str(node.get("/Lang", "")), str(node.get("/Alt", "")), ""))
            if "/K" in node:
                stack.append(node.K)
    return found


def struct_text(pdf: bytes, tmp_path: Path) -> str:
    import subprocess

    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    return normalise(subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout)


@pytest.mark.parametrize("layout", ["standard", "trifold"])
def test_the_example_disclaimer_and_logo_description_are_translated(layout: str, tmp_path: Path) -> None:
    pdf = Renderer(load_brand()).leaflet(load_article(language="es"), layout=layout)
    text = struct_text(pdf, tmp_path)
    assert EXAMPLE_ES in text and "General information only" not in text
    assert ("Figure", "", "Logotipo de Example Physiotherapy Clinic", "") in elements(pdf)


def test_a_changed_disclaimer_without_a_translation_is_printed_and_tagged_as_english(brand_dir: Path, tmp_path: Path) -> None:
    set_brand_value(brand_dir, "disclaimer", '"Advice here is general. Ask us about your own back."')
    for layout in ("standard", "trifold"):
        pdf = Renderer(load_brand(brand_dir)).leaflet(load_article(language="es"), layout=layout)
        assert "Advice here is general. Ask us about your own back." in struct_text(pdf, tmp_path)
        langs = [lang for kind, lang, _, _ in elements(pdf) if lang]
        assert langs == ["en-GB"], layout  # that paragraph alone: a Spanish voice switches to English for it


def test_a_brand_gives_its_words_per_language(brand_dir: Path, tmp_path: Path) -> None:
    set_brand_value(brand_dir, "disclaimer", '"Advice here is general. Ask us about your own back."')
    with (brand_dir / "brand.toml").open("a", encoding="utf-8") as stream:
        stream.write('\n[es]\ndisclaimer = "Consejos generales. Pregúntenos por su caso."\nlogo_description = "Logotipo: una columna vertebral"\n')
    brand = load_brand(brand_dir)
    spanish = Renderer(brand).leaflet(load_article(language="es"))
    assert "Consejos generales. Pregúntenos por su caso." in struct_text(spanish, tmp_path)
    assert ("Figure", "", "Logotipo: una columna vertebral", "") in elements(spanish)
    assert not any(lang for _, lang, _, _ in elements(spanish))
    english = Renderer(brand).leaflet(load_article())
    assert "Advice here is general." in struct_text(english, tmp_path)


@pytest.mark.parametrize(
    ("table", "fragment"),
    [('[es]\nfax = "1"\n', "unknown key 'fax' in [es]"), ('[es]\ndisclaimer = ""\n', "key 'disclaimer' in [es] must be a non-empty text")],
)
def test_a_wrong_language_table_is_one_line(brand_dir: Path, tmp_path: Path, table: str, fragment: str) -> None:
    with (brand_dir / "brand.toml").open("a", encoding="utf-8") as stream:
        stream.write("\n" + table)
    result = runner.invoke(app, ["leaflet", "--brand", str(brand_dir), "-o", str(tmp_path / "l.pdf")])
    assert result.exit_code == 1 and fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "l.pdf").exists()


def test_check_reports_brand_words_not_in_the_documents_language(brand_dir: Path) -> None:
    set_brand_value(brand_dir, "disclaimer", '"Advice here is general. Ask us about your own back."')
    result = runner.invoke(app, ["check", "--brand", str(brand_dir), "--lang", "es"])
    assert "WARN  Brand words (disclaimer, es): not in 'es': printed in the brand's own language (en-GB)" in result.stdout
    assert "add the disclaimer in 'es' to brand.toml: a [es] table" in result.stdout
    assert "PASS  Brand words (logo description, es)" in result.stdout  # the built-in description is translated
