"""The processes and threads that keep rendering and sending off the server's event loop, so no page waits for another's PDF or mail server."""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from handout.errors import HandoutError
from handout.web.render_jobs import SOMETHING_WENT_WRONG, ClinicSpec, Job, JobFailed, ready, run_job, start_worker

T = TypeVar("T")
# Work that stays in this process (reading diary scans, locking a made PDF) has one thread: it is short, and with
# the GIL a second thread would not be faster.
RENDER_THREADS = 1
# Sends wait on mail servers, not on the processor: a few at once, in their own threads, so a mail server
# that never answers holds up only its own sends, never rendering, static files or Starlette's own threads.
SEND_THREADS = 4
WORKER_STOPPED = "The process making this document stopped unexpectedly: nothing was made. Try again."
log = logging.getLogger("handout.web")


def render_processes() -> int:
    """One render worker per core this server may use: more would only take turns on the same cores."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Workers:
    """Render worker processes (one a core, started as documents are asked for), a thread for short work, and sending threads."""

    def __init__(self, clinic: ClinicSpec | None = None, processes: int = 0) -> None:
        self._clinic = clinic  # the clinic each worker prepares before its first job
        self._processes = processes or render_processes()
        self._pool: ProcessPoolExecutor | None = None
        self._alive: tuple[Connection, Connection] | None = None  # a pipe only this process writes to: the workers' sign it still runs
        self._render: ThreadPoolExecutor | None = None
        self._send: ThreadPoolExecutor | None = None
        self._closed = False
        self._lock = threading.Lock()

    async def run_job(self, job: Job) -> Any:
        """`job` in a render worker process (render_jobs.run_job); the event loop serves other pages meanwhile.

        A failed job raises HandoutError with the page's one line. A worker that died (killed, out of memory) is
        replaced, and the job tried once more in a fresh one.
        """
        for attempt in (1, 2):
            pool = self._worker_pool()
            try:
                result = await asyncio.wrap_future(pool.submit(run_job, job))
            except BrokenProcessPool:
                self._forget(pool)
                if attempt == 2:
                    log.error("a render worker stopped while making a document")
                    raise HandoutError(WORKER_STOPPED) from None
                continue
            except Exception as exc:  # a bug on this side (a job that cannot be sent): its type only, as everywhere
                log.error("unexpected %s while handing a document to a render worker", type(exc).__name__)
                raise HandoutError(SOMETHING_WENT_WRONG) from None
            if isinstance(result, JobFailed):
                if result.bug:
                    log.error("unexpected %s in a render worker", result.bug)
                raise HandoutError(result.message, result.exit_code)
            return result
        raise AssertionError("unreachable")

    async def start(self) -> None:
        """Start every render worker now, off the event loop (`handout serve` at start), so the first plans wait for none."""
        self._closed = False
        await asyncio.get_running_loop().run_in_executor(None, self._start_all)

    def _start_all(self) -> None:
        try:
            with self._lock:
                if self._closed:  # the server stopped before this thread began: start nothing
                    return
                pool = self._pool or self._new_pool()
            # The pool starts a worker for each job that finds none idle: as many no-op jobs as workers start them all.
            for future in [pool.submit(ready) for _ in range(self._processes)]:
                future.result()
        except Exception:  # noqa: BLE001  stopped while starting, or a worker that cannot start: the first job says so, in its page's words
            pass

    def _worker_pool(self) -> ProcessPoolExecutor:
        with self._lock:  # `start`'s thread and the event loop may both ask first
            return self._pool or self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # forkserver: workers start from a clean process that has the renderer imported already, not a copy
        # of the server with its threads, sockets and sessions (spawn where there is no fork server: Windows).
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(["handout.web.render_jobs"])  # only used when this starts the fork server
        if self._alive is None:
            self._alive = context.Pipe(duplex=False)
        self._pool = ProcessPoolExecutor(self._processes, mp_context=context, initializer=start_worker, initargs=(self._alive[0], self._clinic))
        return self._pool

    def _forget(self, pool: ProcessPoolExecutor) -> None:
        """Drop a broken pool; the next job starts a new one."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def worker_ids(self) -> list[int]:
        """The render workers' process ids (for the shutdown tests and the memory measurement)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return sorted(processes)

    async def render(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` in this process's thread for short work; the event loop serves other pages meanwhile."""
        if self._render is None:
            self._render = ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="handout-render")
        return await asyncio.get_running_loop().run_in_executor(self._render, functools.partial(work, *args))

    async def send(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` in a sending thread."""
        if self._send is None:
            self._send = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="handout-send")
        return await asyncio.get_running_loop().run_in_executor(self._send, functools.partial(work, *args))

    def close(self) -> None:
        """At shutdown: nothing new starts; render workers end (a render under way is dropped with the server), a send ends by its mail server's timeout."""
        with self._lock:
            self._closed = True  # until the next start: a server starting its workers as it stops starts none
            for pool in (self._pool, self._render, self._send):
                if pool is not None:
                    pool.shutdown(wait=False, cancel_futures=True)
            if self._alive is not None:
                for end in self._alive:
                    end.close()  # workers still starting or mid-render see the pipe close and end at once
            self._pool = self._render = self._send = None
            self._alive = None
