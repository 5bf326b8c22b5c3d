"""Patient lists from the page: an upload checked row by row before anything is made, then run like `handout batch` in a background thread, its plans zipped."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from handout.batch import OUT_DIR_BUSY, BatchOptions, BatchResult, Reporter, run_batch
from handout.batch_worker import PLAN_EXTENSION
from handout.checks import unprintable_problem
from handout.errors import HandoutError
from handout.output import ensure_folder, writable_folder
from handout.patients import PatientList, read_patient_list, wants_email
from handout.printing import MANIFEST, TO_PRINT_LIST
from handout.runcontrol import folder_lock
from handout.service import Clinic
from handout.web.list_results import ZIP_NAME, RunOutcome, in_page_words, write_zip
from handout.web.store import LIST_LIMITS, ExpiringStore

MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # a 5,000-row list with every column filled is about 1 MB
MAX_ROWS = 5_000  # about two minutes of rendering on two cores; longer lists belong to `handout batch`
LIST_LABEL = "Patient list"  # how messages about the uploaded file name it (never by the server's path for it)
TOO_LARGE = f"{LIST_LABEL} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: split it into shorter lists, or use handout batch"
SERVER_BUSY = "another handout serve uses this data folder"
STARTING_SECONDS = 60  # a server's own folder is named within this of being made
BUSY = "another patient list is being made; wait for it to finish, then make this one"

log = logging.getLogger("handout.web")


class RunState(Enum):
    """Where a list is: checked and waiting, being made, or finished one way or another."""

    CHECKED = "checked"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ListReading:
    """How to read the list, as `handout batch` options: its encoding, the defaults for empty cells, and --encrypt."""

    encoding: str | None = None  # None: detected
    language: str = "en"
    large_print: bool = False
    encrypt: bool = False


@dataclass(frozen=True)
class ListSnapshot:
    """A list as its page shows it at one moment: plain values only, so a template cannot reach the job, its folder or its methods."""

    patients: PatientList
    reading: ListReading
    state: RunState
    sending: bool
    done: int
    total: int
    to_email: int
    message: str
    warnings: tuple[str, ...]
    result: RunOutcome | None


class StopAsked(Exception):
    """Raised between plans when the server is stopping: the plan in hand is finished and journalled first."""


class ListJob:
    """One uploaded list: its private folder, its rows as checked, and its run's progress and outcome."""

    def __init__(self, folder: Path, patients: PatientList, reading: ListReading) -> None:
        self.folder = folder
        self.patients = patients
        self.reading = reading
        self.state = RunState.CHECKED
        self.sending = False  # by SMTP (else to the outbox)
        self.done = 0
        self.total = 0
        self.result: BatchResult | None = None
        self.message = ""  # why a run failed
        self.warnings: list[str] = []
        self.stop_asked = False
        self.discarded = False
        self._lock = threading.Lock()

    @property
    def csv(self) -> Path:
        return self.folder / "patients.csv"

    @property
    def zip_path(self) -> Path:
        return self.folder / ZIP_NAME

    @property
    def to_email(self) -> int:
        return sum(wants_email(row, self.reading.encrypt) for row in self.patients.rows)

    def snapshot(self) -> ListSnapshot:
        """What the list's page is given: where the list is now, as plain values."""
        with self._lock:
            result = None if self.result is None else RunOutcome.of(self.result)
            return ListSnapshot(
                self.patients, self.reading, self.state, self.sending, self.done, self.total, self.to_email, self.message, tuple(self.warnings), result
            )

    def discard(self) -> None:
        """Expired or the server is stopping: the folder goes now, or when a run in progress has stopped."""
        with self._lock:
            self.discarded = True
            running = self.state is RunState.RUNNING
            self.stop_asked = running
        if not running:
            shutil.rmtree(self.folder, ignore_errors=True)

    def begin(self, sending: bool) -> None:
        self.state, self.sending, self.total = RunState.RUNNING, sending, len(self.patients.rows)

    def end(self, state: RunState, result: BatchResult | None, message: str = "") -> None:
        """Record how the run ended; a list discarded meanwhile has its folder removed now."""
        with self._lock:
            self.state, self.result, self.message = state, result, message
            discarded = self.discarded
        if discarded:
            shutil.rmtree(self.folder, ignore_errors=True)


