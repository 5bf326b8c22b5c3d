"""The patient-list pages: upload a CSV, see every row's problem before anything is made, follow the run, download its ZIP."""

from __future__ import annotations

import os
from collections.abc import Mapping

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.types import Message, Receive

from handout.checks import text_encoding
from handout.errors import HandoutError
from handout.i18n import checked_language
from handout.report import why_lines
from handout.service import FieldProblem, FormProblems, check_field
from handout.web.forms import FORM_EXPIRED, Draft
from handout.web.list_results import ZIP_NAME, in_page_words, outcomes, row_label
from handout.web.lists import LIST_LABEL, MAX_ROWS, MAX_UPLOAD_BYTES, TOO_LARGE, ListJob, ListReading, RunState
from handout.web.pages import FrontDesk
from handout.web.sessions import CSRF_FIELD

LIST_GONE = "This patient list is no longer here: lists are kept for 30 minutes. Upload it again (plans already emailed are not sent twice)."
# The upload form's own fields, as labelled on the page: a problem reads "<label> <problem>", as on the plan page.
LABELS = {"patients_csv": LIST_LABEL, "encoding": "Text encoding", "language": "Language"}
UPLOAD_BODY_LIMIT = MAX_UPLOAD_BYTES + 64 * 1024  # the file, the form's other fields and the multipart framing
# A larger upload is still read to its end (and dropped), so the browser shows this page saying why
# instead of a reset connection; beyond this, Guard refuses it with its own short page.
UPLOAD_DRAIN_LIMIT = 32 * 1024 * 1024


