"""Delivery: decides whether each plan is emailed, put in the outbox or printed, and carries it out."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from pathlib import Path

import jinja2

from handout.brand import Brand
from handout.content import DEFAULT_LANGUAGE
from handout.errors import HandoutError
from handout.i18n import language_tag
from handout.journal import Journal
from handout.mail import MailAddress, build_message
from handout.outbox import write_new_outbox_file, write_outbox
from handout.patients import PatientRow
from handout.smtp import NotDelivered, PermanentFailure, RecipientDeferred, SmtpSender, SmtpSettings, TemporaryFailure

# How a row's reason starts when its email was never tried: the mail server had stopped answering at an earlier row.
NOT_TRIED = "not sent: the mail server became unavailable at "


class Outcome(Enum):
    """What happened to one row's plan."""

    TO_PRINT = "to_print"
    OUTBOX = "outbox"
    EMAILED = "emailed"
    ALREADY_SENT = "already_sent"
    FAILED = "failed"


@dataclass(frozen=True)
class Delivered:
    outcome: Outcome
    reason: str = ""


class Delivery:
    """Emails, writes to the outbox, or lists to print, one row at a time, journalling each step.

    `settings` is None for a dry run into the outbox; with settings, one SMTP
    connection carries the whole batch.
    """

    def __init__(
        self,
        brand: Brand,
        templates: jinja2.Environment,
        journal: Journal,
        env: Mapping[str, str],
        settings: SmtpSettings | None,
        outbox: Path,
        encrypted: bool,
        resend: bool,
        warn: Callable[[str], None],
    ) -> None:
        self.brand = brand
        self.templates = templates
        self.journal = journal
        self.settings = settings
        self.env = env
        self.outbox = outbox
        self.encrypted = encrypted
        self.resend = resend
        self.warn = warn
        self.sender = SmtpSender(settings) if settings else None
        self.server_down = ""

    @cached_property
    def mail_from(self) -> MailAddress:
        """Looked up for the first message: a list with nothing to email needs no sending address."""
        from handout.mail import outbox_sender

        return self.settings.mail_from if self.settings else outbox_sender(self.env, self.brand)

    def __enter__(self) -> Delivery:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sender is not None:
            self.sender.close()

    def deliver(self, row: PatientRow, pdf_path: Path) -> Delivered:
        """Email the plan (only with consent, or when it is encrypted), else list it to print."""
        if not wants_email(row, self.encrypted):
            self.journal.mark(row.key, row.row, "to_print")
            return Delivered(Outcome.TO_PRINT)
        sending = self.sender is not None
        # Known by what the row asks for and its patient_id, never by its position in the list.
        fingerprint = self.journal.fingerprint(row)
        earlier = self.journal.delivery(fingerprint) or self.journal.sent_before_upgrade(row, fingerprint)
        if sending and not self.resend:
            if earlier is not None and earlier.state == "sent":
                self.journal.mark(row.key, row.row, "sent")
                return Delivered(Outcome.ALREADY_SENT)
            if row.patient_id and self.journal.sent_to_patient(row.patient_id):
                self.warn(f"{row.label}: the row changed since its plan was emailed (details or address); sending the new plan")
        # The Message-ID comes from the keyed fingerprint: a plan re-sent on another day keeps it, and it cannot be
        # recomputed from a patient's details without this folder's secret.
        message = build_message(
            self.templates, self.brand, language_tag(self.brand.locale, row.language), self.mail_from, row.email, row.patient_id, pdf_path.read_bytes(), fingerprint, self.encrypted
        )
        if not sending:
            write_outbox(self.outbox, row.patient_id, message)
            self.journal.mark(row.key, row.row, "outbox")
            return Delivered(Outcome.OUTBOX)
        if self.server_down:
            return self._failed(row, f"{NOT_TRIED}{self.server_down}; run the batch again to send it")
        if earlier is not None and earlier.state == "sending":
            # The last run stopped, or lost the server, between handing this message over and hearing back:
            # it may have arrived. Send it again with the same Message-ID, so it is recognisable.
            self.warn(f"{row.label}: the previous run was cut off while sending this plan (it may have arrived); sending it again")
        self.journal.mark_sending(fingerprint, row.patient_id, message["Message-ID"])
        self.journal.mark(row.key, row.row, "sending")
        try:
            self.sender.send(message)  # type: ignore[union-attr]
        except HandoutError as exc:
            self._failed(row, f"not sent: {exc.message}", fingerprint)  # a settings problem: nothing was handed over
            raise
        except PermanentFailure as exc:
            return self._failed(row, f"refused by the mail server: {exc}", fingerprint, exc)
        except RecipientDeferred as exc:
            # Only this recipient waits; the server is working, so the batch goes on.
            return self._failed(row, f"not sent: {exc}; run the batch again later to send it", fingerprint, exc)
        except TemporaryFailure as exc:
            # Stop trying for the rest of the batch: the re-run sends what is left.
            self.server_down = row.label
            return self._failed(row, f"not sent: {exc}", fingerprint, exc)
        self.journal.mark_sent(fingerprint)
        self.journal.mark(row.key, row.row, "sent")
        return Delivered(Outcome.EMAILED)

    def _failed(self, row: PatientRow, reason: str, fingerprint: str | None = None, failure: NotDelivered | None = None) -> Delivered:
        if failure is not None and failure.may_have_arrived:
            # The whole message went over and the line dropped before the reply: 'sending' stays, so the re-run
            # warns and sends it again with the same Message-ID.
            reason += " (it may have arrived: the connection dropped after the whole message was sent)"
        elif fingerprint is not None:
            self.journal.forget_sending(fingerprint)  # the server did not take it: nothing to warn about next time
        self.journal.mark(row.key, row.row, "failed", reason=reason)
        return Delivered(Outcome.FAILED, reason)


