"""Reads a practice's patient list (CSV) into checked rows, reporting bad rows by number, never by name."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from handout.checks import (
    INVISIBLE,
    MAX_NAME_LENGTH,
    PLAN_DEFAULTS,
    bidi_control,
    composed,
    email_problem,
    has_control_characters,
    invisible,
    pdf_password_problem,
    plan_request,
    valid_email,
)
from handout.content import DEFAULT_LANGUAGE
from handout.encoding import DecodedText, NotText, decode_export
from handout.errors import HandoutError
from handout.i18n import available_languages, canonical_language
from handout.plan import PlanInputError, PlanRequest

REQUIRED_COLUMNS = ("name",)
OPTIONAL_COLUMNS = (
    "patient_id",
    "email",
    "consent_email",
    "clinician",
    "start_minutes",
    "target_minutes",
    "walks_per_week",
    "weeks",
    "start_date",
    "pdf_password",
    "language",
    "large_print",
)
_PATIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # becomes a file name: nothing else is safe
# Names handout gives its own files in the output folder (rows without a patient_id, the
# to-print files): a patient_id spelled like one would overwrite it, or be overwritten.
# Any name beginning "to-print" is reserved, not only those in use: a plan to-print-abc.pdf would read as a to-print file.
_RESERVED_KEY = re.compile(r"row-\d+|to-print.*", re.IGNORECASE)
# A list's limits: 100,000 rows (a large practice's whole register) with every column filled is about 40 MB.
MAX_LIST_ROWS = 100_000
MAX_LIST_BYTES = 64 * 2**20
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}
_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}  # the order breaks ties: a comma first


@dataclass(frozen=True, slots=True)  # slots: a 10,000-row list is held for the whole run
class PatientRow:
    """One checked row: everything needed to render and deliver one plan."""

    row: int  # as a spreadsheet numbers it: the header is row 1
    patient_id: str
    name: str
    clinician: str
    email: str
    consent_email: bool
    request: PlanRequest
    pdf_password: str
    fingerprint: str  # what the clinic asked for in this row (start_date as typed), recipient included
    # The fingerprint as handout 0.1 computed it, from the name and clinician cells as typed (before NFC and dropping
    # direction marks), so a journal upgraded from 0.1 still knows the plans it sent. "" for a row that asks for
    # something 0.1 could not make (it cannot have been sent by 0.1).
    legacy_fingerprint: str
    language: str = DEFAULT_LANGUAGE  # the plan's and its email's language: the `language` cell, else batch --lang
    large_print: bool = False  # the `large_print` cell, else batch --large-print
    # With --encrypt the PDF password is part of the plan (a new password is a new plan, sent again); this is the
    # fingerprint without it, as earlier versions computed it, so plans it sent are still known. "" without --encrypt.
    fingerprint_without_password: str = ""


    @property
    def key(self) -> str:
        """What identifies the row in file names, the journal and reports: never the name."""
        return self.patient_id or f"row-{self.row}"

    @property
    def label(self) -> str:
        """How reports refer to the row."""
        return f"row {self.row}" + (f" (patient_id {self.patient_id})" if self.patient_id else "")

    def __repr__(self) -> str:  # keep names, addresses and passwords out of any accidental log line
        return f"PatientRow({self.label})"


@dataclass(frozen=True)
class RowProblem:
    """Why a row was rejected, naming the column."""

    row: int
    patient_id: str
    column: str
    reason: str

    def __str__(self) -> str:
        who = f"row {self.row}" + (f" (patient_id {self.patient_id})" if self.patient_id else "")
        return f"{who}: {self.column} {self.reason}"


@dataclass(frozen=True)
class PatientList:
    """The checked list: good rows, rejected rows, and columns that were ignored."""

    rows: tuple[PatientRow, ...]
    problems: tuple[RowProblem, ...]
    ignored_columns: tuple[str, ...]
    encoding: str  # how the file's text was read, for the summary: "UTF-8", "Windows-1252 (detected)"


def _and(numbers: list[int]) -> str:
    """1 and 2; 1, 2 and 3."""
    return ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def read_patient_list(
    path: Path,
    today: dt.date,
    require_password: bool = False,
    find_unprintable: Callable[[str], str | None] | None = None,
    encoding: str | None = None,
    default_language: str = DEFAULT_LANGUAGE,
    default_large_print: bool = False,
) -> PatientList:
    """Read and check every row before any work; `find_unprintable` says why a name cannot be printed (None: it can).

    `encoding` overrides the detection of how the file's text is encoded (UTF-8, a byte-order mark, a Windows code page).
    `default_language` is the language of rows whose `language` cell is empty (batch --lang);
    `default_large_print` the print size of rows whose `large_print` cell is empty (batch --large-print).
    """
    decoded = _read_text(path, encoding)
    text = decoded.text
    delimiter = _delimiter(path, text)
    # strict: a quote left open must stop here rather than swallow the rows after it.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records_read = 0  # rows as a spreadsheet numbers them (header = row 1), however many newlines a field holds
    try:
        try:
            header = next(reader)
        except StopIteration:
            raise HandoutError(f"{path}: the file is empty") from None
        records_read = 1
        columns = [h.strip().lower() for h in header]
        if "name" not in columns:
            # The header's own words are not repeated: without a header row they would be a patient's details.
            raise HandoutError(
                f"{path}: the first row has no 'name' column ({len(columns)} columns, separated by {_DELIMITER_NAMES[delimiter]}); "
                "the first row must be a header naming the columns"
            )
        used = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
        for column in used:
            where = [i + 1 for i, c in enumerate(columns) if c == column]
            if len(where) > 1:
                # Which one is meant cannot be told: the wrong email column would send a plan to someone else.
                raise HandoutError(f"{path}: the column '{column}' is there twice (columns {_and(where)}); keep one and delete the other")
        if require_password and "pdf_password" not in columns:
            raise HandoutError(f"{path}: no 'pdf_password' column; --encrypt needs a password for every row")
        ignored = tuple(dict.fromkeys(c for c in columns if c and c not in used))
        # Cells under blank header cells at the end carry nothing; a row may leave them off.
        width = max(i for i, c in enumerate(columns) if c) + 1

        rows: list[PatientRow] = []
        problems: list[RowProblem] = []
        seen_ids: dict[str, int] = {}
        records: list[tuple[int, list[str]]] = []
        for number, values in enumerate(reader, start=2):
            records_read = number
            if any(v.strip() for v in values):  # spreadsheets leave blank lines at the end
                records.append((number, values))
                if len(records) > MAX_LIST_ROWS:
                    raise HandoutError(f"{path}: has more than {MAX_LIST_ROWS:,} patients; split it into shorter lists")
        # Empty cells past the header's last cell are an export's padding when every row has them. Where
        # some rows do not, a longer row cannot be told from one shifted by a value holding the delimiter
        # (its empty last value pushed out; rows alike can be shifted alike): it is a bad row, and the
        # message names both causes.
        padded = all(len(values) > len(header) for _, values in records)
        allowed = max((len(values) for _, values in records), default=0) if padded else len(header)
        for number, values in records:
            shape = _shape_problem(number, values, width, allowed, delimiter)
            if shape is not None:
                problems.append(shape)
                continue
            record = {col: (values[i] if i < len(values) else "") for i, col in enumerate(columns) if col}
            checked = _check_row(number, record, today, require_password, find_unprintable, default_language, default_large_print)
            if isinstance(checked, RowProblem):
                problems.append(checked)
                continue
            if checked.patient_id:
                # Case-insensitively: P1.pdf and p1.pdf are one file on Windows and macOS.
                folded = checked.patient_id.casefold()
                if folded in seen_ids:
                    problems.append(RowProblem(number, checked.patient_id, "patient_id", f"repeats row {seen_ids[folded]}"))
                    continue
                seen_ids[folded] = number
            rows.append(checked)
    except csv.Error as exc:
        raise HandoutError(f"{path}: {_csv_error(records_read + 1, exc)}") from None
    return PatientList(tuple(rows), tuple(problems), ignored, decoded.encoding)


def _shape_problem(number: int, values: list[str], width: int, allowed_cells: int, delimiter: str) -> RowProblem | None:
    """A row whose cells cannot be matched to the header: reading it anyway would put values in the wrong columns.

    No patient_id is named: in a shifted row, the patient_id cell may hold part of a name.
    """
    # First the rows a quote swallowed: such a row usually has too few or too many cells as well,
    # and "close the quote" is the fix to give, not "add a cell".
    for value in values:
        lines = value.splitlines()
        if any(line.count(delimiter) >= max(1, width - 1) for line in lines[1:]):
            # A quote opened in this row closed only in a later one: those rows were read into this cell.
            return RowProblem(
                number, "", "the row", f"has a quote (\") that runs on over the next {_count(len(lines) - 1, 'line')}, which look like rows of their own; close the quote"
            )
    if len(values) > width and any(v.strip() for v in values[width:]):
        return RowProblem(
            number, "", "the row", f"has {_count(len(values), 'cell')} but the header has {width}; put a value that contains {delimiter!r} in double quotes"
        )
    if len(values) > allowed_cells:
        return RowProblem(
            number,
            "",
            "the row",
            f"has {_count(len(values), 'cell')} but the header has {width}: put a value that contains {delimiter!r} in double quotes, "
            "or, if its last cells are empty padding, delete the empty columns after the last one",
        )
    if len(values) < width:
        # A cell left off the end cannot be told from one lost in the middle, which shifts every value after it.
        return RowProblem(
            number, "", "the row", f"has {_count(len(values), 'cell')} but the header has {width}; every row needs a cell for each column, even an empty one"
        )
    return None


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _csv_error(row: int, exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"row {row} has a value longer than {csv.field_size_limit()} characters"
    # The only other errors strict parsing raises: a quote never closed, or closed in mid-value.
    return (
        f"row {row} opens a quote (\") that is not closed where its value ends, so the rows after it would run together "
        "and be lost; fix that row (a quote inside a quoted value is written twice, \"\")"
    )


# Files a practice picks by mistake, known by their first bytes.
_NOT_CSV = (
    (b"PK\x03\x04", "is an Excel workbook (.xlsx) or another zipped document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "is an Excel 97-2003 workbook (.xls)"),
    (b"%PDF-", "is a PDF"),
)


def _read_text(path: Path, encoding: str | None) -> DecodedText:
    data = _read_capped(path)
    for magic, what in _NOT_CSV:
        if data.startswith(magic):
            # Said before any encoding is tried: "not UTF-8" would send the user hunting for the wrong fix.
            raise HandoutError(f"{path}: {what}, not a CSV file; save or export the list as 'CSV UTF-8' and use that file")
    try:
        return decode_export(data, encoding)
    except NotText as exc:
        raise HandoutError(f"{path}: {exc}") from None


def _read_capped(path: Path) -> bytes:
    """The file's bytes, read a part at a time and never more than MAX_LIST_BYTES: a huge file or a device is refused, not read into memory."""
    import os
    import stat

    try:
        with path.open("rb") as stream:
            mode = os.fstat(stream.fileno()).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):  # a pipe is fine: `handout batch <(export-patients)`
                raise HandoutError(f"{path}: is {'a folder' if stat.S_ISDIR(mode) else 'a device or socket'}, not a patient list; give the CSV file's name")
            if stat.S_ISREG(mode) and os.fstat(stream.fileno()).st_size > MAX_LIST_BYTES:
                raise HandoutError(_too_large(path))
            parts: list[bytes] = []
            size = 0
            while part := stream.read(1 << 20):
                size += len(part)
                if size > MAX_LIST_BYTES:
                    raise HandoutError(_too_large(path))
                parts.append(part)
            return b"".join(parts)
    except FileNotFoundError:
        raise HandoutError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise HandoutError(f"{path}: is a folder, not a patient list; give the CSV file's name") from None
    except OSError as exc:
        raise HandoutError(f"{path}: cannot read the file ({exc.strerror})") from None


