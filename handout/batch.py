"""Batch runs: every row of a patient list rendered in parallel, then emailed, put in the outbox, or listed to print."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from handout.batch_worker import Rendered, prepare_worker, render_one, sheet_in_worker
from handout.brand import load_brand
from handout.delivery import Delivered, Delivery, Outcome
from handout.errors import HandoutError
from handout.journal import Journal
from handout.kept_plans import kept_or_rendered, made_from, run_signature
from handout.mail import outbox_sender
from handout.output import commit_written, private_folder
from handout.patients import PatientRow, read_patient_list, wants_email
from handout.printing import (
    TO_PRINT_SHEET,
    Printable,
    ToPrint,
    ToPrintWriter,
    refuse_others_files,
    remove_to_print,
    sheet_name,
    sheet_parts,
    with_sheets,
)
from handout.runcontrol import StopNow, folder_lock, stop_requests
from handout.smtp import SmtpSettings
from handout.worker_server import start_worker_server

if TYPE_CHECKING:
    from handout.pipeline import ListedPlan, Renderer  # imported where it is used, as elsewhere here: the command line starts faster

OUT_DIR_BUSY = "another handout batch is using this folder; wait for it to finish, or use another --out-dir"
OUTBOX_BUSY = "another handout run is writing to this outbox; wait for it to finish, or use another --outbox"
JOURNAL_BUSY = "another handout batch (or a patient list on the front desk's page) is using the journal of what was sent; wait for it to finish"
OUTBOX_PATIENCE_SECONDS = 2.0  # a single plan holds the outbox only while it writes its message
# A sheet part of more rows than this is drawn by a worker forked for it once the render workers have left: drawn beside
# them, a 3,333-row sheet took 20 MB more than their peak (10,000 rows: 214 MB against 194). A shorter one is drawn by a
# render worker, already warm, without waiting for a worker to start (the sheet is the last thing a run waits for).
SHEET_ROWS_BESIDE_RENDERERS = 1_000


@dataclass(frozen=True)
class BatchOptions:
    """Everything `handout batch` was asked to do."""

    patients_csv: Path
    out_dir: Path = Path("plans")
    workers: int = 0  # 0: one per core
    send: bool = False
    outbox: Path | None = None
    encrypt: bool = False
    brand_dir: Path | None = None
    template_dirs: tuple[Path, ...] = ()
    paper: str = "a4"
    strict: bool = False
    resend: bool = False
    resend_maybe: bool = False  # email again the plans that may have arrived (connection lost after the handover)
    data_dir: Path | None = None  # where the journal of what was sent lives; None: the user's data folder
    new_journal: bool = False  # the journal is lost or damaged: set it aside and treat every row as not yet sent
    today: dt.date = field(default_factory=dt.date.today)
    encoding: str | None = None  # the patient list's text encoding; None: detected
    language: str = "en"  # the language of rows whose `language` cell is empty (--lang)
    large_print: bool = False  # the print size of rows whose `large_print` cell is empty (--large-print)

    @property
    def sending(self) -> bool:
        """Real SMTP delivery (the command line refuses --send with --outbox; the page names its outbox for clearing sent messages)."""
        return self.send

    @property
    def journal_dir(self) -> Path:
        from handout.journal_files import default_data_dir

        return self.data_dir if self.data_dir is not None else default_data_dir()

    @property
    def outbox_dir(self) -> Path:
        return self.outbox if self.outbox is not None else self.out_dir / "outbox"


@dataclass
class BatchResult:
    """Row numbers by outcome, for the summary table."""

    rendered: list[int] = field(default_factory=list)  # rows whose plan is in the output folder, made now or kept
    kept: list[int] = field(default_factory=list)  # of those, the plans an earlier run made and nothing changed since
    emailed: list[int] = field(default_factory=list)
    already_sent: list[int] = field(default_factory=list)
    maybe_sent: list[tuple[int, str]] = field(default_factory=list)  # handed over, no reply: not sent again unless asked
    outbox: list[int] = field(default_factory=list)
    to_print: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    repeated: list[int] = field(default_factory=list)  # rows without a patient_id that repeat an earlier row exactly
    patient_ids: dict[int, str] = field(default_factory=dict)  # row number -> patient_id, for lists a clinic can act on
    to_print_files: ToPrint | None = None  # the merged plans to print, when there are any
    total: int = 0  # plans this run set out to make
    done: int = 0  # of those, how many were finished (made and delivered, or failed)
    interrupted_by: int | None = None  # the signal that stopped the run early
    ignored_columns: tuple[str, ...] = ()
    encoding: str = ""  # how the patient list was read, for the summary

    @property
    def ok(self) -> bool:
        return not self.failed and not self.maybe_sent

    def record(self, row: int, delivered: Delivered) -> None:
        if delivered.outcome is Outcome.FAILED:
            self.failed.append((row, delivered.reason))
        elif delivered.outcome is Outcome.MAYBE_SENT:
            self.maybe_sent.append((row, delivered.reason))
        else:
            getattr(self, delivered.outcome.value).append(row)


class Reporter:
    """Hooks the command line uses for progress and messages; the default stays silent."""

    def warn(self, message: str) -> None: ...

    def problem(self, message: str) -> None: ...

    def start(self, total: int) -> None: ...

    def advance(self) -> None: ...

    def finish(self) -> None: ...


def run_batch(options: BatchOptions, env: Mapping[str, str], reporter: Reporter | None = None) -> BatchResult:
    """Validate every row, render the good ones in parallel, deliver each, and journal every step."""
    from handout.checks import brand_text_problem, unprintable_problem

    report = reporter or Reporter()
    brand = load_brand(options.brand_dir)
    brand_problem = brand_text_problem(brand)  # said once now, not on every row by the workers that draw the brand
    if brand_problem is not None:
        raise HandoutError(brand_problem)
    if _workers(options) > 1:
        # It loads ReportLab and handout on another core while this process reads, checks and prepares the list.
        # (A list of one row, or a run that stops on a mistake, leaves it unused: it ends with this process.)
        try:
            start_worker_server()
        except OSError as exc:  # no worker can be started (a TMPDIR path too long for its socket, no processes left): slower, not stopped
            report.warn(f"cannot start worker processes ({exc.strerror or exc}); rendering every plan in this process")
            options = replace(options, workers=1)
    patients = read_patient_list(options.patients_csv, options.today, options.encrypt, unprintable_problem, options.encoding, options.language, options.large_print)
    result = BatchResult(ignored_columns=patients.ignored_columns, encoding=patients.encoding)
    if patients.ignored_columns:
        report.warn(f"ignoring unknown columns: {', '.join(patients.ignored_columns)}")
    for problem in patients.problems:
        report.problem(str(problem))
        result.failed.append((problem.row, f"{problem.column} {problem.reason}"))
    if (options.strict and patients.problems) or not patients.rows:
        # Nothing will be made: last run's to-print files must not be taken for this run's.
        if options.out_dir.is_dir():
            with folder_lock(options.out_dir, OUT_DIR_BUSY):
                remove_to_print(options.out_dir)
        if patients.rows:
            bad = len(patients.problems)
            raise HandoutError(f"{options.patients_csv}: {bad} bad {'row' if bad == 1 else 'rows'} (listed above); nothing was rendered because of --strict")
        return result

    settings = SmtpSettings.from_env(env) if options.sending else None  # bad settings fail before any work
    if not options.sending and any(wants_email(row, options.encrypt) for row in patients.rows):
        outbox_sender(env, brand)  # the outbox's messages need a From address: say so before any plan is made
    # Everything that could fail for the whole run fails now, before any plan is made:
    # folders, templates (plan and email), the brand's own text.
    from handout.pipeline import PLAN_TEMPLATE, TO_PRINT_TEMPLATE, Renderer, document_date

    document_date(options.today)  # a bad SOURCE_DATE_EPOCH is one line now, not the same failure on every row
    checked = Renderer(brand, options.paper, options.template_dirs)
    checked.check_templates((PLAN_TEMPLATE, TO_PRINT_TEMPLATE, "email/plan.txt.j2", "email/plan.html.j2"))  # nothing is drawn here
    private_folder(options.out_dir, "--out-dir")
    journal_dir = private_folder(options.journal_dir, "the data folder")
    with folder_lock(options.out_dir, OUT_DIR_BUSY), ExitStack() as locks, stop_requests() as stop:
        if journal_dir.resolve() != options.out_dir.resolve():
            # One run at a time on the journal too: two batches from two folders must not both send the same plan.
            locks.enter_context(folder_lock(journal_dir, JOURNAL_BUSY))
        # Only now, with the folder ours: another run's half-written files are not ours to remove.
        remove_partial_files(options.out_dir)
        # And once the workers have left, with the folder still ours: a plan a worker wrote that this process never
        # took in (a run stopped early, a worker's last plan when this one failed) was never named, so it was never made.
        locks.callback(remove_partial_files, options.out_dir)
        remove_to_print(options.out_dir)  # last run's list must not be printed again by mistake
        refuse_others_files(options.out_dir)  # what is left with those names is someone else's: never replaced
        # The outbox is written by a dry run, and a real send clears the messages it sent from it.
        if any(row.email for row in patients.rows) and (not options.sending or options.outbox_dir.is_dir()):
            private_folder(options.outbox_dir, "--outbox")
            if options.outbox_dir.resolve() != options.out_dir.resolve():
                # A shared --outbox: other batches and single plans write there too.
                locks.enter_context(folder_lock(options.outbox_dir, OUTBOX_BUSY, patience_seconds=OUTBOX_PATIENCE_SECONDS))
            remove_partial_files(options.outbox_dir)
        with open_journal(journal_dir, options, report) as journal, Delivery(
            brand, checked.env, journal, env, settings, options.outbox_dir, options.encrypt, options.resend, report.warn, options.resend_maybe
        ) as delivery, RenderWorkers(options) as workers:
            rows = _without_repeats(patients.rows, journal, result, report)
            # Rows rejected on reading are named by their patient_id too, as the upload's row report names them.
            result.patient_ids = {problem.row: problem.patient_id for problem in patients.problems} | {row.row: row.patient_id for row in rows}
            result.total = len(rows)
            printing = ToPrintWriter(options.out_dir)
            by_row = {row.row: row for row in rows}
            report.start(len(rows))
            try:
                signature = run_signature(options, brand)
                plans = kept_or_rendered(
                    rows, options.out_dir, journal, signature, lambda row: not (options.encrypt and not wants_email(row, True)), workers.render
                )
                for outcome in plans if stop.signal_number is None else ():
                    row = by_row[outcome.row]
                    outcome = _committed(outcome)
                    if outcome.error:
                        journal.mark(outcome.key, outcome.row, "failed", reason=outcome.error)
                        result.failed.append((outcome.row, outcome.error))
                        report.problem(f"{row.label}: {outcome.error}")
                    else:
                        document_hmac = outcome.document_hmac or journal.keyed(outcome.document_sha256)
                        # Lazily: lost in a crash, these cost a re-run the plan's render; delivering it commits them
                        # (an email is journalled at once, before it is handed over), or they go in batches.
                        journal.mark(outcome.key, outcome.row, "rendered", document_hmac=document_hmac, lazily=True)
                        assert outcome.path is not None
                        if outcome.kept:
                            result.kept.append(outcome.row)
                        else:
                            journal.record_plan(outcome.path, made_from(journal, row, signature), document_hmac, lazily=True)
                        result.rendered.append(outcome.row)
                        delivered = delivery.deliver(row, outcome.path)
                        result.record(row.row, delivered)
                        if delivered.outcome in (Outcome.FAILED, Outcome.MAYBE_SENT):
                            report.problem(f"{row.label}: {delivered.reason}")
                        elif delivered.outcome is Outcome.TO_PRINT:
                            printing.add(Printable(row.row, row.patient_id, outcome.printable or outcome.path, outcome.read))
                    result.done += 1
                    report.advance()
                    if stop.signal_number is not None:
                        break  # the plan in hand is finished and journalled; the rest waits for the re-run
            except StopNow:
                pass  # a second signal: the plan in hand is left for the re-run; the summary still says where the run got to
            finally:
                report.finish()
            result.interrupted_by = stop.signal_number
            if result.interrupted_by is None:
                try:
                    result.to_print_files = _finished_with_sheet(printing, checked, by_row, options.today, report, workers)
                except StopNow:
                    result.interrupted_by, result.to_print_files = stop.signal_number, None
            if result.interrupted_by is not None:
                remove_to_print(options.out_dir)  # a part of the list would look like all of it
    result.failed.sort()
    return result


def _committed(outcome: Rendered) -> Rendered:
    """A plan a worker wrote under a temporary name, flushed to disk and named (output.commit_written); a plan that cannot be is a failed row."""
    if outcome.unsynced is None:
        return outcome
    try:
        return replace(outcome, path=commit_written(outcome.unsynced), unsynced=None)
    except HandoutError as exc:
        return replace(outcome, path=None, read=None, printable=None, unsynced=None, error=f"could not be written: {exc.message}")


def open_journal(journal_dir: Path, options: BatchOptions, report: Reporter) -> Journal:
    """The user's journal of what was sent, with any journal an older handout kept in the output folder taken into it.

    One journal per user, whatever folder a batch runs from: the same list run from
    two folders must not email everyone twice.
    """
    from handout.journal_files import JournalUnusable, has_journal, journal_paths

    journal = Journal(journal_dir, start_afresh=options.new_journal)
    if options.out_dir.resolve() != journal_dir.resolve() and has_journal(options.out_dir):
        try:
            count = journal.take_in(options.out_dir)
        except JournalUnusable as exc:
            journal.close()
            older, key = journal_paths(options.out_dir)
            raise HandoutError(
                f"{options.out_dir} holds a journal from an older handout that cannot be read ({exc.message.split(';')[0]}): restore it with its key, "
                f"or move {older.name} and {key.name} out of that folder to go on without it"
            ) from None
        except BaseException:
            journal.close()
            raise
        report.warn(f"took the journal in {options.out_dir} ({count} plans handed to the mail server) into {journal.path}, which records what was sent from every folder")
    return journal


def _finished_with_sheet(
    printing: ToPrintWriter, renderer: Renderer, rows: Mapping[int, PatientRow], made: dt.date, report: Reporter, workers: RenderWorkers
) -> ToPrint | None:
    """The to-print files written and their sheet beside them; None when nothing was to print.

    The sheet's first part is started on a worker before the last file and the list are written
    (ToPrintWriter.listed says what they will be), and drawn meanwhile.
    """
    planned = printing.listed()
    early = workers.sheet_soon(*next(_sheet_args(planned, rows, made))) if planned is not None else None
    written: ToPrint | None = None
    try:
        written = printing.finish()
    finally:
        if early is not None and planned != written:  # stopped, or not what was written: not waited for
            early.cancel()
            early = None
    return None if written is None else _with_sheet(renderer, written, rows, made, report, workers, early)


def _with_sheet(
    renderer: Renderer, to_print: ToPrint, rows: Mapping[int, PatientRow], made: dt.date, report: Reporter, workers: RenderWorkers | None = None, early: Future[bytes] | None = None
) -> ToPrint:
    """The to-print files with the sheet of who is in them, by name, for handing them over (in parts for a long list).

    A run that rendered in parallel has the sheet drawn by a worker, which has the fonts, the brand and
    the templates loaded already (RenderWorkers.sheet): this process never loads the fonts. Without a
    worker (one was asked for, or none can start now) it is drawn here. A sheet that cannot be made (a
    brand's template failing as it runs) is a warning: by now the plans are made and emailed, and
    to-print.txt still lists them. `early`: the first part, already being drawn (RenderWorkers.sheet_soon).
    """
    parts = len(sheet_parts(to_print.entries))

    def sheets() -> Iterator[bytes]:
        for number, args in enumerate(_sheet_args(to_print, rows, made), start=1):
            drawn = _drawn(early) if number == 1 and early is not None else None
            if drawn is None and workers is not None:
                drawn = workers.sheet(*args)
            yield drawn if drawn is not None else renderer.to_print_list(*args)

    try:
        return with_sheets(to_print, sheets())
    except HandoutError as exc:
        report.warn(f"{TO_PRINT_SHEET} was not made: {exc.message}")
        for number in range(1, parts + 1):  # part of the sheet would look like all of it
            to_print.files[0].with_name(sheet_name(number, parts)).unlink(missing_ok=True)
        return to_print


def _sheet_args(to_print: ToPrint, rows: Mapping[int, PatientRow], made: dt.date) -> Iterator[tuple[list[ListedPlan], list[str], int, dt.date, int, int, int]]:
    """Renderer.to_print_list's arguments for each part of the sheet, a part at a time (a part's names are held only while it is drawn)."""
    from handout.pipeline import ListedPlan

    parts = sheet_parts(to_print.entries)
    pages_in = _pages_by_file(to_print)
    for number, part in enumerate(parts, start=1):
        files = list(dict.fromkeys(e.file for e in part))
        entries = [ListedPlan(e.row, e.patient_id, rows[e.row].name, e.pages, e.file) for e in part]
        yield entries, files, sum(pages_in[f] for f in files), made, number, len(parts), len(to_print.entries)


def _drawn(early: Future[bytes]) -> bytes | None:
    """The sheet a worker was drawing, or None if the worker could not (it died, or the server went): drawn again the usual way."""
    try:
        return early.result()
    except (OSError, BrokenProcessPool):
        return None


def _pages_by_file(to_print: ToPrint) -> dict[str, int]:
    """Each merged file's page count, from where its last plan ends."""
    pages: dict[str, int] = {}
    for entry in to_print.entries:
        pages[entry.file] = max(pages.get(entry.file, 0), int(entry.pages.rsplit("-", 1)[-1]))
    return pages


