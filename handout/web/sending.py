"""Emailing one plan from the page: each attempt recorded with when and where it went, one at a time, never repeated by a refresh."""

from __future__ import annotations

import math
import secrets
import threading
from dataclasses import dataclass, replace

from handout.checks import password_problem
from handout.service import PlanOrder

# A generated PDF password is read out over the phone: one case only, and none of the characters that look
# or sound alike in print (0/o, 1/l/i), in groups of five.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PASSWORD_GROUPS = 3
PASSWORD_GROUP_LENGTH = 5


class SendState:
    """How an attempt stands, as plain strings (templates get plain data only)."""

    SENDING = "sending"
    EMAILED = "emailed"
    SAVED = "saved"  # written to the outbox folder: not sent yet
    FAILED = "failed"


@dataclass(frozen=True)
class Attempt:
    """One attempt to email the plan, as the pages show it: plain values only (the address partly hidden)."""

    number: int
    state: str  # a SendState
    address: str  # z…@example.org
    started: str  # 14:32, the time of day it was asked for
    password: str = ""  # made for the patient, to tell them ('' when staff typed one, or none)
    locked: bool = False
    outbox_file: str = ""  # the .eml written, when no mail server is set
    message: str = ""  # why it was not sent

    @property
    def delivered(self) -> bool:
        """Sent, or saved to send: asking again would make a second email."""
        return self.state in (SendState.EMAILED, SendState.SAVED)


class PlanSending:
    """A held plan's attempts to email it, the order and locked PDF of the last (to send the same again), and its replacement.

    Thread-safe: a send finishes in a sending thread while pages read it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: list[Attempt] = []
        self._order: PlanOrder | None = None
        self.replaced_by = ""  # the token of the plan made from "Change this plan"

    @property
    def attempts(self) -> tuple[Attempt, ...]:
        with self._lock:
            return tuple(self._attempts)

    @property
    def latest(self) -> Attempt | None:
        with self._lock:
            return self._attempts[-1] if self._attempts else None

    @property
    def last_order(self) -> PlanOrder | None:
        with self._lock:
            return self._order

    def begin(self, order: PlanOrder, started: str, generated_password: str, after: int) -> Attempt | None:
        """Record a new attempt, or None when it must not start: one is under way, or the form was made before the last one (a re-post)."""
        assert order.email is not None
        with self._lock:
            if after != len(self._attempts) or (self._attempts and self._attempts[-1].state == SendState.SENDING):
                return None
            attempt = Attempt(len(self._attempts) + 1, SendState.SENDING, masked_address(order.email), started, generated_password, bool(order.password))
            self._attempts.append(attempt)
            self._order = order
            return attempt

    def end(self, number: int, state: str, outbox_file: str = "", message: str = "") -> None:
        with self._lock:
            index = number - 1
            self._attempts[index] = replace(self._attempts[index], state=state, outbox_file=outbox_file, message=message)


def masked_address(address: str) -> str:
    """The address as a page shows it: enough to recognise (z…@example.org), not enough to read out."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}…@{domain}"


def new_password() -> str:
    """A PDF password staff read out to the patient: one case, no look-alikes, in groups (about 74 bits, see password_bits)."""
    while True:
        groups = ["".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_GROUP_LENGTH)) for _ in range(PASSWORD_GROUPS)]
        password = "-".join(groups)
        # Letters and digits both: the rule every PDF password meets (and all-letters would read as a word).
        if password_problem(password) is None and any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def password_bits(alphabet: str = PASSWORD_ALPHABET, length: int = PASSWORD_GROUPS * PASSWORD_GROUP_LENGTH) -> float:
    """The strength of a generated password in bits: log2 of how many there are (those with both letters and digits)."""
    letters = sum(c.isalpha() for c in alphabet)
    digits = len(alphabet) - letters
    return math.log2(len(alphabet) ** length - letters**length - digits**length)
