"""Starts the front desk's web server: checks where it may listen and who may sign in, prints the address, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
import sys
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from handout.errors import EXIT_FAILURE, HandoutError, UsageError
from handout.output import writable_folder
from handout.web.connections import LISTEN_BACKLOG, ConnectionLimits, limited_protocol, limits_from
from handout.web.password_rule import web_password_problem
from handout.web.security import LOOPBACK_NAMES, is_loopback

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

PASSWORD_VARIABLE = "HANDOUT_WEB_PASSWORD"
TRUSTED_PROXY_VARIABLE = "HANDOUT_WEB_TRUSTED_PROXY"
KEEP_ALIVE_SECONDS = 5  # an idle connection between pages is closed after this (the browser opens another)


def default_data_dir() -> Path:
    """The user's data folder for handout (platformdirs: ~/.local/share/handout on Linux), where `handout batch` keeps its journal too."""
    from handout.journal_files import default_data_dir as shared

    return shared()


def run_server(
    host: str,
    port: int,
    brand_dir: Path | None,
    template_dirs: Sequence[Path],
    paper: str,
    data_dir: Path | None,
    open_browser: bool,
    trusted_proxy: str | None = None,
) -> None:
    """Serve until Ctrl-C. Only this computer can reach it unless --host says otherwise.

    `trusted_proxy` (--trusted-proxy, HANDOUT_WEB_TRUSTED_PROXY): the address of the proxy in front, whose
    X-Forwarded-For and X-Forwarded-Proto are believed; nobody else's are.
    """
    import uvicorn

    from handout.service import Clinic
    from handout.web.app import create_app
    from handout.web.log_lines import log_to_stderr

    password = os.environ.get(PASSWORD_VARIABLE) or None
    loopback = is_loopback(host)  # 127.0.0.1, any other 127.x, ::1, localhost: only this computer reaches it
    if not loopback and password is None:
        raise UsageError(f"--host {host} would let other computers reach patient data: set {PASSWORD_VARIABLE} to require a sign-in, or leave out --host")
    if password is not None and (problem := web_password_problem(password)) is not None:
        raise UsageError(f"{PASSWORD_VARIABLE} {problem}")
    proxies = trusted_proxies(trusted_proxy)
    limits = limits_from(os.environ).within(_raise_open_files_limit())
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
    log_to_stderr()
    app = create_app(clinic, folder, LOOPBACK_NAMES if loopback else (), password=password, start_workers=True)
    config = server_config(app, host, port, limits, proxies)
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


def server_config(app: ASGIApp, host: str, port: int, limits: ConnectionLimits, proxies: tuple[str, ...]) -> uvicorn.Config:
    """uvicorn's settings for the front desk: handout's connection limits, its own log, and forwarded headers from the named proxy only."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=limited_protocol(limits, proxies),
        backlog=LISTEN_BACKLOG,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        # Without a proxy named, X-Forwarded-For is nobody's word: uvicorn would otherwise believe it from
        # 127.0.0.1 (or FORWARDED_ALLOW_IPS), so anyone on this computer could pass for any address.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=list(proxies),
        # uvicorn's access log would print query strings; handout's (security.Guard) prints method, route and status only.
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


def trusted_proxies(setting: str | None) -> tuple[str, ...]:
    """The proxy addresses --trusted-proxy (or HANDOUT_WEB_TRUSTED_PROXY) names, comma-separated; a mistake is one line."""
    if not setting or not setting.strip():
        return ()
    proxies = tuple(part.strip() for part in setting.split(",") if part.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise UsageError(f"--trusted-proxy must be the proxy's IP address (such as 127.0.0.1), not {proxy[:40]!r}") from None
    return proxies


def _raise_open_files_limit() -> int | None:
    """Let the server open as many files as the system allows this user (connections are files); how many that is, or None where unknown."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return None if soft == resource.RLIM_INFINITY else soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    except (ValueError, OSError):
        return soft


class _Stopped(Exception):
    """SIGTERM arrived: the server has stopped."""


def _stop_requested(signal_number: int, frame: object) -> None:
    raise _Stopped


def _address(host: str, port: int) -> str:
    """The address to type: a server listening on every address (0.0.0.0) is reached by the computer's name."""
    if host in ("0.0.0.0", "::"):
        host = socket.gethostname()
    name = "127.0.0.1" if host.lower() == "localhost" else f"[{host}]" if ":" in host else host
    return f"http://{name}:{port}/"


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As uvicorn binds: the connections a server just stopped leaves waiting (TIME_WAIT, a minute) do not
        # hold the port, so a restart right after Ctrl-C works; a server still listening there does.
        # (On Windows that option would let two servers share a port, and waiting connections never hold it.)
        if sys.platform != "win32":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise HandoutError(f"port {port} is already in use (another handout serve?): choose another with --port", EXIT_FAILURE) from None
            raise HandoutError(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_FAILURE) from None
