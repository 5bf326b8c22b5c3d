"""What every response and request goes through: security headers, the Host check, sign-in, the session cookie, CSRF tokens and the access log."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import quote

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "handout_session"
CSRF_FIELD = "csrf"
# No inline script, nothing from another origin, never framed: pages hold patient data.
CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SIGN_IN_PATH = "/sign-in"
WRONG_PASSWORD_DELAY_SECONDS = 1.0  # with attempts taken one at a time: at most one guess a second
MAX_PARALLEL_ATTEMPTS = 4  # wrong guesses in all, at a second each, from however many addresses
MAX_REMEMBERED_CLIENTS = 256
SIGNED_IN_SECONDS = 12 * 60 * 60  # a clinic's working day; then the password is asked again

def plain_page(title: str, message: str, home: str = "/") -> str:
    """A page Guard answers with itself: plain HTML in the site's style with a link home, not a template
    (it must show even when a brand's templates are what failed, and before any page handler runs)."""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'><title>{title}</title>"
        "<link rel='stylesheet' href='/static/handout.css'></head><body><main id='main'>"
        f"<h1>{title}</h1><p>{message}</p><p><a href='{home}'>Back to the front desk</a></p></main></body></html>"
    )


SOMETHING_WENT_WRONG = plain_page("Something went wrong", "Nothing was saved. Go back and try again.")


def too_large_page(form: str, limit: str) -> str:
    """The page for a request over its limit, naming the form that was sent and its limit."""
    return plain_page("Too much was sent", f"{form} takes at most {limit}, and more than that was sent. Nothing was saved.")


class _BodyTooLarge(Exception):
    """A request without a Content-Length sent more than its limit."""


def _content_length(request: Request) -> int | None:
    """The size a request says its body has, if it says (a chunked body does not)."""
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


log = logging.getLogger("handout.web")
access_log = logging.getLogger("handout.web.access")


def route_path(request: Request) -> str:
    """The path as the app's route names it (`/plans/{token}`): a log line never holds a token, a query or what someone typed."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "(no such page)"
    return "/static/…" if path == "/static" else str(path)


class Sessions:
    """Random session ids in an HttpOnly, SameSite=Strict cookie, a CSRF token derived from each, and who has signed in.

    With a password (HANDOUT_WEB_PASSWORD) every page but the sign-in page needs a
    session that signed in; a session id is replaced at sign-in, so one handed out
    before it (fixation) is worth nothing after.
    """

    def __init__(
        self, password: str | None = None, wrong_password_delay: float = WRONG_PASSWORD_DELAY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._secret = secrets.token_bytes(32)  # new at every start: nothing survives a restart
        # Compared as digests: the comparison takes the same time whatever the length typed.
        self._password = hashlib.sha256(password.encode()).digest() if password else None
        self._signed_in: dict[str, float] = {}  # session id → when its sign-in ends
        self._clock = clock
        # One attempt at a time from each computer, so the pause limits guessing in parallel too, while
        # someone guessing from one computer cannot keep staff at another waiting behind their queue.
        self._attempts: dict[str, asyncio.Lock] = {}
        # And at most a few at once in all, so guessing from many addresses is slow too.
        self._all_attempts = asyncio.Semaphore(MAX_PARALLEL_ATTEMPTS)
        self.wrong_password_delay = wrong_password_delay

    @property
    def sign_in_required(self) -> bool:
        return self._password is not None

    def session_id(self, request: Request) -> str:
        """The request's session id, or a new one (the caller sets it on the response with `keep`)."""
        sid = request.cookies.get(SESSION_COOKIE, "")
        return sid if len(sid) == 43 and sid.replace("-", "").replace("_", "").isalnum() else secrets.token_urlsafe(32)

    def keep(self, response: Response, sid: str, request: Request) -> None:
        # Secure when the page came over HTTPS (a TLS proxy in front): the cookie then never travels unencrypted.
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict", path="/", secure=request.url.scheme == "https")

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._secret, sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sid: str, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(sid), token)

    def signed_in(self, sid: str) -> bool:
        if self._password is None:
            return True
        ends = self._signed_in.get(sid)
        if ends is not None and ends <= self._clock():
            self._signed_in.pop(sid, None)
            return False
        return ends is not None

    async def sign_in(self, password: str, client: str) -> str | None:
        """A new signed-in session id when the password is right; None (after a pause) when it is not. `client`: the computer's address."""
        assert self._password is not None
        if len(self._attempts) > MAX_REMEMBERED_CLIENTS:
            # Forget computers with no attempt under way, so the table does not grow with every address seen.
            self._attempts = {address: lock for address, lock in self._attempts.items() if lock.locked()}
        async with self._attempts.setdefault(client, asyncio.Lock()), self._all_attempts:
            if hmac.compare_digest(hashlib.sha256(password.encode()).digest(), self._password):
                sid = secrets.token_urlsafe(32)
                now = self._clock()
                # Ended sign-ins go here, so the table does not grow with every sign-in of a long-running server.
                for ended in [s for s, ends in self._signed_in.items() if ends <= now]:
                    del self._signed_in[ended]
                self._signed_in[sid] = now + SIGNED_IN_SECONDS
                return sid
            await asyncio.sleep(self.wrong_password_delay)
            return None

    def sign_out(self, sid: str) -> None:
        self._signed_in.pop(sid, None)