class ListPages:
    """Thin handlers over handout.web.lists: read the form, call it, fill a template."""

    def __init__(self, desk: FrontDesk) -> None:
        self.desk = desk
        self.lists = desk.lists
        desk.forms.pages.update({"list": self.upload_draft, "list-run": self.run_draft})

    def upload_page(self, request: Request, status: int = 200, values: Mapping[str, str] | None = None, problems: FormProblems | None = None, notice: str | None = None) -> Response:
        return self.desk.page(
            request,
            "lists.html.j2",
            status,
            values=values or {"language": "en"},
            problems=problems,
            notice=notice,
            max_megabytes=MAX_UPLOAD_BYTES // (1024 * 1024),
            max_rows=f"{MAX_ROWS:,}",
        )

    def upload_draft(self, request: Request, draft: Draft, status: int) -> Response:
        return self.upload_page(request, status, draft.values, draft.problems, draft.notice)

    def run_draft(self, request: Request, draft: Draft, status: int) -> Response:
        job = self.lists.get(draft.token, self.desk.sessions.session_id(request))
        if job is None:
            return self.desk.gone(request, LIST_GONE)
        return self.list_page(request, draft.token, job, status, draft.error, draft.notice)

    async def upload_form(self, request: Request) -> Response:
        return self.upload_page(request)

    async def upload(self, request: Request) -> Response:
        body = await _bounded_body(request)
        if body is None:
            return self.desk.forms.send_back(request, "list", {}, FormProblems([FieldProblem("patients_csv", TOO_LARGE)]))
        try:
            async with Request(request.scope, _replay(body)).form(max_files=1, max_fields=10) as form:
                values = {key: value for key, value in form.items() if isinstance(value, str) and key != CSRF_FIELD}
                if not self.desk.token_ok(request, form):
                    # The file cannot be kept (it is not read): the other choices are, with the file to choose again.
                    return self.desk.forms.send_back(request, "list", values, notice=FORM_EXPIRED + " Choose the file again.")
                upload = form.get("patients_csv")
                chosen = isinstance(upload, UploadFile) and bool(upload.filename)
                data = await upload.read(MAX_UPLOAD_BYTES + 1) if isinstance(upload, UploadFile) else b""
        except (MultiPartException, HTTPException):  # Starlette reports a malformed multipart body as a 400
            return self.desk.forms.send_back(request, "list", {}, FormProblems([FieldProblem("patients_csv", f"{LIST_LABEL} could not be read from the form: choose the file again")]))
        problems: list[FieldProblem] = []
        if not chosen:
            problems.append(FieldProblem("patients_csv", f"{LIST_LABEL}: choose the CSV file your practice system exported"))
        encoding = check_field(problems, "encoding", text_encoding, LABELS["encoding"], values.get("encoding", "").strip() or None)
        language = check_field(problems, "language", checked_language, LABELS["language"], values.get("language") or "en")
        if not problems:
            assert language is not None
            reading = ListReading(encoding, language, values.get("large_print") == "on", values.get("encrypt") == "on")
            try:
                list_token = await run_in_threadpool(self.lists.check, data, reading, self.desk.sessions.session_id(request))  # a long list takes a second to check
            except HandoutError as exc:
                problems.append(FieldProblem("patients_csv", exc.message))
        if problems:
            return self.desk.forms.send_back(request, "list", values, FormProblems(problems))
        # POST, then redirect, then GET: the list's address is a random token.
        return RedirectResponse(f"/lists/{list_token}", status_code=303)

    async def show(self, request: Request) -> Response:
        """The list as it stands: its row report (nothing made yet), its progress, or what the run did."""
        token = request.path_params["token"]
        job = self.lists.get(token, self.desk.sessions.session_id(request))
        if job is None:
            return self.desk.gone(request, LIST_GONE)
        return self.list_page(request, token, job)

    def list_page(self, request: Request, token: str, job: ListJob, status: int = 200, error: str | None = None, notice: str | None = None) -> Response:
        view = job.snapshot()  # templates are given plain values, never the job itself (its folder, its methods)
        if view.state is RunState.CHECKED:
            smtp = bool(os.environ.get("HANDOUT_SMTP_HOST"))
            row_problems = [(p.row, p.patient_id, in_page_words(f"{p.column} {p.reason}")) for p in job.patients.problems]
            return self.desk.page(
                request,
                "list-checked.html.j2",
                status,
                token=token,
                job=view,
                row_problems=row_problems,
                ignored=ignored_columns(job.patients.ignored_columns),
                smtp=smtp,
                outbox=str(self.lists.outbox),
                error=error,
                notice=notice,
            )
        if view.state is RunState.RUNNING:
            return self.desk.page(request, "list-running.html.j2", status, token=token, job=view)
        result = job.result
        return self.desk.page(
            request,
            "list-done.html.j2",
            status,
            token=token,
            job=view,
            outcomes=outcomes(result, job.sending, patients=job.patients) if result else [],
            failed=[(row_label(result, row), in_page_words(reason)) for row, reason in why_lines(result)] if result else [],  # maybe-sent ones too
            outbox=str(self.lists.outbox),
        )

    async def run(self, request: Request) -> Response:
        form = await self.desk.form_fields(request)
        token = request.path_params["token"]
        job = self.lists.get(token, self.desk.sessions.session_id(request))
        if job is None:
            return self.desk.gone(request, LIST_GONE)
        if not self.desk.token_ok(request, form):
            return self.desk.forms.send_back(request, "list-run", {}, notice=FORM_EXPIRED, token=token)
        try:
            self.lists.start(token, job, form.get("delivery") == "send", os.environ)
        except HandoutError as exc:
            return self.desk.forms.send_back(request, "list-run", {}, error=exc.message, token=token)
        return RedirectResponse(f"/lists/{token}", status_code=303)

    async def progress(self, request: Request) -> Response:
        """How far the run is, for the progress page's optional script: counts only."""
        job = self.lists.get(request.path_params["token"], self.desk.sessions.session_id(request))
        if job is None:
            return JSONResponse({"state": "gone"}, status_code=404)
        return JSONResponse({"state": job.state.value, "done": job.done, "total": job.total})

    async def download(self, request: Request) -> Response:
        form = await self.desk.checked_form(request)
        if form is None:
            return self.desk.refused(request)
        job = self.lists.get(request.path_params["token"], self.desk.sessions.session_id(request))
        if job is None or not job.zip_path.is_file():
            return self.desk.gone(request, LIST_GONE)
        # The file name is fixed: no patient's name reaches the browser's download list.
        return FileResponse(job.zip_path, media_type="application/zip", filename=ZIP_NAME)


def ignored_columns(columns: tuple[str, ...], shown: int = 12, longest: int = 40) -> str:
    """The columns handout does not use, as the page lists them: a few, each cut short (an export may have hundreds)."""
    names = [name if len(name) <= longest else name[: longest - 1] + "…" for name in columns[:shown]]
    more = len(columns) - shown
    return ", ".join(names) + (f" and {more:,} more" if more > 0 else "")


async def _bounded_body(request: Request) -> bytes | None:
    """The upload's body, or None when it is over the limit (read to its end all the same, and dropped)."""
    body = bytearray()
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= UPLOAD_BODY_LIMIT:
            body += chunk
    return bytes(body) if size <= UPLOAD_BODY_LIMIT else None


def _replay(body: bytes) -> Receive:
    """An ASGI `receive` handing over a body already read, for Starlette's form parser."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
