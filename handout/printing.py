"""The batch's to-print files: the plans to hand over merged into double-sided-ready PDFs, and their list by patient_id."""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import re
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handout.errors import HandoutError
from handout.output import write_atomic
from handout.xmp import xmp_packet

if TYPE_CHECKING:
    from handout.plan_merging import PlanMerger, ReadPlan

TO_PRINT_PDF = "to-print.pdf"
TO_PRINT_LIST = "to-print.txt"
TO_PRINT_SHEET = "to-print-list.pdf"  # with names: the sheet staff tick as they hand the plans over
# The names of the files handout made in an output folder, so that it removes those and nothing else
# (a user's own to-print-notes.pdf, or a file of the same name it did not make, stays).
MANIFEST = ".handout-to-print"
# Every name a to-print file can have: a patient_id may not begin with "to-print", so no plan is ever one.
_TO_PRINT_NAME = re.compile(r"to-print(-list)?(-[0-9]+)?\.pdf|to-print\.txt")
TO_PRINT_TITLE = "Walking plans to print"
_MADE_TITLES = (TO_PRINT_TITLE, "Plans to print")  # the to-print files of a version before the manifest
LIST_HEADER = "patient_id\trow\tfile\tpages"
# Plans per merged file. A clinic printer's queue takes a 300-page job (50 twelve-week plans)
# comfortably, and the file being built is held in memory (about 50 KB a plan), so a 10,000-row
# list stays within the batch's memory instead of growing with the list.
PLANS_PER_FILE = 50
# Rows per part of the to-print sheet (about 125 pages). A list of 100,000 rows gets 20 sheets, each made
# and written before the next, so memory stays that of one part; and a fill of the sheet's template stays
# far inside the sandbox's step limit, which is for template code, not for the length of the list.
SHEET_ROWS = 5_000
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Printable:
    """One plan to print: its row, its patient_id ('' if none), the unencrypted plan (its file, or its bytes), and the plan read for merging if it was."""

    row: int
    patient_id: str
    plan: Path | bytes
    read: ReadPlan | None = None  # read by the worker that wrote it (plan_merging.readable): not read again here


@dataclass(frozen=True)
class PrintEntry:
    """Where one plan is in the to-print files: its row, patient_id, file name and pages there ("5-8")."""

    row: int
    patient_id: str
    file: str
    pages: str


@dataclass(frozen=True)
class ToPrint:
    """What was written: the merged files in order, their pages in all, and where each plan is."""

    files: tuple[Path, ...]
    pages: int
    entries: tuple[PrintEntry, ...] = ()
    sheets: tuple[Path, ...] = ()  # to-print-list.pdf (or to-print-list-1.pdf, … for a long list), once written

    @property
    def listing(self) -> Path:
        return self.files[0].with_name(TO_PRINT_LIST)

    @property
    def sheet(self) -> Path | None:
        """The first (usually the only) sheet."""
        return self.sheets[0] if self.sheets else None


def sheet_parts(entries: Sequence[PrintEntry]) -> list[Sequence[PrintEntry]]:
    """The entries in parts of SHEET_ROWS, one sheet each."""
    return [entries[start : start + SHEET_ROWS] for start in range(0, len(entries), SHEET_ROWS)] or [entries]


def sheet_name(part: int, parts: int) -> str:
    """to-print-list.pdf for a list's one sheet; to-print-list-1.pdf, -2, … when it has several."""
    return TO_PRINT_SHEET if parts == 1 else f"to-print-list-{part}.pdf"


def with_sheets(to_print: ToPrint, sheets: Iterable[bytes]) -> ToPrint:
    """The to-print files with their sheets written beside them, a part at a time as `sheets` makes them."""
    folder = to_print.files[0].parent
    parts = len(sheet_parts(to_print.entries))
    written: list[Path] = []
    for number, sheet in enumerate(sheets, start=1):
        name = sheet_name(number, parts)
        note_made(folder, name)
        written.append(write_atomic(folder / name, sheet))
    return dataclasses.replace(to_print, sheets=tuple(written))


