"""The front desk's pages: thin handlers that read a form, call handout.service, and fill a template."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from handout.brand import ratio_text
from handout.errors import HandoutError, UsageError
from handout.i18n import available_languages, checked_language
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
from handout.templating import render_template, template_path
from handout.web.forms import FORM_EXPIRED, Draft, FormKeeper
from handout.web.lists import PatientLists
from handout.web.page_markup import check_page_markup
from handout.web.render_jobs import ChecksJob, ClinicSpec, LeafletJob, MadePlan, PlanJob
from handout.web.security import SIGN_IN_PATH
from handout.web.sending import PlanSending, new_password  # noqa: F401  (new_password: the page's generated PDF passwords)
from handout.web.sessions import CSRF_FIELD, SIGNED_IN_SECONDS, Sessions, TooManyAttempts
from handout.web.store import PLAN_LIMITS, REMEMBERED_SESSIONS, ExpiringStore, RecentMemory
from handout.web.workers import Workers

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
    # A choice of two radio buttons under "How is the plan protected?", not a box to tick.
    "consent": "the choice “The patient agreed to get it by unencrypted email”",
    "encrypt": "“Lock the PDF with a password”",
    "password": "The PDF password",
}
TOO_MANY_ATTEMPTS = "Too many sign-in attempts from this computer just now: try again in a minute"
PLAN_FIELDS = ("patient", "clinician", "start_minutes", "target_minutes", "walks_per_week", "weeks", "start_date", "language", "qr_url", "large_print", "with_article")
LEAFLET_FIELDS = ("paper", "qr_url", "language", "layout", "large_print")
PLAN_GONE = "This plan is no longer here: plans are kept for 30 minutes. Make it again."
DIARY_READING_GONE = "The diary reading this plan was to continue is no longer here (readings are kept for 30 minutes): read the diary again, or make the plan without it."


@dataclass(frozen=True)
class HeldPlan:
    """A made plan waiting on the preview page: the form it came from, its order, its PDF, and its summary and weekly table as printed."""

    form: PlanForm
    order: PlanOrder
    pdf: bytes
    summary: str
    table: tuple[tuple[str, ...], ...]
    continues: str = ""  # the token of the diary reading it continues ("Make the next plan from this diary"), kept for "Change this plan"
    sending: PlanSending = field(default_factory=PlanSending, compare=False)


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
        sessions: Sessions | None = None,
    ) -> None:
        self.clinic = clinic
        self.data_dir = data_dir
        self.today = today
        self.sessions = sessions or Sessions(password)
        self.plans: ExpiringStore[HeldPlan] = store or ExpiringStore(limits=PLAN_LIMITS)
        self.lists = lists or PatientLists(clinic, data_dir, today)
        self.clinicians: RecentMemory[str] = RecentMemory(REMEMBERED_SESSIONS, SIGNED_IN_SECONDS)  # session id → the clinician's name
        self.env = clinic.renderer(False).env
        self.spec = ClinicSpec.of(clinic)  # what a render worker needs to make this clinic's documents: plain data
        self.workers = Workers(self.spec)
        self.forms = FormKeeper(self.sessions, self.plans.clock, kept_form_fields, self.gone)
        self.forms.pages.update({"plan": self.plan_page, "leaflet": self.leaflet_page})  # the plan and list pages add theirs
        # A diary reading's token (the session's own) → where the next plan starts; the diary pages set it, as they own the readings.
        self.continuation: Callable[[Request, str], Any] = lambda request, token: None

    def close(self) -> None:
        """At shutdown: held plans and lists go (a list being made stops after the plan in hand)."""
        self.workers.close()
        self.plans.clear()
        self.forms.drafts.clear()
        self.lists.close()

    # -- shared ------------------------------------------------------------

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        sid = self.sessions.session_id(request)
        if isinstance(context.get("problems"), FormProblems):  # templates are given plain data, never an exception object
            context["problems"] = context["problems"].listed
        html = render_template(
            self.env,
            f"web/{template}",
            {
                "brand": self.clinic.brand.for_templates(),
                "error": None,
                "problems": None,
                "notice": None,
                "values": {},
                "csrf_field": CSRF_FIELD,
                "csrf": self.sessions.csrf_token(sid),
                "languages": available_languages(),
                "signed_in": self.sessions.sign_in_required and self.sessions.signed_in(sid),
                "section": menu_section(request.url.path, self.forms.kind(request)),
                "path": request.url.path,
                **context,
            },
        )
        check_page_markup(html, template_path(self.env, f"web/{template}"))
        response = HTMLResponse(html, status_code=status)
        self.sessions.keep(response, sid, request)
        return response

    async def form_fields(self, request: Request) -> dict[str, str]:
        """The posted form's text fields (its CSRF token among them)."""
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}

    async def checked_form(self, request: Request) -> Mapping[str, str] | None:
        """The posted form when its CSRF token matches the session's; None when it does not."""
        form = await self.form_fields(request)
        return form if self.token_ok(request, form) else None

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
        then = local_path(request.query_params.get("next", ""))
        if self.sessions.signed_in(self.sessions.session_id(request)):
            return RedirectResponse(then, status_code=303)
        problems = FormProblems([FieldProblem("password", "Password is not right: type it again")]) if request.query_params.get("wrong") else None
        notice = "The sign-in form had expired: type the password again." if request.query_params.get("expired") else None
        return self.page(request, "sign-in.html.j2", 422 if problems else 200, problems=problems, notice=notice, next=then)

    async def sign_in(self, request: Request) -> Response:
        form = await self.form_fields(request)
        then = local_path(form.get("next", ""))
        back = f"&next={quote(then, safe='/')}" if then != "/" else ""
        if not self.token_ok(request, form):
            return RedirectResponse(f"{SIGN_IN_PATH}?expired=1{back}", status_code=303)
        if not self.sessions.sign_in_required:
            return RedirectResponse(then, status_code=303)
        try:
            sid = await self.sessions.sign_in(form.get("password", ""), request.client.host if request.client else "")
        except TooManyAttempts:
            problems = FormProblems([FieldProblem("password", TOO_MANY_ATTEMPTS)])
            busy = self.page(request, "sign-in.html.j2", 429, problems=problems, notice=None, next=then)
            busy.headers["Retry-After"] = "60"
            return busy
        if sid is None:
            # Redirected too, so Back and Reload never post the password again.
            return RedirectResponse(f"{SIGN_IN_PATH}?wrong=1{back}", status_code=303)
        self.forms.signed_in(sid, self.sessions.session_id(request))
        response = RedirectResponse(then, status_code=303)
        self.sessions.keep(response, sid, request)
        return response

    async def sign_out(self, request: Request) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.refused(request)
        self.sessions.sign_out(self.sessions.session_id(request))
        return RedirectResponse(SIGN_IN_PATH, status_code=303)

    async def clinic_page(self, request: Request) -> Response:
        """The brand as it will print, and `handout check`'s report on it (the same checks, the same words)."""
        brand = self.clinic.brand
        # The checks render every document: in a render worker, so other pages do not wait.
        report = await self.workers.run_job(ChecksJob(self.spec, "en"))
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

    def leaflet_page(self, request: Request, draft: Draft | None = None, status: int = 200) -> Response:
        if draft is None:
            return self.page(request, "leaflet.html.j2", values={"paper": self.clinic.paper, "language": "en", "layout": "standard"})
        return self.page(request, "leaflet.html.j2", status, values=draft.values, problems=draft.problems, error=draft.error, notice=draft.notice)

    async def leaflet_form(self, request: Request) -> Response:
        return self.leaflet_page(request)

    async def leaflet(self, request: Request) -> Response:
        form = await self.form_fields(request)
        values = {key: form.get(key, "") for key in LEAFLET_FIELDS}
        if not self.token_ok(request, form):
            return self.forms.send_back(request, "leaflet", values, notice=FORM_EXPIRED)
        # Each field's problem by its field, as on the plan page (paper, language and layout come from
        # fixed choices, so only a tampered form gets theirs).
        problems: list[FieldProblem] = []
        paper = check_field(problems, "paper", _paper, values["paper"] or self.clinic.paper)
        url = check_field(problems, "qr_url", qr_address, WEB_LABELS["qr_url"], values["qr_url"]) if values["qr_url"].strip() else None
        language = check_field(problems, "language", checked_language, WEB_LABELS["language"], values["language"] or "en")
        layout = check_field(problems, "layout", _layout, values["layout"] or "standard")
        if problems:
            return self.forms.send_back(request, "leaflet", values, FormProblems(problems))
        assert paper is not None and language is not None and layout is not None
        try:
            pdf = await self.workers.run_job(LeafletJob(dataclasses.replace(self.spec, paper=paper), language, url, values["large_print"] == "on", layout))
        except HandoutError as exc:
            if exc.message == NO_LARGE_PRINT_TRIFOLD:  # the service's rule, in the page's words
                problem = FormProblems([FieldProblem("large_print", "Large print does not fit a tri-fold's panels: choose Pages for large print")])
                return self.forms.send_back(request, "leaflet", values, problem)
            return self.forms.send_back(request, "leaflet", values, error=exc.message)
        return _pdf(pdf, "leaflet.pdf", inline=form.get("action") == "print")

    def plan_page(self, request: Request, draft: Draft | None = None, status: int = 200) -> Response:
        if draft is None:
            sid = self.sessions.session_id(request)
            values = {"clinician": self.clinicians.get(sid, ""), "start_date": self.today().isoformat(), "language": "en"}
            return self.page(request, "plan.html.j2", values=values, changes="")
        return self.page(request, "plan.html.j2", status, values=draft.values, problems=draft.problems, error=draft.error, notice=draft.notice, changes=draft.token)

    async def plan_form(self, request: Request) -> Response:
        return self.plan_page(request)

    async def plan(self, request: Request) -> Response:
        form = await self.form_fields(request)
        values = {key: form.get(key, "") for key in PLAN_FIELDS}
        changes = form.get("changes", "")  # the plan this one corrects ("Change this plan")
        continues = form.get("continues", "")  # the diary reading this plan follows ("Make the next plan from this diary")
        if continues:
            values["continues"] = continues
        if not self.token_ok(request, form):
            return self.forms.send_back(request, "plan", values, notice=FORM_EXPIRED, token=changes)
        continued = self.continuation(request, continues) if continues else None
        if continues and continued is None:
            values.pop("continues")
            return self.forms.send_back(request, "plan", values, error=DIARY_READING_GONE, token=changes)
        typed = typed_plan(values)
        try:
            order = check_plan_form(typed, self.today(), WEB_LABELS)
            if continued is not None and order.schedule.request.start_minutes != continued.start_minutes:
                continued = None  # the clinician chose another start: the plan no longer starts where the diary left off
            made: MadePlan = await self.workers.run_job(PlanJob(self.spec, order, self.today(), continued))
        except FormProblems as exc:
            return self.forms.send_back(request, "plan", values, exc, token=changes)
        except HandoutError as exc:
            return self.forms.send_back(request, "plan", values, error=exc.message, token=changes)
        sid = self.sessions.session_id(request)
        self.clinicians[sid] = order.patient.clinician
        token = self.plans.put(HeldPlan(typed, order, made.pdf, made.summary, made.table, continues if continued is not None else ""), owner=sid)
        replaced = self.plans.get(changes, owner=sid) if changes else None
        if replaced is not None:
            replaced.sending.replaced_by = token  # its page now points here, so the uncorrected plan is not emailed by mistake
        # POST, then redirect, then GET: the URL carries a random token, never the patient's name.
        return RedirectResponse(f"/plans/{token}", status_code=303)


