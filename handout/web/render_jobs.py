"""The front desk's rendering jobs as plain data, and what a render worker process does with them (through handout.service)."""

from __future__ import annotations

import datetime as dt
import gc
import os
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# The pipeline and renderer are imported here, at module level (even if the service comes to import them
# lazily), so the fork server that starts the workers has them loaded once (multiprocessing's forkserver
# preload) and every worker starts from that memory, Jinja and ReportLab and all.
import handout.pipeline  # noqa: F401
import handout.render.pdf  # noqa: F401
from handout import document as doc
from handout.brand import Brand
from handout.errors import HandoutError
from handout.service import Clinic, PlanForm, PlanOrder, check_plan_form

# The page's one line when a worker hits a bug (the log names only the exception's type: its text may quote a patient).
SOMETHING_WENT_WRONG = "Something went wrong while making it: nothing was made. Try again; if it happens again, tell whoever looks after handout."
CLINICS_KEPT = 4  # a worker holds one clinic per paper size it was asked for: a4 and letter, with room to spare


@dataclass(frozen=True)
class ClinicSpec:
    """Which clinic a worker renders for: its brand folder (None: the example brand), template folders and paper."""

    brand_dir: Path | None
    template_dirs: tuple[Path, ...]
    paper: str
    # The brand as the server read it (plain data): a worker started later, or replacing one that died, prints
    # what the server shows even if brand.toml or the logo was edited since, not what the folder holds now.
    brand: Brand | None = None

    @classmethod
    def of(cls, clinic: Clinic) -> ClinicSpec:
        return cls(clinic.brand_dir, clinic.template_dirs, clinic.paper, clinic.brand)


@dataclass(frozen=True)
class PlanJob:
    """A checked plan to make, issued on `issued`; `continued` is the diary continuation it follows, if any."""

    clinic: ClinicSpec
    order: PlanOrder
    issued: dt.date
    continued: Any = None  # handout.diary.continuation.Continuation: a frozen dataclass of numbers


@dataclass(frozen=True)
class LeafletJob:
    """A waiting-room leaflet to make."""

    clinic: ClinicSpec
    language: str
    qr_url: str | None
    large_print: bool
    layout: str


@dataclass(frozen=True)
class ChecksJob:
    """`handout check`'s report on the clinic's brand, for the clinic page (it renders every document to measure it)."""

    clinic: ClinicSpec
    language: str


Job = PlanJob | LeafletJob | ChecksJob


@dataclass(frozen=True)
class MadePlan:
    """A made plan: its PDF, and its summary sentence and weekly table as printed (read from the same fill as the PDF)."""

    pdf: bytes
    summary: str
    table: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class JobFailed:
    """A job that did not make its document: the user's one line (a HandoutError's), or a bug's exception type (never its text)."""

    message: str
    exit_code: int = 1
    bug: str = ""


_clinics: dict[ClinicSpec, Clinic] = {}


def clinic_for(spec: ClinicSpec) -> Clinic:
    """The worker's clinic for `spec`, built once (brand read, renderers prepared on first use), like the server's own."""
    clinic = _clinics.get(spec)
    if clinic is None:
        if len(_clinics) >= CLINICS_KEPT:
            _clinics.pop(next(iter(_clinics)))
        read = spec.brand if spec.brand is not None and spec.brand_dir is not None else spec.brand_dir  # the example brand is the package's own
        clinic = _clinics[spec] = Clinic(read, spec.template_dirs, spec.paper)
    return clinic


def run_job(job: Job) -> MadePlan | bytes | Any:
    """Do one job through the service layer, as the command line would; a failure comes back as a JobFailed, never raised."""
    try:
        if isinstance(job, PlanJob):
            pdf, _, document = clinic_for(job.clinic).plan_with_document(job.order, job.issued, job.continued)
            summary, table = summary_and_schedule(document)
            return MadePlan(pdf, summary, table)
        if isinstance(job, LeafletJob):
            return clinic_for(job.clinic).leaflet(job.language, job.qr_url, job.large_print, job.layout)
        from handout.preflight import run_checks

        return run_checks(job.clinic.brand_dir, job.clinic.template_dirs, job.language, job.clinic.paper)
    except HandoutError as exc:
        return JobFailed(exc.message, exc.exit_code)
    except Exception as exc:  # a bug: its type goes back for the log; its text may quote a patient, so it stays here
        return JobFailed(SOMETHING_WENT_WRONG, bug=type(exc).__name__)


def ready() -> bool:
    """A job that does nothing: sent to start a worker (and prepare its renderer) before the first document."""
    return True


def start_worker(parent: Connection, spec: ClinicSpec | None) -> None:
    """A worker's first act: ignore Ctrl-C, die with the server, and prepare the clinic's renderer before the first job."""
    # Ctrl-C reaches every process in the terminal's group: the server stops its workers itself, without their tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # What the fork server loaded is shared with it page for page until written: kept out of garbage collection,
    # a collection never writes to those objects, so their pages stay shared (PSS) instead of copied per worker.
    gc.freeze()
    threading.Thread(target=_die_with_parent, args=(parent,), name="handout-parent-watch", daemon=True).start()
    if spec is None:
        return
    try:
        clinic = clinic_for(spec)
        clinic.renderer(False).prepare()
        # A sample plan, thrown away: the first patient's plan then finds every per-process cache filled
        # (fonts, the article, dates, the parts every plan shares) and takes no longer than the next.
        today = dt.date.today()
        clinic.plan(check_plan_form(PlanForm(patient="Sample Patient", weeks="12"), today), today)
    except Exception:  # noqa: BLE001  the first job meets the same problem and reports it as that job's failure
        _clinics.pop(spec, None)
    gc.freeze()  # the prepared renderer lives as long as the worker: no collection need walk it again


def _die_with_parent(parent: Connection) -> None:
    """Wait on the pipe only the server holds open: when it closes (the server ended, even by SIGKILL), end at once."""
    try:
        parent.recv()
    except (EOFError, OSError):
        pass
    os._exit(0)


def summary_and_schedule(document: doc.Document) -> tuple[str, tuple[tuple[str, ...], ...]]:
    """The plan's summary sentence and weekly table, taken from the document as printed (not worded again here)."""
    summary = ""
    table: tuple[tuple[str, ...], ...] = ()
    for block in _walk(document.blocks):
        if not summary and isinstance(block, doc.Paragraph) and block.style == "summary":
            summary = doc.plain_text(block.text)
        if not table and isinstance(block, doc.Table) and block.header_rows == 1 and block.style == "grid":
            table = tuple(tuple(doc.plain_text(cell.text) for cell in row) for row in block.rows)
    return summary, table


def _walk(blocks: tuple[doc.Block, ...]) -> list[doc.Block]:
    found: list[doc.Block] = []
    for block in blocks:
        found.append(block)
        if isinstance(block, doc.Keep | doc.Panel | doc.QRCode):
            found += _walk(block.children)
    return found
