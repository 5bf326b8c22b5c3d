"""Email delivery: SMTP settings from the environment, the plan message, sending with retries, the outbox."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import smtplib
import socket
import ssl
import tempfile
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import jinja2

from handout.brand import Brand
from handout.errors import HandoutError
from handout.i18n import gettext, use_language
from handout.output import ensure_folder, write_atomic
from handout.templating import render_template

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
ATTACHMENT_NAME = "walking-plan.pdf"  # neutral: no name, no diagnosis
SUBJECT = "Your walking plan from {clinic}"  # a message: written in the plan's language
_ADDRESS = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")
_DISPLAY_NAME_FORM = re.compile(r"(?P<name>[^<>]*)<(?P<address>[^<>]*)>")
_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV)
SENDER_EXAMPLE = 'such as plans@your-clinic.org or "Your Clinic <plans@your-clinic.org>"'


@dataclass(frozen=True)
class MailAddress:
    """An address as it travels: the domain in IDNA (punycode), so only a non-ASCII local part needs SMTPUTF8."""

    local_part: str
    ascii_domain: str
    display_name: str = ""

    @property
    def addr_spec(self) -> str:
        return f"{self.local_part}@{self.ascii_domain}"

    def header(self, display_name: str = "") -> Address:
        return Address(self.display_name or display_name, self.local_part, self.ascii_domain)


def mail_address(text: str, display_name: str = "") -> MailAddress | None:
    """The address ready for headers and the envelope when its syntax is valid (no network look-up); else None."""
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return MailAddress(unicodedata.normalize("NFC", checked.local_part), checked.ascii_domain, display_name)


def parse_sender(text: str) -> MailAddress:
    """HANDOUT_MAIL_FROM: an address alone, or with a display name as mail programs write it ("Clinic <plans@clinic.org>")."""
    form = _DISPLAY_NAME_FORM.fullmatch(text.strip())
    name, address = (form["name"].strip(), form["address"]) if form else ("", text)
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = re.sub(r"\\(.)", r"\1", name[1:-1])
    checked = mail_address(address, " ".join(name.split())) if address.strip() else None
    # Line breaks or other control characters would let the value add headers of its own.
    if checked is None or any(unicodedata.category(c) in ("Cc", "Cs") for c in text.strip()):
        raise HandoutError(f"HANDOUT_MAIL_FROM must be the clinic's sending address, {SENDER_EXAMPLE}")
    return checked


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


def outbox_sender(env: Mapping[str, str], brand: Brand) -> MailAddress:
    """The From address for outbox files: HANDOUT_MAIL_FROM, else the brand's email; a clear line when neither is set."""
    configured = env.get("HANDOUT_MAIL_FROM", "").strip()
    if configured:
        return parse_sender(configured)
    brand_address = mail_address(brand.email) if brand.email else None  # load_brand checked it
    if brand_address is None:
        raise HandoutError(
            f"the email needs a sending address: set HANDOUT_MAIL_FROM ({SENDER_EXAMPLE}) "
            f"or the key 'email' in {brand.directory / 'brand.toml'}"
        )
    return brand_address


def message_id(brand: Brand, key: str, document_identity: str, mail_from: MailAddress) -> str:
    """Stable for one (clinic, patient, document): a re-send of the same plan is recognisable."""
    digest = hashlib.sha256("\0".join((brand.name, key, document_identity)).encode()).hexdigest()[:32]
    return f"<handout.{digest}@{mail_from.ascii_domain}>"


