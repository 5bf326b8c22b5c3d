"""Email delivery: SMTP settings from the environment, the plan message, sending with retries, the outbox."""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path

import jinja2

from handout.brand import Brand
from handout.checks import valid_email
from handout.errors import HandoutError
from handout.output import ensure_folder, write_atomic
from handout.templating import render_template

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
ATTACHMENT_NAME = "walking-plan.pdf"  # neutral: no name, no diagnosis
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
    mail_from: str
    attempts: int = 4
    backoff_seconds: float = 2.0

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
        try:
            host.encode("idna")
        except UnicodeError:
            raise HandoutError(f"HANDOUT_SMTP_HOST is not a valid host name: {host!r}") from None
        cafile = env.get("HANDOUT_SMTP_CAFILE", "").strip()
        if cafile:
            try:
                ssl.create_default_context().load_verify_locations(cafile)
            except (OSError, ssl.SSLError):
                raise HandoutError(f"HANDOUT_SMTP_CAFILE: {cafile} is not a readable PEM certificate file") from None
        mail_from = _checked_sender(env.get("HANDOUT_MAIL_FROM", "").strip())
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
        )


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


def _checked_sender(address: str) -> str:
    checked = valid_email(address) if address else None
    if checked is None:
        raise HandoutError("HANDOUT_MAIL_FROM must be the clinic's sending address alone, such as plans@your-clinic.org")
    return checked


def outbox_sender(env: Mapping[str, str], brand: Brand) -> str:
    """The From address for outbox files: HANDOUT_MAIL_FROM, else the brand's email."""
    configured = env.get("HANDOUT_MAIL_FROM", "").strip()
    return _checked_sender(configured) if configured else brand.email or "plans@localhost"


def message_id(brand: Brand, key: str, document_identity: str, mail_from: str) -> str:
    """Stable for one (clinic, patient, document): a re-send of the same plan is recognisable."""
    digest = hashlib.sha256("\0".join((brand.name, key, document_identity)).encode()).hexdigest()[:32]
    domain = mail_from.rpartition("@")[2] or "localhost"
    return f"<handout.{digest}@{domain}>"


def build_message(
    env: jinja2.Environment,
    brand: Brand,
    lang: str,
    mail_from: str,
    to: str,
    key: str,
    pdf: bytes,
    document_identity: str,
    encrypted: bool,
) -> EmailMessage:
    """The plan email: text and HTML bodies from the (overridable) templates, the PDF attached.

    `document_identity` is a hash of what the plan says; it makes the Message-ID.
    """
    context = {"brand": brand, "lang": lang, "encrypted": encrypted}
    message = EmailMessage()
    message["From"] = formataddr((brand.name, mail_from))
    message["To"] = to
    if brand.email and brand.email != mail_from:
        message["Reply-To"] = formataddr((brand.name, brand.email))
    message["Subject"] = f"Your walking plan from {brand.name}"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id(brand, key, document_identity, mail_from)
    message.set_content(render_template(env, "email/plan.txt.j2", context))
    message.add_alternative(render_template(env, "email/plan.html.j2", context), subtype="html")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=ATTACHMENT_NAME)
    return message


def write_outbox(folder: Path, key: str, message: EmailMessage) -> Path:
    """Write the message as an .eml file a clinic can open and check before sending for real."""
    ensure_folder(folder)
    return write_atomic(folder / f"{key}.eml", bytes(message))


class TemporaryFailure(Exception):
    """The server could not be reached or asked to try later, after every retry."""


class PermanentFailure(Exception):
    """The server refused this message for good (a 5xx reply)."""


def scrub(text: str) -> str:
    """Server replies often echo the recipient: keep addresses out of reports and the journal."""
    return _ADDRESS.sub("<address>", text)


class SmtpSender:
    """One SMTP connection reused for a whole batch, reconnecting with backoff when it drops."""

    def __init__(self, settings: SmtpSettings, sleep: object = time.sleep) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
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

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=30, context=self._context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=30)
        try:
            if s.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=self._context())
            smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Deliver one message, retrying temporary failures with exponential backoff."""
        s = self.settings
        last = ""
        for attempt in range(s.attempts):
            if attempt:
                self._sleep(s.backoff_seconds * 2 ** (attempt - 1))  # type: ignore[operator]
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                try:
                    self._smtp.send_message(message)
                except smtplib.SMTPNotSupportedError:
                    # The server lacks SMTPUTF8 for an address with non-ASCII letters: that one row fails.
                    self._reset()
                    raise PermanentFailure("the mail server cannot deliver to an address with non-ASCII letters") from None
                return
            except ssl.SSLCertVerificationError as exc:
                self.close()
                raise HandoutError(f"the certificate of {s.host} could not be verified ({exc.verify_message}); set HANDOUT_SMTP_CAFILE if the clinic uses its own CA") from None
            except smtplib.SMTPAuthenticationError:
                self.close()
                raise HandoutError(f"{s.host} refused the login: check HANDOUT_SMTP_USERNAME and HANDOUT_SMTP_PASSWORD") from None
            except smtplib.SMTPNotSupportedError as exc:
                self.close()
                raise HandoutError(f"{s.host} does not support what handout needs ({exc}); check HANDOUT_SMTP_SECURITY and HANDOUT_SMTP_PORT") from None
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                self._reset()
                if all(400 <= c < 500 for c in codes):
                    last = f"recipient deferred ({codes[0]})"
                    continue
                raise PermanentFailure(f"recipient refused ({codes[0]})") from None
            except smtplib.SMTPResponseException as exc:
                reply = scrub(exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error))
                if 400 <= exc.smtp_code < 500:
                    self._reset()
                    last = f"{exc.smtp_code} {reply}"
                    continue
                self._reset()
                raise PermanentFailure(f"{exc.smtp_code} {reply}") from None
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
                self._drop()
                last = scrub(type(exc).__name__ + (f": {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else ""))
                continue
        raise TemporaryFailure(f"{s.host} unavailable after {s.attempts} attempts ({last})")

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
