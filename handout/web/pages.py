"""The front desk's pages: thin handlers that read a form, call handout.service, and fill a template."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from handout import document as doc
from handout.brand import ratio_text
from handout.checks import password_problem
from handout.errors import HandoutError, UsageError
from handout.i18n import available_languages, checked_language
from handout.outbox import BATCH_BUSY
from handout.service import (
    CLI_LABELS,
    NO_LARGE_PRINT_TRIFOLD,
    Clinic,
    FieldProblem,
    FormProblems,
    PlanForm,
    PlanOrder,
    check_field,
    check_plan_form,
    qr_address,
)
from handout.templating import render_template
from handout.web.lists import PatientLists
from handout.web.sessions import CSRF_FIELD, SIGNED_IN_SECONDS, Sessions, TooManyAttempts
from handout.web.store import PLAN_LIMITS, REMEMBERED_SESSIONS, ExpiringStore, RecentMemory

# The plan form's labels: a problem reads "<label> <problem>", the same words as the command line's.
WEB_LABELS = {
    **CLI_LABELS,
    "patient": "Patient name",
    "clinician": "Clinician",
    "start_minutes": "Start minutes",
    "target_minutes": "Target minutes",
    "walks_per_week": "Walks a week",
    "weeks": "Weeks",
    "start_date": "Start date",
    "language": "Language",
    "qr_url": "QR address",
    "email": "Email address",
    "consent": "the consent box",
    "encrypt": "a PDF password",
    "password": "The PDF password",
}
OUTBOX_BUSY = "A patient list is being written to the outbox just now: email this plan when the list has finished (the plan stays here for 30 minutes)."
TOO_MANY_ATTEMPTS = "Too many sign-in attempts from this computer just now: try again in a minute"
PLAN_GONE = "This plan is no longer here: plans are kept for 30 minutes. Make it again."


@dataclass(frozen=True)
class HeldPlan:
    """A made plan waiting on the preview page: the form it came from, its order and its PDF."""

    form: PlanForm
    order: PlanOrder
    pdf: bytes


class FrontDesk:
    """The pages for one clinic: its documents (through the service layer), the sessions, and the plans and lists held in memory."""

    def __init__(
        self,
        clinic: Clinic,
        data_dir: Path,
        today: Callable[[], dt.date] = dt.date.today,
        store: ExpiringStore[HeldPlan] | None = None,
        password: str | None = None,
        lists: PatientLists | None = None,
    ) -> None:
        self.clinic = clinic
        self.data_dir = data_dir
        self.today = today
        self.sessions = Sessions(password)
        self.plans: ExpiringStore[HeldPlan] = store or ExpiringStore(limits=PLAN_LIMITS)
        self.lists = lists or PatientLists(clinic, data_dir, today)
        self.clinicians: RecentMemory[str] = RecentMemory(REMEMBERED_SESSIONS, SIGNED_IN_SECONDS)  # session id → the clinician's name
        self.env = clinic.renderer(False).env
        self._other_papers: dict[str, Clinic] = {}

    def clinic_for(self, paper: str) -> Clinic:
        """The clinic on another paper size, made once (its renderers compile templates and build styles)."""
        if paper == self.clinic.paper:
            return self.clinic
        if paper not in self._other_papers:
            self._other_papers[paper] = Clinic(self.clinic.brand_dir, self.clinic.template_dirs, paper)
        return self._other_papers[paper]

    def close(self) -> None:
        """At shutdown: held plans and lists go (a list being made stops after the plan in hand)."""
        self.plans.clear()
        self.lists.close()

    # -- shared ------------------------------------------------------------

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        sid = self.sessions.session_id(request)
        html = render_template(
            self.env,
            f"web/{template}",
            {
                "brand": self.clinic.brand,
                "error": None,
                "problems": None,
                "values": {},
                "csrf_field": CSRF_FIELD,
                "csrf": self.sessions.csrf_token(sid),
                "languages": available_languages(),
                "signed_in": self.sessions.sign_in_required and self.sessions.signed_in(sid),
                **context,
            },
        )
        response = HTMLResponse(html, status_code=status)
        self.sessions.keep(response, sid, request)
        return response

    async def checked_form(self, request: Request) -> Mapping[str, str] | None:
        """The posted form when its CSRF token matches the session's; None when it does not."""
        form = await request.form()
        if not self.token_ok(request, form):
            return None
        return {key: value for key, value in form.items() if isinstance(value, str)}

    def token_ok(self, request: Request, form: Mapping[str, object]) -> bool:
        """Whether a posted form carries the session's CSRF token."""
        token = form.get(CSRF_FIELD, "")
        return isinstance(token, str) and self.sessions.csrf_ok(self.sessions.session_id(request), token)

    def refused(self, request: Request) -> HTMLResponse:
        return self.page(request, "error.html.j2", 403, message="This form has expired. Go back, reload the page and try again.")

    def gone(self, request: Request, message: str) -> HTMLResponse:
        return self.page(request, "error.html.j2", 404, message=message)

    # -- pages ---------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return self.page(request, "home.html.j2")

    async def sign_in_form(self, request: Request) -> Response:
        if self.sessions.signed_in(self.sessions.session_id(request)):
            return RedirectResponse("/", status_code=303)
        return self.page(request, "sign-in.html.j2")

    async def sign_in(self, request: Request) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.refused(request)
        if not self.sessions.sign_in_required:
            return RedirectResponse("/", status_code=303)
        try:
            sid = await self.sessions.sign_in(form.get("password", ""), request.client.host if request.client else "")
        except TooManyAttempts:
            problems = FormProblems([FieldProblem("password", TOO_MANY_ATTEMPTS)])
            busy = self.page(request, "sign-in.html.j2", 429, problems=problems)
            busy.headers["Retry-After"] = "60"
            return busy
        if sid is None:
            problems = FormProblems([FieldProblem("password", "Password is not right: type it again")])
            return self.page(request, "sign-in.html.j2", 422, problems=problems)
        response = RedirectResponse("/", status_code=303)
        self.sessions.keep(response, sid, request)
        return response

    async def sign_out(self, request: Request) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.refused(request)
        self.sessions.sign_out(self.sessions.session_id(request))
        return RedirectResponse("/sign-in", status_code=303)

    async def clinic_page(self, request: Request) -> Response:
        """The brand as it will print, and `handout check`'s report on it (the same checks, the same words)."""
        from handout.preflight import run_checks

        brand = self.clinic.brand
        report = run_checks(self.clinic.brand_dir, self.clinic.template_dirs, "en", self.clinic.paper)
        colours = [("Primary colour (headings, links)", brand.primary_colour), ("Accent colour (rules)", brand.accent_colour)]
        return self.page(request, "clinic.html.j2", report=report, colours=[(label, c.hex, ratio_text(c.contrast_with_white())) for label, c in colours])

    async def colours(self, request: Request) -> Response:
        """The clinic's primary colour for headings, links and buttons: only when it passes 4.5:1 on white (else handout's own blue)."""
        primary = self.clinic.brand.primary_colour
        css = f":root {{ --primary: {primary.hex}; }}\n" if primary.contrast_with_white() >= 4.5 else ""
        return Response(css, media_type="text/css")

    async def logo(self, request: Request) -> Response:
        from starlette.responses import FileResponse

        return FileResponse(self.clinic.brand.logo)

    async def leaflet_form(self, request: Request) -> Response:
        return self.page(request, "leaflet.html.j2", values={"paper": self.clinic.paper, "language": "en", "layout": "standard"}, error=None)

    async def leaflet(self, request: Request) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.refused(request)
        values = {key: form.get(key, "") for key in ("paper", "qr_url", "language", "layout", "large_print")}
        # Each field's problem by its field, as on the plan page (paper, language and layout come from
        # fixed choices, so only a tampered form gets theirs).
        problems: list[FieldProblem] = []
        paper = check_field(problems, "paper", _paper, values["paper"] or self.clinic.paper)
        url = check_field(problems, "qr_url", qr_address, WEB_LABELS["qr_url"], values["qr_url"]) if values["qr_url"].strip() else None
        language = check_field(problems, "language", checked_language, WEB_LABELS["language"], values["language"] or "en")
        layout = check_field(problems, "layout", _layout, values["layout"] or "standard")
        if problems:
            return self.page(request, "leaflet.html.j2", 422, values=values, problems=FormProblems(problems))
        assert paper is not None and language is not None and layout is not None
        try:
            pdf = self.clinic_for(paper).leaflet(language, url, values["large_print"] == "on", layout)
        except HandoutError as exc:
            if exc.message == NO_LARGE_PRINT_TRIFOLD:  # the service's rule, in the page's words
                problem = FormProblems([FieldProblem("large_print", "Large print does not fit a tri-fold's panels: choose Pages for large print")])
                return self.page(request, "leaflet.html.j2", 422, values=values, problems=problem)
            return self.page(request, "leaflet.html.j2", 422, values=values, error=exc.message)
        return _pdf(pdf, "leaflet.pdf", inline=form.get("action") == "print")

    async def plan_form(self, request: Request) -> Response:
        sid = self.sessions.session_id(request)
        values = {"clinician": self.clinicians.get(sid, ""), "start_date": self.today().isoformat(), "language": "en"}
        return self.page(request, "plan.html.j2", values=values, problems=None)

    async def plan(self, request: Request) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.refused(request)
        typed = PlanForm(
            patient=form.get("patient", ""),
            clinician=form.get("clinician", ""),
            start_minutes=form.get("start_minutes", ""),
            target_minutes=form.get("target_minutes", ""),
            walks_per_week=form.get("walks_per_week", ""),
            weeks=form.get("weeks", ""),
            start_date=form.get("start_date", ""),
            language=form.get("language") or "en",
            qr_url=form.get("qr_url", ""),
            large_print=form.get("large_print") == "on",
            with_article=form.get("with_article") == "on",
        )
        try:
            order = check_plan_form(typed, self.today(), WEB_LABELS)
            pdf = self.clinic.plan(order, self.today())
        except FormProblems as exc:
            return self.page(request, "plan.html.j2", 422, values=dict(form), problems=exc)
        except HandoutError as exc:
            return self.page(request, "plan.html.j2", 422, values=dict(form), problems=None, error=exc.message)
        sid = self.sessions.session_id(request)
        self.clinicians[sid] = order.patient.clinician
        token = self.plans.put(HeldPlan(typed, order, pdf), owner=sid)
        # POST, then redirect, then GET: the URL carries a random token, never the patient's name.
        return RedirectResponse(f"/plans/{token}", status_code=303)

    async def preview(self, request: Request) -> Response:
        held = self.plans.get(request.path_params["token"], owner=self.sessions.session_id(request))
        if held is None:
            return self.gone(request, PLAN_GONE)
        return self.preview_page(request, held, request.path_params["token"])

    def preview_page(self, request: Request, held: HeldPlan, token: str, status: int = 200, **context: Any) -> HTMLResponse:
        document = self.clinic.renderer(held.order.large_print).plan_document(
            held.order.patient, held.order.schedule, _article(held.order.language), self.today(), held.order.with_article, held.order.qr_url
        )
        summary, table = _summary_and_schedule(document)
        context.setdefault("values", {})
        context.setdefault("problems", None)
        return self.page(request, "preview.html.j2", status, token=token, summary=summary, table=table, smtp=bool(os.environ.get("HANDOUT_SMTP_HOST")), **context)

    async def plan_pdf(self, request: Request) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.refused(request)
        held = self.plans.get(request.path_params["token"], owner=self.sessions.session_id(request))
        if held is None:
            return self.gone(request, PLAN_GONE)
        return _pdf(held.pdf, "walking-plan.pdf", inline=form.get("action") == "print")

    async def email(self, request: Request) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.refused(request)
        token = request.path_params["token"]
        held = self.plans.get(token, owner=self.sessions.session_id(request))
        if held is None:
            return self.gone(request, PLAN_GONE)
        locked = form.get("protection") == "password"
        password = form.get("password", "") if locked else ""
        generated = locked and not password
        if generated:
            password = new_password()
        typed = dataclasses.replace(held.form, email=form.get("email", ""), consent=form.get("protection") == "consent", encrypt=locked, password=password)
        values = {"email": typed.email, "protection": form.get("protection", "")}
        outbox = None if os.environ.get("HANDOUT_SMTP_HOST") else self.data_dir / "outbox"
        try:
            order = check_plan_form(typed, self.today(), WEB_LABELS)
            if not order.email:
                raise FormProblems([FieldProblem("email", f"{WEB_LABELS['email']} must not be empty")])
            mailer = self.clinic.mailer(os.environ, outbox)
            # The plan as previewed (the same form but for how it is sent), locked if it is to be.
            said = self.clinic.email_plan(mailer, order, self.clinic.locked(held.pdf, order))
        except FormProblems as exc:
            return self.preview_page(request, held, token, 422, values=values, problems=exc)
        except HandoutError as exc:
            message = exc.message
            if message.endswith(BATCH_BUSY):
                message = OUTBOX_BUSY  # the batch's words name its command-line options and the server's folder
            return self.preview_page(request, held, token, 422, values=values, error=message)
        # The outbox file's path is the clinic's own; the address is never shown back.
        return self.page(request, "sent.html.j2", said=said, password=password if generated else "", token=token)


