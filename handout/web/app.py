"""The web application: every route the front desk has, its guards, and its error pages (the one place routes are listed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from handout.errors import HandoutError
from handout.resources import templates_dir
from handout.service import Clinic
from handout.web.diary_pages import MAX_SCAN_BYTES, DiaryPages
from handout.web.list_pages import UPLOAD_DRAIN_LIMIT, ListPages
from handout.web.lists import MAX_UPLOAD_BYTES
from handout.web.pages import FrontDesk
from handout.web.plan_pages import PlanPages
from handout.web.security import LOOPBACK_NAMES, SIGN_IN_PATH, Guard, too_large_page
from handout.web.store import StoreFull

FORM_BODY_LIMIT = 64 * 1024  # every form but the patient list's: a plan's fields are a few hundred bytes


EXPIRY_CHECK_SECONDS = 60  # how late, at most, an expired plan or list is forgotten on a server nobody is using


async def forget_expired(desk: FrontDesk, diaries: DiaryPages) -> None:
    """Drop expired plans, lists and diary readings every minute, so patient data does not wait for the next visit to go."""
    while True:
        await asyncio.sleep(EXPIRY_CHECK_SECONDS)
        desk.plans.expire()
        desk.forms.drafts.expire()
        diaries.readings.expire()
        await run_in_threadpool(desk.lists.held.expire)  # removing a list's folder touches the disk


def create_app(
    clinic: Clinic,
    data_dir: Path,
    allowed_hosts: tuple[str, ...] = LOOPBACK_NAMES,
    desk: FrontDesk | None = None,
    password: str | None = None,
    start_workers: bool = False,
) -> Starlette:
    """The front desk's app for one clinic; `allowed_hosts` empty accepts any Host (a server bound beyond this computer).

    With `password` (HANDOUT_WEB_PASSWORD) every page needs a signed-in session. With `start_workers` the render
    workers start with the app (`handout serve`); otherwise with the first document (tests that never render start none).
    """
    desk = desk or FrontDesk(clinic, data_dir, password=password)
    lists = ListPages(desk)
    plans = PlanPages(desk)
    diaries = DiaryPages(desk)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        desk.lists.open()
        forgetting = asyncio.create_task(forget_expired(desk, diaries))
        starting = asyncio.create_task(desk.workers.start()) if start_workers else None  # pages are served while they start
        try:
            yield
        finally:
            forgetting.cancel()
            if starting is not None:
                starting.cancel()
            desk.close()  # held plans and lists vanish with the server
            diaries.readings.clear()

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        messages = {404: "There is no such page here.", 405: "That request cannot be handled here."}
        return desk.page(request, "error.html.j2", status, message=messages.get(status, "That request cannot be handled here."))

    async def user_error(request: Request, exc: Exception) -> Response:
        return desk.page(request, "error.html.j2", 422, message=exc.message if isinstance(exc, HandoutError) else "")

    async def full(request: Request, exc: Exception) -> Response:
        # Nothing more is held until older plans go: the page says so, and how long (Retry-After for the browser).
        response = desk.page(request, "error.html.j2", 503, message=exc.message if isinstance(exc, HandoutError) else "")
        response.headers["Retry-After"] = "300"
        return response

    def too_large(path: str) -> str:
        """The 413 page for the form posted to `path`, naming that form's own limit."""
        if path == "/lists":
            return too_large_page("The patient list form", f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB (the CSV file and the form's other fields)")
        if path == "/diary":
            return too_large_page("The diary form", f"{MAX_SCAN_BYTES // (1024 * 1024)} MB of scans")
        form = {"/plan": "The plan form", "/leaflet": "The leaflet form", SIGN_IN_PATH: "The sign-in form"}.get(path, "This form")
        if path.startswith("/plans/") and path.endswith("/email"):
            form = "The email form"
        return too_large_page(form, f"{FORM_BODY_LIMIT // 1024} KB (a plan's fields are a few hundred bytes)")

    routes = [
        Route("/", desk.home),
        Route(SIGN_IN_PATH, desk.sign_in_form, methods=["GET"]),
        Route(SIGN_IN_PATH, desk.sign_in, methods=["POST"]),
        Route("/sign-out", desk.sign_out, methods=["POST"]),
        Route("/clinic", desk.clinic_page, methods=["GET"]),
        Route("/clinic/logo", desk.logo, methods=["GET"]),
        Route("/clinic/colours.css", desk.colours, methods=["GET"]),
        Route("/leaflet", desk.leaflet_form, methods=["GET"]),
        Route("/leaflet", desk.leaflet, methods=["POST"]),
        Route("/plan", desk.plan_form, methods=["GET"]),
        Route("/plan", desk.plan, methods=["POST"]),
        Route("/forms/{token}", desk.forms.show, methods=["GET"]),
        Route("/plans/{token}", plans.preview, methods=["GET"]),
        Route("/plans/{token}/change", plans.change, methods=["GET"]),
        Route("/plans/{token}/pdf", plans.pdf, methods=["POST"]),
        Route("/plans/{token}/email", plans.email, methods=["POST"]),
        Route("/plans/{token}/sent", plans.sent, methods=["GET"]),
        Route("/plans/{token}/state", plans.state, methods=["GET"]),
        Route("/lists", lists.upload_form, methods=["GET"]),
        Route("/lists", lists.upload, methods=["POST"]),
        Route("/lists/{token}", lists.show, methods=["GET"]),
        Route("/lists/{token}/run", lists.run, methods=["POST"]),
        Route("/lists/{token}/progress", lists.progress, methods=["GET"]),
        Route("/lists/{token}/zip", lists.download, methods=["POST"]),
        Route("/diary", diaries.upload_form, methods=["GET"]),
        Route("/diary", diaries.upload, methods=["POST"]),
        Route("/diary/{token}", diaries.show, methods=["GET"]),
        Route("/diary/{token}/report.pdf", diaries.report, methods=["GET"]),
        Route("/diary/{token}/diary.json", diaries.record, methods=["GET"]),
        Route("/diary/{token}/next-plan", diaries.next_plan, methods=["GET"]),
        Mount("/static", StaticFiles(directory=templates_dir() / "web" / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(
                Guard,
                allowed_hosts=allowed_hosts,
                sessions=desk.sessions,
                body_limit=FORM_BODY_LIMIT,
                body_limits={"/lists": UPLOAD_DRAIN_LIMIT, "/diary": MAX_SCAN_BYTES + 1024 * 1024},
                too_large=too_large,
                keep_form=desk.forms.keep_unsigned,
            )
        ],
        # Anything else (a bug) becomes a plain "something went wrong" page in Guard, logged by its type only.
        exception_handlers={HTTPException: not_found, HandoutError: user_error, StoreFull: full},
        lifespan=lifespan,
    )
