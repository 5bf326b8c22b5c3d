"""Terminal output for batch runs: a progress bar and a summary table, with counts and row numbers only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from handout.batch import BatchOptions, BatchResult, Reporter
from handout.delivery import NOT_TRIED
from handout.patients import PatientList

MAX_ROWS_LISTED = 30
REPORT_NAME = "report.txt"
REPORT_TITLE = "handout batch report"  # the first line: a report.txt without it is not handout's, and is never replaced


class ConsoleReporter(Reporter):
    """Progress and problems on stderr, so stdout carries only the summary."""

    def __init__(self) -> None:
        self.console = Console(stderr=True, highlight=False)
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def warn(self, message: str) -> None:
        self.console.print(f"warning: {message}", markup=False, soft_wrap=True)

    def problem(self, message: str) -> None:
        self.console.print(message, markup=False, soft_wrap=True)

    def start(self, total: int) -> None:
        if not self.console.is_terminal:
            return  # a log file or a pipe gets no bar (it would show nothing, yet its redrawing cost about 2 % of a core all run)
        self.progress = Progress(
            TextColumn("Rendering plans"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=self.console, transient=True,
            refresh_per_second=5,  # redrawn five times a second (not rich's ten): as smooth to read, half the cost to the batch's process
        )  # fmt: skip
        self.progress.start()
        self.task = self.progress.add_task("plans", total=total)

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)  # type: ignore[arg-type]

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def row_list(result: BatchResult, rows: list[int], limit: int | None = MAX_ROWS_LISTED) -> str:
    """Rows by patient_id where they have one (with the row number, for finding them in the list), shortened to `limit`."""
    shown = rows if limit is None else rows[:limit]
    labels = [f"{result.patient_ids[r]} (row {r})" if result.patient_ids.get(r) else f"row {r}" for r in shown]
    more = len(rows) - len(shown)
    return escape(", ".join(labels) + (f" … (+{more} more)" if more > 0 else ""))


def print_summary(result: BatchResult, options: BatchOptions) -> None:
    """The end-of-run table: what happened to how many rows, and which rows."""
    table = Table(title="handout batch", title_justify="left")
    table.add_column("Outcome")
    table.add_column("Plans", justify="right")
    table.add_column("Rows")
    kept = f" ({len(result.kept)} kept from an earlier run, unchanged)" if result.kept else ""
    table.add_row("Rendered", str(len(result.rendered)), escape(f"in {options.out_dir}{kept}"))
    if options.sending:
        table.add_row("Emailed", str(len(result.emailed)), row_list(result, result.emailed))
        if result.already_sent:
            table.add_row("Already sent (skipped)", str(len(result.already_sent)), row_list(result, result.already_sent))
    else:
        table.add_row("Emails in the outbox", str(len(result.outbox)), escape(f"in {options.outbox_dir}") if result.outbox else "")
        if result.already_sent:
            table.add_row("Already sent (not in the outbox)", str(len(result.already_sent)), row_list(result, result.already_sent))
    if result.maybe_sent:
        table.add_row("Maybe sent (not sent again)", str(len(result.maybe_sent)), row_list(result, [row for row, _ in result.maybe_sent]))
    table.add_row("To print", str(len(result.to_print)), row_list(result, result.to_print))
    if result.repeated:
        table.add_row("Repeated rows (one plan)", str(len(result.repeated)), row_list(result, result.repeated))
    table.add_row("Failed", str(len(result.failed)), row_list(result, [row for row, _ in result.failed]))
    if result.interrupted_by is not None:
        table.add_row("Not done (interrupted)", str(result.total - result.done), "")
    Console(highlight=False).print(table)
    if result.encoding:  # a line of its own: as the table's caption it wrapped at the table's width
        Console(highlight=False).print(f"Patient list read as {result.encoding}", markup=False, soft_wrap=True)
    if result.to_print_files is not None:
        files = result.to_print_files.files
        where = str(files[0]) if len(files) == 1 else f"{len(files)} files, {files[0].name} to {files[-1].name} in {files[0].parent}"
        Console(highlight=False).print(
            f"To print: {where} ({len(result.to_print)} plan{'' if len(result.to_print) == 1 else 's'}, {result.to_print_files.pages} pages, each starting on a new sheet "
            f"when printed double-sided)"
            + _with_the_sheet(result.to_print_files.sheets)
            + f"; by patient_id in {result.to_print_files.listing}",
            markup=False,
            soft_wrap=True,
        )
    if result.interrupted_by is not None:
        Console(stderr=True, highlight=False).print(stopped_line(result, options), markup=False, soft_wrap=True)


def _with_the_sheet(sheets: tuple[Path, ...]) -> str:
    if not sheets:
        return ""
    which = str(sheets[0]) if len(sheets) == 1 else f"the {len(sheets)} sheets {sheets[0].name} to {sheets[-1].name}"
    return f"; print {which} with it, to tick each plan as it is handed over"


def stopped_line(result: BatchResult, options: BatchOptions) -> str:
    """The one line an interrupted run ends with: how far it got, and how to go on."""
    from handout.runcontrol import SIGNAL_NAMES

    left = result.total - result.done
    if options.sending:
        done = f"{len(result.emailed)} sent"
    else:
        done = f"{result.done} of {result.total} done"
    return (
        f"Interrupted ({SIGNAL_NAMES.get(result.interrupted_by, f'signal {result.interrupted_by}')}): {done}, {left} not yet; "
        "run the same command to go on (finished plans are kept; plans already emailed are not sent again)"
    )


def why_lines(result: BatchResult) -> list[tuple[int, str]]:
    """Rows that need the clinic's attention, with the reason: failed ones, then those that may have arrived."""
    return sorted(result.failed) + sorted(result.maybe_sent)


