"""A made plan's pages: its preview (whose plan, as printed), "Change this plan", its PDF, emailing it, and where the email went."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from handout.errors import HandoutError
from handout.outbox import BATCH_BUSY
from handout.service import FieldProblem, FormProblems, Mailer, PlanOrder, check_plan_form
from handout.web.forms import FORM_EXPIRED, Draft
from handout.web.pages import PLAN_GONE, WEB_LABELS, FrontDesk, HeldPlan, _pdf, form_values
from handout.web.sending import Attempt, SendState, new_password

OUTBOX_BUSY = "A patient list is being written to the outbox just now: email this plan when the list has finished (the plan stays here for 30 minutes)."
SOMETHING_WENT_WRONG = "something went wrong while emailing it; nothing was sent"
# How long the email form's answer waits for the mail server before saying "sending" (it goes on in its thread).
SEND_GRACE_SECONDS = 3.0
log = logging.getLogger("handout.web")


class PlanPages:
    """Thin handlers for one made plan, held under its token; the sends run in the desk's sending threads."""

    def __init__(self, desk: FrontDesk) -> None:
        self.desk = desk
        self._sends: set[asyncio.Task[None]] = set()  # kept, so a send in progress is not collected mid-way
        desk.forms.pages["email"] = self.email_draft

    def held(self, request: Request) -> tuple[str, HeldPlan | None]:
        token = request.path_params["token"]
        return token, self.desk.plans.get(token, owner=self.desk.sessions.session_id(request))

    # -- the preview -----------------------------------------------------------

    async def preview(self, request: Request) -> Response:
        token, held = self.held(request)
        if held is None:
            return self.desk.gone(request, PLAN_GONE)
        return self.preview_page(request, token, held)

    def preview_page(self, request: Request, token: str, held: HeldPlan, status: int = 200, draft: Draft | None = None) -> Response:
        attempts = held.sending.attempts
        return self.desk.page(
            request,
            "preview.html.j2",
            status,
            token=token,
            summary=held.summary,
            table=[list(row) for row in held.table],
            smtp=bool(os.environ.get("HANDOUT_SMTP_HOST")),
            replaced_by=held.sending.replaced_by,
            latest=attempts[-1] if attempts else None,
            after=len(attempts),
            values=draft.values if draft else {},
            problems=draft.problems if draft else None,
            error=draft.error if draft else None,
            notice=draft.notice if draft else None,
            patient=held.order.patient.name,  # whose plan it is, on the pages that show it (they are no-store)
            clinician=held.order.patient.clinician,
        )

    def email_draft(self, request: Request, draft: Draft, status: int) -> Response:
        held = self.desk.plans.get(draft.token, owner=self.desk.sessions.session_id(request))
        if held is None:
            return self.desk.gone(request, PLAN_GONE)
        return self.preview_page(request, draft.token, held, status, draft)

    async def change(self, request: Request) -> Response:
        """The plan form again with every value as typed; the plan made from it replaces this one."""
        token, held = self.held(request)
        if held is None:
            return self.desk.gone(request, PLAN_GONE)
        values = form_values(held.form) | ({"continues": held.continues} if held.continues else {})
        return self.desk.page(request, "plan.html.j2", values=values, changes=token)

    async def pdf(self, request: Request) -> Response:
        form = await self.desk.checked_form(request)
        if form is None:
            return self.desk.refused(request)
        _, held = self.held(request)
        if held is None:
            return self.desk.gone(request, PLAN_GONE)
        return _pdf(held.pdf, "walking-plan.pdf", inline=form.get("action") == "print")

    # -- emailing ------------------------------------------------------------------

    async def email(self, request: Request) -> Response:
        """Start emailing the plan and redirect to where it went; a form from before the last attempt (a re-post) sends nothing."""
        form = await self.desk.form_fields(request)
        token, held = self.held(request)
        if held is None:
            return self.desk.gone(request, PLAN_GONE)
        values = {"email": form.get("email", ""), "protection": form.get("protection", "")}
        if not self.desk.token_ok(request, form):
            return self.desk.forms.send_back(request, "email", values, notice=FORM_EXPIRED, token=token)
        if held.sending.replaced_by:
            return RedirectResponse(f"/plans/{token}", status_code=303)  # its page says it was changed, and where the new one is
        after = _number(form.get("after", "0"))
        last = held.sending.last_order
        if form.get("same") == "yes" and last is not None:
            order: PlanOrder = last  # "Send again": the same address, the same password (the patient has been told it)
            latest = held.sending.latest
            generated = latest.password if latest is not None else ""
        else:
            try:
                order, generated = self.checked_order(held, form)
            except FormProblems as exc:
                return self.desk.forms.send_back(request, "email", values, exc, token=token)
        try:
            mailer = self.desk.clinic.mailer(os.environ, None if os.environ.get("HANDOUT_SMTP_HOST") else self.desk.data_dir / "outbox")
        except HandoutError as exc:
            return self.desk.forms.send_back(request, "email", values, error=exc.message, token=token)
        attempt = held.sending.begin(order, dt.datetime.now().strftime("%H:%M"), generated or "", after)
        if attempt is not None:
            task = asyncio.create_task(self.send(held, attempt, mailer, order))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
            # A quick send shows its result at once; a slow one shows "sending" while it goes on.
            await asyncio.wait({task}, timeout=SEND_GRACE_SECONDS)
        return RedirectResponse(f"/plans/{token}/sent", status_code=303)

    def checked_order(self, held: HeldPlan, form: Mapping[str, str]) -> tuple[PlanOrder, str]:
        """The plan's order with how it is to be sent, by the plan rule; and the password made for it, if one was."""
        locked = form.get("protection") == "password"
        password = form.get("password", "") if locked else ""
        generated = new_password() if locked and not password else ""
        typed = dataclasses.replace(
            held.form, email=form.get("email", ""), consent=form.get("protection") == "consent", encrypt=locked, password=password or generated
        )
        try:
            order = check_plan_form(typed, self.desk.today(), WEB_LABELS)
        except FormProblems as exc:
            raise FormProblems([_on_the_page(p) for p in exc.problems]) from None
        if not order.email:
            raise FormProblems([FieldProblem("email", f"{WEB_LABELS['email']} must not be empty")])
        return order, generated

    async def send(self, held: HeldPlan, attempt: Attempt, mailer: Mailer, order: PlanOrder) -> None:
        """Lock and send (or save) the plan as previewed, in the desk's threads, and record how it ended."""
        clinic = self.desk.clinic
        try:
            pdf = await self.desk.workers.render(clinic.locked, held.pdf, order)
            saved = await self.desk.workers.send(clinic.deliver_plan, mailer, order, pdf)
        except HandoutError as exc:
            message = OUTBOX_BUSY if exc.message.endswith(BATCH_BUSY) else exc.message  # the batch's words name its options
            held.sending.end(attempt.number, SendState.FAILED, message=message)
        except Exception as exc:  # a bug: the page says so; the log names only its type (its message may quote the address)
            log.error("unexpected %s while emailing a plan", type(exc).__name__)
            held.sending.end(attempt.number, SendState.FAILED, message=SOMETHING_WENT_WRONG)
        else:
            held.sending.end(attempt.number, SendState.EMAILED if saved is None else SendState.SAVED, outbox_file=saved.name if saved else "")

    async def sent(self, request: Request) -> Response:
        """Where the plan's email went (or is going): the same page however often it is reloaded."""
        token, held = self.held(request)
        if held is None:
            return self.desk.gone(request, PLAN_GONE)
        attempts = held.sending.attempts
        if not attempts:
            return RedirectResponse(f"/plans/{token}", status_code=303)
        return self.desk.page(
            request,
            "sent.html.j2",
            token=token,
            latest=attempts[-1],
            earlier=list(attempts[:-1]),
            after=len(attempts),
            outbox=str(self.desk.data_dir / "outbox"),
            replaced_by=held.sending.replaced_by,
            patient=held.order.patient.name,  # whose plan it is, on the pages that show it (they are no-store)
            clinician=held.order.patient.clinician,
        )

    async def state(self, request: Request) -> Response:
        """Whether the plan's email is still being sent, for the result page's optional script: a state only."""
        _, held = self.held(request)
        latest = held.sending.latest if held is not None else None
        if latest is None:
            return JSONResponse({"state": "gone"}, status_code=404)
        return JSONResponse({"state": latest.state})


def _on_the_page(problem: FieldProblem) -> FieldProblem:
    """The plan rule's problems as the email form shows them: the consent rule by the radio buttons it is about."""
    if problem.field == "email" and WEB_LABELS["consent"] in problem.message:
        return FieldProblem("protection", "Choose how the plan is protected: the patient agreed to unencrypted email, or lock the PDF with a password")
    return problem


def _number(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 6 else -1