def remove_to_print(folder: Path) -> None:
    """An earlier run's files go before a new run starts (last week's plans must not be printed again by mistake): only those handout made."""
    for path in _made_here(folder):
        path.unlink(missing_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)


def refuse_others_files(folder: Path) -> None:
    """Stop, before any work, when a file with a to-print name is there that handout did not make: a run would replace it."""
    for path in sorted(folder.glob("to-print*")):
        if _TO_PRINT_NAME.fullmatch(path.name):
            raise HandoutError(
                f"{path}: handout names its to-print files so, but did not make this one; move or rename it, or choose another --out-dir"
            )


def _made_here(folder: Path) -> list[Path]:
    try:
        listed = (folder / MANIFEST).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        # A folder from a version before the manifest: its files are known by name and by what is in them.
        return [path for path in sorted(folder.glob("to-print*")) if _TO_PRINT_NAME.fullmatch(path.name) and _made_by_handout(path)]
    except (OSError, UnicodeDecodeError) as exc:
        raise HandoutError(f"{folder / MANIFEST}: cannot be read ({getattr(exc, 'strerror', None) or 'not text'}); delete it and the to-print files beside it") from None
    # Only names handout gives: a manifest edited by hand cannot make it remove anything else.
    return [folder / name for name in listed if _TO_PRINT_NAME.fullmatch(name)]


def _made_by_handout(path: Path) -> bool:
    """Whether a to-print file without a manifest is one an earlier handout wrote (its header, or its PDF title)."""
    try:
        if path.suffix == ".txt":
            with path.open("rb") as stream:
                return stream.read(len(LIST_HEADER) + 1) == (LIST_HEADER + "\n").encode()
        import pikepdf

        with pikepdf.open(path) as pdf:
            return str(pdf.docinfo.get("/Title", "")) in _MADE_TITLES
    except Exception:  # unreadable, not a PDF, locked: not one handout made
        return False


def note_made(folder: Path, name: str) -> None:
    """Add `name` to the folder's manifest before the file is written, so a run stopped at any moment leaves it removable."""
    manifest = folder / MANIFEST
    try:
        listed = manifest.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        listed = []
    if name not in listed:
        write_atomic(manifest, ("\n".join([*listed, name]) + "\n").encode("utf-8"))