def print_reasons(result: BatchResult, report: Path | None) -> None:
    """Why rows failed (or may have arrived), after the table: the first ones here, every one in the report."""
    lines = why_lines(result)
    console = Console(highlight=False)
    if report is not None:
        console.print(f"Every row's outcome, with reasons: {report}", markup=False, soft_wrap=True)
    if not lines:
        return
    console.print("Why:", markup=False)
    for row, reason in lines[:MAX_ROWS_LISTED]:
        console.print(f"  {row_label(result, row)}: {reason}", markup=False, soft_wrap=True)
    if len(lines) > MAX_ROWS_LISTED:
        console.print(f"  … and {len(lines) - MAX_ROWS_LISTED} more" + (f", all in {report}" if report else ""), markup=False, soft_wrap=True)


@dataclass(frozen=True)
class Outcome:
    """One line of a run's summary: what happened, to how many plans, which rows (by patient_id and row number)."""

    what: str
    count: int
    rows: str


def outcomes(result: BatchResult, sending: bool, limit: int | None = MAX_ROWS_LISTED, patients: PatientList | None = None) -> list[Outcome]:
    """What happened to the list's rows, in the order of the summary table; each list shortened to `limit` rows.

    With the list as checked (`patients`), rows to print say why they are not emailed, and rows skipped for a
    problem in the row are told apart from rows that failed; rows whose email was never tried (the mail server
    had stopped answering) are always told apart.
    """
    lines = [Outcome("Made", len(result.rendered), "")]
    if result.kept:
        lines.append(Outcome("Kept from an earlier run (unchanged)", len(result.kept), row_list(result, result.kept, limit)))
    if sending:
        lines.append(Outcome("Emailed", len(result.emailed), row_list(result, result.emailed, limit)))
        if result.already_sent:
            lines.append(Outcome("Already sent (skipped)", len(result.already_sent), row_list(result, result.already_sent, limit)))
    else:
        lines.append(Outcome("Emails in the outbox", len(result.outbox), row_list(result, result.outbox, limit)))
        if result.already_sent:
            lines.append(Outcome("Already sent (not in the outbox)", len(result.already_sent), row_list(result, result.already_sent, limit)))
    if result.maybe_sent:
        lines.append(Outcome("Maybe sent (not sent again)", len(result.maybe_sent), row_list(result, [row for row, _ in result.maybe_sent], limit)))
    lines += _to_print(result, patients, limit)
    if result.repeated:
        lines.append(Outcome("Repeated rows (one plan)", len(result.repeated), row_list(result, result.repeated, limit)))
    skipped = {problem.row for problem in patients.problems} if patients is not None else set()
    not_tried = [row for row, reason in result.failed if reason.startswith(NOT_TRIED)]
    failed = [row for row, _ in result.failed if row not in skipped and row not in not_tried]
    if skipped:
        lines.append(Outcome("Skipped: a problem in the row (not made)", len(skipped), row_list(result, sorted(skipped), limit)))
    if not_tried:
        lines.append(Outcome("Not tried: the mail server had stopped answering (send the list again for them; nobody is emailed twice)", len(not_tried), row_list(result, not_tried, limit)))
    lines.append(Outcome("Failed", len(failed), row_list(result, failed, limit)))
    return lines