class ListProgress(Reporter):
    """The batch's reporter for the page: counts plans as they are made, keeps warnings, and stops the run when asked."""

    def __init__(self, job: ListJob) -> None:
        self.job = job

    def warn(self, message: str) -> None:
        self.job.warnings.append(message)

    def start(self, total: int) -> None:
        self.job.total = total

    def advance(self) -> None:
        self.job.done += 1
        # run_batch stops between plans on Ctrl-C, but signals reach only the main thread;
        # this is the same point, reached from the thread the page runs it in.
        if self.job.stop_asked:
            raise StopAsked


class PatientLists:
    """The lists uploaded to this server (each in a private temporary folder, kept 30 minutes) and the one run at a time that makes their plans.

    Runs use one batch folder in the data dir for their plans (there only while a run is under way,
    then in the list's ZIP); the data dir's journal, the same one `handout batch` uses, makes
    emailing exactly-once across runs, uploads and the command line.
    """

    def __init__(
        self, clinic: Clinic, data_dir: Path, today: Callable[[], dt.date] = dt.date.today, workers: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clinic = clinic
        self.data_dir = data_dir
        self.today = today
        # 0: one process per core, and at least two. Never one by default: `handout batch` renders with
        # one worker in its own process, which here is the server's, beside the pages' own rendering,
        # and ReportLab's font registry is shared by the whole process. (A one-row list still renders
        # in-process, as in `handout batch`: a few tens of milliseconds.)
        self.workers = workers
        # A list being made never expires mid-run: its 30 minutes start again when its plans are made.
        self.held: ExpiringStore[ListJob] = ExpiringStore(
            clock=clock, on_expire=ListJob.discard, busy=lambda job: job.state is RunState.RUNNING, limits=LIST_LIMITS
        )
        self._start = threading.Lock()
        self._server_lock = ExitStack()  # this server's lists folder's lock, held from open() to close()
        self._own_dir: Path | None = None
        self._thread: threading.Thread | None = None

    @property
    def batch_dir(self) -> Path:
        return self.data_dir / "batch"

    @property
    def lists_dir(self) -> Path:
        return self.data_dir / "lists"

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox"

    def check(self, data: bytes, reading: ListReading, owner: str) -> str:
        """Keep the upload for the session `owner` and check every row, making nothing; its token. A file-wide problem is a HandoutError."""
        if len(data) > MAX_UPLOAD_BYTES:
            raise HandoutError(TOO_LARGE)
        # In the data folder, readable by this user only, gone with the list; a folder a crash left is
        # removed at the next start (sweep), which a system temporary folder would not promise.
        folder = Path(tempfile.mkdtemp(prefix="list-", dir=self.own_dir))
        path = folder / "patients.csv"
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            patients = read_patient_list(path, self.today(), reading.encrypt, unprintable_problem, reading.encoding, reading.language, reading.large_print)
            rows = len(patients.rows) + len(patients.problems)
            if rows == 0:
                # (The command line reports an empty list and exits 0: a scheduled run on an empty export is no error.)
                raise HandoutError(f"{path}: the file has a header row but no patients under it")
            if rows > MAX_ROWS:
                raise HandoutError(f"{LIST_LABEL} has {rows:,} rows; the page makes at most {MAX_ROWS:,} at a time: split it into shorter lists, or use handout batch")
            return self.held.put(ListJob(folder, patients, reading), owner)  # (held no more: the folder goes below)
        except HandoutError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise HandoutError(in_page_words(exc.message.replace(str(path), LIST_LABEL))) from None
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def get(self, token: str, owner: str) -> ListJob | None:
        """The list under `token` if the session `owner` uploaded it."""
        return self.held.get(token, owner)

    def start(self, token: str, job: ListJob, sending: bool, env: Mapping[str, str]) -> None:
        """Make the list's plans in the background; a second start of the same list does nothing."""
        if job.to_email:
            # The mail settings are checked now, so a mistake shows on the page before anything is made.
            self.clinic.mailer(env, None if sending else self.outbox)
        with self._start:
            if job.state is not RunState.CHECKED:
                return
            if self._thread is not None and self._thread.is_alive():
                raise HandoutError(BUSY)
            ensure_folder(self.batch_dir, private=True)
            options = BatchOptions(
                patients_csv=job.csv,
                out_dir=self.batch_dir,
                data_dir=self.data_dir,  # the one journal, shared with `handout batch`
                workers=self.workers or max(2, os.cpu_count() or 1),
                send=sending,
                outbox=self.outbox,  # a dry run writes there; sending clears the messages it sent
                encrypt=job.reading.encrypt,
                brand_dir=self.clinic.brand.directory,
                template_dirs=self.clinic.template_dirs,
                paper=self.clinic.paper,
                today=self.today(),
                encoding=job.reading.encoding,
                language=job.reading.language,
                large_print=job.reading.large_print,
            )
            job.begin(sending)
            self._thread = threading.Thread(target=self._run, args=(token, job, options, dict(env)), name="handout-list", daemon=True)
            self._thread.start()

    def _run(self, token: str, job: ListJob, options: BatchOptions, env: Mapping[str, str]) -> None:
        result: BatchResult | None = None
        state, message = RunState.DONE, ""
        try:
            try:
                result = run_batch(options, env, ListProgress(job))
            except StopAsked:
                state = RunState.STOPPED
            except HandoutError as exc:
                state, message = RunState.FAILED, in_page_words(exc.message.replace(str(job.csv), LIST_LABEL))
            if result is not None and not job.discarded:
                with folder_lock(self.batch_dir, OUT_DIR_BUSY):
                    write_zip(job.zip_path, result, self.batch_dir, job.sending, job.patients)
        except HandoutError as exc:
            state, message = RunState.FAILED, in_page_words(exc.message)
        except Exception as exc:  # a bug: the page says so, the log names only its type (its message may quote a patient's details)
            log.error("unexpected %s while making a patient list", type(exc).__name__)
            state, message = RunState.FAILED, "something went wrong while making the plans"
        finally:
            # However the run ended, its plans leave the batch folder: they are in the ZIP, or the re-run makes them again.
            self.sweep()
            job.csv.unlink(missing_ok=True)
            self.held.renew(token)  # the ZIP is kept 30 minutes from now (renewed while still busy, so it cannot expire in between)
            job.end(state, result, message)

    def open(self) -> None:
        """At start: take this server's own lists folder, and remove what servers that were killed left.

        Each server keeps its lists in `lists/server-<random>/`, locked while it runs; a folder
        whose lock can be taken belongs to no running server (a crash, kill -9), so its lists go.
        Two servers on one data folder never touch each other's lists, whichever starts when.
        """
        writable_folder(self.lists_dir, private=True)
        for folder in self.lists_dir.glob("server-*"):
            try:
                with folder_lock(folder, SERVER_BUSY):
                    shutil.rmtree(folder, ignore_errors=True)
            except HandoutError:
                pass  # another server is running: its lists are its own
        for folder in self.lists_dir.glob("new-*"):
            # A server killed between making its folder and naming it; one starting now is seconds old.
            try:
                stale = time.time() - folder.stat().st_mtime > STARTING_SECONDS
            except FileNotFoundError:
                continue
            if stale:
                shutil.rmtree(folder, ignore_errors=True)
        for folder in self.lists_dir.glob("list-*"):
            shutil.rmtree(folder, ignore_errors=True)  # lists kept straight in lists/ by the version before servers had their own folders
        # Locked under a name the loop above never looks at, then renamed: another server starting at the
        # same moment can never take it for a dead one's (the lock is on the file, which moves with it).
        new = Path(tempfile.mkdtemp(prefix="new-", dir=self.lists_dir))
        self._server_lock.enter_context(folder_lock(new, SERVER_BUSY))
        own = new.with_name("server-" + new.name.removeprefix("new-"))
        new.rename(own)
        self._own_dir = own
        self.sweep()

    @property
    def own_dir(self) -> Path:
        """This server's lists folder (taken on first use when the server did not open it, as in a test)."""
        if self._own_dir is None:
            self.open()
        assert self._own_dir is not None
        return self._own_dir

    def sweep(self) -> None:
        """Remove the plans a run left in the batch folder, unless a batch is using it."""
        if not self.batch_dir.is_dir():
            return
        try:
            with folder_lock(self.batch_dir, OUT_DIR_BUSY):
                remove_plans(self.batch_dir)
        except HandoutError:
            pass

    def close(self, timeout: float = 30.0) -> None:
        """At shutdown: a run stops after the plan in hand, and every list's folder goes."""
        self.held.clear()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if self._own_dir is not None and not (thread is not None and thread.is_alive()):
            shutil.rmtree(self._own_dir, ignore_errors=True)  # (a run still going removes its own list when it ends)
        self._server_lock.close()
        self._own_dir = None


def remove_plans(folder: Path) -> None:
    """The batch folder's plans, half-written files and to-print files; the journal, its key and the lock stay.

    The folder is the page's own, so every such file in it is handout's (a user's folder gets remove_to_print's care).
    """
    for pattern in (f"*{PLAN_EXTENSION}", ".*.part", TO_PRINT_LIST, MANIFEST):
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)
