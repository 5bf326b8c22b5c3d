"""Every PDF handout writes is tagged (PDF/UA-1 structure): read back with pikepdf, poppler's pdfinfo and the pdfua checker."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pikepdf
import pytest
from pdf_structure import Element, check_structure

from handout.brand import load_brand
from handout.content import load_article
from handout.encrypt import encrypt_pdf
from handout.pipeline import Patient, Renderer
from handout.plan import PlanRequest, build_plan

from helpers import article_sentences, normalise

START = dt.date(2026, 11, 30)
ISSUED = dt.date(2026, 11, 27)
needs_poppler = pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils (pdfinfo) is not installed; .ci/run installs it")


@cache
def renderer(paper: str = "a4", large_print: bool = False) -> Renderer:
    return Renderer(load_brand(None), paper, large_print=large_print)


@cache
def leaflet(paper: str = "a4", large_print: bool = False, language: str = "en") -> bytes:
    return renderer(paper, large_print).leaflet(load_article(language=language))


@cache
def plan(weeks: int = 4, with_article: bool = True, name: str = "Jane Doe", paper: str = "a4", large_print: bool = False, language: str = "en") -> bytes:
    schedule = build_plan(PlanRequest(start_date=START, weeks=weeks))
    return renderer(paper, large_print).plan(Patient(name, "Sam Lee"), schedule, load_article(language=language), ISSUED, with_article=with_article)


EVERY_KIND = {
    "leaflet": lambda: leaflet(),
    "leaflet-letter": lambda: leaflet("letter"),
    "leaflet-large-print": lambda: leaflet(large_print=True),
    "leaflet-spanish": lambda: leaflet(language="es"),
    "plan-with-article": lambda: plan(),
    "plan-26-weeks": lambda: plan(26, False),
    "plan-large-print": lambda: plan(6, large_print=True),
    "plan-spanish-letter": lambda: plan(language="es", paper="letter"),
    "plan-arabic-name": lambda: plan(2, False, "ليلى حداد"),
    "trifold": lambda: renderer().leaflet(load_article(), layout="trifold"),
    "trifold-spanish-letter": lambda: renderer("letter").leaflet(load_article(language="es"), layout="trifold"),
}


def kinds(structure: Element) -> list[str]:
    return structure.text_kinds()


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_every_document_is_tagged_with_no_problem_a_structure_walker_finds(kind: str) -> None:
    structure = check_structure(EVERY_KIND[kind]())
    assert structure.root is not None
    assert structure.problems == []


def test_the_walker_finds_each_kind_of_broken_file() -> None:
    """Each check in the walker fails on a file broken on purpose, so a clean report means something."""
    good = plan(2, False)

    def broken(change) -> list[str]:  # type: ignore[no-untyped-def]
        with pikepdf.open(io.BytesIO(good)) as pdf:
            change(pdf)
            out = io.BytesIO()
            pdf.save(out)
        return check_structure(out.getvalue()).problems

    def text_outside_markers(pdf: pikepdf.Pdf) -> None:
        page = pdf.pages[0]
        font = next(iter(page.obj.Resources.Font.keys()))
        page.contents_add(pdf.make_stream(f"BT {font} 12 Tf 50 50 Td (x) Tj ET".encode()), prepend=False)

    def drop_parent_tree_entry(pdf: pikepdf.Pdf) -> None:
        nums = pdf.Root.StructTreeRoot.ParentTree.Nums
        nums[1] = pikepdf.Array(list(nums[1])[:-1])

    def drop_struct_parent(pdf: pikepdf.Pdf) -> None:
        for page in pdf.pages:
            for annotation in page.obj.get("/Annots", []):
                del annotation["/StructParent"]

    def drop_alt(pdf: pikepdf.Pdf) -> None:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/S") == "/Figure":
                del obj["/Alt"]

    def drop_scope(pdf: pikepdf.Pdf) -> None:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/S") == "/TH":
                del obj["/A"]

    def artifact_inside_tag(pdf: pikepdf.Pdf) -> None:
        page = pdf.pages[0]
        content = re.sub(rb"(/H1 <</MCID \d+>> BDC)", rb"\1 /Artifact BMC 0 0 1 1 re f EMC", page.Contents.read_bytes(), count=1)
        page.Contents = pdf.make_stream(content)

    def untag_catalog(pdf: pikepdf.Pdf) -> None:
        del pdf.Root["/MarkInfo"]
        del pdf.Root["/Lang"]
        pdf.pages[0].obj.Tabs = pikepdf.Name("/R")

    expectations = {
        text_outside_markers: "painted outside marked content",
        drop_parent_tree_entry: "has no ParentTree entry",
        drop_struct_parent: "annotation without /StructParent",
        drop_alt: "Figure without /Alt",
        drop_scope: "TH without /Scope",
        artifact_inside_tag: "inside tagged content",
        untag_catalog: "/MarkInfo",
    }
    assert check_structure(good).problems == []
    for change, expected in expectations.items():
        problems = broken(change)
        assert any(expected in p for p in problems), (change.__name__, problems)
    assert any("/Tabs" in p for p in broken(untag_catalog)) and any("/Lang" in p for p in broken(untag_catalog))


def test_the_leaflet_structure_is_the_article_in_reading_order() -> None:
    structure = check_structure(leaflet())
    assert structure.root is not None and structure.root.kind == "Document"
    tags = kinds(structure.root)
    assert tags.count("H1") == 1  # the title
    assert tags[: tags.index("H1")] == ["Document", "Figure", "P", "P", "P"]  # logo, clinic name, address, phone line: the masthead
    assert {"H2", "H3", "P", "L", "LI", "Lbl", "LBody", "Sect", "Link"} <= set(tags)
    figures = [e for e in structure.elements if e.kind == "Figure"]
    assert [str(f.obj.Alt) for f in figures] == ["Example Physiotherapy Clinic logo", "QR code that opens https://example-physio.org/back"]
    assert all(len(f.obj.A.BBox) == 4 for f in figures)
    # Every list item is a label and a body.
    for item in (e for e in structure.elements if e.kind == "LI"):
        assert [k.kind for k in item.kids if isinstance(k, Element)] == ["Lbl", "LBody"]


@needs_poppler
@pytest.mark.parametrize("kind", ["leaflet", "plan-with-article", "leaflet-spanish", "plan-large-print"])
def test_pdfinfo_prints_the_structure_in_reading_order_with_all_the_text(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "document.pdf"
    path.write_bytes(EVERY_KIND[kind]())
    printed = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout
    struct_text = normalise(" ".join(re.findall(r'^\s*"(.*)"\s*$', printed, re.M)))
    visible = normalise(subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout)
    footer = re.compile(r"^(Page|Página) \d+ (of|de) \d+$")
    # Every word a reader sees on the page, less the page furniture, is reachable in the structure.
    struct_words = set(struct_text.split())
    furniture = set(normalise("Example Physiotherapy Clinic · 01632 960 123 · www.example-physio.org Page of Página de").split())
    missing = {w for w in visible.split() if w not in struct_words and w not in furniture and not w.isdigit() and not footer.match(w)}
    assert missing == set()
    # The footer is furniture; the disclaimer closes the document, in its language: heard once, at the end.
    brand = load_brand(None)
    disclaimer = normalise(brand.words("disclaimer", "es" if "spanish" in kind else "en")[0])
    assert struct_text.count(disclaimer) == 1 and struct_text.endswith(disclaimer)
    if kind == "leaflet":
        # …and in the order the article gives it.
        position = 0
        for sentence in article_sentences()[1:]:
            found = struct_text.find(sentence.replace("’", "’"), position)
            assert found >= 0, sentence
            position = found
        assert "Page 1 of 2" not in struct_text and "Page 2 of 2" not in struct_text  # page labels are artifacts


@needs_poppler
def test_the_diary_is_a_table_with_headed_columns_and_rows_and_its_tick_boxes_are_artifacts(tmp_path: Path) -> None:
    structure = check_structure(plan(2, False))
    tables = [e for e in structure.elements if e.kind == "Table"]
    assert [str(t.obj.T) for t in tables] == ["Plan details", "Weekly walking times", "Diary for week 1", "Diary for week 2"]
    diary = tables[2]
    rows = [r for r in diary.kids if isinstance(r, Element)]
    assert len(rows) == 8 and all(r.kind == "TR" for r in rows)
    header = [c for c in rows[0].kids if isinstance(c, Element)]
    assert [c.kind for c in header] == ["TH"] * 6 and all(c.obj.A.Scope == "/Column" for c in header)
    for row in rows[1:]:
        cells = [c for c in row.kids if isinstance(c, Element)]
        assert [c.kind for c in cells] == ["TH"] + ["TD"] * 5 and cells[0].obj.A.Scope == "/Row"
        walked = cells[1]
        assert walked.kids == []  # the tick box is drawn as an artifact, not as the cell's content
    with pikepdf.open(io.BytesIO(plan(2, False))) as pdf:
        content = b"".join(page.Contents.read_bytes() for page in pdf.pages)
    assert content.count(b"/Artifact") > 10


def test_a_table_continued_overleaf_repeats_its_header_as_an_artifact_only() -> None:
    structure = check_structure(plan(26, False, large_print=True))
    schedule = next(e for e in structure.elements if e.kind == "Table" and str(e.obj.T) == "Weekly walking times")
    rows = [r for r in schedule.kids if isinstance(r, Element)]
    assert len(rows) == 27  # one header row, 26 weeks: the repeat on the next page is not in the tree
    pages = {page for row in rows for cell in row.kids if isinstance(cell, Element) for page, _ in (k for k in cell.kids if isinstance(k, tuple))}
    assert len(pages) >= 2  # it did continue overleaf
    assert structure.problems == []


def test_a_name_in_a_shaped_script_carries_its_letters_as_typed() -> None:
    name = "ليلى حداد"
    structure = check_structure(plan(2, False, name))
    assert any(str(e.obj.get("/ActualText", "")) == name for e in structure.elements)


def test_links_are_link_elements_owning_their_annotations() -> None:
    with pikepdf.open(io.BytesIO(leaflet())) as pdf:
        annotations = [a for page in pdf.pages for a in page.obj.get("/Annots", [])]
        assert annotations and all(int(a.F) == 4 and str(a.Contents).startswith("https://") and "/StructParent" in a for a in annotations)
    structure = check_structure(leaflet())
    links = [e for e in structure.elements if e.kind == "Link"]
    assert len(links) == len(annotations) and all("OBJR" in link.kids for link in links)


def test_pdf_ua_identification_and_catalog() -> None:
    with pikepdf.open(io.BytesIO(plan(language="es"))) as pdf:
        assert str(pdf.Root.Lang) == "es"
        assert pdf.Root.MarkInfo.Marked is True and pdf.Root.ViewerPreferences.DisplayDocTitle is True
        xmp = pdf.Root.Metadata.read_bytes().decode()
        assert "<pdfuaid:part>1</pdfuaid:part>" in xmp and "Su plan para caminar" in xmp
        assert pdf.pdf_version == "1.7"
        assert all(page.obj.Tabs == "/S" for page in pdf.pages)


def test_tagging_keeps_identical_inputs_byte_identical() -> None:
    first = renderer().leaflet(load_article())
    assert renderer().leaflet(load_article()) == first
    schedule = build_plan(PlanRequest(start_date=START, weeks=12))
    a = Renderer(load_brand(None)).plan(Patient("Jane Doe"), schedule, load_article(), ISSUED)
    b = Renderer(load_brand(None)).plan(Patient("Jane Doe"), schedule, load_article(), ISSUED)
    assert a == b


def test_pdfua_checker_reports_no_errors(tmp_path: Path) -> None:
    paths = []
    for kind in ("leaflet", "plan-with-article", "plan-large-print", "plan-arabic-name", "leaflet-spanish"):
        path = tmp_path / f"{kind}.pdf"
        path.write_bytes(EVERY_KIND[kind]())
        paths.append(str(path))
    checker = Path(sys.executable).with_name("pdfua")
    result = subprocess.run([str(checker), "check", "--min-severity", "warning", *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("result: PASS (no findings)") == len(paths)


def test_the_pdfua_checker_can_fail(tmp_path: Path) -> None:
    with pikepdf.open(io.BytesIO(leaflet())) as pdf:
        del pdf.Root["/Lang"]
        pdf.save(tmp_path / "no-lang.pdf")
    result = subprocess.run([str(Path(sys.executable).with_name("pdfua")), "check", str(tmp_path / "no-lang.pdf")], capture_output=True, text=True)
    assert result.returncode != 0 and "UA-06-001" in result.stdout


@needs_poppler
def test_a_locked_plan_keeps_its_structure_for_screen_readers(tmp_path: Path) -> None:
    plain, locked = tmp_path / "plain.pdf", tmp_path / "locked.pdf"
    plain.write_bytes(plan(2, False))
    locked.write_bytes(encrypt_pdf(plan(2, False), "Walk-2-day"))

    def struct(path: Path, *args: str) -> str:
        printed = subprocess.run(["pdfinfo", *args, "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout
        return re.sub(r"Object \d+ 0", "Object", printed)  # the locked file numbers its objects anew

    assert struct(locked, "-upw", "Walk-2-day") == struct(plain)
    assert "Jane Doe" in struct(plain)
    with pikepdf.open(locked, password="Walk-2-day") as pdf:
        assert pdf.allow.accessibility
    assert check_structure(locked.read_bytes(), password="Walk-2-day").problems == []


def test_a_wrapping_table_split_over_pages_keeps_one_row_element_per_row() -> None:
    """A table whose cells wrap is drawn by platypus (not the fast grid); its split repeats the header as an artifact too."""
    from handout import document as doc

    words = doc.Span("Walk slowly on flat ground and rest when you need to, then carry on " * 2)
    rows = [(doc.Cell((doc.Span("Week"),)), doc.Cell((doc.Span("What to do"),)))]
    rows += [(doc.Cell((doc.Span(str(n)),)), doc.Cell((words,))) for n in range(1, 41)]
    table = doc.Table(tuple(rows), header_rows=1, widths=(1, 4), caption="Long table")
    document = doc.Document("Test", "Test", (), "en-GB", (doc.Title((doc.Span("Test"),)), table))
    pdf = renderer().pdf.render(document, dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    structure = check_structure(pdf)
    assert structure.problems == []
    element = next(e for e in structure.elements if e.kind == "Table")
    table_rows = [r for r in element.kids if isinstance(r, Element)]
    assert len(table_rows) == 41
    pages = {page for row in table_rows for cell in row.kids if isinstance(cell, Element) for page, _ in (k for k in cell.kids if isinstance(k, tuple))}
    assert len(pages) >= 2
    assert sum(1 for (page, _), text in structure.marked_text.items() if page > 0) > 0
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        assert b"/Artifact <</Type /Pagination /Subtype /Header>>" in opened.pages[1].Contents.read_bytes()


@needs_poppler
def test_a_batch_to_print_file_is_tagged_too_each_plan_a_part_in_its_language(tmp_path: Path) -> None:
    from handout.printing import Printable, merge_plans

    plans = [plan(2, False), plan(2, False, "Ana García", language="es"), plan(1, False, "ليلى حداد")]
    data, ranges, pages = merge_plans([Printable(n + 2, f"P{n}", p) for n, p in enumerate(plans)])
    assert ranges == ["1-4", "5-8", "9-12"]  # a diary page is a page of its own (its code and marks fix where everything is)
    structure = check_structure(data)
    assert structure.problems == []
    assert structure.root is not None
    parts = [kid for kid in structure.root.kids if isinstance(kid, Element)]
    assert [p.kind for p in parts] == ["Part"] * 3
    assert [str(p.obj.Lang) for p in parts] == ["en-GB", "es", "en-GB"]
    path = tmp_path / "to-print.pdf"
    path.write_bytes(data)
    printed = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout
    assert printed.index('"Jane Doe"') < printed.index('"Ana García"')
    result = subprocess.run([str(Path(sys.executable).with_name("pdfua")), "check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert merge_plans([Printable(n + 2, f"P{n}", p) for n, p in enumerate(plans)])[0] == data


@needs_poppler
def test_many_structure_elements_are_split_over_object_streams_that_every_reader_indexes_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An xref row's index field holds 65,535 at most: packing splits the elements so none overflows (proven with a small limit)."""
    from handout.render import packing

    schedule = build_plan(PlanRequest(start_date=START, weeks=4))
    whole = tmp_path / "whole.pdf"
    whole.write_bytes(Renderer(load_brand(None)).plan(Patient("Jane Doe"), schedule, load_article(), ISSUED))
    monkeypatch.setattr(packing, "OBJECTS_PER_STREAM", 50)
    split = tmp_path / "split.pdf"
    split.write_bytes(Renderer(load_brand(None)).plan(Patient("Jane Doe"), schedule, load_article(), ISSUED))
    assert split.read_bytes().count(b"/Type/ObjStm") > 5
    assert check_structure(split.read_bytes()).problems == []

    def struct(path: Path) -> str:
        return subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout

    assert struct(split) == struct(whole) and "wrong type" not in struct(split)
    import pypdfium2

    assert len(pypdfium2.PdfDocument(split.read_bytes())) == len(pypdfium2.PdfDocument(whole.read_bytes()))


