"""Starts the front desk's web server: checks where it may listen, prints the address, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import errno
import logging
import os
import socket
import webbrowser
from collections.abc import Sequence
from pathlib import Path

from handout.errors import EXIT_FAILURE, HandoutError, UsageError
from handout.web.security import LOOPBACK_NAMES

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def default_data_dir() -> Path:
    """The user's data folder for handout (platformdirs: ~/.local/share/handout on Linux)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("handout", appauthor=False))


def run_server(host: str, port: int, brand_dir: Path | None, template_dirs: Sequence[Path], paper: str, data_dir: Path | None, open_browser: bool) -> None:
    """Serve until Ctrl-C. Only this computer can reach it unless --host says otherwise."""
    import uvicorn

    from handout.service import Clinic
    from handout.web.app import create_app

    if host not in LOOPBACK_HOSTS:
        # Beyond this computer the pages need a password; sign-in is not built yet, so refuse.
        if not os.environ.get("HANDOUT_WEB_PASSWORD"):
            raise UsageError(f"--host {host} would let other computers reach patient data: set HANDOUT_WEB_PASSWORD to require a sign-in, or leave out --host")
        raise UsageError("--host other than 127.0.0.1 is not available yet: the sign-in page is still to be built; use 127.0.0.1")
    clinic = Clinic(brand_dir, template_dirs, paper)
    folder = data_dir if data_dir is not None else default_data_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    _check_port_free(host, port)
    address = f"http://{'127.0.0.1' if host == 'localhost' else host}:{port}/"
    print(f"handout is serving {clinic.brand.name}'s front desk at {address}  (Ctrl-C to stop)", flush=True)
    if open_browser:
        webbrowser.open(address)
    # The access log shows method, path and status only: paths carry random tokens, never names.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    config = uvicorn.Config(create_app(clinic, folder, LOOPBACK_NAMES), host=host, port=port, log_level="warning", access_log=False, server_header=False)
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:
        pass
    print("handout stopped serving.", flush=True)


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise HandoutError(f"port {port} is already in use (another handout serve?): choose another with --port", EXIT_FAILURE) from None
            raise HandoutError(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_FAILURE) from None
