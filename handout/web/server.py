"""Starts the front desk's web server: checks where it may listen and who may sign in, prints the address, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
import webbrowser
from collections.abc import Sequence
from pathlib import Path

from handout.checks import password_problem
from handout.errors import EXIT_FAILURE, HandoutError, UsageError
from handout.output import writable_folder
from handout.web.security import LOOPBACK_NAMES

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
PASSWORD_VARIABLE = "HANDOUT_WEB_PASSWORD"


def default_data_dir() -> Path:
    """The user's data folder for handout (platformdirs: ~/.local/share/handout on Linux), where `handout batch` keeps its journal too."""
    from handout.journal_files import default_data_dir as shared

    return shared()


def run_server(host: str, port: int, brand_dir: Path | None, template_dirs: Sequence[Path], paper: str, data_dir: Path | None, open_browser: bool) -> None:
    """Serve until Ctrl-C. Only this computer can reach it unless --host says otherwise."""
    import uvicorn

    from handout.service import Clinic
    from handout.web.app import create_app

    password = os.environ.get(PASSWORD_VARIABLE) or None
    loopback = host in LOOPBACK_HOSTS
    if not loopback and password is None:
        raise UsageError(f"--host {host} would let other computers reach patient data: set {PASSWORD_VARIABLE} to require a sign-in, or leave out --host")
    if password is not None and (problem := password_problem(password)) is not None:
        raise UsageError(f"{PASSWORD_VARIABLE} {problem}")
    clinic = Clinic(brand_dir, template_dirs, paper)
    clinic.renderer(False)  # a missing or broken --templates folder is one line now, not after "serving"
    folder = writable_folder(data_dir if data_dir is not None else default_data_dir(), private=True)
    writable_folder(folder / "lists", private=True)  # the lists' folder is taken at start: a read-only one is one line now
    _check_port_free(host, port)
    address = _address(host, port)
    print(f"handout is serving {clinic.brand.name}'s front desk at {address}  (Ctrl-C to stop)", flush=True)
    if not loopback:
        print(
            f"warning: other computers can reach this page at --host {host}; staff sign in with {PASSWORD_VARIABLE}, but the connection "
            "is not encrypted: put a proxy with TLS (HTTPS) in front of it, or serve on 127.0.0.1 only",
            file=sys.stderr,
            flush=True,
        )
    if open_browser:
        webbrowser.open(_address("127.0.0.1", port) if host in ("0.0.0.0", "::") else address)
    _log_requests()
    # uvicorn's own access log would print query strings; handout's (security.Guard) prints method, route and status only.
    app = create_app(clinic, folder, LOOPBACK_NAMES if loopback else (), password=password)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, server_header=False)
    # uvicorn shuts down cleanly on Ctrl-C or SIGTERM (a service manager stopping it), then re-raises the
    # signal to the handler it found: this one, so both end here with the same last line and exit code 0.
    previous = signal.signal(signal.SIGTERM, _stop_requested)
    try:
        uvicorn.Server(config).run()
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("handout stopped serving.", flush=True)


class _Stopped(Exception):
    """SIGTERM arrived: the server has stopped."""


def _stop_requested(signal_number: int, frame: object) -> None:
    raise _Stopped


def _address(host: str, port: int) -> str:
    """The address to type: a server listening on every address (0.0.0.0) is reached by the computer's name."""
    if host in ("0.0.0.0", "::"):
        host = socket.gethostname()
    name = "127.0.0.1" if host == "localhost" else f"[{host}]" if ":" in host else host
    return f"http://{name}:{port}/"


def _log_requests() -> None:
    """Each request as one line on stderr: time, method, route (`/plans/{token}`, never the token), status."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    web = logging.getLogger("handout.web")
    web.addHandler(handler)
    web.setLevel(logging.INFO)
    web.propagate = False


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise HandoutError(f"port {port} is already in use (another handout serve?): choose another with --port", EXIT_FAILURE) from None
            raise HandoutError(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_FAILURE) from None