def _without_repeats(rows: Sequence[PatientRow], journal: Journal, result: BatchResult, report: Reporter) -> list[PatientRow]:
    """Rows without a patient_id that say exactly the same are one patient listed twice: one plan, and a warning."""
    first: dict[str, int] = {}
    kept: list[PatientRow] = []
    for row in rows:
        fingerprint = journal.fingerprint(row)  # includes the patient_id: rows with ids never repeat (ids are unique)
        if fingerprint in first:
            report.warn(f"row {row.row} repeats row {first[fingerprint]} exactly (no patient_id): one plan for both")
            journal.mark(row.key, row.row, "repeated", lazily=True)
            result.repeated.append(row.row)
            continue
        first[fingerprint] = row.row
        kept.append(row)
    return kept


# How output.py names a file being written: `.P1.pdf.k3j_x9a2.part`, `.handout.0f3kz8qa.part`.
_PARTIAL_FILE = re.compile(r"\.(.+\.(pdf|eml|txt|sqlite|key)|handout)\.[a-z0-9_]{8}\.part")


def remove_partial_files(folder: Path) -> None:
    """A run killed mid-write leaves `.name.part` files: they were never complete plans. Only handout's own are removed."""
    for leftover in folder.glob(".*.part"):
        if _PARTIAL_FILE.fullmatch(leftover.name):
            try:
                leftover.unlink(missing_ok=True)
            except OSError:  # a folder made read-only meanwhile: the next run sweeps it; never a traceback over a finished run
                pass


