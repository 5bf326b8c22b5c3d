"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd): STARTTLS or implicit TLS, AUTH, and a pause button."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "clinic"
PASSWORD = "s3cret-smtp-pass"


@dataclass
class Recorder:
    """Keeps every accepted message; can hold the N-th MAIL FROM so a test can act mid-batch."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)
    hold_at_mail: int | None = None  # 1-based number of the MAIL command to hold
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    reject_rcpt: set[str] = field(default_factory=set)
    mail_count: int = 0

    async def handle_MAIL(self, server, session, envelope, address, options):  # noqa: N802 - aiosmtpd's hook name
        self.mail_count += 1
        if self.hold_at_mail is not None and self.mail_count == self.hold_at_mail:
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            # Going down: refuse this message for now and hang up, as a stopping server does.
            asyncio.get_running_loop().call_soon(server.transport.close)
            self.finished.set()
            return "421 Service closing transmission channel"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.reject_rcpt:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Certificates:
    """A throwaway CA and a certificate for localhost and 127.0.0.1."""

    ca_file: Path
    server_context: ssl.SSLContext


def make_certificates(folder: Path) -> Certificates:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = folder / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Certificates(ca_file, context)


class SmtpServer:
    """Start/stop a server on a fixed port, so a test can take it down and bring it back."""

    def __init__(self, certificates: Certificates, implicit_tls: bool = False, port: int | None = None, smtputf8: bool = True) -> None:
        self.certificates = certificates
        self.implicit_tls = implicit_tls
        self.smtputf8 = smtputf8
        self.port = port or free_port()
        self.recorder = Recorder()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        tls = self.certificates.server_context
        common = dict(hostname="127.0.0.1", port=self.port, authenticator=authenticator, auth_required=True, enable_SMTPUTF8=self.smtputf8)
        if self.implicit_tls:
            # aiosmtpd only advertises AUTH on an implicit-TLS socket with auth_require_tls=False
            # (the socket is already encrypted; it does not know).
            self.controller = Controller(self.recorder, ssl_context=tls, auth_require_tls=False, server_hostname="localhost", **common)
        else:
            self.controller = Controller(self.recorder, tls_context=tls, require_starttls=True, **common)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            if self.recorder.held.is_set():
                # Stop listening first, so the client's reconnects are refused like a real outage.
                self.controller.loop.call_soon_threadsafe(self.controller.server.close)
                self.recorder.release.set()
                self.recorder.finished.wait(5)
                time.sleep(0.5)  # let the loop finish closing the held TLS connection before it stops
            self.controller.stop()
            self.controller = None

    def env(self, mail_from: str = "plans@example-physio.org") -> dict[str, str]:
        """The HANDOUT_* variables a clinic would set for this server."""
        return {
            "HANDOUT_SMTP_HOST": "localhost",
            "HANDOUT_SMTP_PORT": str(self.port),
            "HANDOUT_SMTP_SECURITY": "ssl" if self.implicit_tls else "starttls",
            "HANDOUT_SMTP_USERNAME": USERNAME,
            "HANDOUT_SMTP_PASSWORD": PASSWORD,
            "HANDOUT_SMTP_CAFILE": str(self.certificates.ca_file),
            "HANDOUT_MAIL_FROM": mail_from,
            "HANDOUT_SMTP_BACKOFF": "0.05",
            "HANDOUT_SMTP_ATTEMPTS": "3",
        }


class SilentServer:
    """A mail server that accepts a connection and never says a word (a hung server), until the test lets it go.

    Records when a client connected and whether the client gave up first (closed its end):
    a test can then assert what happened while the connection was held, by order, not by time.
    """

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self.port = self._listener.getsockname()[1]
        self.accepted = threading.Event()
        self.client_gave_up = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)
        self._thread.start()

    def _hold(self) -> None:
        connection, _ = self._listener.accept()
        self.accepted.set()
        connection.settimeout(0.05)
        with connection:
            while not self._release.is_set():
                try:
                    if not connection.recv(1024):
                        self.client_gave_up.set()
                        return
                except TimeoutError:
                    continue
                except OSError:
                    self.client_gave_up.set()
                    return

    def release(self) -> None:
        """Hang up without a word, as a stopping server does (it stops listening first: a reconnect is refused)."""
        self._listener.close()
        self._release.set()
        self._thread.join(5)

    def env(self) -> dict[str, str]:
        # A long timeout and one attempt: handout waits for the test to let go, then gives up at once.
        return {
            "HANDOUT_SMTP_HOST": "127.0.0.1",
            "HANDOUT_SMTP_PORT": str(self.port),
            "HANDOUT_SMTP_SECURITY": "none",
            "HANDOUT_SMTP_USERNAME": "",
            "HANDOUT_SMTP_PASSWORD": "",
            "HANDOUT_MAIL_FROM": "plans@example-physio.org",
            "HANDOUT_SMTP_TIMEOUT": "120",
            "HANDOUT_SMTP_ATTEMPTS": "1",
        }


@dataclass
class AfterData(Recorder):
    """A server that misbehaves once the whole message is in: hangs up, stalls past the client's timeout, or replies with codes.

    `behaviour` is taken one per message, then the server behaves: "drop" (closes the connection without a reply),
    "stall" (says nothing for `stall_seconds`), or a reply such as "451 4.3.0 Try later". Every message that came in
    whole is counted in `received`, whether or not it was accepted: the copies a patient may get.
    """

    behaviour: list[str] = field(default_factory=list)
    stall_seconds: float = 3.0
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(message)  # type: ignore[arg-type]
        what = self.behaviour.pop(0) if self.behaviour else "accept"
        if what == "drop":
            server.transport.close()
            await asyncio.sleep(0.2)
            return "421 closing"
        if what == "stall":
            await asyncio.sleep(self.stall_seconds)
            server.transport.close()
            return "421 too late"
        if what != "accept":
            return what
        return await super().handle_DATA(server, session, envelope)
