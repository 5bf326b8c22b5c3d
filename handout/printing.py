"""The batch's to-print file: the plans to hand over merged into one double-sided-ready PDF, and their list by patient_id."""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from handout.output import write_atomic

TO_PRINT_PDF = "to-print.pdf"
TO_PRINT_LIST = "to-print.txt"
LIST_HEADER = "patient_id\trow\tpages"


@dataclass(frozen=True)
class Printable:
    """One plan to print: its row, its patient_id ('' if none), and the unencrypted plan (its file, or its bytes)."""

    row: int
    patient_id: str
    plan: Path | bytes


def remove_to_print(folder: Path) -> None:
    """An earlier run's files go before a new run starts: last week's plans must not be printed again by mistake."""
    for name in (TO_PRINT_PDF, TO_PRINT_LIST):
        (folder / name).unlink(missing_ok=True)


def write_to_print(folder: Path, plans: Sequence[Printable]) -> tuple[Path, int]:
    """Write to-print.pdf and to-print.txt atomically; returns the PDF's path and page count.

    Each plan starts on a new sheet when printed double-sided: a plan with an
    odd number of pages is followed by a blank page of the same size. Only the
    pages are copied, not the plans' titles or metadata, and the file ID is
    derived from the content, so identical plans give a byte-identical file.
    """
    import pikepdf

    lines = [LIST_HEADER]
    with ExitStack() as stack:
        merged = stack.enter_context(pikepdf.new())
        for plan in plans:
            data = plan.plan.read_bytes() if isinstance(plan.plan, Path) else plan.plan
            # Each source stays open until the merged file is saved: pikepdf copies its objects then.
            source = stack.enter_context(pikepdf.open(io.BytesIO(data)))
            first = len(merged.pages) + 1
            merged.pages.extend(source.pages)
            if len(source.pages) % 2:
                box = source.pages[-1].mediabox
                merged.add_blank_page(page_size=(float(box[2]) - float(box[0]), float(box[3]) - float(box[1])))
            lines.append(f"{plan.patient_id}\t{plan.row}\t{first}-{len(merged.pages)}")
        merged.docinfo["/Title"] = "Walking plans to print"
        page_count = len(merged.pages)
        buffer = io.BytesIO()
        merged.save(buffer, deterministic_id=True)
    path = write_atomic(folder / TO_PRINT_PDF, buffer.getvalue())
    write_atomic(folder / TO_PRINT_LIST, ("\n".join(lines) + "\n").encode("utf-8"))
    return path, page_count
