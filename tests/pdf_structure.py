"""A tagged-PDF checker for the tests: walks the structure tree and every page's content with pikepdf and lists what is wrong."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pikepdf

PAINTING = {"Tj", "TJ", "'", '"', "f", "F", "f*", "S", "s", "B", "B*", "b", "b*", "Do", "sh", "BI", "INLINE IMAGE"}
STANDARD_TYPES = {
    "Document", "Part", "Art", "Sect", "Div", "BlockQuote", "Caption", "TOC", "TOCI", "Index", "NonStruct", "Private",
    "H", "H1", "H2", "H3", "H4", "H5", "H6", "P", "L", "LI", "Lbl", "LBody", "Table", "TR", "TH", "TD", "THead", "TBody", "TFoot",
    "Span", "Quote", "Note", "Reference", "BibEntry", "Code", "Link", "Annot", "Ruby", "Warichu", "Figure", "Formula", "Form",
}  # fmt: skip


@dataclass
class Element:
    """A structure element as read back: its type, attributes and children in order."""

    kind: str
    obj: pikepdf.Dictionary
    kids: list[Element | tuple[int, int] | str] = field(default_factory=list)  # elements, (page, mcid), "OBJR"

    def text_kinds(self) -> list[str]:
        return [self.kind] + [k for kid in self.kids if isinstance(kid, Element) for k in kid.text_kinds()]


@dataclass
class Structure:
    """What a reader's software sees: the tree, and per page the marked content and its text."""

    root: Element | None
    problems: list[str]
    elements: list[Element]
    marked_text: dict[tuple[int, int], str]  # (page, mcid) → text shown inside it (decoded by font, as far as pikepdf can)


def _page_index(pdf: pikepdf.Pdf, page_obj: pikepdf.Object) -> int:
    for index, page in enumerate(pdf.pages):
        if page.obj.objgen == page_obj.objgen:
            return index
    return -1


