"""The batch's fork server, started as soon as a run knows it will render in parallel: before the command line is even read."""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

# What the fork server loads once for every worker: the program's own module (as multiprocessing
# preloads it by default, else each worker would import it) and ReportLab, handout and the fonts.
PRELOAD = ["__main__", "handout.worker_preload"]


def start_worker_server(*, fork_here: bool = False) -> None:
    """Start the fork server the render workers are forked from, loading ReportLab, handout and the fonts there once (worker_preload.py).

    It loads them on the other core while this process reads the list and prepares;
    every worker then starts with them loaded (and shares their memory) instead of
    importing them on its own. The server is the process's one fork server: started
    once, it serves later runs too. `fork_here`: the server (and multiprocessing's
    resource tracker) is this process forked, not a new interpreter started
    (_forked_not_started); only for a process with no other thread yet.
    """
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    if fork_here and threading.active_count() == 1:
        with _forked_not_started():
            forkserver.ensure_running()
    else:
        forkserver.ensure_running()


# How multiprocessing starts its fork server and resource tracker: a new interpreter running this code.
_SERVER_CODE = ("from multiprocessing.forkserver import main", "from multiprocessing.resource_tracker import main")


@contextmanager
def _forked_not_started() -> Iterator[None]:
    """Within it, multiprocessing's fork server and resource tracker are this process forked, running the code they would start with.

    A new interpreter took 70-80 ms to start and import multiprocessing before the server
    could begin loading, all of it on the way to the batch's first plan; a fork takes about
    a millisecond, and has Python and multiprocessing loaded already (_as_if_started makes
    it what a started one would be). Any other program multiprocessing would start (another
    Python's way of starting them) is started as before.
    """
    from multiprocessing import util

    spawn: Callable[..., int] = util.spawnv_passfds
    util.spawnv_passfds = _fork_server_code(spawn)  # type: ignore[assignment]
    try:
        yield
    finally:
        util.spawnv_passfds = spawn


def _fork_server_code(spawn: Callable[..., int]) -> Callable[[str, list[str], Sequence[int]], int]:
    """A stand-in for multiprocessing.util.spawnv_passfds that forks this process to run the server's code, or else calls `spawn`."""

    def fork_or_spawn(path: str, args: list[str], passfds: Sequence[int]) -> int:
        if len(args) < 2 or args[-2] != "-c" or not args[-1].startswith(_SERVER_CODE):
            return spawn(path, args, passfds)
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()  # nothing buffered here is written twice
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:
            _as_if_started(spawn, passfds)
            exec(args[-1], {"__name__": "__mp_server__"})  # noqa: S102 (multiprocessing's own code, as it would run it)
            code = 0
        except SystemExit as exc:  # the fork server's way to end: everyone it served has left
            code = exc.code if isinstance(exc.code, int) else 0
        except BaseException:  # noqa: BLE001 (reported as the started server would report it, then this fork ends)
            import traceback

            traceback.print_exc()
        finally:
            try:
                atexit._run_exitfuncs()  # its own, as a started server's exit runs them (the data classes' code it compiled is kept)
            finally:
                os._exit(code)  # never back into the caller's code: this process is the server, not the batch

    return fork_or_spawn


def _as_if_started(spawn: Callable[..., int], passfds: Sequence[int]) -> None:
    """Make this fork what a new interpreter running the server's code would be, as far as that code and its children can tell.

    It was forked in the middle of multiprocessing's ensure_running: the locks held there are
    held here too, the resource tracker's descriptor is one this fork closes, and spawnv_passfds
    is the stand-in. The batch's exit handlers are not this process's to run.
    """
    from multiprocessing import forkserver, resource_tracker, util

    _close_all_but(passfds)
    util.spawnv_passfds = spawn
    atexit._clear()
    if hasattr(forkserver._forkserver, "_lock"):
        forkserver._forkserver._lock = threading.Lock()
    tracker = resource_tracker._resource_tracker
    if hasattr(tracker, "_lock"):
        tracker._lock = threading.RLock()
    for name in ("_fd", "_pid"):
        if hasattr(tracker, name):
            setattr(tracker, name, None)
    gc.enable()  # as in a new interpreter: the command turned it off for its own start


def _close_all_but(passfds: Sequence[int]) -> None:
    """Close every descriptor but stdin, stdout, stderr and `passfds`, as starting a program with close_fds does.

    The batch's end of the server's "alive" pipe above all: held here, the server would never see the batch leave.
    """
    low = 3
    for fd in sorted(set(passfds)):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def start_for_batch_command(args: Sequence[str]) -> None:
    """`handout batch ARGS`: start the fork server now, unless the run will plainly render in this process or only print help.

    The server's loading (about half a second of CPU) is what the first plan waits for; started
    here, before Typer and the batch's own modules are imported, it is ready about 0.2 s sooner.
    A run that then stops on a mistake leaves it unused: it ends with this process. Anything
    not read here (an option spelt another way) only means the server starts later, as before.
    """
    if any(arg in ("--help", "-h") for arg in args) or (_workers(args) or os.cpu_count() or 1) <= 1:  # as run_batch decides
        return
    try:
        start_worker_server(fork_here=True)  # nothing but this has run yet: no thread, no file open
    except OSError:
        pass  # run_batch tries again, where a failure is one line and the plans are rendered in this process


def _workers(args: Sequence[str]) -> int | None:
    """The --workers value as given (None: not given, or not a number)."""
    for index, arg in enumerate(args):
        if arg == "--":
            break
        value = args[index + 1] if arg == "--workers" and index + 1 < len(args) else arg.removeprefix("--workers=") if arg.startswith("--workers=") else None
        if value is not None:
            return int(value) if value.isdigit() else None
    return None
