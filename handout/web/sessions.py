"""Who is who: session ids the server makes and signs, the CSRF token derived from each, and sign-in with its pauses, queue limits and time limits."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "handout_session"
CSRF_FIELD = "csrf"
WRONG_PASSWORD_DELAY_SECONDS = 1.0  # with attempts taken one at a time: at most one guess a second
MAX_PARALLEL_ATTEMPTS = 4  # wrong guesses in all, at a second each, from however many addresses
# How many attempts may wait their turn: beyond these the answer is at once "try again in a minute",
# so guesses from one address (or a shared NAT or proxy) never build a queue staff wait behind.
MAX_WAITING_PER_ADDRESS = 3
MAX_WAITING_IN_ALL = 32
SIGNED_IN_SECONDS = 12 * 60 * 60  # a clinic's working day; then the password is asked again
IDLE_SECONDS = 30 * 60  # a signed-in page left alone this long asks for the password again (a computer left unlocked)
# A session id is random, with the server's signature: one the browser makes up is never taken.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}\.[0-9a-f]{64}")


class TooManyAttempts(Exception):
    """Too many sign-in attempts are already waiting from this address (or in all)."""


def same_secret(expected: str, given: str) -> bool:
    """Whether `given` is `expected`, in a time that does not tell how much of it matched.

    Compared as UTF-8 bytes: hmac.compare_digest refuses a str with non-ASCII characters (a TypeError,
    so a 500), and a form field, header or cookie holds whatever someone sent.
    """
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass"))


class Sessions:
    """Server-made session ids in an HttpOnly, SameSite=Strict cookie, a CSRF token derived from each, and who has signed in.

    With a password (HANDOUT_WEB_PASSWORD) every page but the sign-in page needs a
    session that signed in; a session id is replaced at sign-in, so one handed out
    before it (fixation) is worth nothing after. A sign-in ends after a working day,
    or after half an hour without a page.
    """

    def __init__(
        self, password: str | None = None, wrong_password_delay: float = WRONG_PASSWORD_DELAY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._secret = secrets.token_bytes(32)  # new at every start: nothing survives a restart
        # Compared as digests: the comparison takes the same time whatever the length typed.
        self._password = _digest(password) if password else None
        self._signed_in: dict[str, tuple[float, float]] = {}  # session id → when its sign-in ends, and when it ends if left alone
        self._clock = clock
        # One attempt at a time from each computer, so the pause limits guessing in parallel too, while
        # someone guessing from one computer cannot keep staff at another waiting behind their queue.
        self._attempts: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}  # address → its attempts under way or waiting (gone at 0: the table never grows)
        # And at most a few at once in all, so guessing from many addresses is slow too.
        self._all_attempts = asyncio.Semaphore(MAX_PARALLEL_ATTEMPTS)
        self.wrong_password_delay = wrong_password_delay

    @property
    def sign_in_required(self) -> bool:
        return self._password is not None

    def session_id(self, request: Request) -> str:
        """The request's session id if this server made it, else a new one (the caller sets it on the response with `keep`)."""
        sid = request.cookies.get(SESSION_COOKIE, "")
        if _SESSION_ID.fullmatch(sid) and same_secret(self._signature(sid[:43]), sid[44:]):
            return sid
        return self.new_session_id()

    def new_session_id(self) -> str:
        random_part = secrets.token_urlsafe(32)
        return f"{random_part}.{self._signature(random_part)}"

    def _signature(self, random_part: str) -> str:
        return hmac.new(self._secret, b"session id " + random_part.encode(), hashlib.sha256).hexdigest()

    def keep(self, response: Response, sid: str, request: Request) -> None:
        # Secure when the page came over HTTPS (a TLS proxy in front): the cookie then never travels unencrypted.
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict", path="/", secure=request.scope.get("scheme") == "https")

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._secret, b"csrf " + sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sid: str, token: str) -> bool:
        return same_secret(self.csrf_token(sid), token)

    def signed_in(self, sid: str) -> bool:
        """Whether the session has signed in and neither its day nor its idle time has run out (a page seen starts the idle time again)."""
        if self._password is None:
            return True
        times = self._signed_in.get(sid)
        if times is None:
            return False
        now = self._clock()
        ends, idle_ends = times
        if ends <= now or idle_ends <= now:
            self._signed_in.pop(sid, None)
            return False
        self._signed_in[sid] = (ends, min(ends, now + IDLE_SECONDS))
        return True

    async def sign_in(self, password: str, client: str) -> str | None:
        """A new signed-in session id when the password is right; None (after a pause) when it is not. `client`: the computer's address.

        Raises TooManyAttempts, at once, when this address already has its most attempts waiting, or all addresses theirs.
        """
        assert self._password is not None
        waiting = self._waiting.get(client, 0)
        if waiting >= MAX_WAITING_PER_ADDRESS or sum(self._waiting.values()) >= MAX_WAITING_IN_ALL:
            raise TooManyAttempts
        self._waiting[client] = waiting + 1
        try:
            async with self._attempts.setdefault(client, asyncio.Lock()), self._all_attempts:
                if hmac.compare_digest(_digest(password), self._password):
                    sid = self.new_session_id()
                    now = self._clock()
                    # Ended sign-ins go here, so the table does not grow with every sign-in of a long-running server.
                    for ended in [s for s, (ends, idle_ends) in self._signed_in.items() if min(ends, idle_ends) <= now]:
                        del self._signed_in[ended]
                    self._signed_in[sid] = (now + SIGNED_IN_SECONDS, now + IDLE_SECONDS)
                    return sid
                await asyncio.sleep(self.wrong_password_delay)
                return None
        finally:
            self._waiting[client] -= 1
            if self._waiting[client] == 0:  # nobody else holds this address's lock now
                del self._waiting[client]
                del self._attempts[client]

    def sign_out(self, sid: str) -> None:
        self._signed_in.pop(sid, None)


def _digest(password: str) -> bytes:
    return hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest()