def test_a_to_print_file_is_pdf_1_7_with_its_structure_compressed() -> None:
    from handout.printing import Printable, merge_plans

    one = plan(12, False)
    data, _, _ = merge_plans([Printable(n, f"P{n}", one) for n in range(10)])
    assert data.startswith(b"%PDF-1.7")
    assert len(data) < 10 * len(one) * 1.1  # no bigger than the plans it holds (it was 2.4 times their size)
    assert check_structure(data).problems == []


def test_an_svg_logo_naming_its_own_fonts_still_embeds_every_font(brand_dir: Path) -> None:
    (brand_dir / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="80" viewBox="0 0 200 80"><rect width="200" height="80" fill="#1D5C7A"/>'
        '<text x="10" y="30" font-family="Times New Roman, serif" font-size="20" fill="white">Physio</text>'
        '<text x="10" y="60" font-family="Courier" font-weight="bold" font-size="20" fill="white">Clinic</text></svg>',
        encoding="utf-8",
    )
    pdf = Renderer(load_brand(brand_dir)).leaflet(load_article())
    assert check_structure(pdf).problems == []
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        names = {str(font.BaseFont) for page in opened.pages for font in page.obj.Resources.Font.values()}
    assert all("Atkinson" in name for name in names), names


def test_a_link_wrapped_over_lines_is_one_link_element_owning_each_lines_annotation() -> None:
    from handout import document as doc

    url = "https://example-physio.org/" + "/".join(["walking-for-lower-back-pain"] * 4)
    words = (doc.Span("Read more at "), doc.Span(url, href=url), doc.Span(" or ask us. Also see "), doc.Span("our page", href="https://example-physio.org/"), doc.Span("."))
    document = doc.Document("Test", "Test", (), "en-GB", (doc.Title((doc.Span("Test"),)), doc.Paragraph(words)))
    pdf = renderer().pdf.render(document, dt.datetime(2026, 11, 28, tzinfo=dt.UTC))
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        targets = [str(a.Contents) for a in opened.pages[0].obj.Annots]
    assert targets.count(url) >= 2  # the long address did wrap: one annotation per line
    structure = check_structure(pdf)
    assert structure.problems == []
    links = [e for e in structure.elements if e.kind == "Link"]
    assert [link.kids.count("OBJR") for link in links] == [targets.count(url), 1]  # one element per link, not per line


