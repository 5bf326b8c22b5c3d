"""Batch runs: every row of a patient list rendered in parallel, then emailed, put in the outbox, or listed to print."""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from handout.brand import Brand, load_brand
from handout.delivery import Delivered, Delivery, Outcome, wants_email
from handout.errors import HandoutError
from handout.journal import Journal
from handout.kept_plans import kept_or_rendered, made_from, run_signature
from handout.mail import outbox_sender
from handout.output import private_folder, write_atomic
from handout.patients import PatientRow, read_patient_list
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
from handout.runcontrol import StopNow, folder_lock, ignore_stop_signals, stop_requests
from handout.smtp import SmtpSettings
from handout.worker_server import start_worker_server

if TYPE_CHECKING:
    from handout.pipeline import Renderer  # imported where it is used, as elsewhere here: the command line starts faster

PLAN_EXTENSION = ".pdf"
OUT_DIR_BUSY = "another handout batch is using this folder; wait for it to finish, or use another --out-dir"
OUTBOX_BUSY = "another handout run is writing to this outbox; wait for it to finish, or use another --outbox"
JOURNAL_BUSY = "another handout batch (or a patient list on the front desk's page) is using the journal of what was sent; wait for it to finish"
OUTBOX_PATIENCE_SECONDS = 2.0  # a single plan holds the outbox only while it writes its message


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


@dataclass(frozen=True)
class Rendered:
    """What a worker reports back: file, identity of the content, or why it failed. Never a name."""

    row: int
    key: str
    path: Path | None
    document_sha256: str
    error: str = ""
    printable: bytes | None = None  # the unencrypted plan of an encrypted row that is to print, for to-print.pdf
    document_hmac: str = ""  # of a kept plan: the keyed hash the journal has for it
    kept: bool = False  # made by an earlier run from the same inputs, and unchanged since: not rendered again


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
    from handout.checks import unprintable_problem

    report = reporter or Reporter()
    brand = load_brand(options.brand_dir)
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
    checked.prepare((PLAN_TEMPLATE, TO_PRINT_TEMPLATE, "email/plan.txt.j2", "email/plan.html.j2"))
    private_folder(options.out_dir, "--out-dir")
    journal_dir = private_folder(options.journal_dir, "the data folder")
    with folder_lock(options.out_dir, OUT_DIR_BUSY), ExitStack() as locks, stop_requests() as stop:
        if journal_dir.resolve() != options.out_dir.resolve():
            # One run at a time on the journal too: two batches from two folders must not both send the same plan.
            locks.enter_context(folder_lock(journal_dir, JOURNAL_BUSY))
        # Only now, with the folder ours: another run's half-written files are not ours to remove.
        remove_partial_files(options.out_dir)
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
        ) as delivery:
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
                    rows, options.out_dir, journal, signature, lambda row: not (options.encrypt and not wants_email(row, True)), lambda todo: render_rows(todo, options)
                )
                for outcome in plans if stop.signal_number is None else ():
                    row = by_row[outcome.row]
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
                            printing.add(Printable(row.row, row.patient_id, outcome.printable or outcome.path))
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
                    result.to_print_files = printing.finish()
                    if result.to_print_files is not None:
                        result.to_print_files = _with_sheet(checked, result.to_print_files, by_row, options, report)
                except StopNow:
                    result.interrupted_by, result.to_print_files = stop.signal_number, None
            if result.interrupted_by is not None:
                remove_to_print(options.out_dir)  # a part of the list would look like all of it
    result.failed.sort()
    return result


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


def _with_sheet(renderer: Renderer, to_print: ToPrint, rows: Mapping[int, PatientRow], options: BatchOptions, report: Reporter) -> ToPrint:
    """The to-print files with the sheet of who is in them, by name, for handing them over (in parts for a long list).

    A run that rendered in parallel has the sheet drawn by a worker forked for it from the fork
    server, which has the fonts and ReportLab loaded: this process never loads the fonts, and the
    sheet, the last thing a run waits for, does not wait for them to load here.
    A sheet that cannot be made (a brand's template failing as it runs) is a warning: by now the
    plans are made and emailed, and to-print.txt still lists them.
    """
    from handout.pipeline import ListedPlan

    parts = sheet_parts(to_print.entries)
    pages_in = _pages_by_file(to_print)

    def sheets(draw: Callable[..., bytes]) -> Iterator[bytes]:
        for number, part in enumerate(parts, start=1):
            files = list(dict.fromkeys(e.file for e in part))
            entries = [ListedPlan(e.row, e.patient_id, rows[e.row].name, e.pages, e.file) for e in part]
            yield draw(entries, files, sum(pages_in[f] for f in files), options.today, number, len(parts), len(to_print.entries))

    try:
        if _workers(options) > 1:
            try:
                context = multiprocessing.get_context("forkserver")
                start_worker_server()  # already running: run_batch started it
                with ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_prepare_worker, initargs=(*_init_args(options), os.getpid())) as pool:
                    return with_sheets(to_print, sheets(lambda *args: pool.submit(_sheet_in_worker, *args).result()))
            except (OSError, BrokenProcessPool):
                pass  # its worker could not start or died (no processes left, the server gone): drawn here, not lost with the run's summary
        return with_sheets(to_print, sheets(renderer.to_print_list))
    except HandoutError as exc:
        report.warn(f"{TO_PRINT_SHEET} was not made: {exc.message}")
        for number in range(1, len(parts) + 1):  # part of the sheet would look like all of it
            to_print.files[0].with_name(sheet_name(number, len(parts))).unlink(missing_ok=True)
        return to_print


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
            leftover.unlink(missing_ok=True)


def plan_path(out_dir: Path, row: PatientRow) -> Path:
    """Named from patient_id (else the row number), never from the name."""
    return out_dir / f"{row.key}{PLAN_EXTENSION}"


