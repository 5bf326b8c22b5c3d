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
from handout.journal import Journal, MailRecord
from handout.mail import MailAddress, build_message
from handout.outbox import remove_from_outbox, write_new_outbox_file, write_outbox
from handout.patients import PatientRow, wants_email
from handout.smtp import MaybeSent, NotDelivered, PermanentFailure, RecipientDeferred, SmtpSender, SmtpSettings, TemporaryFailure

RESEND_MAYBE_OPTION = "--resend-maybe-sent"

# How a row's reason starts when its email was never tried: the mail server had stopped answering at an earlier row.
NOT_TRIED = "not sent: the mail server became unavailable at "


class Outcome(Enum):
    """What happened to one row's plan."""

    TO_PRINT = "to_print"
    OUTBOX = "outbox"
    EMAILED = "emailed"
    ALREADY_SENT = "already_sent"
    MAYBE_SENT = "maybe_sent"  # handed over, then the connection was lost before the server's reply
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
        resend_maybe: bool = False,
    ) -> None:
        self.brand = brand
        self.templates = templates
        self.journal = journal
        self.settings = settings
        self.env = env
        self.outbox = outbox
        self.encrypted = encrypted
        self.resend = resend
        self.resend_maybe = resend_maybe
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
            self.journal.mark(row.key, row.row, "to_print", lazily=True)  # nothing sent: lost in a crash, a re-run lists it again
            return Delivered(Outcome.TO_PRINT)
        sending = self.sender is not None
        # Known by what the row asks for and its patient_id, never by its position in the list.
        fingerprint = self.journal.fingerprint(row)
        earlier = self.journal.delivery(row) or self.journal.sent_before_upgrade(row, fingerprint)
        if earlier is not None and earlier.state == "sent" and not (sending and self.resend):
            # Sent already: the outbox keeps only what is still to send.
            remove_from_outbox(self.outbox, row.patient_id, earlier.message_id)
            self.journal.mark(row.key, row.row, "sent")
            return Delivered(Outcome.ALREADY_SENT)
        if earlier is not None and earlier.state == "maybe" and not (sending and (self.resend or self.resend_maybe)):
            self.journal.mark(row.key, row.row, "maybe_sent", reason=maybe_sent_reason(earlier.message_id))
            return Delivered(Outcome.MAYBE_SENT, maybe_sent_reason(earlier.message_id))
        if sending and not self.resend and row.patient_id and self.journal.sent_to_patient(row.patient_id):
            self.warn(f"{row.label}: the row changed since its plan was emailed (details, address or PDF password); sending the new plan")
        # The Message-ID comes from the keyed fingerprint: a plan re-sent on another day keeps it, and it cannot be
        # recomputed from a patient's details without this journal's secret.
        message = build_message(
            self.templates, self.brand, language_tag(self.brand.locale, row.language), self.mail_from, row.email, row.patient_id, pdf_path.read_bytes(), fingerprint, self.encrypted
        )
        if not sending:
            write_outbox(self.outbox, row.patient_id, message)
            self.journal.mark(row.key, row.row, "outbox")
            return Delivered(Outcome.OUTBOX)
        if self.server_down:
            return self._failed(row, f"{NOT_TRIED}{self.server_down}; run the batch again to send it")
        before = earlier
        self.journal.mark_sending(fingerprint, row.patient_id, message["Message-ID"])
        self.journal.mark(row.key, row.row, "sending")
        try:
            self.sender.send(message, on_handover=lambda: self.journal.mark_handed_over(fingerprint))  # type: ignore[union-attr]
        except HandoutError as exc:
            self.journal.not_delivered(fingerprint, before)  # a settings problem: nothing was handed over
            self.journal.mark(row.key, row.row, "failed", reason=f"not sent: {exc.message}")
            raise
        except MaybeSent as exc:
            # Not retried, now or by a re-run: a second attempt is a second copy whenever the first arrived.
            reason = f"{exc}; " + maybe_sent_reason(message["Message-ID"])
            self.journal.mark(row.key, row.row, "maybe_sent", reason=reason)
            return Delivered(Outcome.MAYBE_SENT, reason)
        except PermanentFailure as exc:
            return self._failed(row, f"refused by the mail server: {exc}", fingerprint, before)
        except RecipientDeferred as exc:
            # Only this recipient waits; the server is working, so the batch goes on.
            return self._failed(row, f"not sent: {exc}; run the batch again later to send it", fingerprint, before)
        except TemporaryFailure as exc:
            # Stop trying for the rest of the batch: the re-run sends what is left.
            self.server_down = row.label
            return self._failed(row, f"not sent: {exc}", fingerprint, before)
        self.journal.mark_sent(fingerprint)
        self.journal.mark(row.key, row.row, "sent")
        remove_from_outbox(self.outbox, row.patient_id, message["Message-ID"])  # a dry run's message for it is not to be sent again
        return Delivered(Outcome.EMAILED)

    def _failed(self, row: PatientRow, reason: str, fingerprint: str | None = None, before: MailRecord | None = None) -> Delivered:
        if fingerprint is not None:
            self.journal.not_delivered(fingerprint, before)  # the server did not take it: back to what was known before
        self.journal.mark(row.key, row.row, "failed", reason=reason)
        return Delivered(Outcome.FAILED, reason)


def maybe_sent_reason(message_id: str) -> str:
    """What a clinic can check about a plan that may have arrived, and how to send it again."""
    return (
        f"maybe sent: the mail server may have it (Message-ID {message_id}), so it is not sent again by itself; "
        f"look for that Message-ID in the mail server's log or the clinic's sent mail, or ask the patient; "
        f"to send it again, run with {RESEND_MAYBE_OPTION}"
    )


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
