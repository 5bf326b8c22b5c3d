"""Checks for values people type (names, addresses, dates), shared by the command line and the CSV reader."""

from __future__ import annotations

import codecs
import datetime as dt
import os
import re
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from handout.errors import HandoutError, UsageError
from handout.plan import (
    DEFAULT_START_MINUTES,
    DEFAULT_TARGET_MINUTES,
    DEFAULT_WALKS_PER_WEEK,
    DEFAULT_WEEKS,
    START_RANGE,
    PlanInputError,
    PlanRequest,
    range_problems,
)

if TYPE_CHECKING:
    from handout.brand import Brand

MAX_NAME_LENGTH = 200
INVISIBLE = "has nothing that would print (only invisible or combining characters); type the name again"
MIN_PASSWORD_LENGTH = 8
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# Embeddings, overrides and isolates change the order of what follows them
# (a name could be made to show as something else): refused. The plain
# direction marks (LRM, RLM, ALM) only come along when a name is copied from
# right-to-left text; they draw nothing and handout orders text itself: dropped.
BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))
_DIRECTION_MARKS = dict.fromkeys((0x200E, 0x200F, 0x061C))


def bidi_control(text: str) -> str | None:
    """The first character that overrides text direction, if any."""
    return next((c for c in text if ord(c) in BIDI_CONTROLS), None)


def composed(text: str) -> str:
    """Text as it is drawn and compared: NFC (an accent joined to its letter), without direction marks."""
    return unicodedata.normalize("NFC", text.translate(_DIRECTION_MARKS))


def invisible(text: str) -> bool:
    """True when nothing in the text would show on paper: only spaces, zero-width characters and accents with no letter."""
    return not any(unicodedata.category(c)[0] in "LNPS" for c in text)


def has_control_characters(text: str) -> bool:
    """Control characters (and undecodable bytes) cannot print and break PDF text."""
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r" for c in text)


@dataclass(frozen=True)
class EmailAddress:
    """A syntactically valid address: as stored and compared, and the parts it travels as."""

    normalized: str  # as the CSV and the journal's fingerprints keep it
    local_part: str  # NFC
    ascii_domain: str  # IDNA (punycode): every server takes it


def valid_email(text: str) -> str | None:
    """The address, normalised, when its syntax is valid (see `email_parts`); else None."""
    parts = email_parts(text)
    return None if parts is None else parts.normalized


def email_problem(text: str) -> str:
    """Why `text` is not an email address, with the fix when it is a common slip; never repeats the address."""
    text = text.strip()
    if re.fullmatch(r"[^<>]*<[^<>@\s]+@[^<>\s]+>", text):
        return "is not a valid email address: it has a name and an address in < >; write the address only, without the name and the < >"
    if text.lower().startswith("mailto:"):
        return "is not a valid email address: leave out 'mailto:' and write the address only"
    if text.count("@") > 1 and re.search(r"[,;\s]", text):
        return "is not a valid email address: it holds more than one address; give one address per patient"
    return "is not a valid email address"


def email_parts(text: str) -> EmailAddress | None:
    """The one address rule (syntax only, no network look-up), for the CSV, the command line, the brand and mail."""
    plain = _plain_address(text.strip())
    if plain is not None:
        return plain
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return EmailAddress(checked.normalized, unicodedata.normalize("NFC", checked.local_part), checked.ascii_domain)


# The everyday address, in a grammar narrower than email_validator's: ASCII letters, digits, "_", "+" and "-"
# between single dots before the @; a domain of such labels ending in letters. Every address this accepts,
# email_validator accepts with the same parts (a property test holds the two together); anything else goes
# to email_validator. It spares every command that loads a brand with an email (all of them) importing it.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_PLAIN_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})  # email_validator refuses these top-level names


def _plain_address(text: str) -> EmailAddress | None:
    local, at, domain = text.rpartition("@")
    if not at or len(text) > 254 or len(local) > 64 or len(domain) > 253 or "--" in domain:  # "--": IDNA's rules, left to email_validator
        return None
    if not _PLAIN_LOCAL.fullmatch(local) or not _PLAIN_DOMAIN.fullmatch(domain) or domain.rsplit(".", 1)[1].lower() in _SPECIAL_USE:
        return None
    return EmailAddress(f"{local}@{domain.lower()}", local, domain.lower())


