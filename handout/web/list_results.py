"""What a finished patient-list run gives the page: its report in the page's words, and the ZIP of its plans."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from handout.batch import JOURNAL_BUSY, OUT_DIR_BUSY, OUTBOX_BUSY, BatchResult
from handout.delivery import NOT_TRIED
from handout.outbox import BATCH_BUSY
from handout.patients import PatientList
from handout.printing import TO_PRINT_LIST
from handout.report import Outcome, outcomes, row_label  # noqa: F401 - the page's summary uses them from here
from handout.report import report_text as batch_report

ZIP_NAME = "walking-plans.zip"
REPORT_NAME = "report.txt"

# The batch's messages name its command-line options; the page names its own fields instead (same words otherwise).
_PAGE_WORDS = (
    ("pass --encoding NAME (for example --encoding cp1252)", "type its name under Text encoding (for example cp1252)"),
    ("pass --encoding utf-16-le", "type utf-16-le under Text encoding"),
    ("--encoding", "Text encoding"),
    ("--encrypt needs", "locking each PDF needs"),
    ("the batch's --large-print", "the Large print box"),
    (NOT_TRIED, "not tried: the mail server had stopped answering at "),
    ("run the batch again to send it", "upload the list again and make its plans to send it (nobody is emailed twice)"),
    ("to send it again, run with --resend-maybe-sent", "to send it again, run handout batch --send --resend-maybe-sent on the same list"),
)


DATA_FOLDER_BUSY = (
    "Another handout run (a handout batch, or another handout serve on this data folder) is using the data folder just now: "
    "make the plans again when it has finished. Plans already emailed are not sent twice."
)


def in_page_words(message: str) -> str:
    """A batch message as the page says it: its fields' names instead of the command line's options, no server folders."""
    if message.endswith((OUT_DIR_BUSY, OUTBOX_BUSY, BATCH_BUSY, JOURNAL_BUSY)):
        return DATA_FOLDER_BUSY  # "<folder>: … use another --out-dir" names the server's folder and an option the page lacks
    for option, field in _PAGE_WORDS:
        message = message.replace(option, field)
    return message


@dataclass(frozen=True)
class PrintedFiles:
    """The run's files to print, as its page names them: by file name, never by the server's path."""

    files: tuple[str, ...]
    pages: int
    sheets: tuple[str, ...]  # who is in the files, by name: to-print-list.pdf (in parts for a long list)


@dataclass(frozen=True)
class RunOutcome:
    """What a finished run did, row by row, as plain values for the page (a BatchResult holds the server's paths)."""

    rendered: tuple[int, ...]
    emailed: tuple[int, ...]
    already_sent: tuple[int, ...]
    outbox: tuple[int, ...]
    to_print: tuple[int, ...]
    failed: tuple[tuple[int, str], ...]
    repeated: tuple[int, ...]
    patient_ids: Mapping[int, str]
    to_print_files: PrintedFiles | None
    total: int
    done: int
    encoding: str

    @classmethod
    def of(cls, result: BatchResult) -> RunOutcome:
        printed = result.to_print_files
        return cls(
            tuple(result.rendered),
            tuple(result.emailed),
            tuple(result.already_sent),
            tuple(result.outbox),
            tuple(result.to_print),
            tuple(result.failed),
            tuple(result.repeated),
            dict(result.patient_ids),
            None if printed is None else PrintedFiles(tuple(f.name for f in printed.files), printed.pages, tuple(sheet.name for sheet in printed.sheets)),
            result.total,
            result.done,
            result.encoding,
        )


def write_zip(path: Path, result: BatchResult, batch_dir: Path, sending: bool, patients: PatientList | None = None) -> None:
    """The run's plans as patient_id.pdf (or row-N.pdf) under plans/, the to-print files and their sheet, and the run's report."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file, zipfile.ZipFile(file, "w") as archive:
        for row in result.rendered:
            name = f"{result.patient_ids.get(row) or f'row-{row}'}.pdf"
            archive.write(batch_dir / name, f"plans/{name}", compress_type=zipfile.ZIP_STORED)  # PDFs are compressed already
        if result.to_print_files is not None:
            for printed in result.to_print_files.files:
                archive.write(printed, printed.name, compress_type=zipfile.ZIP_STORED)
            archive.write(result.to_print_files.listing, TO_PRINT_LIST, compress_type=zipfile.ZIP_DEFLATED)
            for sheet in result.to_print_files.sheets:
                archive.write(sheet, sheet.name, compress_type=zipfile.ZIP_STORED)
        archive.writestr(REPORT_NAME, report_text(result, sending, patients), compress_type=zipfile.ZIP_DEFLATED)


def report_text(result: BatchResult, sending: bool, patients: PatientList | None = None) -> str:
    """The run's report as `handout batch` writes it, in the page's words."""
    return batch_report(result, sending, in_page_words, patients)
