"""Plans waiting to be downloaded, printed or emailed, held in memory only, under random tokens, for 30 minutes."""

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
    """Values under unguessable tokens that vanish after a lifetime (and with the process: nothing is written to disk)."""

    def __init__(self, lifetime: float = LIFETIME_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime = lifetime
        self.clock = clock
        self._held: dict[str, _Held[T]] = {}
        self._lock = threading.Lock()

    def put(self, value: T) -> str:
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._drop_expired()
            self._held[token] = _Held(value, self.clock() + self.lifetime)
        return token

    def get(self, token: str) -> T | None:
        with self._lock:
            self._drop_expired()
            held = self._held.get(token)
            return None if held is None else held.value

    def _drop_expired(self) -> None:
        now = self.clock()
        for token in [t for t, held in self._held.items() if held.expires <= now]:
            del self._held[token]
