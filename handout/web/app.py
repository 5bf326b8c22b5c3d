"""The web application: every route the front desk has, its guards, and its error pages (the one place routes are listed)."""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from handout.errors import HandoutError
from handout.resources import templates_dir
from handout.service import Clinic
from handout.web.pages import FrontDesk
from handout.web.security import LOOPBACK_NAMES, Guard

log = logging.getLogger("handout.web")


def create_app(clinic: Clinic, data_dir: Path, allowed_hosts: tuple[str, ...] = LOOPBACK_NAMES, desk: FrontDesk | None = None) -> Starlette:
    """The front desk's app for one clinic; `allowed_hosts` empty accepts any Host (a server bound beyond this computer)."""
    desk = desk or FrontDesk(clinic, data_dir)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return desk.page(request, "error.html.j2", status, message="There is no such page here." if status == 404 else "That request cannot be handled here.")

    async def user_error(request: Request, exc: Exception) -> Response:
        return desk.page(request, "error.html.j2", 422, message=exc.message if isinstance(exc, HandoutError) else "")

    async def server_error(request: Request, exc: Exception) -> Response:
        # Only the type: a message may quote what was typed, and that may be a patient's.
        log.error("unexpected %s while handling %s %s", type(exc).__name__, request.method, request.url.path)
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Something went wrong</title></head>"
            "<body><main><h1>Something went wrong</h1><p>Nothing was saved. Go back and try again.</p></main></body></html>",
            status_code=500,
        )

    routes = [
        Route("/", desk.home),
        Route("/clinic", desk.clinic_page, methods=["GET"]),
        Route("/clinic/logo", desk.logo, methods=["GET"]),
        Route("/leaflet", desk.leaflet_form, methods=["GET"]),
        Route("/leaflet", desk.leaflet, methods=["POST"]),
        Route("/plan", desk.plan_form, methods=["GET"]),
        Route("/plan", desk.plan, methods=["POST"]),
        Route("/plans/{token}", desk.preview, methods=["GET"]),
        Route("/plans/{token}/pdf", desk.plan_pdf, methods=["POST"]),
        Route("/plans/{token}/email", desk.email, methods=["POST"]),
        Mount("/static", StaticFiles(directory=templates_dir() / "web" / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, allowed_hosts=allowed_hosts)],
        exception_handlers={HTTPException: not_found, HandoutError: user_error, Exception: server_error},
    )