def kept_form_fields(path: str) -> tuple[str, tuple[str, ...], str]:
    """Which form a POST to `path` is, the fields kept when it arrives after the sign-in ended, and its plan's token."""
    parts = path.split("/")
    if len(parts) == 4 and parts[1] == "plans" and parts[3] == "email":
        return "email", ("email", "protection"), parts[2]
    return {"/plan": ("plan", PLAN_FIELDS, ""), "/leaflet": ("leaflet", LEAFLET_FIELDS, "")}.get(path, ("", (), ""))


def typed_plan(values: Mapping[str, str]) -> PlanForm:
    """The plan form's fields as typed, for the service's checks."""
    return PlanForm(
        patient=values.get("patient", ""),
        clinician=values.get("clinician", ""),
        start_minutes=values.get("start_minutes", ""),
        target_minutes=values.get("target_minutes", ""),
        walks_per_week=values.get("walks_per_week", ""),
        weeks=values.get("weeks", ""),
        start_date=values.get("start_date", ""),
        language=values.get("language") or "en",
        qr_url=values.get("qr_url", ""),
        large_print=values.get("large_print") == "on",
        with_article=values.get("with_article") == "on",
    )


def form_values(form: PlanForm) -> dict[str, str]:
    """A plan's form as its fields hold it, for "Change this plan": every value as it was typed."""
    values = {name: str(getattr(form, name)) for name in PLAN_FIELDS if name not in ("large_print", "with_article")}
    values.update({name: "on" for name in ("large_print", "with_article") if getattr(form, name)})
    return values


