"""Plans and patient lists waiting on the page, held in memory only, under random tokens, for 30 minutes."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

LIFETIME_SECONDS = 30 * 60  # long enough to finish a consult's paperwork; patient data does not linger
T = TypeVar("T")


@dataclass(frozen=True)
class _Held(Generic[T]):
    value: T
    expires: float


class ExpiringStore(Generic[T]):
    """Values under unguessable tokens that vanish after a lifetime (and with the process: nothing is written to disk).

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
    ) -> None:
        self.lifetime = lifetime
        self.clock = clock
        self.on_expire = on_expire
        self.busy = busy
        self._held: dict[str, _Held[T]] = {}
        self._lock = threading.Lock()

    def put(self, value: T) -> str:
        token = secrets.token_urlsafe(18)
        with self._lock:
            gone = self._drop_expired()
            self._held[token] = _Held(value, self.clock() + self.lifetime)
        self._expired(gone)
        return token

    def get(self, token: str) -> T | None:
        with self._lock:
            gone = self._drop_expired()
            held = self._held.get(token)
        self._expired(gone)
        return None if held is None else held.value

    def count(self) -> int:
        """How many values are held now (expired ones are dropped first)."""
        self.expire()
        with self._lock:
            return len(self._held)

    def renew(self, token: str) -> None:
        """Start the token's lifetime again (a list's plans are kept 30 minutes from when they are made, not uploaded)."""
        with self._lock:
            held = self._held.get(token)
            if held is not None:
                self._held[token] = _Held(held.value, self.clock() + self.lifetime)

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