@needs_poppler
@pytest.mark.parametrize("kind", ["leaflet", "leaflet-spanish", "plan-with-article"])
def test_the_qr_code_is_read_after_its_heading_and_before_the_words_beside_it(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "document.pdf"
    path.write_bytes(EVERY_KIND[kind]())
    printed = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    heading = next(i for i, line in enumerate(printed) if line.strip().strip('"').strip() in ("Find out more", "Más información"))
    figure = next(i for i, line in enumerate(printed) if line.strip().startswith("Figure") and i > heading - 3)
    scan = next(i for i, line in enumerate(printed) if "Scan the code" in line or "Escanee el código" in line)
    assert printed[heading - 1].strip().startswith("H") and heading < figure < scan


def canvas_pdf(build_rows) -> tuple[bytes, int]:  # type: ignore[no-untyped-def]
    """A one-page tagged PDF of a 3-row table whose rows `build_rows(table)` makes (returning each row's header cell), and its tree's entry count."""
    from reportlab.lib.pagesizes import A4

    from handout.render.structure import Node
    from handout.render.tagging import TaggedCanvas, tagged

    root = Node("Document")
    table = root.add("Table")
    out = io.BytesIO()
    canvas = TaggedCanvas(out, pagesize=A4, root=root, created=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), title="Rows", lang="en-GB", invariant=1)
    canvas.setFont("Helvetica", 12)
    for index, header in enumerate(build_rows(table)):
        with tagged(canvas, header):
            canvas.drawString(72, 700 - 20 * index, f"Day {index}")
    canvas.showPage()
    canvas.save()
    return out.getvalue(), len(root.tree)


