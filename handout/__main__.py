"""The `handout` command's entry point (`handout …` and `python -m handout …`): the process's settings, then the command line."""

import gc
import sys


def main() -> None:
    """Run the command line in a process tuned for it.

    Start-up makes a few hundred thousand objects that live as long as the process (modules,
    fonts, templates, styles): a collection cannot free any of them, yet with the interpreter's
    default threshold the collector runs about 130 times while `handout leaflet` starts, and
    still six times, about a twelfth of the command, with a threshold of 10,000. So the
    collector is off: a leaflet or a plan is one document, made and written by a process that
    then ends. The commands that run long or read big scans (batch, serve, read-diary, check)
    freeze what start-up made and turn it back on (cli._collect_garbage_from_here), collecting
    every 10,000 new objects. Only the command does this: a program using handout.api keeps
    its own settings.
    """
    gc.disable()
    if sys.argv[1:2] == ["batch"]:
        from handout.worker_server import start_for_batch_command

        start_for_batch_command(sys.argv[2:])  # the workers' server loads on the other core while this one starts
    from handout.dataclass_code import keep_dataclass_code

    keep_dataclass_code()  # the data classes' methods compiled once, not on every start: about a tenth of a leaflet's start
    from handout.lazy_patterns import defer_reportlab_patterns

    defer_reportlab_patterns()  # ReportLab's seldom-used patterns compiled on first use: about a tenth of a leaflet's start
    from handout.leaflet_command import run_without_typer

    run_without_typer(sys.argv[1:])  # `handout leaflet` with plain options needs no Typer: returns only when Typer must read them
    from handout.cli import main as command_line

    command_line()


def run() -> None:
    """The `handout` program: main(), and the process ended without the interpreter's teardown (_leave)."""
    try:
        main()
    except SystemExit as exc:
        _leave(exc.code)
    _leave(0)  # a command that returned


def _leave(code: object) -> None:
    """End the process with `code` as Python would, without tearing down every module and object one by one first.

    The interpreter's own teardown took 45 ms at the end of a batch and about 20 ms of a
    leaflet's start (every object freed, one at a time) and changes nothing a user sees:
    the files are written and closed by then. What would happen at exit is done here:
    the exit handlers (multiprocessing's clean-up of its folder and processes, logging's
    flush) and the flush of stdout and stderr. Any other thread still running, a message
    as the exit code (or a number no exit status holds), or a flush that fails (a closed
    pipe) ends the usual way instead.
    """
    import atexit
    import os
    import threading

    status = 0 if code is None else code
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)  # what Py_FinalizeEx calls; private, so looked for
    if threading.active_count() != 1 or not isinstance(status, int) or not 0 <= status <= 255 or run_exit_handlers is None:
        raise SystemExit(code)
    run_exit_handlers()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a pipe closed early, a stream closed: Python's own exit says so
        raise SystemExit(code) from None
    os._exit(status)


if __name__ == "__main__":
    run()