class ToPrintWriter:
    """Merges plans to print as the batch hands them over, a plan at a time, so memory stays flat and no merge holds up the batch.

    One file, `to-print.pdf`, up to PLANS_PER_FILE plans; beyond that,
    `to-print-1.pdf`, `to-print-2.pdf`, … in row order. Each plan starts on
    a new sheet when printed double-sided: a plan with an odd number of
    pages is followed by a blank page of the same size.

    Each plan is copied into the file being built as it arrives (plan_merging.py: a few
    milliseconds, no PDF library). A plan that is not laid out as handout's writer lays
    it out has its whole file merged with pikepdf instead, with a warning logged: that
    is slower, and handout's own plans never need it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._waiting: list[Printable] = []
        self._merger: PlanMerger | None = None  # the file being built; None once a plan of it needed pikepdf
        self._ranges: list[str] = []
        self._files: list[Path] = []
        self._entries: list[tuple[str, int, int, str]] = []  # patient_id, row, which file, its pages there
        self._pages = 0
        self.merged_with_pikepdf = 0  # files: none, unless a plan was not handout's writer's own

    def add(self, plan: Printable) -> None:
        from handout.plan_merging import NotOurLayout, PlanMerger

        if not self._waiting:
            self._merger = PlanMerger(TO_PRINT_TITLE)
        self._waiting.append(dataclasses.replace(plan, read=None))  # what pikepdf would need, if it came to that: the file or bytes
        if self._merger is not None:
            try:
                first, last = self._merger.add(plan.read or (plan.plan.read_bytes() if isinstance(plan.plan, Path) else plan.plan))
                self._ranges.append(f"{first}-{last}")
            except (NotOurLayout, ValueError, KeyError, IndexError) as exc:  # any plan the fast path cannot read: pikepdf merges the file
                _log.warning("to-print file %d is merged with pikepdf, more slowly: a plan in it is not laid out as handout writes plans (%s)", len(self._files) + 1, exc)
                self._merger = None
            except OSError as exc:
                raise HandoutError(f"{plan.plan}: cannot be read to merge it into the plans to print ({exc.strerror})") from None
        if len(self._waiting) == PLANS_PER_FILE:
            self._write_file()

    def listed(self) -> ToPrint | None:
        """What `finish` writes, under the names it gives the files, before it writes it: the sheet can be drawn meanwhile.

        None when there is nothing to print, or when the file being built is merged with pikepdf (its plans' pages are known only then).
        """
        if self._waiting and self._merger is None:
            return None
        count = len(self._files) + bool(self._waiting)
        if not count:
            return None
        names = [TO_PRINT_PDF] if count == 1 else [f"to-print-{number}.pdf" for number in range(1, count + 1)]  # one file gets the plain name
        pending = [(plan.patient_id, plan.row, len(self._files), pages) for plan, pages in zip(self._waiting, self._ranges)]
        entries = tuple(PrintEntry(row, pid, names[index], pages) for pid, row, index, pages in [*self._entries, *pending])
        pages = self._pages + (self._merger.page_count if self._waiting and self._merger is not None else 0)
        return ToPrint(tuple(self.folder / name for name in names), pages, entries)

    def finish(self) -> ToPrint | None:
        """Write what is waiting and the list; None when there was nothing to print."""
        if self._waiting:
            self._write_file()
        if not self._files:
            return None
        if len(self._files) == 1:  # the usual case gets the plain name
            single = self.folder / TO_PRINT_PDF
            note_made(self.folder, single.name)
            os.replace(self._files[0], single)
            self._files = [single]
        written = self.listed()
        assert written is not None
        lines = [LIST_HEADER] + [f"{e.patient_id}\t{e.row}\t{e.file}\t{e.pages}" for e in written.entries]
        note_made(self.folder, TO_PRINT_LIST)
        write_atomic(self.folder / TO_PRINT_LIST, ("\n".join(lines) + "\n").encode("utf-8"))
        return written

    def _write_file(self) -> None:
        path = self.folder / f"to-print-{len(self._files) + 1}.pdf"
        if self._merger is not None:
            data, ranges, pages = self._merger.finish(), self._ranges, self._merger.page_count
        else:
            data, ranges, pages = merge_plans(self._waiting)
            self.merged_with_pikepdf += 1
        note_made(self.folder, path.name)
        write_atomic(path, data)
        self._entries.extend((plan.patient_id, plan.row, len(self._files), pages_there) for plan, pages_there in zip(self._waiting, ranges))
        self._files.append(path)
        self._pages += pages
        self._waiting, self._ranges, self._merger = [], [], None


def merge_plans(plans: Sequence[Printable]) -> tuple[bytes, list[str], int]:
    """The plans merged into one PDF with pikepdf, each plan's pages there ("5-8"), and the page count.

    For plans plan_merging.py cannot read (ToPrintWriter uses it otherwise).

    Only the pages are copied, not the plans' titles or metadata, and the file
    ID is derived from the content, so identical plans give identical bytes.
    The file stays tagged: each plan's structure becomes a Part of one tree.
    """
    import pikepdf

    ranges: list[str] = []
    with ExitStack() as stack:
        merged = stack.enter_context(pikepdf.new())
        tree = _StructureMerger(merged)
        for plan in plans:
            # Each source stays open until the merged file is saved: pikepdf copies its objects then.
            # A plan on disk is read from there as needed, not held in memory as bytes.
            source = stack.enter_context(pikepdf.open(plan.plan if isinstance(plan.plan, Path) else io.BytesIO(plan.plan)))
            first = len(merged.pages) + 1
            merged.pages.extend(source.pages)
            tree.add(source, first - 1)
            if len(source.pages) % 2:
                box = source.pages[-1].mediabox
                merged.add_blank_page(page_size=(float(box[2]) - float(box[0]), float(box[3]) - float(box[1])))
            ranges.append(f"{first}-{len(merged.pages)}")
        title = TO_PRINT_TITLE
        merged.docinfo["/Title"] = title
        tree.finish(title)
        buffer = io.BytesIO()
        # Object streams keep 50 plans' structure trees small; 1.7 is the version PDF/UA is defined on.
        merged.save(buffer, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate, min_version="1.7")
        return buffer.getvalue(), ranges, len(merged.pages)


class _StructureMerger:
    """Builds the merged file's structure tree from the plans' own: each plan's Document becomes a Part, keeping its language."""

    def __init__(self, merged: Any) -> None:
        import pikepdf

        self.pikepdf = pikepdf
        self.merged = merged
        self.document = merged.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Document, K=pikepdf.Array()))
        self.nums: list[Any] = []  # the new ParentTree: keys and values alternate (one pikepdf Array at the end: extending one copies it)
        self.next_key = 0
        self.lang = ""

    def add(self, source: Any, first_page: int) -> None:
        """Graft a plan's tree in, after its pages were copied (from index `first_page`): references to them resolve to the copies."""
        pikepdf, merged = self.pikepdf, self.merged
        tree = source.Root.get("/StructTreeRoot")
        if tree is None:
            return
        self.lang = self.lang or str(source.Root.get("/Lang", ""))
        entries = list(tree.ParentTree.Nums)
        old = {int(entries[i]): entries[i + 1] for i in range(0, len(entries), 2)}
        keys: dict[int, int] = {}
        for offset, page in enumerate(source.pages):
            keys[int(page.obj.StructParents)] = self._key()
            copy = merged.pages[first_page + offset].obj
            copy.StructParents = keys[int(page.obj.StructParents)]
            for annotation in copy.get("/Annots", []):
                if "/StructParent" in annotation:
                    keys.setdefault(int(annotation.StructParent), self._key())
                    annotation.StructParent = keys[int(annotation.StructParent)]
        part = tree.K
        del part["/P"]  # so copying it does not bring the plan's old tree root along
        part = merged.copy_foreign(part)
        part.S = pikepdf.Name.Part
        part.P = self.document
        if "/Lang" in source.Root:
            part.Lang = source.Root.Lang  # a Spanish plan among English ones is read in Spanish
        self.document.K.append(part)
        for old_key, new_key in sorted(keys.items(), key=lambda item: item[1]):
            value = old[old_key]
            mapped = pikepdf.Array([merged.copy_foreign(ref) for ref in value]) if isinstance(value, pikepdf.Array) else merged.copy_foreign(value)
            self.nums.extend([new_key, mapped])

    def _key(self) -> int:
        self.next_key += 1
        return self.next_key - 1

    def finish(self, title: str) -> None:
        pikepdf, merged = self.pikepdf, self.merged
        for page in merged.pages:  # the blank backs of odd-length plans
            if "/StructParents" not in page.obj:
                key = self._key()
                page.obj.StructParents = key
                self.nums.extend([key, pikepdf.Array()])
            page.obj.Tabs = pikepdf.Name.S
        root = merged.make_indirect(
            pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot, K=self.document, ParentTree=merged.make_indirect(pikepdf.Dictionary(Nums=pikepdf.Array(self.nums))), ParentTreeNextKey=self.next_key)
        )
        self.document.P = root
        merged.Root.StructTreeRoot = root
        merged.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
        merged.Root.Lang = pikepdf.String(self.lang or "en")
        merged.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
        metadata = merged.make_stream(xmp_packet(title, self.lang or "en", None).encode("utf-8"))
        metadata.Type, metadata.Subtype = pikepdf.Name.Metadata, pikepdf.Name.XML
        merged.Root.Metadata = metadata
