"""The plan email: addresses as they travel (IDNA domains), the sending address, the message and its Message-ID."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

import jinja2

from handout.brand import Brand
from handout.checks import email_parts
from handout.errors import HandoutError
from handout.i18n import gettext, use_language
from handout.templating import render_template

ATTACHMENT_NAME = "walking-plan.pdf"  # neutral: no name, no diagnosis
SUBJECT = "Your walking plan from {clinic}"  # a message: written in the plan's language
_DISPLAY_NAME_FORM = re.compile(r"(?P<name>[^<>]*)<(?P<address>[^<>]*)>")
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
    """The address ready for headers and the envelope when its syntax is valid (checks.email_parts); else None."""
    checked = email_parts(text)
    return None if checked is None else MailAddress(checked.local_part, checked.ascii_domain, display_name)


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


def message_id(brand: Brand, patient_id: str, document_identity: str, mail_from: MailAddress) -> str:
    """Stable for one (clinic, patient, plan), wherever the row sits in the list: a re-send of the same plan is recognisable.

    `document_identity` is the row's keyed fingerprint in a batch (a random token for a single plan).
    """
    digest = hashlib.sha256("\0".join((brand.name, patient_id, document_identity)).encode()).hexdigest()[:32]
    return f"<handout.{digest}@{mail_from.ascii_domain}>"


def email_context(brand: Brand, lang: str, encrypted: bool) -> dict[str, object]:
    """What the email templates are given: the brand's printed details, the language, and whether the PDF is locked."""
    return {"brand": brand.for_templates(), "lang": lang, "encrypted": encrypted}


def build_message(
    env: jinja2.Environment,
    brand: Brand,
    lang: str,
    mail_from: MailAddress,
    to: str,
    patient_id: str,
    pdf: bytes,
    document_identity: str,
    encrypted: bool,
) -> EmailMessage:
    """The plan email: text and HTML bodies from the (overridable) templates, the PDF attached.

    `lang` is the language tag of the plan (en-GB, es): the email is written in its language.
    `document_identity` is a hash of what the plan says; it makes the Message-ID.
    """
    context = email_context(brand, lang, encrypted)
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
        message["Message-ID"] = message_id(brand, patient_id, document_identity, mail_from)
        message.set_content(render_template(env, "email/plan.txt.j2", context))
        message.add_alternative(render_template(env, "email/plan.html.j2", context), subtype="html")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=ATTACHMENT_NAME)
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """The message as a mail program reads it; UTF-8 headers (RFC 6532) only when an address needs them."""
    international = any(not a.addr_spec.isascii() for field in ("From", "To") for a in message[field].addresses)
    return message.as_bytes(policy=message.policy.clone(utf8=international))  # type: ignore[call-arg]  # EmailPolicy takes utf8; the stubs know only the base class