def iso_date(text: str) -> dt.date | None:
    """A real date written YYYY-MM-DD (2026-02-30 is not one); else None."""
    try:
        return dt.date.fromisoformat(text.strip()) if _ISO_DATE.fullmatch(text.strip()) else None
    except ValueError:
        return None


MAX_PDF_PASSWORD_BYTES = 127  # PDF 2.0 (AES-256) truncates to 127 bytes of UTF-8; poppler and qpdf cannot open a longer one


def pdf_password_problem(password: str) -> str | None:
    """Why a PDF password would lock a plan the patient cannot open, or is too weak (the rule it breaks, never the value), or None."""
    if password != password.strip():
        # Copied with a space or a line break around it: the patient would type it without, and be refused.
        return "must not begin or end with a space or a line break"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in password):
        return "must not contain a line break, a tab or other invisible characters"
    if len(password.encode("utf-8")) > MAX_PDF_PASSWORD_BYTES:
        return f"must be at most {MAX_PDF_PASSWORD_BYTES} bytes long (a PDF reader cannot open a plan locked with a longer one)"
    return password_problem(password)


def password_problem(password: str) -> str | None:
    """Why a PDF password is too weak to guard health information (the rule it breaks), or None.

    The one rule for `handout plan --encrypt` and the CSV's pdf_password column.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters long"
    if len({_character_kind(c) for c in password}) < 2:
        # All digits or all one case falls to a guessing program in moments.
        return "must mix at least two kinds of character (lowercase letters, capitals, digits, symbols)"
    return None


def _character_kind(char: str) -> str:
    if char.islower():
        return "lowercase"
    if char.isupper():
        return "capital"
    return "digit" if char.isdigit() else "symbol"  # letters without case (Chinese, say) count with symbols


# ---------------------------------------------------------------------------
# Command-line values: each failure is a one-line usage error naming the option
PLAN_DEFAULTS = {
    "start_minutes": DEFAULT_START_MINUTES,
    "target_minutes": DEFAULT_TARGET_MINUTES,
    "walks_per_week": DEFAULT_WALKS_PER_WEEK,
    "weeks": DEFAULT_WEEKS,
}
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: int() would also take "1_0" and other scripts' digits
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
    control = bidi_control(value)
    if control is not None:
        raise UsageError(f"{option} has the direction control U+{ord(control):04X}, which can disguise text; type it again without it")
    name = " ".join(composed(value).split())
    if required and not name:
        raise UsageError(f"{option} must not be empty")
    if name and invisible(name):
        raise UsageError(f"{option} {INVISIBLE}")
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(f"{option} must be at most {MAX_NAME_LENGTH} characters, not {len(name)}")
    return name


def unprintable_problem(text: str) -> str | None:
    """Why a name cannot be printed as typed, or None; the character is named by code point only, as it is part of a name."""
    from handout.render.fonts import first_unprintable, kept_coverage, unprintable_reason

    # The fonts' coverage without registering them: a batch's main process checks every name and draws nothing until its workers are done.
    char = first_unprintable(text, kept_coverage)
    return None if char is None else f"has the character U+{ord(char):04X}, {unprintable_reason(char, kept_coverage)}"


def brand_text_problem(brand: Brand) -> str | None:
    """Why the brand's own words cannot be printed (a character no shipped font has), as drawing would say it, or None."""
    for key in ("name", "address", "phone", "email", "website", "disclaimer"):
        problem = unprintable_problem(getattr(brand, key))
        if problem is not None:
            return f"{brand.directory / 'brand.toml'}: key '{key}' {problem}"
    return None


def printable(option: str, text: str) -> None:
    """Refuse text with a character no shipped font has, rather than print an empty box."""
    problem = unprintable_problem(text)
    if problem is not None:
        raise UsageError(f"{option} {problem}")


def plan_request(given: Mapping[str, str], today: dt.date) -> PlanRequest:
    """The plan asked for, from values as typed (an option or a CSV cell; absent or empty: the default).

    The one rule for both faces, so they share limits and words; PlanInputError names the field
    (the first wrong one: the command line and a CSV row report one problem).
    """
    request, problems = plan_request_problems(given, today)
    if problems:
        raise problems[0]
    assert request is not None
    return request


