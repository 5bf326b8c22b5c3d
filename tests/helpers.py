"""Reads PDFs the way a patient or a screen reader would: text, pictures, QR codes, fonts, metadata."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
import pypdf
import pypdfium2
import zxingcpp

# A verbatim copy of shared/seeds/000_2010e4ea982a0005.txt, the web page the article came from.
SEED = Path(__file__).resolve().parent / "data" / "source-article.txt"
FOOTER_TOP_PT = (15 + 13) * 72 / 25.4  # MARGIN + FOOTER_HEIGHT in render/pdf.py
WEB_PAGE_DEBRIS = {"Advice", ", ,", "Pinterest", "LinkedIn"}


def as_the_command(then: str) -> str:
    """A `python -c` program running `handout ARGS…` as the installed command runs it (its exit code checked to be 0), then `then`.

    Through handout.__main__.main, which the command's run() calls: run() would end the process before `then`.
    """
    return (
        "import sys\n"
        'sys.argv = ["handout", *sys.argv[1:]]\n'
        "from handout.__main__ import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
    ) + then


def normalise(text: str) -> str:
    """Collapse all whitespace, as a reader does not see line breaks inside a sentence."""
    return re.sub(r"\s+", " ", text).strip()


def content_operations(page: Any) -> Iterator[tuple[list[Any], pikepdf.Operator]]:
    """A page's content-stream operations as a viewer runs them: each form XObject it places drawn where it is placed.

    Furniture a document repeats (diary grids, footers) is written once as a form; a test reading the drawing
    reads it on every page that places it: q, the form's /Matrix as cm, its own operations, Q.
    """
    resources = page.Resources if isinstance(page, pikepdf.Page) else page.get("/Resources", pikepdf.Dictionary())
    for operands, operator in pikepdf.parse_content_stream(page):
        xobject = resources.get("/XObject", {}).get(str(operands[0])) if str(operator) == "Do" else None
        if xobject is None or xobject.get("/Subtype") != "/Form":
            yield operands, operator
            continue
        yield [], pikepdf.Operator("q")
        yield list(xobject.get("/Matrix", [1, 0, 0, 1, 0, 0])), pikepdf.Operator("cm")
        yield from content_operations(xobject)
        yield [], pikepdf.Operator("Q")


def body_text(pdf: bytes) -> str:
    """The text of every page above the footer, in content order."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    parts: list[str] = []
    for page in reader.pages:

        def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
            y = cm[3] * tm[5] + cm[5]
            if y > FOOTER_TOP_PT or not text.strip():
                parts.append(text)

        page.extract_text(visitor_text=visit)
        parts.append("\n")
    return normalise(" ".join(parts))


def all_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return normalise(" ".join(page.extract_text() for page in reader.pages))


def article_sentences() -> list[str]:
    """Every sentence of the source article, minus the web page's debris, in order."""
    lines = [normalise(line.replace("•", "")) for line in SEED.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line and line not in WEB_PAGE_DEBRIS]
    title = lines[0]
    lines = [title] + [line for line in lines[1:] if line != title]  # the page repeats its title
    sentences: list[str] = []
    for line in lines:
        sentences.extend(s for s in re.split(r"(?<=[.?])\s+", line) if s)
    return sentences


def assert_in_order(haystack: str, needles: list[str]) -> None:
    position = 0
    for needle in needles:
        found = haystack.find(needle, position)
        assert found >= 0, f"missing or out of order: {needle!r}"
        position = found + len(needle)


@dataclass(frozen=True)
class Font:
    name: str
    embedded: bool
    subset: bool


def fonts(pdf: bytes) -> list[Font]:
    """Every font resource on every page (including inside form XObjects)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    found: dict[str, Font] = {}

    def walk(resources: object) -> None:
        if not resources:
            return
        resources = resources.get_object()  # type: ignore[attr-defined]
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            name = str(font["/BaseFont"])
            found[name] = Font(name, embedded, bool(re.match(r"^/?[A-Z]{6}\+", name)))
        for xobject in (resources.get("/XObject") or {}).values():
            walk(xobject.get_object().get("/Resources"))

    for page in reader.pages:
        walk(page.get("/Resources"))
    return list(found.values())


def page_images(pdf: bytes, dpi: int = 200) -> list:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [document[i].render(scale=dpi / 72).to_pil() for i in range(len(document))]
    finally:
        document.close()


def decode_qr_codes(pdf: bytes) -> list[str]:
    """Decode every QR code on every page with a real decoder (zxing-cpp)."""
    texts: list[str] = []
    for image in page_images(pdf):
        texts.extend(r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode))
    return texts


def link_uris(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    uris: list[str] = []
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action and "/URI" in action:
                uris.append(str(action["/URI"]))
    return uris


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    """A CliRunner result's whole stderr, less the test SMTP server's own deprecation notice: exactly one handout line."""
    lines = [line for line in result.stderr.splitlines() if "login_data is deprecated" not in line]
    assert len(lines) == 1 and lines[0].startswith("handout: error: "), result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return lines[0]