# ---------------------------------------------------------------------------
# Rendering, in worker processes

_WORKER: dict[str, object] = {}


def _prepare_worker(
    brand_dir: Path | None, template_dirs: tuple[Path, ...], paper: str, encrypt: bool, out_dir: Path, issued: dt.date, batch_pid: int | None = None
) -> None:
    """Once per worker: templates compiled, fonts registered, QR code built, article loaded (mostly done already in the fork server)."""
    from handout.i18n import available_languages
    from handout.pipeline import PLAN_TEMPLATE, article_for

    if batch_pid is not None:
        _exit_with(batch_pid)
        ignore_stop_signals()

    renderer = worker_renderer(load_brand(brand_dir), paper, tuple(template_dirs), False)
    renderer.prepare((PLAN_TEMPLATE,))
    # Every language's article, loaded once: a list can mix languages row by row.
    articles = {language: article_for(language) for language in available_languages()}
    _WORKER.update(brand=renderer.brand, paper=paper, template_dirs=tuple(template_dirs), articles=articles, encrypt=encrypt, out_dir=out_dir, issued=issued)


@lru_cache(maxsize=4)
def worker_renderer(brand: Brand, paper: str, template_dirs: tuple[Path, ...], large_print: bool) -> Renderer:
    """A worker's renderer for one print size, made on first need; the fork server's warm-up plan (worker_preload.py) made the example brand's A4 one."""
    from handout.pipeline import Renderer

    return Renderer(brand, paper, template_dirs, large_print=large_print)


def _exit_with(batch_pid: int) -> None:
    """Leave when the batch process is gone (even killed with -9), instead of lingering as an orphan."""

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(batch_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="handout-batch-watch", daemon=True).start()


def _sheet_in_worker(*args: object) -> bytes:
    """The to-print sheet (Renderer.to_print_list's arguments), drawn by a worker with the run's brand, paper and templates."""
    renderer = worker_renderer(_WORKER["brand"], _WORKER["paper"], _WORKER["template_dirs"], False)  # type: ignore[arg-type]
    return renderer.to_print_list(*args)  # type: ignore[arg-type]


def render_one(row: PatientRow) -> Rendered:
    """Render, optionally encrypt, and atomically write one row's plan."""
    from handout.pipeline import Patient
    from handout.plan import build_plan

    renderer = worker_renderer(_WORKER["brand"], _WORKER["paper"], _WORKER["template_dirs"], row.large_print)  # type: ignore[arg-type]
    try:
        pdf = renderer.plan(Patient(row.name, row.clinician), build_plan(row.request), _WORKER["articles"][row.language], _WORKER["issued"])  # type: ignore[arg-type, index]
        digest = hashlib.sha256(pdf).hexdigest()
        printable = None
        if _WORKER["encrypt"]:
            from handout.encrypt import encrypt_pdf

            # A plan to print needs no password on paper: to-print.pdf is made from the unlocked plan, kept in memory only.
            printable = None if wants_email(row, True) else pdf
            pdf = encrypt_pdf(pdf, row.pdf_password)
        path = write_atomic(plan_path(_WORKER["out_dir"], row), pdf)  # type: ignore[arg-type]
        return Rendered(row.row, row.key, path, digest, printable=printable)
    except HandoutError as exc:
        # A template's error message can quote what it was filling in: keep the patient's details out.
        message = exc.message
        for private in (row.name, row.clinician, row.email, row.pdf_password):
            if private:
                message = message.replace(private, "<patient data>")
        return Rendered(row.row, row.key, None, "", f"could not be rendered: {message}")
    except Exception as exc:  # a bug must not stop a whole clinic's batch; the row is reported failed
        return Rendered(row.row, row.key, None, "", f"could not be rendered (internal error {type(exc).__name__})")


def render_rows(rows: Sequence[PatientRow], options: BatchOptions) -> Iterator[Rendered]:
    """Plans in row order, rendered across worker processes with a bounded queue (flat memory)."""
    if not rows:
        return  # every plan was kept: no worker to start
    workers = _workers(options)
    init_args = _init_args(options)
    if workers == 1 or len(rows) == 1:
        _prepare_worker(*init_args)
        yield from (render_one(row) for row in rows)
        return
    # forkserver: workers start clean, without the parent's threads (progress bar) or open files.
    context = multiprocessing.get_context("forkserver")
    start_worker_server()  # already running when run_batch started it
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_prepare_worker, initargs=(*init_args, os.getpid())) as pool:
        try:
            yield from _bounded_map(pool, render_one, rows, window=workers * 8)
        except BrokenProcessPool:
            # Start-up problems are checked in this process first; this is a worker that died (out of memory, killed).
            raise HandoutError("a rendering process stopped unexpectedly; run again to finish the batch (finished plans are kept)") from None
        finally:
            # Stopped early (Ctrl-C): plans not yet started are dropped, the ones in hand finish, the workers leave cleanly.
            pool.shutdown(wait=True, cancel_futures=True)


def _workers(options: BatchOptions) -> int:
    """How many processes render: --workers, else one a core."""
    return options.workers or os.cpu_count() or 1


def _init_args(options: BatchOptions) -> tuple[object, ...]:
    """_prepare_worker's arguments for a run (without the batch's process id)."""
    return (options.brand_dir, options.template_dirs, options.paper, options.encrypt, options.out_dir, options.today)


def _bounded_map(pool: ProcessPoolExecutor, function: Callable[[PatientRow], Rendered], items: Iterable[PatientRow], window: int) -> Iterator[Rendered]:
    pending: deque[Future[Rendered]] = deque()
    for item in items:
        pending.append(pool.submit(function, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
