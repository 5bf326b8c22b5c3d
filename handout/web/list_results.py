"""What a finished patient-list run gives the page: its outcome lines, its report, and the ZIP of its plans."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from handout.batch import OUT_DIR_BUSY, OUTBOX_BUSY, BatchResult
from handout.delivery import NOT_TRIED
from handout.outbox import BATCH_BUSY
from handout.patients import PatientList
from handout.printing import TO_PRINT_LIST
from handout.report import row_list

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
)


DATA_FOLDER_BUSY = (
    "Another handout run (a handout batch, or another handout serve on this data folder) is using the data folder just now: "
    "make the plans again when it has finished. Plans already emailed are not sent twice."
)


def in_page_words(message: str) -> str:
    """A batch message as the page says it: its fields' names instead of the command line's options, no server folders."""
    if message.endswith((OUT_DIR_BUSY, OUTBOX_BUSY, BATCH_BUSY)):
        return DATA_FOLDER_BUSY  # "<folder>: … use another --out-dir" names the server's folder and an option the page lacks
    for option, field in _PAGE_WORDS:
        message = message.replace(option, field)
    return message


@dataclass(frozen=True)
class Outcome:
    """One line of a run's summary: what happened, to how many plans, which rows (by patient_id and row number)."""

    what: str
    count: int
    rows: str


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
    with zipfile.ZipFile(path, "w") as archive:
        for row in result.rendered:
            name = f"{result.patient_ids.get(row) or f'row-{row}'}.pdf"
            archive.write(batch_dir / name, f"plans/{name}", compress_type=zipfile.ZIP_STORED)  # PDFs are compressed already
        if result.to_print_files is not None:
            for file in result.to_print_files.files:
                archive.write(file, file.name, compress_type=zipfile.ZIP_STORED)
            archive.write(result.to_print_files.listing, TO_PRINT_LIST, compress_type=zipfile.ZIP_DEFLATED)
            for sheet in result.to_print_files.sheets:
                archive.write(sheet, sheet.name, compress_type=zipfile.ZIP_STORED)
        archive.writestr(REPORT_NAME, report_text(result, sending, patients), compress_type=zipfile.ZIP_DEFLATED)


def outcomes(result: BatchResult, sending: bool, patients: PatientList | None = None) -> list[Outcome]:
    """What happened to the list's rows, in the order of `handout batch`'s summary.

    With the list as checked (`patients`), rows to print say why they are not emailed, and rows
    skipped for a problem in the row are told apart from rows that failed; rows whose email was
    never tried (the mail server had stopped answering) are always told apart.
    """
    lines = [Outcome("Made", len(result.rendered), "")]
    if sending:
        lines.append(Outcome("Emailed", len(result.emailed), row_list(result, result.emailed)))
        if result.already_sent:
            lines.append(Outcome("Already sent (skipped)", len(result.already_sent), row_list(result, result.already_sent)))
    else:
        lines.append(Outcome("Emails in the outbox", len(result.outbox), row_list(result, result.outbox)))
    lines += _to_print(result, patients)
    if result.repeated:
        lines.append(Outcome("Repeated rows (one plan)", len(result.repeated), row_list(result, result.repeated)))
    skipped = {problem.row for problem in patients.problems} if patients is not None else set()
    not_tried = [row for row, reason in result.failed if reason.startswith(NOT_TRIED)]
    failed = [row for row, _ in result.failed if row not in skipped and row not in not_tried]
    if skipped:
        lines.append(Outcome("Skipped: a problem in the row (not made)", len(skipped), row_list(result, sorted(skipped))))
    if not_tried:
        lines.append(Outcome("Not tried: the mail server had stopped answering (make the list again to send them)", len(not_tried), row_list(result, not_tried)))
    lines.append(Outcome("Failed", len(failed), row_list(result, failed)))
    return lines


def _to_print(result: BatchResult, patients: PatientList | None) -> list[Outcome]:
    """The rows to print, by why they are not emailed: no address, or an address without consent to unencrypted email."""
    if patients is None or not result.to_print:
        return [Outcome("To print", len(result.to_print), row_list(result, result.to_print))]
    addressed = {row.row for row in patients.rows if row.email}
    no_address = [row for row in result.to_print if row not in addressed]
    no_consent = [row for row in result.to_print if row in addressed]
    lines = []
    if no_address:
        lines.append(Outcome("To print: no email address", len(no_address), row_list(result, no_address)))
    if no_consent:
        lines.append(Outcome("To print: an email address but no consent to unencrypted email (consent_email)", len(no_consent), row_list(result, no_consent)))
    return lines


def row_label(result: BatchResult, row: int) -> str:
    return f"{result.patient_ids[row]} (row {row})" if result.patient_ids.get(row) else f"row {row}"


def report_text(result: BatchResult, sending: bool, patients: PatientList | None = None) -> str:
    """The run's summary for the ZIP: counts, rows by patient_id and number, and why rows failed. Never a name."""
    lines = [f"Patient list read as {result.encoding}", ""]
    lines += [f"{line.what}: {line.count}" + (f" ({line.rows})" if line.rows else "") for line in outcomes(result, sending, patients)]
    if result.failed:
        lines += ["", "Why:"] + [f"{row_label(result, row)}: {in_page_words(reason)}" for row, reason in result.failed]
    return "\n".join(lines) + "\n"
