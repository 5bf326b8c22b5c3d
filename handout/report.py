"""Terminal output for batch runs: a progress bar and a summary table, with counts and row numbers only."""

from __future__ import annotations

import signal

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from handout.batch import BatchOptions, BatchResult, Reporter

MAX_ROWS_LISTED = 30


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
        self.progress = Progress(
            TextColumn("Rendering plans"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=self.console, transient=True
        )
        self.progress.start()
        self.task = self.progress.add_task("plans", total=total)

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)  # type: ignore[arg-type]

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def row_list(result: BatchResult, rows: list[int]) -> str:
    """Rows by patient_id where they have one (with the row number, for finding them in the list), shortened."""
    labels = [f"{result.patient_ids[r]} (row {r})" if result.patient_ids.get(r) else f"row {r}" for r in rows[:MAX_ROWS_LISTED]]
    more = len(rows) - MAX_ROWS_LISTED
    return escape(", ".join(labels) + (f" … (+{more} more)" if more > 0 else ""))


def print_summary(result: BatchResult, options: BatchOptions) -> None:
    """The end-of-run table: what happened to how many rows, and which rows."""
    table = Table(title="handout batch", title_justify="left")
    table.add_column("Outcome")
    table.add_column("Plans", justify="right")
    table.add_column("Rows")
    table.add_row("Rendered", str(len(result.rendered)), escape(f"in {options.out_dir}"))
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
            + (f"; print {result.to_print_files.sheet} with it, to tick each plan as it is handed over" if result.to_print_files.sheet else "")
            + f"; by patient_id in {result.to_print_files.listing}",
            markup=False,
            soft_wrap=True,
        )
    if result.interrupted_by is not None:
        Console(stderr=True, highlight=False).print(
            f"Interrupted ({'Ctrl-C' if result.interrupted_by == signal.SIGINT else 'SIGTERM'}) before the batch finished; to finish, "
            "run the same command again: finished plans are kept and plans already emailed are not sent again.",
            markup=False,
            soft_wrap=True,
        )