def check_structure(data: bytes, password: str = "") -> Structure:
    """Every problem a PDF/UA reader would meet: untagged paint, broken ParentTree links, missing Alt, Scope, Tabs, fonts, metadata."""
    problems: list[str] = []
    pdf = pikepdf.open(io.BytesIO(data), password=password)
    root = pdf.Root
    if root.get("/MarkInfo", {}).get("/Marked") is not True:
        problems.append("catalog: /MarkInfo /Marked is not true")
    if not str(root.get("/Lang", "")):
        problems.append("catalog: no /Lang")
    if root.get("/ViewerPreferences", {}).get("/DisplayDocTitle") is not True:
        problems.append("catalog: DisplayDocTitle is not true")
    if "/Metadata" not in root:
        problems.append("catalog: no XMP metadata")
    else:
        xmp = root.Metadata.read_bytes().decode("utf-8", "replace")
        if "<pdfuaid:part>1</pdfuaid:part>" not in xmp:
            problems.append("XMP: no pdfuaid:part 1")
        if "<dc:title>" not in xmp:
            problems.append("XMP: no dc:title")
    if not str(pdf.docinfo.get("/Title", "")):
        problems.append("info: no title")
    tree = root.get("/StructTreeRoot")
    if tree is None:
        problems.append("catalog: no StructTreeRoot")
        return Structure(None, problems, [], {})
    nums = list(tree.ParentTree.get("/Nums", []))
    parent_tree = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}

    # The tree: every element, every MCID it claims, every OBJR.
    elements: list[Element] = []
    claimed: dict[tuple[int, int], pikepdf.Object] = {}
    annotations_in_tree: set[tuple[int, int]] = set()

    def read(obj: pikepdf.Dictionary, parent: pikepdf.Object | None) -> Element:
        kind = str(obj.S)[1:]
        element = Element(kind, obj)
        elements.append(element)
        if kind not in STANDARD_TYPES:
            problems.append(f"{kind}: not a standard structure type (and no RoleMap)")
        if parent is not None and obj.get("/P") is not None and obj.P.objgen != parent.objgen:
            problems.append(f"{kind}: /P is not its parent")
        if kind == "Figure" and not str(obj.get("/Alt", "")):
            problems.append("Figure without /Alt")
        if kind == "TH" and "/Scope" not in obj.get("/A", {}) and "/Headers" not in obj.get("/A", {}):
            problems.append("TH without /Scope")
        kids = obj.get("/K")
        kid_list = list(kids) if isinstance(kids, pikepdf.Array) else ([] if kids is None else [kids])
        default_page = _page_index(pdf, obj.Pg) if "/Pg" in obj else -1
        for kid in kid_list:
            if isinstance(kid, int):
                if default_page < 0:
                    problems.append(f"{kind}: MCID {kid} without /Pg")
                claimed[(default_page, int(kid))] = obj
                element.kids.append((default_page, int(kid)))
            elif kid.get("/Type") == "/MCR":
                page = _page_index(pdf, kid.Pg)
                claimed[(page, int(kid.MCID))] = obj
                element.kids.append((page, int(kid.MCID)))
            elif kid.get("/Type") == "/OBJR":
                annotations_in_tree.add(kid.Obj.objgen)
                if kind != "Link":
                    problems.append(f"{kind}: an annotation outside a Link element")
                if kid.Obj.get("/StructParent") is None:
                    problems.append("annotation without /StructParent")
                elif parent_tree.get(int(kid.Obj.StructParent)) is None or parent_tree[int(kid.Obj.StructParent)].objgen != obj.objgen:
                    problems.append("annotation's /StructParent does not lead back to its Link")
                element.kids.append("OBJR")
            else:
                element.kids.append(read(kid, obj))
        return element

    top = tree.K
    document = read(top if not isinstance(top, pikepdf.Array) else top[0], None)

    # The pages: every painting operator inside marked content; every MCID in the ParentTree and the tree.
    marked_text: dict[tuple[int, int], str] = {}
    for index, page in enumerate(pdf.pages):
        if page.obj.get("/Tabs") != "/S":
            problems.append(f"page {index + 1}: /Tabs is not /S")
        if "/StructParents" not in page.obj:
            problems.append(f"page {index + 1}: no /StructParents")
            continue
        refs = parent_tree.get(int(page.obj.StructParents))
        refs_list = list(refs) if refs is not None else []
        for annotation in page.obj.get("/Annots", []):
            if annotation.get("/Subtype") == "/Link" and annotation.objgen not in annotations_in_tree:
                problems.append(f"page {index + 1}: a link annotation not in the structure tree")
        stack: list[tuple[str, int | None]] = []
        seen: set[int] = set()
        for operands, operator in pikepdf.parse_content_stream(page):
            op = str(operator)
            if op in ("BDC", "BMC"):
                tag = str(operands[0])[1:]
                mcid = int(operands[1]["/MCID"]) if op == "BDC" and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" in operands[1] else None
                if stack and (tag == "Artifact") != (stack[0][0] == "Artifact"):
                    problems.append(f"page {index + 1}: {'an artifact inside tagged content' if tag == 'Artifact' else 'tagged content inside an artifact'}")
                if mcid is not None:
                    if mcid in seen:
                        problems.append(f"page {index + 1}: MCID {mcid} used twice")
                    seen.add(mcid)
                    if mcid >= len(refs_list):
                        problems.append(f"page {index + 1}: MCID {mcid} has no ParentTree entry")
                    elif (index, mcid) not in claimed or claimed[(index, mcid)].objgen != refs_list[mcid].objgen:
                        problems.append(f"page {index + 1}: MCID {mcid} is not claimed by the element its ParentTree entry names")
                    marked_text.setdefault((index, mcid), "")
                elif tag != "Artifact":
                    problems.append(f"page {index + 1}: /{tag} marked content without an MCID")
                stack.append((tag, mcid))
            elif op == "EMC":
                if not stack:
                    problems.append(f"page {index + 1}: EMC without BDC")
                else:
                    stack.pop()
            elif op in PAINTING:
                if not stack:
                    problems.append(f"page {index + 1}: {op} painted outside marked content")
                elif op in ("Tj", "TJ", "'", '"') and stack[0][1] is not None:
                    marked_text[(index, stack[0][1])] += _shown(operands)
        if stack:
            problems.append(f"page {index + 1}: marked content left open")
        for mcid in range(len(refs_list)):
            if mcid not in seen:
                problems.append(f"page {index + 1}: ParentTree lists MCID {mcid}, which the page does not have")
    for (page, mcid) in claimed:
        if (page, mcid) not in marked_text:
            problems.append(f"page {page + 1}: the tree claims MCID {mcid}, which is not on the page")

    # Fonts: embedded, with a ToUnicode map.
    for index, page in enumerate(pdf.pages):
        for name, font in page.obj.get("/Resources", {}).get("/Font", {}).items():
            descendants = font.get("/DescendantFonts", [font])
            for d in descendants:
                descriptor = d.get("/FontDescriptor")
                if descriptor is None or not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    problems.append(f"page {index + 1}: font {name} is not embedded")
            if "/ToUnicode" not in font:
                problems.append(f"page {index + 1}: font {name} has no ToUnicode map")
    return Structure(document, problems, elements, marked_text)


def _shown(operands: list) -> str:
    parts: list[str] = []
    for operand in operands:
        if isinstance(operand, pikepdf.Array):
            parts += [bytes(x).decode("latin-1") for x in operand if isinstance(x, pikepdf.String)]
        elif isinstance(operand, pikepdf.String):
            parts.append(bytes(operand).decode("latin-1"))
    return "".join(parts)
