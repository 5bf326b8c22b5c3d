"""What every request and response goes through: the Host and same-site checks, sign-in, body limits, security headers, relative redirects and the access log."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handout.web.sessions import Sessions

# No inline script, nothing from another origin, never framed: pages hold patient data.
CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
# The page uses none of the browser's powerful features, so a brand's template or an injected script cannot either.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), magnetometer=(), "
    "microphone=(), midi=(), payment=(), publickey-credentials-get=(), serial=(), usb=()"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": PERMISSIONS_POLICY,
    # A page another site opened cannot reach back into this one (window.opener), nor this one into it.
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # a link out never tells another site a plan's address
    "Cache-Control": "no-store",
}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")  # and every other loopback address (is_loopback)
SIGN_IN_PATH = "/sign-in"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Plain HTML, not a template: it must show even when a brand's templates are what failed.
SOMETHING_WENT_WRONG = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Something went wrong</title></head>"
    "<body><main><h1>Something went wrong</h1><p>Nothing was saved. Go back and try again.</p></main></body></html>"
)


def too_large_page(upload_megabytes: int) -> str:
    """The page for a request over its limit. Plain HTML, as Guard answers before any page handler runs."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Too much was sent</title>"
        "<link rel='stylesheet' href='/static/handout.css'></head><body><main id='main'><h1>Too much was sent</h1>"
        f"<p>That form sent more than this page takes (a patient list may be at most {upload_megabytes} MB). Nothing was saved.</p>"
        "<p><a href='/'>Back to the start</a></p></main></body></html>"
    )


CROSS_SITE_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Sent from another site</title>"
    "<link rel='stylesheet' href='/static/handout.css'></head><body><main id='main'><h1>Sent from another site</h1>"
    "<p>That form was sent from another site or page, not from handout's own, so nothing was done.</p>"
    "<p><a href='/'>Back to the start</a></p></main></body></html>"
)


def is_loopback(name: str) -> bool:
    """Whether a host name or address is this computer's own: `localhost`, every 127.x address and ::1 (also written [::1] or ::ffff:127.x)."""
    name = name.strip().lower().removeprefix("[").removesuffix("]")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def relative_location(location: str) -> str:
    """A redirect's target as a path on this site: a Location never names a host (a wrong Host header could choose it) nor starts `//`."""
    try:
        parts = urlsplit(location)
    except ValueError:
        return "/"
    path = "/" + parts.path.lstrip("/\\")  # "//evil.example" or "/\\evil.example" would leave the site
    return path + (f"?{parts.query}" if parts.query else "")


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


class Guard:
    """Refuses requests for another host name (DNS rebinding) and forms sent from another site, sends unsigned-in
    visitors to sign in, adds the security headers to every response and keeps redirects on this site, logs each
    request's method, route and status, and turns any unexpected error into a plain page (the log names only the
    error's type: its message may quote a patient's details).

    Every response is `Cache-Control: no-store`: nearly every page holds a patient's data,
    and a page that does not costs nothing to fetch again.
    """

    def __init__(
        self, app: ASGIApp, allowed_hosts: tuple[str, ...], sessions: Sessions, body_limit: int, body_limits: Mapping[str, int], too_large: str
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.sessions = sessions
        # How much a request may send, by path (`body_limit` for the rest): refused with the page below,
        # with the same headers as every page, before or while it is read.
        self.body_limit = body_limit
        self.body_limits = body_limits
        self.too_large = too_large

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
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if "location" in headers:
                    headers["Location"] = relative_location(headers["location"])
            await send(message)

        # The path from the scope, never request.url: that is built from the Host header, which may not parse.
        path = scope["path"]
        limit = self.body_limits.get(path, self.body_limit)
        host = request.headers.get("host", "")
        if self.allowed_hosts and not self._host_allowed(host):
            route = "(another host name)"
            port = (scope.get("server") or ("", 8400))[1]
            await PlainTextResponse(f"This address is not handout's: open it as http://127.0.0.1:{port}/ instead.", status_code=400)(scope, receive, send_secured)
        elif scope["method"] not in SAFE_METHODS and _cross_site(request, host):
            route = "(sent from another site)"
            await HTMLResponse(CROSS_SITE_PAGE, status_code=403)(scope, receive, send_secured)
        elif not self._open_to_all(path) and not self.sessions.signed_in(self.sessions.session_id(request)):
            route = "(before sign-in)"
            await RedirectResponse(SIGN_IN_PATH, status_code=303)(scope, receive, send_secured)
        elif (length := _content_length(request)) is not None and length > limit:
            route = "(over its size limit)"  # refused before routing: the route is not known yet
            await HTMLResponse(self.too_large, status_code=413)(scope, receive, send_secured)
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
                    await HTMLResponse(self.too_large, status_code=413)(scope, receive, send_secured)
            except ClientDisconnect:
                pass  # the browser went away, or sent its form too slowly and was cut off: nobody to answer
            except Exception as exc:
                log.error("unexpected %s while handling %s %s", type(exc).__name__, request.method, route_path(request))
                if status == 0:  # nothing sent yet: the page can still say so
                    await HTMLResponse(SOMETHING_WENT_WRONG, status_code=500)(scope, receive, send_secured)
            route = route_path(request)
        access_log.info("%s %s %s", request.method, route, status)

    def _host_allowed(self, host: str) -> bool:
        name = _host_name(host)
        # An address of this computer typed as digits cannot be a rebinding attacker's name.
        return name in self.allowed_hosts or is_loopback(name)

    @staticmethod
    def _open_to_all(path: str) -> bool:
        # The sign-in page and its stylesheets; everything else holds or makes patient data.
        return path in (SIGN_IN_PATH, "/clinic/colours.css") or path.startswith("/static/")


def _host_name(host: str) -> str:
    """A Host header's name without its port: `127.0.0.1`, `[::1]`, `clinic-pc`."""
    host = host.strip().lower()
    return host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]


def _cross_site(request: Request, host: str) -> bool:
    """Whether the browser says a form came from another site: by Sec-Fetch-Site, or else an Origin that is not this page's host.

    (SameSite=Strict already keeps the session cookie off such a request; this refuses it before anything is read.)
    Sec-Fetch-Site decides when sent: under `Referrer-Policy: no-referrer` a browser sends `Origin: null` for the
    site's own forms. A request with neither (an older browser, a script on this computer) is judged by its CSRF token alone.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() not in ("same-origin", "none")
    origin = request.headers.get("origin", "").strip()
    if origin in ("", "null"):
        return False
    try:
        origin_host = urlsplit(origin).netloc
    except ValueError:
        return True
    return origin_host.lower() != host.strip().lower()
