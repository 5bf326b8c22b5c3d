"""Plans and patient lists waiting on the page, held in memory only, under random tokens, for 30 minutes, each for the session that made it."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from handout.errors import HandoutError

LIFETIME_SECONDS = 30 * 60  # long enough to finish a consult's paperwork; patient data does not linger
T = TypeVar("T")


@dataclass(frozen=True)
class HoldLimits:
    """How many values one session, and all sessions together, may hold at once; `noun` names them on the page ("plans")."""

    per_session: int
    in_all: int
    noun: str


# A held plan costs about a quarter of a megabyte (its PDF and form): 500 are about 130 MB. A list holds its CSV, then its ZIP, on disk.
PLAN_LIMITS = HoldLimits(per_session=100, in_all=500, noun="plans")
LIST_LIMITS = HoldLimits(per_session=5, in_all=20, noun="patient lists")
REMEMBERED_SESSIONS = 500  # clinicians' names remembered for the plan form, by session


class StoreFull(HandoutError):
    """The session, or the whole server, already holds its most: nothing more is kept until some expire."""


@dataclass(frozen=True)
class _Held(Generic[T]):
    value: T
    expires: float
    owner: str


class ExpiringStore(Generic[T]):
    """Values under unguessable tokens that vanish after a lifetime (and with the process: nothing is written to disk).

    Each value belongs to the session that made it (`owner`): another session that has the token
    (a URL copied or seen) finds nothing there. `limits` caps how many are held, per session and in all.

    `on_expire` is called with each value that goes, by expiry or `clear`: a held patient list
    removes its folder then. A value that `busy` says is in use (a list being made) does not
    expire: its lifetime starts again when it is no longer busy.
    """

    def __init__(
        self,
        lifetime: float = LIFETIME_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_expire: Callable[[T], None] | None = None,
        busy: Callable[[T], bool] | None = None,
        limits: HoldLimits | None = None,
    ) -> None:
        self.lifetime = lifetime
        self.limits = limits
        self.clock = clock
        self.on_expire = on_expire
        self.busy = busy
        self._held: dict[str, _Held[T]] = {}
        self._lock = threading.Lock()

    def put(self, value: T, owner: str) -> str:
        """Hold `value` for the session `owner`; its token. Raises StoreFull when that session, or everyone, holds the most allowed."""
        token = secrets.token_urlsafe(18)
        with self._lock:
            gone = self._drop_expired()
            full = self._full(owner)
            if full is None:
                self._held[token] = _Held(value, self.clock() + self.lifetime, owner)
        self._expired(gone)
        if full is not None:
            raise StoreFull(full)
        return token

    def get(self, token: str, owner: str) -> T | None:
        """The value under `token` if the session `owner` made it and it has not expired; None otherwise (the same for both)."""
        with self._lock:
            gone = self._drop_expired()
            held = self._held.get(token)
        self._expired(gone)
        return None if held is None or held.owner != owner else held.value

    def _full(self, owner: str) -> str | None:
        """Why nothing more can be held for `owner` now, or None."""
        limits = self.limits
        if limits is None:
            return None
        if sum(held.owner == owner for held in self._held.values()) >= limits.per_session:
            return (
                f"This page already holds {limits.per_session} {limits.noun}, the most it keeps for one browser: "
                f"each goes 30 minutes after it was made, so try again when the oldest has gone"
            )
        if len(self._held) >= limits.in_all:
            return f"The front desk holds {limits.in_all} {limits.noun} just now, the most it keeps: try again in a few minutes, when older ones have gone"
        return None

    def renew(self, token: str) -> None:
        """Start the token's lifetime again (a list's plans are kept 30 minutes from when they are made, not uploaded)."""
        with self._lock:
            held = self._held.get(token)
            if held is not None:
                self._held[token] = _Held(held.value, self.clock() + self.lifetime, held.owner)

    def expire(self) -> None:
        """Drop what has expired now, without waiting for the next visit (a server left idle still forgets)."""
        with self._lock:
            gone = self._drop_expired()
        self._expired(gone)

    def clear(self) -> None:
        """Drop everything, as at shutdown."""
        with self._lock:
            gone = [held.value for held in self._held.values()]
            self._held.clear()
        self._expired(gone)

    def _drop_expired(self) -> list[T]:
        now = self.clock()
        gone = [token for token, held in self._held.items() if held.expires <= now and not (self.busy is not None and self.busy(held.value))]
        return [self._held.pop(token).value for token in gone]

    def _expired(self, values: list[T]) -> None:
        # Outside the lock: removing a list's folder takes a moment, and must not hold up other pages.
        if self.on_expire is not None:
            for value in values:
                self.on_expire(value)


class RecentMemory(Generic[T]):
    """A small memory by session (the clinician's name for the plan form): at most `size` sessions, each for at most `lifetime` seconds.

    Sessions are never told to end (a browser just stops coming), so without these bounds it would grow with every visit.
    """

    def __init__(self, size: int, lifetime: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.lifetime = lifetime
        self.clock = clock
        self._values: OrderedDict[str, tuple[T, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __setitem__(self, key: str, value: T) -> None:
        with self._lock:
            self._values.pop(key, None)
            self._values[key] = (value, self.clock() + self.lifetime)
            while len(self._values) > self.size:
                self._values.popitem(last=False)  # the session remembered longest ago

    def get(self, key: str, default: T) -> T:
        with self._lock:
            remembered = self._values.get(key)
            if remembered is None:
                return default
            if remembered[1] <= self.clock():
                del self._values[key]
                return default
            return remembered[0]

    def __len__(self) -> int:
        return len(self._values)
