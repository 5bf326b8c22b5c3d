"""Checks for values people type (names, addresses, dates), shared by the command line and the CSV reader."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import unicodedata

from handout.errors import HandoutError, UsageError
from handout.plan import PlanInputError, PlanRequest

MAX_NAME_LENGTH = 200
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def has_control_characters(text: str) -> bool:
    """Control characters (and undecodable bytes) cannot print and break PDF text."""
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r" for c in text)


def valid_email(text: str) -> str | None:
    """The address, normalised, when its syntax is valid (no network look-up); else None."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def iso_date(text: str) -> dt.date | None:
    """A real date written YYYY-MM-DD (2026-02-30 is not one); else None."""
    try:
        return dt.date.fromisoformat(text.strip()) if _ISO_DATE.fullmatch(text.strip()) else None
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# Command-line values: each failure is a one-line usage error naming the option
PLAN_OPTIONS = {
    "start_minutes": "--start-minutes",
    "target_minutes": "--target-minutes",
    "walks_per_week": "--walks-per-week",
    "weeks": "--weeks",
    "start_date": "--start-date",
}


def person_name(option: str, value: str, required: bool) -> str:
    """A name as typed, with runs of spaces closed up; never empty when required."""
    if has_control_characters(value):
        raise UsageError(f"{option} has control characters or bytes that are not text; type it again")
    name = " ".join(value.split())
    if required and not name:
        raise UsageError(f"{option} must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(f"{option} must be at most {MAX_NAME_LENGTH} characters, not {len(name)}")
    return name


def printable(option: str, text: str) -> None:
    """Refuse text with a character no shipped font has, rather than print an empty box."""
    from handout.render.fonts import first_unprintable

    char = first_unprintable(text)
    if char is not None:
        raise UsageError(
            f"{option} has the character {char!r} (U+{ord(char):04X}), which the fonts handout ships cannot print; "
            "use Latin, Greek or Cyrillic letters"
        )


def plan_request(start_minutes: int, target_minutes: int, walks_per_week: int, weeks: int, start_date: str | None) -> PlanRequest:
    """The plan the options ask for, starting today unless --start-date says otherwise."""
    first_day = calendar_date("--start-date", start_date) if start_date else dt.date.today()
    try:
        return PlanRequest(start_minutes, target_minutes, walks_per_week, weeks, first_day)
    except PlanInputError as exc:
        raise UsageError(f"{PLAN_OPTIONS[exc.field]} {exc.problem}") from None


def calendar_date(option: str, value: str) -> dt.date:
    """A real date written YYYY-MM-DD (2026-02-30 is not one)."""
    day = iso_date(value)
    if day is None:
        raise UsageError(f"{option} must be a real date written YYYY-MM-DD, not {value!r}")
    return day


def qr_url(value: str | None) -> str | None:
    """--qr-url as a web address a phone can open from paper."""
    from handout.qr import check_url

    if value is None:
        return None
    try:
        return check_url(value)
    except HandoutError as exc:
        raise UsageError(f"--qr-url: {exc.message}") from None


def email_address(option: str, value: str) -> str:
    """A syntactically valid address (no network look-up)."""
    address = valid_email(value)
    if address is None:
        raise UsageError(f"{option} is not a valid email address")
    return address


def pdf_password() -> str:
    """The password for --encrypt: from HANDOUT_PDF_PASSWORD, else asked for at the terminal."""
    import typer

    # Never an option: a password on the command line ends up in shell history.
    password = os.environ.get("HANDOUT_PDF_PASSWORD", "")
    if not password:
        if not sys.stdin.isatty():
            raise UsageError("--encrypt needs the PDF password in HANDOUT_PDF_PASSWORD (or run it at a terminal to be asked)")
        password = typer.prompt("PDF password", hide_input=True, confirmation_prompt=True)
    if not password.strip():
        raise UsageError("the PDF password must not be empty")
    return password
