"""Batch runs: every row of a patient list rendered in parallel, then emailed, put in the outbox, or listed to print."""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from handout.brand import load_brand
from handout.delivery import Delivered, Delivery, Outcome
from handout.errors import HandoutError
from handout.journal import Journal
from handout.mail import SmtpSettings
from handout.output import ensure_folder, write_atomic
from handout.patients import PatientRow, read_patient_list

PLAN_EXTENSION = ".pdf"


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
    today: dt.date = field(default_factory=dt.date.today)
    encoding: str | None = None  # the patient list's text encoding; None: detected

    @property
    def sending(self) -> bool:
        """Real SMTP delivery: --send without --outbox."""
        return self.send and self.outbox is None

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


@dataclass
class BatchResult:
    """Row numbers by outcome, for the summary table."""

    rendered: list[int] = field(default_factory=list)
    emailed: list[int] = field(default_factory=list)
    already_sent: list[int] = field(default_factory=list)
    outbox: list[int] = field(default_factory=list)
    to_print: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()
    encoding: str = ""  # how the patient list was read, for the summary

    @property
    def ok(self) -> bool:
        return not self.failed

    def record(self, row: int, delivered: Delivered) -> None:
        if delivered.outcome is Outcome.FAILED:
            self.failed.append((row, delivered.reason))
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
    from handout.render.fonts import first_unprintable

    report = reporter or Reporter()
    brand = load_brand(options.brand_dir)
    patients = read_patient_list(options.patients_csv, options.today, options.encrypt, first_unprintable, options.encoding)
    result = BatchResult(ignored_columns=patients.ignored_columns, encoding=patients.encoding)
    if patients.ignored_columns:
        report.warn(f"ignoring unknown columns: {', '.join(patients.ignored_columns)}")
    for problem in patients.problems:
        report.problem(str(problem))
        result.failed.append((problem.row, f"{problem.column} {problem.reason}"))
    if options.strict and patients.problems:
        raise HandoutError(f"{options.patients_csv}: {len(patients.problems)} bad rows (listed above); nothing was rendered because of --strict")
    if not patients.rows:
        return result

    settings = SmtpSettings.from_env(env) if options.sending else None  # bad settings fail before any work
    # Everything that could fail for the whole run fails now, before any plan is made:
    # folders, templates (plan and email), the brand's own text.
    from handout.pipeline import PLAN_TEMPLATE, Renderer

    checked = Renderer(brand, options.paper, options.template_dirs)
    checked.prepare((PLAN_TEMPLATE, "email/plan.txt.j2", "email/plan.html.j2"))
    ensure_folder(options.out_dir)
    remove_partial_files(options.out_dir)
    if any(row.email for row in patients.rows) and not options.sending:
        ensure_folder(options.outbox_dir)
        remove_partial_files(options.outbox_dir)

    with Journal(options.out_dir) as journal, Delivery(
        brand, checked.env, journal, env, settings, options.outbox_dir, options.encrypt, options.resend, report.warn
    ) as delivery:
        by_row = {row.row: row for row in patients.rows}
        report.start(len(patients.rows))
        try:
            for outcome in render_rows(patients.rows, options):
                row = by_row[outcome.row]
                if outcome.error:
                    journal.mark(outcome.key, outcome.row, "failed", reason=outcome.error)
                    result.failed.append((outcome.row, outcome.error))
                    report.problem(f"{row.label}: {outcome.error}")
                else:
                    previous = journal.get(outcome.key)  # before this run's marks overwrite its state
                    journal.mark(outcome.key, outcome.row, "rendered", document_sha256=outcome.document_sha256)
                    result.rendered.append(outcome.row)
                    assert outcome.path is not None
                    delivered = delivery.deliver(row, outcome.path, outcome.document_sha256, previous)
                    result.record(row.row, delivered)
                    if delivered.outcome is Outcome.FAILED:
                        report.problem(f"{row.label}: {delivered.reason}")
                report.advance()
        finally:
            report.finish()
    result.failed.sort()
    return result


def remove_partial_files(folder: Path) -> None:
    """A run killed mid-write leaves `.name.part` files: they were never complete plans."""
    for leftover in folder.glob(".*.part"):
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
    """Once per worker: templates compiled, fonts registered, QR code built, article loaded."""
    from handout.content import load_article
    from handout.pipeline import PLAN_TEMPLATE, Renderer

    if batch_pid is not None:
        _exit_with(batch_pid)

    renderer = Renderer(load_brand(brand_dir), paper, template_dirs)
    renderer.prepare((PLAN_TEMPLATE,))
    _WORKER.update(renderer=renderer, article=load_article(), encrypt=encrypt, out_dir=out_dir, issued=issued)


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


def render_one(row: PatientRow) -> Rendered:
    """Render, optionally encrypt, and atomically write one row's plan."""
    from handout.pipeline import Patient, Renderer
    from handout.plan import build_plan

    renderer: Renderer = _WORKER["renderer"]  # type: ignore[assignment]
    try:
        pdf = renderer.plan(Patient(row.name, row.clinician), build_plan(row.request), _WORKER["article"], _WORKER["issued"])  # type: ignore[arg-type]
        digest = hashlib.sha256(pdf).hexdigest()
        if _WORKER["encrypt"]:
            from handout.encrypt import encrypt_pdf

            pdf = encrypt_pdf(pdf, row.pdf_password)
        path = write_atomic(plan_path(_WORKER["out_dir"], row), pdf)  # type: ignore[arg-type]
        return Rendered(row.row, row.key, path, digest)
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
    workers = options.workers or os.cpu_count() or 1
    init_args = (options.brand_dir, options.template_dirs, options.paper, options.encrypt, options.out_dir, options.today)
    if workers == 1 or len(rows) == 1:
        _prepare_worker(*init_args)
        yield from (render_one(row) for row in rows)
        return
    # forkserver: workers start clean, without the parent's threads (progress bar) or open files.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_prepare_worker, initargs=(*init_args, os.getpid())) as pool:
        try:
            yield from _bounded_map(pool, render_one, rows, window=workers * 8)
        except BrokenProcessPool:
            # Start-up problems are checked in this process first; this is a worker that died (out of memory, killed).
            raise HandoutError("a rendering process stopped unexpectedly; run again to finish the batch (finished plans are kept)") from None


def _bounded_map(pool: ProcessPoolExecutor, function: Callable[[PatientRow], Rendered], items: Iterable[PatientRow], window: int) -> Iterator[Rendered]:
    pending: deque[Future[Rendered]] = deque()
    for item in items:
        pending.append(pool.submit(function, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
