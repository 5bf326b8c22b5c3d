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
from handout.web.list_pages import UPLOAD_DRAIN_LIMIT, ListPages
from handout.web.lists import MAX_UPLOAD_BYTES
from handout.web.pages import FrontDesk
from handout.web.security import LOOPBACK_NAMES, SIGN_IN_PATH, Guard, too_large_page
from handout.web.store import StoreFull

FORM_BODY_LIMIT = 64 * 1024  # every form but the patient list's: a plan's fields are a few hundred bytes


EXPIRY_CHECK_SECONDS = 60  # how late, at most, an expired plan or list is forgotten on a server nobody is using


async def forget_expired(desk: FrontDesk) -> None:
    """Drop expired plans and lists every minute, so patient data does not wait for the next visit to go."""
    while True:
        await asyncio.sleep(EXPIRY_CHECK_SECONDS)
        desk.plans.expire()
        await run_in_threadpool(desk.lists.held.expire)  # removing a list's folder touches the disk


def create_app(
    clinic: Clinic, data_dir: Path, allowed_hosts: tuple[str, ...] = LOOPBACK_NAMES, desk: FrontDesk | None = None, password: str | None = None
) -> Starlette:
    """The front desk's app for one clinic; `allowed_hosts` empty accepts any Host (a server bound beyond this computer).

    With `password` (HANDOUT_WEB_PASSWORD) every page needs a signed-in session.
    """
    desk = desk or FrontDesk(clinic, data_dir, password=password)
    lists = ListPages(desk)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        desk.lists.open()
        forgetting = asyncio.create_task(forget_expired(desk))
        try:
            yield
        finally:
            forgetting.cancel()
            desk.close()  # held plans and lists vanish with the server

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
        Route("/plans/{token}", desk.preview, methods=["GET"]),
        Route("/plans/{token}/pdf", desk.plan_pdf, methods=["POST"]),
        Route("/plans/{token}/email", desk.email, methods=["POST"]),
        Route("/lists", lists.upload_form, methods=["GET"]),
        Route("/lists", lists.upload, methods=["POST"]),
        Route("/lists/{token}", lists.show, methods=["GET"]),
        Route("/lists/{token}/run", lists.run, methods=["POST"]),
        Route("/lists/{token}/progress", lists.progress, methods=["GET"]),
        Route("/lists/{token}/zip", lists.download, methods=["POST"]),
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
                body_limits={"/lists": UPLOAD_DRAIN_LIMIT},
                too_large=too_large_page(MAX_UPLOAD_BYTES // (1024 * 1024)),
            )
        ],
        # Anything else (a bug) becomes a plain "something went wrong" page in Guard, logged by its type only.
        exception_handlers={HTTPException: not_found, HandoutError: user_error, StoreFull: full},
        lifespan=lifespan,
    )