def plan_request_problems(given: Mapping[str, str], today: dt.date) -> tuple[PlanRequest | None, list[PlanInputError]]:
    """The plan asked for, or every value that is wrong (the web form shows them all at once), in the order the CLI reports them."""
    numbers: dict[str, int] = {}
    problems: list[PlanInputError] = []
    for field, default in PLAN_DEFAULTS.items():
        raw = given.get(field, "").strip()
        if not raw:
            numbers[field] = default
        elif _WHOLE_NUMBER.fullmatch(raw):
            numbers[field] = int(raw)
        else:
            problems.append(PlanInputError(field, "must be a whole number"))
    if not given.get("target_minutes", "").strip() and "start_minutes" in numbers:
        # Only the start was given: hold the target there rather than blame a target nobody typed.
        numbers["target_minutes"] = max(numbers["target_minutes"], numbers["start_minutes"])
    raw_date = given.get("start_date", "").strip()
    start_date = iso_date(raw_date) if raw_date else today
    if start_date is None:
        problems.append(PlanInputError("start_date", "must be a real date written YYYY-MM-DD"))
    # Ranges are checked for every number that was one, and a real date's year, whatever else is wrong.
    ranges = range_problems(
        numbers.get("start_minutes", START_RANGE[0]),  # a start that is no number bounds no target
        numbers.get("target_minutes", DEFAULT_TARGET_MINUTES),
        numbers.get("walks_per_week", DEFAULT_WALKS_PER_WEEK),
        numbers.get("weeks", DEFAULT_WEEKS),
        start_date or today,
    )
    wrong = {problem.field for problem in problems}
    problems += [problem for problem in ranges if problem.field not in wrong and (problem.field != "start_date" or start_date is not None)]
    if problems:
        return None, problems
    assert start_date is not None
    return PlanRequest(start_date=start_date, **numbers), []


def plan_options(given: Mapping[str, str | int | None]) -> PlanRequest:
    """The plan the command-line options ask for (None: not typed), starting today unless --start-date says otherwise."""
    typed = {field: str(value) for field, value in given.items() if value is not None}
    try:
        return plan_request(typed, dt.date.today())
    except PlanInputError as exc:
        raise UsageError(f"{PLAN_OPTIONS[exc.field]} {exc.problem}") from None


def text_encoding(option: str, value: str | None) -> str | None:
    """A text encoding Python knows (cp1252, utf-16, latin-1 ...), by its canonical name; None when not given."""
    if value is None:
        return None
    try:
        codec = codecs.lookup(value)
    except (LookupError, ValueError):  # ValueError: a name with a NUL in it
        codec = None
    # Python's codec registry also holds byte transforms (base64, zlib) that are no text encoding,
    # and codecs that cannot read a file's text at all ("undefined" refuses everything, "idna" is for host names).
    if codec is None or not getattr(codec, "_is_text_encoding", True) or not _reads_text(codec):
        raise UsageError(f"{option}: {value!r} is not a text encoding handout knows; try utf-8, cp1252 or utf-16")
    return codec.name


# Text codecs Python has that read a file's bytes as something else than the letters in it.
_NOT_FILE_ENCODINGS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"})


def _reads_text(codec: codecs.CodecInfo) -> bool:
    """Whether the codec can read a patient list at all (a test round trip of a header and a row)."""
    if codec.name in _NOT_FILE_ENCODINGS:
        return False
    sample = "name,email\r\nJane Doe,jane@example.org\r\n"
    try:
        return codec.decode(codec.encode(sample)[0])[0] == sample
    except (UnicodeError, ValueError, TypeError):
        return False


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
        raise UsageError(f"{option} {email_problem(value)}")
    return address


def pdf_password() -> str:
    """The password for --encrypt: from HANDOUT_PDF_PASSWORD, else asked for at the terminal."""
    import typer

    # Never an option: a password on the command line ends up in shell history.
    password = os.environ.get("HANDOUT_PDF_PASSWORD", "")
    if not password:
        if "HANDOUT_PDF_PASSWORD" in os.environ:
            raise UsageError("HANDOUT_PDF_PASSWORD is set but empty; set it to the PDF's password, or unset it to be asked")
        if not sys.stdin.isatty():
            raise UsageError("--encrypt needs the PDF password in HANDOUT_PDF_PASSWORD (or run it at a terminal to be asked)")
        password = typer.prompt("PDF password", hide_input=True, confirmation_prompt=True)
    problem = pdf_password_problem(password)
    if problem is not None:
        raise UsageError(f"the PDF password {problem}")
    return password