def test_a_rows_empty_cells_are_one_record_written_as_the_same_elements_as_one_each() -> None:
    def one_each(table):  # type: ignore[no-untyped-def]
        headers = []
        for _ in range(3):
            row = table.add("TR")
            headers.append(row.add("TH", scope="Row"))
            for _ in range(5):
                row.add("TD")
        return headers

    compact, compact_entries = canvas_pdf(lambda table: [table.add_row(5) for _ in range(3)])
    separate, separate_entries = canvas_pdf(one_each)
    assert compact == separate  # the same objects, numbers and bytes
    assert (compact_entries, separate_entries) == (2 + 3 * 3, 2 + 3 * 7)  # a record per row's empty cells, not an element each
    structure = check_structure(compact)
    rows = [r for r in structure.elements if r.kind == "TR"]
    assert [[c.kind for c in r.kids if isinstance(c, Element)] for r in rows] == [["TH"] + ["TD"] * 5] * 3


def test_the_diary_writes_its_rows_empty_cells_as_records() -> None:
    # A diary row made element by element is 7 objects in Python (TR, TH, 5 TD); as a record, 3.
    from handout.render.structure import EmptyCells, Node

    made: list[Node] = []
    original = Node.__init__

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        made.append(self)

    Node.__init__ = spy  # type: ignore[method-assign]
    try:
        schedule = build_plan(PlanRequest(start_date=START, weeks=2))
        Renderer(load_brand(None)).plan(Patient("Jane Doe"), schedule, load_article(), ISSUED, with_article=False)
    finally:
        Node.__init__ = original  # type: ignore[method-assign]
    trees = {id(node.tree): node.tree for node in made}.values()
    assert sum(isinstance(entry, EmptyCells) for tree in trees for entry in tree) == 14  # two weeks of seven days