def build_message(
    env: jinja2.Environment,
    brand: Brand,
    lang: str,
    mail_from: MailAddress,
    to: str,
    key: str,
    pdf: bytes,
    document_identity: str,
    encrypted: bool,
) -> EmailMessage:
    """The plan email: text and HTML bodies from the (overridable) templates, the PDF attached.

    `lang` is the language tag of the plan (en-GB, es): the email is written in its language.
    `document_identity` is a hash of what the plan says; it makes the Message-ID.
    """
    context = {"brand": brand, "lang": lang, "encrypted": encrypted}
    recipient = mail_address(to)
    if recipient is None:  # addresses are checked where they are read; this is a last guard, without the address
        raise HandoutError("the patient's email address is not valid")
    message = EmailMessage()
    message["From"] = mail_from.header(brand.name)
    message["To"] = recipient.header()
    reply_to = mail_address(brand.email, brand.name) if brand.email else None
    if reply_to is not None and reply_to.addr_spec != mail_from.addr_spec:
        message["Reply-To"] = reply_to.header()
    with use_language(lang.split("-")[0].lower()):
        message["Subject"] = gettext(SUBJECT).format(clinic=brand.name)
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = message_id(brand, key, document_identity, mail_from)
        message.set_content(render_template(env, "email/plan.txt.j2", context))
        message.add_alternative(render_template(env, "email/plan.html.j2", context), subtype="html")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=ATTACHMENT_NAME)
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """The message as a mail program reads it; UTF-8 headers (RFC 6532) only when an address needs them."""
    international = any(not a.addr_spec.isascii() for field in ("From", "To") for a in message[field].addresses)
    return message.as_bytes(policy=message.policy.clone(utf8=international))  # type: ignore[call-arg]  # EmailPolicy takes utf8; the stubs know only the base class


def write_outbox(folder: Path, key: str, message: EmailMessage) -> Path:
    """A batch row's message as an .eml file, named by the row's key and its Message-ID, never the patient's name.

    A re-run of the same unchanged row makes the same message and rewrites its own file; any other
    message (another list's row-2, a corrected address) gets a name of its own.
    """
    ensure_folder(folder)
    digest = hashlib.sha256(message["Message-ID"].strip().encode()).hexdigest()[:12]
    return write_atomic(folder / f"{key}-{digest}.eml", message_bytes(message))


def write_new_outbox_file(folder: Path, message: EmailMessage) -> Path:
    """One plan's message under a new name: created exclusively, so it never replaces another message,
    even when two runs write to the same outbox at the same moment."""
    ensure_folder(folder)
    data = message_bytes(message)
    try:
        handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".walking-plan.", suffix=".part")
    except OSError as exc:
        raise HandoutError(f"{folder}: cannot write here ({exc.strerror})") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o666 & ~_umask())
        for _ in range(100):
            target = folder / f"walking-plan-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}.eml"
            try:
                os.link(temp, target)  # fails, rather than replaces, when the name is taken
                return target
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:
                    raise
                # A USB stick or network share without hard links: create the name exclusively and write into it.
                try:
                    with target.open("xb") as stream:
                        stream.write(data)
                        stream.flush()
                        os.fsync(stream.fileno())
                except FileExistsError:
                    continue
                except BaseException:
                    target.unlink(missing_ok=True)
                    raise
                return target
        raise HandoutError(f"{folder}: could not find a free file name for the email")
    except OSError as exc:
        raise HandoutError(f"{folder}: cannot write the email ({exc.strerror})") from None
    finally:
        temp.unlink(missing_ok=True)


def _umask() -> int:
    # mkstemp makes files private (0600); a finished message gets the user's usual permissions, as plans do.
    mask = os.umask(0)
    os.umask(mask)
    return mask


class TemporaryFailure(Exception):
    """The server could not be reached or asked to try later, after every retry."""


class PermanentFailure(Exception):
    """The server refused this message for good (a 5xx reply)."""


class RecipientDeferred(Exception):
    """The server asked to try this one recipient later (a 4xx reply to RCPT), after every retry: only this row waits."""


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
            smtp: smtplib.SMTP = _ImplicitTls(s.host, s.port, timeout=s.timeout_seconds, context=self._context())
        else:
            try:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            except (TimeoutError, smtplib.SMTPServerDisconnected, ConnectionResetError):
                # Connected but no greeting: a slow server, or one that waits for TLS first (port 465).
                if self._speaks_tls():
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

    def send(self, message: EmailMessage) -> None:
        """Deliver one message, retrying temporary failures with exponential backoff."""
        s = self.settings
        sender = message["From"].addresses[0].addr_spec
        recipients = [address.addr_spec for address in message["To"].addresses]
        last = ""
        deferred = False  # whether the latest attempt failed because the server deferred this recipient
        for attempt in range(s.attempts):
            if attempt:
                self._sleep(s.backoff_seconds * 2 ** (attempt - 1))  # type: ignore[operator]
            deferred = False
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
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
        if deferred:
            raise RecipientDeferred(last)
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


class _ImplicitTls(smtplib.SMTP_SSL):
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
