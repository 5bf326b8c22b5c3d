"""What every response and request goes through: security headers, the Host check, the session cookie and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp

SESSION_COOKIE = "handout_session"
CSRF_FIELD = "csrf"
# No inline script, nothing from another origin, never framed: pages hold patient data.
CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class Guard(BaseHTTPMiddleware):
    """Refuses requests for another host name (DNS rebinding) and adds the security headers to every response.

    Every response is `Cache-Control: no-store`: nearly every page holds a patient's data,
    and a page that does not costs nothing to fetch again.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...]) -> None:
        super().__init__(app)
        self.allowed_hosts = allowed_hosts

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        host = request.headers.get("host", "").lower()
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if self.allowed_hosts and name not in self.allowed_hosts:
            response: Response = PlainTextResponse("This address is not handout's: open it as http://127.0.0.1 instead.", status_code=400)
        else:
            response = await call_next(request)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response


class Sessions:
    """Random session ids in an HttpOnly, SameSite=Strict cookie, and a CSRF token derived from each with a per-server secret."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)  # new at every start: nothing survives a restart

    def session_id(self, request: Request) -> str:
        """The request's session id, or a new one (the caller sets it on the response with `keep`)."""
        sid = request.cookies.get(SESSION_COOKIE, "")
        return sid if len(sid) == 43 and sid.replace("-", "").replace("_", "").isalnum() else secrets.token_urlsafe(32)

    def keep(self, response: Response, sid: str) -> None:
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict", path="/")

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._secret, sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sid: str, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(sid), token)