def new_password() -> str:
    """A password staff read out to the patient: 12 letters and digits without look-alikes (0/O, 1/l/I), in groups of four."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
    while True:
        groups = ["".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3)]
        password = "-".join(groups)
        if password_problem(password) is None and any(c.isdigit() for c in password):
            return password


def _paper(value: str) -> str:
    if value not in ("a4", "letter"):
        raise UsageError(f"Paper size must be A4 or US Letter, not {value[:20]!r}")
    return value


def _layout(value: str) -> str:
    if value not in ("standard", "trifold"):
        raise UsageError(f"Layout must be pages or tri-fold, not {value[:20]!r}")
    return value


def _article(language: str) -> Any:
    from handout.content import load_article

    return load_article(language=language)


def _pdf(pdf: bytes, name: str, inline: bool) -> Response:
    # The file name is fixed: a patient's name never reaches a file name or the browser's download list.
    disposition = "inline" if inline else "attachment"
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'{disposition}; filename="{name}"'})


def _summary_and_schedule(document: doc.Document) -> tuple[str, list[list[str]]]:
    """The plan's summary sentence and weekly table, taken from the document as printed (not worded again here)."""
    summary = ""
    table: list[list[str]] = []
    for block in _walk(document.blocks):
        if not summary and isinstance(block, doc.Paragraph) and block.style == "summary":
            summary = doc.plain_text(block.text)
        if not table and isinstance(block, doc.Table) and block.header_rows == 1 and block.style == "grid":
            table = [[doc.plain_text(cell.text) for cell in row] for row in block.rows]
    return summary, table


def _walk(blocks: tuple[doc.Block, ...]) -> list[doc.Block]:
    found: list[doc.Block] = []
    for block in blocks:
        found.append(block)
        if isinstance(block, doc.Keep | doc.Panel | doc.QRCode):
            found += _walk(block.children)
    return found

