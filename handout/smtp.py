"""Sending through the clinic's mail server: SMTP settings from the environment, retries, TLS mismatch detection."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

from handout.errors import HandoutError
from handout.mail import SENDER_EXAMPLE, MailAddress, parse_sender
from handout.runcontrol import StopNow, pause, stop_requested

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_ADDRESS = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the clinic's mail server; read from HANDOUT_* variables, never the command line."""

    host: str
    port: int
    security: str
    username: str
    password: str
    cafile: str
    mail_from: MailAddress
    attempts: int = 4
    backoff_seconds: float = 2.0
    timeout_seconds: float = 30.0

    def __repr__(self) -> str:  # the password never reaches a log or traceback
        return f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings:
        """Check the settings as a whole before anything is sent."""
        host = env.get("HANDOUT_SMTP_HOST", "").strip()
        if not host:
            raise HandoutError("HANDOUT_SMTP_HOST is not set: set the HANDOUT_SMTP_* variables to send email, or write it to an outbox folder instead (--outbox)")
        security = env.get("HANDOUT_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
        if security not in SECURITY_MODES:
            raise HandoutError(f"HANDOUT_SMTP_SECURITY must be starttls, ssl or none, not {security!r}")
        if security == "none" and host.lower().strip("[]") not in LOOPBACK_HOSTS:
            raise HandoutError(
                f"HANDOUT_SMTP_SECURITY=none is only allowed for a server on this computer (localhost), not {host}: "
                "patient plans must not cross a network unencrypted"
            )
        username = env.get("HANDOUT_SMTP_USERNAME", "")
        password = env.get("HANDOUT_SMTP_PASSWORD", "")
        if username and security == "none":
            raise HandoutError("HANDOUT_SMTP_USERNAME is set but HANDOUT_SMTP_SECURITY=none: handout only logs in over TLS")
        if password and not username:
            raise HandoutError("HANDOUT_SMTP_PASSWORD is set without HANDOUT_SMTP_USERNAME")
        if not (username.isascii() and password.isascii()):
            # SMTP AUTH sends them as ASCII; smtplib would fail half-way through a batch.
            raise HandoutError("HANDOUT_SMTP_USERNAME and HANDOUT_SMTP_PASSWORD must use plain ASCII characters")
        port_text = env.get("HANDOUT_SMTP_PORT", "").strip()
        try:
            port = int(port_text) if port_text else DEFAULT_PORTS[security]
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise HandoutError(f"HANDOUT_SMTP_PORT must be a port number, not {port_text!r}") from None
        _check_host(host)
        cafile = env.get("HANDOUT_SMTP_CAFILE", "").strip()
        if cafile:
            try:
                ssl.create_default_context().load_verify_locations(cafile)
            except (OSError, ssl.SSLError):
                raise HandoutError(f"HANDOUT_SMTP_CAFILE: {cafile} is not a readable PEM certificate file") from None
        configured_from = env.get("HANDOUT_MAIL_FROM", "").strip()
        if not configured_from:
            raise HandoutError(f"HANDOUT_MAIL_FROM is not set: set it to the clinic's sending address, {SENDER_EXAMPLE}")
        mail_from = parse_sender(configured_from)
        return cls(
            host=host,
            port=port,
            security=security,
            username=username,
            password=password,
            cafile=cafile,
            mail_from=mail_from,
            attempts=_bounded_int(env, "HANDOUT_SMTP_ATTEMPTS", 4, 1, 10),
            backoff_seconds=_bounded_float(env, "HANDOUT_SMTP_BACKOFF", 2.0, 0.0, 60.0),
            timeout_seconds=_bounded_float(env, "HANDOUT_SMTP_TIMEOUT", 30.0, 1.0, 300.0),
        )


def _check_host(host: str) -> None:
    """A host name or address only: a port or a scheme typed into it would otherwise read as a server that is down."""
    if "://" in host:
        raise HandoutError(f"HANDOUT_SMTP_HOST must be the server's name only, without {host.split('://')[0]}:// (for example smtp.your-clinic.org)")
    name, colon, port = host.rpartition(":")
    if colon and host.count(":") == 1:  # one colon: host:port (an IPv6 address has several, in [brackets] or not)
        raise HandoutError(f"HANDOUT_SMTP_HOST must be the server's name only: put the port in HANDOUT_SMTP_PORT={port} and set HANDOUT_SMTP_HOST={name}")
    if any(c.isspace() or c in "/@" for c in host):
        raise HandoutError(f"HANDOUT_SMTP_HOST is not a server name: {host[:60]!r} (for example smtp.your-clinic.org)")
    try:
        host.strip("[]").encode("idna")
    except UnicodeError:
        raise HandoutError(f"HANDOUT_SMTP_HOST is not a valid host name: {host!r}") from None


def _bounded_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(env.get(name, default))
        if not low <= value <= high:
            raise ValueError
        return value
    except ValueError:
        raise HandoutError(f"{name} must be a whole number from {low} to {high}") from None


def _bounded_float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    try:
        value = float(env.get(name, default))
        if not low <= value <= high:  # also false for nan
            raise ValueError
        return value
    except ValueError:
        raise HandoutError(f"{name} must be a number of seconds from {low:g} to {high:g}") from None


class NotDelivered(Exception):
    """The server did not accept the message; `may_have_arrived` when a connection dropped after the whole message went over."""

    def __init__(self, reason: str, may_have_arrived: bool = False) -> None:
        super().__init__(reason)
        self.may_have_arrived = may_have_arrived


class TemporaryFailure(NotDelivered):
    """The server could not be reached or asked to try later, after every retry."""


class MaybeSent(NotDelivered):
    """The whole message went over and the connection was lost (or timed out) before the server's reply: it may have arrived.

    Never retried: a retry is a second copy whenever the first one did arrive.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, may_have_arrived=True)


class PermanentFailure(NotDelivered):
    """The server refused this message for good (a 5xx reply)."""


class RecipientDeferred(NotDelivered):
    """The server asked to try this one recipient later (a 4xx reply to RCPT), after every retry: only this row waits."""


def scrub(text: str) -> str:
    """Server replies often echo the recipient: keep addresses out of reports and the journal."""
    return _ADDRESS.sub("<address>", text)


class SmtpSender:
    """One SMTP connection reused for a whole batch, reconnecting with backoff when it drops."""

    def __init__(self, settings: SmtpSettings, sleep: object = pause) -> None:
        self.settings = settings
        self._smtp: _Smtp | None = None
        self._sleep = sleep

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _context(self) -> ssl.SSLContext:
        # Certificate and hostname checks stay on; a clinic's own CA can be added, never replace them.
        context = ssl.create_default_context()
        if self.settings.cafile:
            context.load_verify_locations(self.settings.cafile)
        return context

    def _connect(self) -> _Smtp:
        s = self.settings
        if s.security == "ssl":
            smtp: _Smtp = _ImplicitTls(s.host, s.port, timeout=s.timeout_seconds, context=self._context())
        else:
            try:
                smtp = _Smtp(s.host, s.port, timeout=s.timeout_seconds)
            except (TimeoutError, smtplib.SMTPServerDisconnected, ConnectionResetError):
                # Connected but no greeting: a slow server, or one that waits for TLS first (port 465).
                if not stop_requested() and self._speaks_tls():  # the probe could wait another timeout
                    raise _mismatch(s.host, s.port, "the server expects TLS from the first byte (implicit TLS)") from None
                raise
        try:
            if s.security == "starttls":
                smtp.ehlo()
                try:
                    smtp.starttls(context=self._context())
                except ssl.SSLCertVerificationError:
                    raise
                except ssl.SSLError as exc:
                    raise _mismatch(s.host, s.port, f"the TLS handshake after STARTTLS failed ({_tls_reason(exc)})") from None
            smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _speaks_tls(self) -> bool:
        """Whether the port answers a TLS handshake; nothing is sent over it but the handshake."""
        s = self.settings
        try:
            with socket.create_connection((s.host, s.port), timeout=s.timeout_seconds) as plain:
                with self._context().wrap_socket(plain, server_hostname=s.host):
                    return True
        except ssl.SSLCertVerificationError:
            return True  # it sent a certificate: it speaks TLS
        except OSError:
            return False

    def send(self, message: EmailMessage, on_handover: Callable[[], None] | None = None) -> None:
        """Deliver one message, retrying temporary failures with exponential backoff.

        `on_handover` is called just before the message's content goes over, each
        attempt: from then on a lost connection means it may have arrived
        (MaybeSent), and nothing is retried.
        """
        s = self.settings
        sender = message["From"].addresses[0].addr_spec
        recipients = [address.addr_spec for address in message["To"].addresses]
        last = ""
        deferred = False  # whether the latest attempt failed because the server deferred this recipient
        for attempt in range(s.attempts):
            if attempt:
                self._sleep(s.backoff_seconds * 2 ** (attempt - 1))  # type: ignore[operator]
                if stop_requested():
                    # Asked to stop: another attempt could wait a whole timeout again. The re-run sends it.
                    self._drop()
                    raise StopNow
            deferred = False
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                self._smtp.message_sent = False
                self._smtp.on_handover = on_handover
                try:
                    self._smtp.send_message(message, from_addr=sender, to_addrs=recipients)
                except smtplib.SMTPNotSupportedError:
                    # Only a non-ASCII local part needs SMTPUTF8 (domains travel as punycode).
                    self._reset()
                    if not sender.isascii():
                        raise HandoutError(
                            f"{s.host} cannot take HANDOUT_MAIL_FROM, which has non-ASCII letters before the @ "
                            "(the server lacks SMTPUTF8): use a plain ASCII sending address"
                        ) from None
                    raise PermanentFailure("the mail server cannot deliver to an address with non-ASCII letters before the @ (it lacks SMTPUTF8)") from None
                return
            except KeyboardInterrupt:
                self._drop()  # stopping at once: a polite QUIT could wait on the server as long again
                raise
            except ssl.SSLCertVerificationError as exc:
                self.close()
                raise HandoutError(certificate_problem(s.host, exc)) from None
            except smtplib.SMTPAuthenticationError:
                self.close()
                raise HandoutError(f"{s.host} refused the login: check HANDOUT_SMTP_USERNAME and HANDOUT_SMTP_PASSWORD") from None
            except smtplib.SMTPNotSupportedError as exc:
                self.close()
                raise HandoutError(f"{s.host} does not support what handout needs ({exc}); check HANDOUT_SMTP_SECURITY and HANDOUT_SMTP_PORT") from None
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                if 421 in codes:
                    # The server is closing the connection: a server problem, not this recipient's.
                    self._drop()
                    last = "the server closed the connection (421)"
                    continue
                self._reset()
                if all(400 <= c < 500 for c in codes):
                    deferred, last = True, f"recipient deferred ({codes[0]})"
                    continue
                raise PermanentFailure(f"recipient refused ({codes[0]})") from None
            except smtplib.SMTPResponseException as exc:
                # A reply, even after the whole message: the server says it did not take it.
                reply = scrub(exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error))
                if 400 <= exc.smtp_code < 500:
                    self._reset()
                    last = f"{exc.smtp_code} {reply}"
                    continue
                self._reset()
                raise PermanentFailure(f"{exc.smtp_code} {reply}") from None
            except socket.gaierror as exc:
                if exc.errno not in _NAME_NOT_FOUND:
                    self._drop()
                    last = f"the name {s.host} could not be looked up now ({exc.strerror})"  # the network or DNS is down: try later
                    continue
                self.close()
                # Retrying cannot find a name that does not exist: a typing mistake in the settings.
                raise HandoutError(f"HANDOUT_SMTP_HOST: there is no mail server called {s.host!r} (check the spelling)") from None
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
                handed_over = self._smtp is not None and self._smtp.message_sent
                self._drop()
                last = scrub(_connection_problem(exc, s.timeout_seconds))
                if handed_over:
                    # No reply after the whole message went over: the server may have taken it, so no retry.
                    raise MaybeSent(f"the connection to {s.host} was lost after the whole message was handed over ({last})") from None
                continue
        if deferred:
            raise RecipientDeferred(last)
        raise TemporaryFailure(f"{s.host} unavailable after {s.attempts} {'attempt' if s.attempts == 1 else 'attempts'} ({last})")

    def _reset(self) -> None:
        """After a refused message, clear the transaction so the connection can carry the next one."""
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            except OSError:
                pass
            self._smtp = None


class _Smtp(smtplib.SMTP):
    """SMTP that notes when the whole message has gone over (DATA's content sent), before the server's reply."""

    message_sent = False  # the message's content has started to go over: from now on it may arrive
    on_handover: Callable[[], None] | None = None
    _in_data = False

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self._in_data = True
        try:
            return super().data(msg)
        finally:
            self._in_data = False

    def send(self, s: ReadableBuffer | str) -> None:
        if self._in_data and not isinstance(s, str) and not self.message_sent:  # commands are str; only the content goes as bytes
            if self.on_handover is not None:
                self.on_handover()  # journalled before the first byte, so a crash now is known as "maybe sent"
            self.message_sent = True
        super().send(s)


class _ImplicitTls(_Smtp, smtplib.SMTP_SSL):
    """SMTP over implicit TLS that tells a failed handshake (wrong settings) from a failed connection (try later)."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        plain = smtplib.SMTP._get_socket(self, host, port, timeout)  # type: ignore[attr-defined]  # refused or timed out: temporary
        try:
            return self.context.wrap_socket(plain, server_hostname=self._host)  # type: ignore[attr-defined]
        except ssl.SSLCertVerificationError:
            plain.close()
            raise
        except (ssl.SSLError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as exc:
            plain.close()
            raise _mismatch(host, port, f"no TLS handshake ({_tls_reason(exc)}), so it is not an implicit-TLS port") from None


# getaddrinfo's answers for a name that does not exist (as opposed to a lookup that could not be made now).
_NAME_NOT_FOUND = frozenset(getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY") if hasattr(socket, name))
# OpenSSL's verify codes (X509_V_ERR_*), in the words a clinic's IT person would search for.
_CERTIFICATE_PROBLEMS = {
    9: "is not valid yet (check this computer's clock)",
    10: "has expired",
    18: "is self-signed, so nothing vouches for it",
    19: "is signed by a certificate authority this computer does not trust (a self-signed one in the chain)",
    20: "is signed by a certificate authority this computer does not know",
    21: "is signed by a certificate authority this computer does not know",
    62: "is for another server name",
}


def certificate_problem(host: str, exc: ssl.SSLCertVerificationError) -> str:
    """One line naming what is wrong with the server's certificate, and what to do."""
    problem = _CERTIFICATE_PROBLEMS.get(exc.verify_code or 0, f"could not be verified ({exc.verify_message or exc.reason})")
    if exc.verify_code == 62:
        problem += f" ({exc.verify_message.removeprefix('Hostname mismatch, ').rstrip('.')})" if exc.verify_message else ""
        fix = "set HANDOUT_SMTP_HOST to the name the certificate is for"
    elif exc.verify_code in (10, 9):
        fix = "the mail server's certificate must be renewed (or this computer's clock set right)"
    else:
        fix = "set HANDOUT_SMTP_CAFILE to the clinic's own certificate authority if it has one"
    return f"the certificate of {host} {problem}: {fix}"


def _connection_problem(exc: BaseException, timeout: float) -> str:
    """Why one attempt failed, in words: a timeout says so and how long was waited."""
    # smtplib reports a greeting or reply that never came as a disconnection "…: timed out".
    if isinstance(exc, TimeoutError | socket.timeout) or (isinstance(exc, smtplib.SMTPServerDisconnected) and str(exc).endswith("timed out")):
        return f"timed out: no answer within {timeout:g} second{'' if timeout == 1 else 's'} (HANDOUT_SMTP_TIMEOUT)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nothing is listening on that port"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return type(exc).__name__


def _tls_reason(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return exc.reason.replace("_", " ").lower()
    return "the server closed the connection during the TLS handshake"


def _mismatch(host: str, port: int, problem: str) -> HandoutError:
    """A TLS mismatch is a settings mistake: retrying cannot fix it."""
    return HandoutError(
        f"{host}:{port}: {problem}; check HANDOUT_SMTP_SECURITY and HANDOUT_SMTP_PORT "
        "(ssl for an implicit-TLS port, usually 465; starttls for a STARTTLS port, usually 587)"
    )