def _too_large(path: Path) -> str:
    return f"{path}: is larger than {MAX_LIST_BYTES // 2**20} MB, more than a list of {MAX_LIST_ROWS:,} patients needs; check it is the patient list, or split it"


def _delimiter(path: Path, text: str) -> str:
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise HandoutError(f"{path}: the file is empty")
    # Semicolons: spreadsheets in locales with a decimal comma. Tabs: Excel's "Unicode Text". A tie stays a comma.
    return max(_DELIMITER_NAMES, key=first_line.count)


def _check_row(
    number: int,
    record: dict[str, str],
    today: dt.date,
    require_password: bool,
    find_unprintable: Callable[[str], str | None] | None,
    default_language: str = DEFAULT_LANGUAGE,
    default_large_print: bool = False,
) -> PatientRow | RowProblem:
    patient_id = record.get("patient_id", "").strip()

    def problem(column: str, reason: str) -> RowProblem:
        return RowProblem(number, patient_id if _PATIENT_ID.fullmatch(patient_id) else "", column, reason)

    if patient_id and not _PATIENT_ID.fullmatch(patient_id):
        return problem("patient_id", "may only use letters, digits, '.', '_' and '-' (at most 64), as it names the PDF file")
    if _RESERVED_KEY.fullmatch(patient_id):
        return problem("patient_id", "must not begin with to-print or be row-N (N a number): handout names its own files that way")
    name = " ".join(composed(record.get("name", "")).split())
    if not name:
        return problem("name", "is empty")
    for column in ("name", "clinician", "email"):
        if has_control_characters(record.get(column, "")):
            return problem(column, "has control characters (copy it from the original record again)")
    for column in ("name", "clinician"):
        control = bidi_control(record.get(column, ""))
        if control is not None:
            return problem(column, f"has the direction control U+{ord(control):04X}, which can disguise text (type it again without it)")
    if len(name) > MAX_NAME_LENGTH:
        return problem("name", f"is longer than {MAX_NAME_LENGTH} characters")
    clinician = " ".join(composed(record.get("clinician", "")).split())
    for column, text in (("name", name), ("clinician", clinician)):
        if text and invisible(text):
            return problem(column, INVISIBLE)
    for column, text in (("name", name), ("clinician", clinician)):
        unprintable = find_unprintable(text) if find_unprintable is not None else None
        if unprintable is not None:
            return problem(column, unprintable)  # the same words as the command line, the character by code point only
    if len(clinician) > MAX_NAME_LENGTH:
        return problem("clinician", f"is longer than {MAX_NAME_LENGTH} characters")

    email = record.get("email", "").strip()
    if email:
        checked_email = valid_email(email)
        if checked_email is None:
            return problem("email", email_problem(email))
        email = checked_email
    consent_text = record.get("consent_email", "").strip().lower()
    if consent_text not in _YES | _NO:
        return problem("consent_email", "must be yes or no (also y/n, true/false, 1/0)")

    try:
        request = plan_request(record, today)  # the same rule, limits and words as the command line
    except PlanInputError as exc:
        return problem(exc.field, exc.problem)
    raw_date = record.get("start_date", "").strip()
    numbers = {field: getattr(request, field) for field in PLAN_DEFAULTS}

    language = canonical_language(record.get("language", "")) or default_language
    if language not in available_languages():
        return problem("language", f"must be one of: {', '.join(available_languages())} (or empty for {default_language})")
    # A plan in another language is a new plan; English rows keep the fingerprints their journals hold.
    in_language = (f"language={language}",) if language != DEFAULT_LANGUAGE else ()

    large_print_text = record.get("large_print", "").strip().lower()
    if large_print_text not in _YES | _NO:
        return problem("large_print", "must be yes or no (also y/n, true/false, 1/0), or empty for the batch's --large-print")
    large_print = large_print_text in _YES if large_print_text else default_large_print
    # A large-print plan is a new plan; standard rows keep the fingerprints their journals hold.
    in_large_print = ("large_print",) if large_print else ()

    password = record.get("pdf_password", "")
    if require_password and not password:
        return problem("pdf_password", "is empty, and --encrypt needs a password for every row")
    weakness = pdf_password_problem(password) if require_password else None
    if weakness is not None:
        return problem("pdf_password", weakness)  # the rule it breaks, never the value
    asked_for = (name, clinician, email, str(consent_text in _YES), raw_date, *(str(numbers[k]) for k in sorted(numbers)), *in_language, *in_large_print)
    fingerprint_without_password = hashlib.sha256("\0".join(asked_for).encode()).hexdigest()
    # The password that opens the PDF is part of what was sent: a changed one is a new plan (the file on disk opens only with it).
    fingerprint = hashlib.sha256("\0".join((*asked_for, f"pdf_password={password}")).encode()).hexdigest() if require_password else fingerprint_without_password
    typed_name, typed_clinician = (" ".join(record.get(column, "").split()) for column in ("name", "clinician"))
    legacy_fingerprint = hashlib.sha256(  # handout 0.1's formula, kept as it was: see PatientRow.legacy_fingerprint
        "\0".join(
            (typed_name, typed_clinician, email, str(consent_text in _YES), raw_date, *(str(numbers[k]) for k in sorted(numbers)))
        ).encode()
    ).hexdigest()
    return PatientRow(
        row=number,
        patient_id=patient_id,
        name=name,
        clinician=clinician,
        email=email,
        consent_email=consent_text in _YES,
        request=request,
        pdf_password=password,
        fingerprint=fingerprint,
        legacy_fingerprint=legacy_fingerprint if language == DEFAULT_LANGUAGE and not large_print else "",  # 0.1 wrote only English, standard print
        language=language,
        large_print=large_print,
        fingerprint_without_password=fingerprint_without_password if require_password else "",
    )


def wants_email(row: PatientRow, encrypted: bool) -> bool:
    """Emailed when the row has an address and the patient consented or the PDF is locked; else printed."""
    return bool(row.email and (row.consent_email or encrypted))