def wants_email(row: PatientRow, encrypted: bool) -> bool:
    """Emailed when the row has an address and the patient consented or the PDF is locked; else printed."""
    return bool(row.email and (row.consent_email or encrypted))


def email_one_plan(
    brand: Brand,
    templates: jinja2.Environment,
    mail_from: MailAddress,
    settings: SmtpSettings | None,
    outbox: Path | None,
    address: str,
    pdf: bytes,
    encrypted: bool,
    language: str = DEFAULT_LANGUAGE,
) -> str:
    """Send one plan (`handout plan --email`), or write it to the outbox; returns what happened, without the address.

    `mail_from` is checked by the caller before the plan is made, so a missing sender never leaves a plan half done.
    """
    saved = deliver_one_plan(brand, templates, mail_from, settings, outbox, address, pdf, encrypted, language)
    return "Emailed the walking plan" if saved is None else f"Wrote the email to {saved}; nothing was sent"


def deliver_one_plan(
    brand: Brand,
    templates: jinja2.Environment,
    mail_from: MailAddress,
    settings: SmtpSettings | None,
    outbox: Path | None,
    address: str,
    pdf: bytes,
    encrypted: bool,
    language: str = DEFAULT_LANGUAGE,
) -> Path | None:
    """Send one plan, or write it to the outbox: the outbox file written, or None when it was sent (the web page says where it went)."""
    # A random Message-ID: one derived from the plan (no journal, so no secret key) would let
    # anyone who sees the headers test guessed names against it, even of a locked PDF.
    message = build_message(templates, brand, language_tag(brand.locale, language), mail_from, address, "", pdf, secrets.token_hex(16), encrypted)
    if settings is None:
        assert outbox is not None
        return write_new_outbox_file(outbox, message)
    try:
        with SmtpSender(settings) as sender:
            sender.send(message)
    except NotDelivered as exc:
        if exc.may_have_arrived:
            raise HandoutError(f"the plan may not have been emailed: {exc}; the connection dropped after the whole message was sent, so it may have arrived") from None
        raise HandoutError(f"the plan was not emailed: {exc}") from None
    return None