def local_path(value: str) -> str:
    """Where to go after signing in: a path on this site only (never another site's address), else the start page."""
    parts = urlsplit(value)
    if not value.startswith("/") or value.startswith("//") or "\\" in value or parts.scheme or parts.netloc or not value.isprintable():
        return "/"
    return "/" if parts.path == SIGN_IN_PATH else parts.path


def menu_section(path: str, draft_kind: str = "") -> str:
    """The menu entry a page belongs to, marked aria-current: a plan's pages are under "New plan", a list's under "Patient list"."""
    first = "/" + path.split("/")[1] if path != "/" else "/"
    return {"/plans": "/plan", "/forms": {"leaflet": "/leaflet", "list": "/lists", "list-run": "/lists", "diary": "/diary"}.get(draft_kind, "/plan")}.get(first, first)


def _paper(value: str) -> str:
    if value not in ("a4", "letter"):
        raise UsageError(f"Paper size must be A4 or US Letter, not {value[:20]!r}")
    return value


def _layout(value: str) -> str:
    if value not in ("standard", "trifold"):
        raise UsageError(f"Layout must be pages or tri-fold, not {value[:20]!r}")
    return value


def _pdf(pdf: bytes, name: str, inline: bool) -> Response:
    # The file name is fixed: a patient's name never reaches a file name or the browser's download list.
    disposition = "inline" if inline else "attachment"
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'{disposition}; filename="{name}"'})
