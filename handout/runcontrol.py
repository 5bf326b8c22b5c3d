"""One run at a time per folder (folder locks) and clean stops on Ctrl-C, SIGTERM and SIGHUP."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from handout.errors import HandoutError

LOCK_NAME = ".handout-batch.lock"
# SIGHUP: the terminal was closed. Like SIGTERM, the batch finishes the plan in hand, tidies up and says where it stopped.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP, the terminal was closed"}
# Set from the first stop signal until the run ends: a wait (a mail server's retry back-off) ends early, and no new attempt starts.
_STOPPING = threading.Event()


@contextmanager
def folder_lock(folder: Path, busy: str, shared: bool = False, patience_seconds: float = 0.0) -> Iterator[None]:
    """Hold the folder's lock, or stop with the one line `busy` when another run holds it past `patience_seconds`.

    A batch holds it exclusively for its whole run (one batch per folder; it
    sweeps `.part` files, so no one may be writing there); a single plan holds
    it shared for the moment it writes its message. An flock on a file in the
    folder: the system releases it when the process ends in any way (even
    kill -9), so a crash never leaves the folder locked.
    """
    import fcntl

    try:
        handle = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise HandoutError(f"{folder}: cannot write here ({exc.strerror})") from None
    try:
        give_up = time.monotonic() + patience_seconds
        while True:
            try:
                fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= give_up:
                    raise HandoutError(f"{folder}: {busy}") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(handle)


class StopNow(KeyboardInterrupt):
    """Stop where the run is, not after the plan in hand: a second stop signal, or a first one that would otherwise wait on a retry."""


@dataclass
class StopRequest:
    """Set by Ctrl-C, SIGTERM or SIGHUP: the batch finishes the plan in hand, reports, and leaves."""

    signal_number: int | None = None
    stopped_at_once: bool = False


def stop_requested() -> bool:
    """Whether a stop signal came during the run in progress (in this process)."""
    return _STOPPING.is_set()


def pause(seconds: float) -> None:
    """Wait `seconds`, or less if a stop signal comes meanwhile."""
    _STOPPING.wait(seconds)


@contextmanager
def stop_requests() -> Iterator[StopRequest]:
    """Turn the first stop signal into a request to stop between plans; a second one stops at once (StopNow)."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request  # signal handlers belong to the main thread; elsewhere the caller handles stopping
        return

    def ask_to_stop(signal_number: int, frame: object) -> None:
        if request.signal_number is None:
            request.signal_number = signal_number
            _STOPPING.set()
        elif not request.stopped_at_once:
            request.stopped_at_once = True  # once: more signals must not cut short the tidying up and the summary
            raise StopNow

    previous = {number: signal.signal(number, ask_to_stop) for number in STOP_SIGNALS}
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _STOPPING.clear()


def ignore_stop_signals() -> None:
    """In a worker process: Ctrl-C reaches every process of the terminal's job, and the batch decides when to stop, not its workers."""
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