class Guard:
    """Refuses requests for another host name (DNS rebinding), sends unsigned-in visitors to sign in, adds the
    security headers to every response, logs each request's method, route and status, and turns any unexpected
    error into a plain page (the log names only the error's type: its message may quote a patient's details).

    Every response is `Cache-Control: no-store`: nearly every page holds a patient's data,
    and a page that does not costs nothing to fetch again.
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: tuple[str, ...],
        sessions: Sessions,
        body_limit: int,
        body_limits: Mapping[str, int],
        too_large: Callable[[str], str],
        keep_form: Callable[[Request], Awaitable[Response | None]] | None = None,
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.sessions = sessions
        # How much a request may send, by path (`body_limit` for the rest): refused with the page
        # `too_large` gives for the path (naming that form's limit), before or while it is read.
        self.body_limit = body_limit
        self.body_limits = body_limits
        self.too_large = too_large
        # A form posted after the sign-in ended: kept by the pages (what was typed, never in a URL), which answer
        # with the way to sign in and come back to it; None when it is not a form they keep.
        self.keep_form = keep_form

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        status = 0

        async def send_secured(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cache-Control"] = "no-store"
            await send(message)

        limit = self.body_limits.get(request.url.path, self.body_limit)
        host = request.headers.get("host", "").lower()
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        # The stylesheet is served to any host name (it holds nothing), so the refusal below has the site's look.
        if self.allowed_hosts and name not in self.allowed_hosts and not request.url.path.startswith("/static/"):
            route = "(another host name)"
            port = (scope.get("server") or ("", 8400))[1]
            home = f"http://127.0.0.1:{port}/"
            page = plain_page("Open handout at its own address", f"This address is not handout's: open it as <a href='{home}'>{home}</a> instead.", home)
            await HTMLResponse(page, status_code=400)(scope, receive, send_secured)
        elif not self._open_to_all(request.url.path) and not self.sessions.signed_in(self.sessions.session_id(request)):
            route = "(before sign-in)"
            # Back to the page asked for after signing in: its path only (never a query, which could hold what was typed).
            wanted = request.url.path if request.method == "GET" and request.url.path != "/" else ""
            kept = None
            if request.method == "POST" and self.keep_form is not None and (length := _content_length(request)) is not None and length <= limit:
                kept = await self.keep_form(Request(scope, receive))
            await (kept or RedirectResponse(SIGN_IN_PATH + (f"?next={quote(wanted, safe='/')}" if wanted else ""), status_code=303))(scope, receive, send_secured)
        elif (length := _content_length(request)) is not None and length > limit:
            route = "(over its size limit)"  # refused before routing: the route is not known yet
            await HTMLResponse(self.too_large(request.url.path), status_code=413)(scope, receive, send_secured)
        else:
            received = 0

            async def receive_limited() -> Message:
                nonlocal received
                message = await receive()
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
                return message

            try:
                await self.app(scope, receive_limited, send_secured)
            except _BodyTooLarge:
                if status == 0:
                    await HTMLResponse(self.too_large(request.url.path), status_code=413)(scope, receive, send_secured)
            except Exception as exc:
                log.error("unexpected %s while handling %s %s", type(exc).__name__, request.method, route_path(request))
                if status == 0:  # nothing sent yet: the page can still say so
                    await HTMLResponse(SOMETHING_WENT_WRONG, status_code=500)(scope, receive, send_secured)
            route = route_path(request)
        access_log.info("%s %s %s", request.method, route, status)

    @staticmethod
    def _open_to_all(path: str) -> bool:
        # The sign-in page and its stylesheets; everything else holds or makes patient data.
        return path in (SIGN_IN_PATH, "/clinic/colours.css") or path.startswith("/static/")