def _to_print(result: BatchResult, patients: PatientList | None, limit: int | None) -> list[Outcome]:
    """The rows to print, by why they are not emailed: no address, or an address without consent to unencrypted email."""
    if patients is None or not result.to_print:
        return [Outcome("To print", len(result.to_print), row_list(result, result.to_print, limit))]
    addressed = {row.row for row in patients.rows if row.email}
    no_address = [row for row in result.to_print if row not in addressed]
    no_consent = [row for row in result.to_print if row in addressed]
    lines = []
    if no_address:
        lines.append(Outcome("To print: no email address", len(no_address), row_list(result, no_address, limit)))
    if no_consent:
        lines.append(Outcome("To print: an email address but no consent to unencrypted email (consent_email)", len(no_consent), row_list(result, no_consent, limit)))
    return lines


def row_label(result: BatchResult, row: int) -> str:
    return f"{result.patient_ids[row]} (row {row})" if result.patient_ids.get(row) else f"row {row}"


def report_text(result: BatchResult, sending: bool, words: Callable[[str], str] = str, patients: PatientList | None = None) -> str:
    """The run's report: counts, every row by patient_id and number (never a name), and why each failed one did."""
    lines = [f"Patient list read as {result.encoding}", ""]
    lines += [f"{line.what}: {line.count}" + (f" ({line.rows})" if line.rows else "") for line in outcomes(result, sending, limit=None, patients=patients)]
    if result.interrupted_by is not None:
        lines.append(f"Not done (interrupted): {result.total - result.done}")
    if why_lines(result):
        lines += ["", "Why:"] + [f"{row_label(result, row)}: {words(reason)}" for row, reason in why_lines(result)]
    return "\n".join(lines) + "\n"


def write_report(result: BatchResult, options: BatchOptions, warn: Callable[[str], None]) -> Path | None:
    """report.txt in the output folder: every row's outcome in full (the table shortens its lists), private like the plans.

    A report.txt that handout did not write (no title line) is left alone.
    """
    from handout.errors import HandoutError
    from handout.output import write_atomic

    path = options.out_dir / REPORT_NAME
    if not options.out_dir.is_dir():
        return None  # nothing was made (an empty list): no folder to report in
    try:
        with path.open(encoding="utf-8", errors="replace") as existing:
            ours = existing.readline().rstrip("\n") == REPORT_TITLE
    except FileNotFoundError:
        ours = True
    except OSError:
        ours = False
    if not ours:
        warn(f"{path} was not written by handout, so it is left as it is; this run's report was not written")
        return None
    try:
        return write_atomic(path, f"{REPORT_TITLE}\n\n{report_text(result, options.sending)}".encode())
    except HandoutError as exc:
        warn(f"the report was not written: {exc.message}")
        return None
