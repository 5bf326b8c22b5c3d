"""The operations both faces offer, the command line and the web page: check what was typed, make a leaflet or a plan, email a plan."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from handout import checks
from handout.brand import Brand, load_brand
from handout.errors import UsageError
from handout.pipeline import Patient, Renderer
from handout.plan import Plan, build_plan

if TYPE_CHECKING:  # imported when email is used, not by every command (Document: a type hint only)
    from handout.document import Document
    from handout.mail import MailAddress
    from handout.smtp import SmtpSettings

# What each plan field is called on the command line; a web page passes its own labels.
# Messages are "<label> <problem>": the problem is in the same words on both faces.
CLI_LABELS = {
    "patient": "--patient",
    "clinician": "--clinician",
    "start_minutes": "--start-minutes",
    "target_minutes": "--target-minutes",
    "walks_per_week": "--walks-per-week",
    "weeks": "--weeks",
    "start_date": "--start-date",
    "language": "--lang",
    "qr_url": "--qr-url",
    "email": "--email",
    "consent": "--consent",
    "password": "the PDF password",
    "encrypt": "--encrypt",
}
NO_LARGE_PRINT_TRIFOLD = "--large-print does not go with --layout trifold: 18 pt large print does not fit a tri-fold's panels; use the standard layout"
PLAN_NUMBER_FIELDS = ("start_minutes", "target_minutes", "walks_per_week", "weeks", "start_date")
T = TypeVar("T")


@dataclass(frozen=True)
class PlanForm:
    """A plan as typed, on either face: text as it came ('' = not given: the default)."""

    patient: str = ""
    clinician: str = ""
    start_minutes: str = ""
    target_minutes: str = ""
    walks_per_week: str = ""
    weeks: str = ""
    start_date: str = ""
    language: str = "en"
    large_print: bool = False
    with_article: bool = False
    qr_url: str = ""
    email: str = ""
    consent: bool = False
    encrypt: bool = False  # lock the PDF with a password (asked for, typed or generated after the check)
    password: str = ""


@dataclass(frozen=True)
class FieldProblem:
    """One field's problem, as a whole sentence naming the field by its label."""

    field: str
    message: str


def check_field(problems: list[FieldProblem], field: str, check: Callable[..., T], *args: Any) -> T | None:
    """`check(*args)`, or None with its UsageError recorded as `field`'s problem: a form shows every field's problem at once."""
    try:
        return check(*args)
    except UsageError as exc:
        problems.append(FieldProblem(field, exc.message))
        return None


@dataclass(frozen=True)
class ProblemList:
    """A form's problems as its page is given them: plain data, each problem tied to its field."""

    problems: tuple[FieldProblem, ...]

    def for_field(self, name: str) -> str | None:
        return next((p.message for p in self.problems if p.field == name), None)