class RenderWorkers:
    """The processes a run renders its plans in, kept for its to-print sheet: forked on first need, ended with the run.

    A run asked for one process, or with one plan to make, renders in this process instead.
    """

    def __init__(self, options: BatchOptions) -> None:
        self.options = options
        self._pool: ProcessPoolExecutor | None = None
        self._pool_size = 0

    def __enter__(self) -> RenderWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            # Stopped early (Ctrl-C): plans not yet started are dropped, the ones in hand finish, the workers leave cleanly.
            self._pool.shutdown(wait=True, cancel_futures=True)

    def render(self, rows: Sequence[PatientRow]) -> Iterator[Rendered]:
        """Plans in row order, rendered across the workers with a bounded queue (flat memory)."""
        if not rows:
            return  # every plan was kept: no worker to start
        workers = _workers(self.options)
        if workers == 1 or len(rows) == 1:
            prepare_worker(*_init_args(self.options))
            yield from (render_one(row) for row in rows)
            return
        try:
            yield from _bounded_map(self._started(), render_one, rows, window=workers * 8)
        except BrokenProcessPool:
            # Start-up problems are checked in this process first; this is a worker that died (out of memory, killed).
            raise HandoutError("a rendering process stopped unexpectedly; run again to finish the batch (finished plans are kept)") from None

    def sheet(self, entries: Sequence[object], *args: object) -> bytes | None:
        """The to-print sheet (Renderer.to_print_list's arguments) drawn by a worker; None if no worker can draw it (the caller draws it).

        A long sheet part is drawn by a worker of its own, once the render workers have left (SHEET_ROWS_BESIDE_RENDERERS).
        """
        if _workers(self.options) == 1:
            return None
        try:
            if len(entries) > SHEET_ROWS_BESIDE_RENDERERS and self._pool is not None and self._pool_size > 1:
                self._pool.shutdown(wait=True)  # the render workers leave first
                self._pool = None
            return self._started(1).submit(sheet_in_worker, entries, *args).result()  # one worker, if none is running: it draws every part
        except (OSError, BrokenProcessPool):
            return None  # no worker could start, or it died (no processes left, the server gone): drawn there, not lost with the run's summary

    def sheet_soon(self, entries: Sequence[object], *args: object) -> Future[bytes] | None:
        """The to-print sheet (as `sheet`) started now on a render worker, to be collected later; None if it cannot start so (the caller draws it as usual)."""
        if self._pool is None or self._pool_size == 1 or len(entries) > SHEET_ROWS_BESIDE_RENDERERS:
            return None
        try:
            return self._pool.submit(sheet_in_worker, entries, *args)
        except (OSError, BrokenProcessPool, RuntimeError):
            return None

    def _started(self, workers: int | None = None) -> ProcessPoolExecutor:
        """The pool, forked on first need with `workers` processes (default: the run's)."""
        if self._pool is None:
            # forkserver: workers start clean, without the parent's threads (progress bar) or open files.
            start_worker_server()  # already running: run_batch started it
            context = multiprocessing.get_context("forkserver")
            self._pool_size = workers or _workers(self.options)
            self._pool = ProcessPoolExecutor(max_workers=self._pool_size, mp_context=context, initializer=prepare_worker, initargs=(*_init_args(self.options), os.getpid()))
        return self._pool


def _workers(options: BatchOptions) -> int:
    """How many processes render: --workers, else one a core."""
    return options.workers or os.cpu_count() or 1


def _init_args(options: BatchOptions) -> tuple[object, ...]:
    """prepare_worker's arguments for a run (without the batch's process id)."""
    return (options.brand_dir, options.template_dirs, options.paper, options.encrypt, options.out_dir, options.today)


def _bounded_map(pool: ProcessPoolExecutor, function: Callable[[PatientRow], Rendered], items: Iterable[PatientRow], window: int) -> Iterator[Rendered]:
    pending: deque[Future[Rendered]] = deque()
    for item in items:
        pending.append(pool.submit(function, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
