"""The batch's fork server, started as soon as a run knows it will render in parallel: before the command line is even read."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence

# What the fork server loads once for every worker: the program's own module (as multiprocessing
# preloads it by default, else each worker would import it) and ReportLab, handout and the fonts.
PRELOAD = ["__main__", "handout.worker_preload"]


def start_worker_server() -> None:
    """Start the fork server the render workers are forked from, loading ReportLab, handout and the fonts there once (worker_preload.py).

    It loads them on the other core while this process reads the list and prepares;
    every worker then starts with them loaded (and shares their memory) instead of
    importing them on its own. The server is the process's one fork server: started
    once, it serves later runs too.
    """
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    forkserver.ensure_running()


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
        start_worker_server()
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