class FormProblems(UsageError):
    """Every problem in a form, each tied to its field; as an error, the first one's sentence (a command line shows one line)."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__(problems[0].message)
        self.problems = tuple(problems)
        self.listed = ProblemList(self.problems)

    def for_field(self, name: str) -> str | None:
        return self.listed.for_field(name)


@dataclass(frozen=True)
class PlanOrder:
    """A plan that passed every check: who it is for, the schedule, and how it is to be made and sent."""

    patient: Patient
    schedule: Plan
    language: str
    large_print: bool
    with_article: bool
    qr_url: str | None
    email: str | None
    consent: bool
    password: str = field(repr=False)  # '' = not locked; never shown in a repr or a log


def check_plan_form(form: PlanForm, today: dt.date, labels: Mapping[str, str] = CLI_LABELS) -> PlanOrder:
    """The plan the form asks for, or FormProblems listing every field that is wrong (the one rule for both faces)."""
    from handout.i18n import checked_language

    problems: list[FieldProblem] = []

    def checked(name: str, check: Callable[..., T], *args: Any) -> T | None:
        return check_field(problems, name, check, labels[name], *args)

    language = checked("language", checked_language, form.language)
    patient = checked("patient", checks.person_name, form.patient, True)
    clinician = checked("clinician", checks.person_name, form.clinician, False)
    request, wrong = checks.plan_request_problems({name: getattr(form, name) for name in PLAN_NUMBER_FIELDS}, today)
    problems += [FieldProblem(error.field, f"{labels[error.field]} {error.problem}") for error in wrong]
    schedule = build_plan(request) if request is not None else None
    address = checked("email", checks.email_address, form.email) if form.email.strip() else None
    if address and not (form.consent or form.encrypt):
        problems.append(
            FieldProblem(
                "email",
                f"{labels['email']} needs {labels['consent']} (the patient agreed to unencrypted email) or {labels['encrypt']} (a password-locked PDF)",
            )
        )
    url = checked("qr_url", qr_address, form.qr_url) if form.qr_url.strip() else None
    if patient:
        checked("patient", checks.printable, patient)
    if clinician:
        checked("clinician", checks.printable, clinician)
    if form.encrypt and form.password:
        problem = checks.pdf_password_problem(form.password)
        if problem is not None:
            problems.append(FieldProblem("password", f"{labels['password']} {problem}"))
    if problems:
        raise FormProblems(problems)
    assert schedule is not None and language is not None and patient is not None
    return PlanOrder(
        Patient(patient, clinician or ""), schedule, language, form.large_print, form.with_article, url, address, form.consent, form.password if form.encrypt else ""
    )


def qr_address(label: str, value: str) -> str:
    """A web address for the QR code, checked the one way for both faces."""
    from handout.errors import HandoutError
    from handout.qr import check_url

    try:
        return check_url(value)
    except HandoutError as exc:
        raise UsageError(f"{label}: {exc.message}") from None


class Clinic:
    """One clinic's brand, templates and paper, loaded once, and the documents made with them."""

    def __init__(self, brand: Path | Brand | None, template_dirs: Sequence[Path] = (), paper: str = "a4", keep_leaflet_text: bool = False) -> None:
        # A folder (None: the built-in example brand) is read and checked here; a Brand was checked when it was loaded (handout.api).
        # keep_leaflet_text: the command line's one leaflet a process: its filled template kept between runs (leaflet_text.py).
        self.brand: Brand = brand if isinstance(brand, Brand) else load_brand(brand)
        self.brand_dir = self.brand.directory if isinstance(brand, Brand) else brand
        self.template_dirs = tuple(template_dirs)
        self.paper = paper
        self.keep_leaflet_text = keep_leaflet_text
        self._renderers: dict[bool, Renderer] = {}

    def renderer(self, large_print: bool) -> Renderer:
        """The renderer for standard or large print, built on first use (fonts, styles and templates are prepared once)."""
        if large_print not in self._renderers:
            self._renderers[large_print] = Renderer(self.brand, self.paper, self.template_dirs, large_print=large_print, keep_leaflet_text=self.keep_leaflet_text)
        return self._renderers[large_print]

    def leaflet(self, language: str, qr_url: str | None = None, large_print: bool = False, layout: str = "standard") -> bytes:
        """The waiting-room leaflet in `language`: portrait pages, or a tri-fold sheet (`layout="trifold"`, never in large print)."""
        from handout.pipeline import article_for

        if large_print and layout == "trifold":
            raise UsageError(NO_LARGE_PRINT_TRIFOLD)
        return self.renderer(large_print).leaflet(article_for(language), qr_url, layout)

    def brand_note(
        self, kind: str, language: str, large_print: bool, layout: str = "standard", order: PlanOrder | None = None, issued: dt.date | None = None, made: bytes | None = None
    ) -> str | None:
        """One line when this brand's values (long name, address, disclaimer, a tall logo) make the document longer,
        or the tri-fold's type smaller, than the example brand's would: the clinic can shorten them (`handout check` says which).
        `made` is the document as the caller already made it, unlocked: its pages are counted rather than rendered again."""
        if self.brand_dir is None:
            return None
        from handout.pipeline import article_for, document_date

        article = article_for(language)
        ours, example = self.renderer(large_print), Clinic(None, self.template_dirs, self.paper, self.keep_leaflet_text).renderer(large_print)
        if layout == "trifold":
            from handout.i18n import use_language

            with use_language(language):
                sizes = [renderer._trifold.layout(renderer.leaflet_document(article), document_date(dt.date.today())) for renderer in (ours, example)]
            smaller = [f"{part} {getattr(a, f'{part}_size'):g} pt (not {getattr(b, f'{part}_size'):g})" for part, (a, b) in (("back", sizes), ("cover", sizes), ("body", sizes)) if getattr(a, f"{part}_size") < getattr(b, f"{part}_size")]
            return f"note: brand.toml's values set the tri-fold smaller: {', '.join(smaller)}; shorter values print larger" if smaller else None
        if order is None:
            pages = [_pages(made) if made is not None and renderer is ours else _pages(renderer.leaflet(article, layout=layout)) for renderer in (ours, example)]
        else:
            issued = issued or dt.date.today()
            pages = [
                _pages(made) if made is not None and renderer is ours else _pages(renderer.plan(order.patient, order.schedule, article, issued, order.with_article, order.qr_url))
                for renderer in (ours, example)
            ]
        if pages[0] > pages[1]:
            return f"note: brand.toml's values make this {kind} {pages[0]} pages, not {pages[1]}; shorter values (name, address, disclaimer) or a lower logo save paper"
        return None

    def plan(self, order: PlanOrder, issued: dt.date) -> bytes:
        """The patient's plan, issued today: locked with the order's password when it has one."""
        return self.plan_with_diary(order, issued)[0]

    def plan_with_diary(self, order: PlanOrder, issued: dt.date, continued: Any = None) -> tuple[bytes, list[Any]]:
        """The plan (locked as `plan` locks it) and the layout of each of its diary pages; `continued` says it follows a diary read back."""
        pdf, pages, _ = self.plan_with_document(order, issued, continued)
        return pdf, pages

    def plan_with_document(self, order: PlanOrder, issued: dt.date, continued: Any = None) -> tuple[bytes, list[Any], Document]:
        """As `plan_with_diary`, and the document the plan was drawn from (the web preview's summary and table, as printed)."""
        from handout.pipeline import article_for

        renderer = self.renderer(order.large_print)
        pdf, pages, document = renderer.plan_with_document(
            order.patient, order.schedule, article_for(order.language), issued, order.with_article, order.qr_url, continued
        )
        return self.locked(pdf, order), pages, document

    def diary_report(self, reading: Any, made: dt.date) -> bytes:
        """The progress report of a diary read from scans (diary/reading.py), in the clinic's brand."""
        from handout.diary.report import report_document
        from handout.i18n import use_language
        from handout.pipeline import document_date

        with use_language("en"):  # staff's report: the clinic's own language, as the page is
            return self.renderer(False).pdf.render(report_document(reading, made), document_date(made))

    def locked(self, pdf: bytes, order: PlanOrder) -> bytes:
        """A made plan as it is to leave: locked with the order's password when it has one."""
        if not order.password:
            return pdf
        from handout.encrypt import encrypt_pdf

        return encrypt_pdf(pdf, order.password)

    def mailer(self, env: Mapping[str, str], outbox: Path | None) -> Mailer:
        """How plans will be emailed: SMTP settings from HANDOUT_SMTP_* (or an outbox folder) and the From address.

        Checked before a plan is made, so a missing setting never leaves a plan made and not sent.
        """
        from handout.mail import outbox_sender
        from handout.smtp import SmtpSettings

        settings = SmtpSettings.from_env(env) if outbox is None else None
        return Mailer(settings, outbox, settings.mail_from if settings else outbox_sender(env, self.brand))

    def email_plan(self, mailer: Mailer, order: PlanOrder, pdf: bytes) -> str:
        """Send the plan to the order's address (or write it to the outbox); what happened, without the address."""
        from handout.delivery import email_one_plan

        assert order.email is not None
        renderer = self.renderer(order.large_print)
        return email_one_plan(self.brand, renderer.env, mailer.mail_from, mailer.settings, mailer.outbox, order.email, pdf, bool(order.password), order.language)

    def deliver_plan(self, mailer: Mailer, order: PlanOrder, pdf: bytes) -> Path | None:
        """As `email_plan`, for a page that says where it went: the outbox file written, or None when it was sent."""
        from handout.delivery import deliver_one_plan

        assert order.email is not None
        renderer = self.renderer(order.large_print)
        return deliver_one_plan(self.brand, renderer.env, mailer.mail_from, mailer.settings, mailer.outbox, order.email, pdf, bool(order.password), order.language)


def _pages(pdf: bytes) -> int:
    """How many pages a PDF handout made has (read from its page tree: the page objects are packed, compressed, in an object stream)."""
    import io

    import pikepdf  # here: only the template check counts pages

    with pikepdf.open(io.BytesIO(pdf)) as document:
        return len(document.pages)


@dataclass(frozen=True)
class Mailer:
    """Where emailed plans go: an SMTP server (settings) or an outbox folder, and the From address."""

    settings: SmtpSettings | None
    outbox: Path | None
    mail_from: MailAddress
