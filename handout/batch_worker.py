"""What a batch's worker processes run: made ready once, then each row's plan rendered and written, and the to-print sheet.

Kept apart from batch.py, which runs the batch: the fork server imports this module for every worker
(worker_preload.py), and it needs none of the batch's email, journal or to-print machinery.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from handout.brand import Brand, load_brand
from handout.errors import HandoutError
from handout.output import Unsynced, write_atomic, write_unsynced
from handout.patients import PatientRow, wants_email
from handout.runcontrol import ignore_stop_signals

if TYPE_CHECKING:
    from handout.pipeline import Renderer
    from handout.plan_merging import ReadPlan

PLAN_EXTENSION = ".pdf"


@dataclass(frozen=True)
class Rendered:
    """What a worker reports back: file, identity of the content, or why it failed. Never a name."""

    row: int
    key: str
    path: Path | None
    document_sha256: str
    error: str = ""
    printable: bytes | None = None  # the unencrypted plan of an encrypted row that is to print, for to-print.pdf
    read: ReadPlan | None = None  # a plan to print, read for the merge by the worker that wrote it: this process need not read it back
    document_hmac: str = ""  # of a kept plan: the keyed hash the journal has for it
    kept: bool = False  # made by an earlier run from the same inputs, and unchanged since: not rendered again
    unsynced: Unsynced | None = None  # the plan written under a temporary name: the batch's process flushes it and names it `path`


def plan_path(out_dir: Path, row: PatientRow) -> Path:
    """Named from patient_id (else the row number), never from the name."""
    return out_dir / f"{row.key}{PLAN_EXTENSION}"


_WORKER: dict[str, object] = {}


def prepare_worker(
    brand_dir: Path | None, template_dirs: tuple[Path, ...], paper: str, encrypt: bool, out_dir: Path, issued: dt.date, batch_pid: int | None = None
) -> None:
    """Once per worker: templates compiled, fonts registered, QR code built, article loaded (mostly done already in the fork server)."""
    from handout.i18n import available_languages
    from handout.pipeline import PLAN_TEMPLATE, TO_PRINT_TEMPLATE, article_for

    if batch_pid is not None:
        _exit_with(batch_pid)
        ignore_stop_signals()

    renderer = worker_renderer(load_brand(brand_dir), paper, tuple(template_dirs), False)
    renderer.prepare((PLAN_TEMPLATE, TO_PRINT_TEMPLATE))  # the sheet too: one of these workers draws it, last of all
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


def sheet_in_worker(*args: object) -> bytes:
    """The to-print sheet (Renderer.to_print_list's arguments), drawn by a worker with the run's brand, paper and templates."""
    renderer = worker_renderer(_WORKER["brand"], _WORKER["paper"], _WORKER["template_dirs"], False)  # type: ignore[arg-type]
    return renderer.to_print_list(*args)  # type: ignore[arg-type]


def render_one(row: PatientRow) -> Rendered:
    """Render, optionally encrypt, and write one row's plan under a temporary name, for the batch's process to commit (output.commit_written)."""
    from handout.pipeline import Patient
    from handout.plan import build_plan
    from handout.render.packing import WrittenFiles

    renderer = worker_renderer(_WORKER["brand"], _WORKER["paper"], _WORKER["template_dirs"], row.large_print)  # type: ignore[arg-type]
    to_print = not wants_email(row, _WORKER["encrypt"])  # type: ignore[arg-type]
    try:
        with WrittenFiles() as written:
            pdf = renderer.plan(Patient(row.name, row.clinician), build_plan(row.request), _WORKER["articles"][row.language], _WORKER["issued"])  # type: ignore[arg-type, index]
        digest = hashlib.sha256(pdf).hexdigest()
        read = _read_for_merging(written, pdf) if to_print else None
        printable = None
        if _WORKER["encrypt"]:
            from handout.encrypt import encrypt_pdf

            # A plan to print needs no password on paper: to-print.pdf is made from the unlocked plan, kept in memory only.
            printable = pdf if to_print else None
            pdf = encrypt_pdf(pdf, row.pdf_password)
    except HandoutError as exc:
        # A template's error message can quote what it was filling in: keep the patient's details out.
        message = exc.message
        for private in (row.name, row.clinician, row.email, row.pdf_password):
            if private:
                message = message.replace(private, "<patient data>")
        return Rendered(row.row, row.key, None, "", f"could not be rendered: {message}")
    except Exception as exc:  # a bug must not stop a whole clinic's batch; the row is reported failed
        return Rendered(row.row, row.key, None, "", f"could not be rendered (internal error {type(exc).__name__})")
    target = plan_path(_WORKER["out_dir"], row)  # type: ignore[arg-type]
    try:
        if target.is_symlink():
            # Its temporary file would be made beside the link's target, outside the folder the batch sweeps
            # for files nobody took in: written, flushed and named here, as a single plan is.
            return Rendered(row.row, row.key, write_atomic(target, pdf), digest, printable=printable, read=read)
        unsynced = write_unsynced(target, pdf)
    except HandoutError as exc:  # a folder or a pipe under the plan's name, a full disk: the message names the file, by patient_id
        return Rendered(row.row, row.key, None, "", f"could not be written: {exc.message}")
    except Exception as exc:
        return Rendered(row.row, row.key, None, "", f"could not be written (internal error {type(exc).__name__})")
    return Rendered(row.row, row.key, unsynced.path, digest, printable=printable, read=read, unsynced=unsynced)


def _read_for_merging(written: object, pdf: bytes) -> ReadPlan | None:
    """The plan read for the to-print merge from the objects its writer kept; None (the batch's process reads the file) if it cannot be."""
    from handout.plan_merging import NotOurLayout, readable

    objects = written.objects(pdf)  # type: ignore[attr-defined]
    try:
        return None if objects is None else readable(objects)
    except NotOurLayout:
        return None
