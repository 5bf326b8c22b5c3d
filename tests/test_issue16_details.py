"""Issue 16's smaller rules, each measured on the printed page or read from the structure: headings' levels, row headers, links, words kept whole."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import pypdfium2
import pytest
from pdf_structure import Element, check_structure
from test_layout import read_pages

from handout.brand import load_brand
from handout.content import load_article
from handout.pipeline import Patient, Renderer
from handout.plan import PlanRequest, build_plan
from handout.render.trifold import sheet_for

from conftest import set_brand_value
from helpers import link_uris

START, ISSUED = dt.date(2026, 12, 7), dt.date(2026, 12, 1)


@cache
def plan_with_article(paper: str, lang: str, large: bool) -> bytes:
    renderer = Renderer(load_brand(), paper, large_print=large)
    return renderer.plan(Patient("Jane Doe", "Sam Lee"), build_plan(PlanRequest(start_date=START, weeks=26)), load_article(language=lang), ISSUED, True)


def struct_headings(pdf: bytes, tmp_path: Path) -> list[tuple[str, str]]:
    """Each heading element and its text, as `pdfinfo -struct-text` reads them (what a screen reader is given)."""
    import re
    import subprocess

    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    lines = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    found = []
    for line, following in zip(lines, lines[1:]):
        kind = re.fullmatch(r"\s*(H[1-6])(?: \(block\))?:?", line)
        if kind:
            found.append((kind.group(1), " ".join(following.strip().strip('"').split())))
    return found


def glyph_lines(page, left: float, right: float) -> list[str]:  # type: ignore[no-untyped-def]
    """The text of each line of glyphs between two x positions, top down, spaces left out."""
    rows: dict[float, list] = {}
    for g in page.glyphs:
        if left <= g.left < right:
            rows.setdefault(round(g.baseline, 1), []).append(g)
    return ["".join(g.char for g in sorted(rows[y], key=lambda g: g.left)) for y in sorted(rows, reverse=True)]


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("large", [False, True], ids=["standard", "large"])
def test_a_plan_with_its_article_has_one_h1_the_article_an_h2_and_the_warnings_once(lang: str, large: bool, tmp_path: Path) -> None:
    pdf = plan_with_article("a4", lang, large)
    assert check_structure(pdf).problems == []
    headings = struct_headings(pdf, tmp_path)
    article = load_article(language=lang)
    assert [k for k, _ in headings].count("H1") == 1
    assert ("H2", " ".join(article.title.split())) in headings  # the appended article is a section of the plan
    assert ("H2", "Find out more" if lang == "en" else "Más información") in headings  # a section, not under the warnings
    warnings = " ".join(article.warnings.heading.split())
    assert sum(1 for _, text in headings if text == warnings) == 1  # printed, and read, once
    document = pypdfium2.PdfDocument(pdf)
    try:
        pages = [" ".join(document[i].get_textpage().get_text_range().split()) for i in range(len(document))]
    finally:
        document.close()
    assert sum(page.count(warnings) for page in pages) == 1
    assert any(page.startswith(" ".join(article.title.split())) for page in pages)  # the article starts a page


def test_the_weekly_tables_week_number_is_a_row_header() -> None:
    structure = check_structure(plan_with_article("a4", "en", False))
    table = next(e for e in structure.elements if e.kind == "Table" and str(e.obj.get("/T", "")) == "Weekly walking times")
    rows = [r for r in table.kids if isinstance(r, Element)]
    assert len(rows) == 27
    for row in rows[1:]:
        cells = [c for c in row.kids if isinstance(c, Element)]
        assert [c.kind for c in cells] == ["TH"] + ["TD"] * 4 and cells[0].obj.A.Scope == "/Row"


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_the_tri_folds_back_panel_links_its_email_and_website(paper: str) -> None:
    pdf = Renderer(load_brand(), paper).leaflet(load_article(), layout="trifold")
    uris = link_uris(pdf)
    assert "mailto:hello@example-physio.org" in uris and any(u.rstrip("/") in ("https://www.example-physio.org", "http://www.example-physio.org") for u in uris)


def test_a_long_website_breaks_after_a_dot_or_slash_never_mid_word(brand_dir: Path) -> None:
    website = "www.northside-physiotherapy.example.org/patients/back-care"  # 58 of the 60 characters brand.toml allows
    set_brand_value(brand_dir, "website", f'"{website}"')
    for layout, paper in (("trifold", "a4"), ("trifold", "letter"), ("standard", "a4")):
        pdf = Renderer(load_brand(brand_dir), paper).leaflet(load_article(), layout=layout)
        page = read_pages(pdf)[0]
        lines = glyph_lines(page, 0, page.width) if layout == "standard" else glyph_lines(page, sheet_for(paper).outside[1].left, sheet_for(paper).outside[1].left + sheet_for(paper).outside[1].width)
        start = next(i for i, line in enumerate(lines) if line and website.startswith(line))
        parts = [lines[start]]
        while "".join(parts) != website and website.startswith("".join(parts) + lines[start + len(parts)]):
            parts.append(lines[start + len(parts)])
        assert "".join(parts) == website, (layout, paper, parts)
        assert all(part.endswith((".", "/")) for part in parts[:-1]), (layout, paper, parts)  # never mid-word


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_tri_fold_cover_title_never_ends_on_one_word_and_the_warning_label_is_one_line(paper: str, lang: str) -> None:
    pdf = Renderer(load_brand(), paper).leaflet(load_article(language=lang), layout="trifold")
    sheet = sheet_for(paper)
    page = read_pages(pdf)[0]
    cover = sheet.outside[2]
    title_size = max(g.size for g in page.glyphs if cover.left <= g.left < cover.left + cover.width)
    lines: dict[float, list] = {}
    for g in page.glyphs:
        if cover.left <= g.left < cover.left + cover.width and abs(g.size - title_size) < 0.05:
            lines.setdefault(round(g.baseline, 1), []).append(g)
    last = sorted(lines.items())[0][1]  # the lowest line
    words = "".join(g.char if i == 0 or g.left - prev.right < g.size * 0.15 else " " + g.char for i, (prev, g) in enumerate(zip([last[0], *last], sorted(last, key=lambda g: g.left)))).split()
    assert len(lines) >= 2 and len(words) >= 2, words
    label = "Stop and get advice" if lang == "en" else "Deje de caminar y consulte"
    flap = sheet.outside[0]
    assert label.replace(" ", "") in glyph_lines(page, flap.left, flap.left + flap.width)  # one line of its own
