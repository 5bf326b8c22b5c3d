"""The server's connection limits: how long a request may take to arrive, and how many connections may be open, from one address and in all."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from handout.errors import UsageError

MAX_CONNECTIONS_VARIABLE = "HANDOUT_WEB_MAX_CONNECTIONS"
REQUEST_SECONDS_VARIABLE = "HANDOUT_WEB_REQUEST_SECONDS"
DEFAULT_MAX_CONNECTIONS = 256  # a clinic's few browsers open six each; far below the usual 1,024 open files
DEFAULT_REQUEST_SECONDS = 10.0
# The listening socket's queue, which is also how many connections asyncio accepts at a go before handout
# sees any of them (and can close those over the limits): small, so a burst cannot use up the open files first.
LISTEN_BACKLOG = 32
OWN_FILES = 64  # the server's own: Python's, the fonts, a list being made
# Answered to a connection there is no room for, before it has sent anything (then closed).
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nretry-after: 5\r\n"
    b"connection: close\r\ncontent-length: 45\r\n\r\nhandout is busy just now: try again shortly.\n"
)

log = logging.getLogger("handout.web")


@dataclass(frozen=True)
class ConnectionLimits:
    """How many connections may be open in all and from one address, and how long a request may take to arrive.

    `request_seconds`: a request's head (its first line and headers) must arrive within this of the
    connection being ready for it, and its body must keep coming, never pausing longer than this.
    """

    max_connections: int = DEFAULT_MAX_CONNECTIONS
    request_seconds: float = DEFAULT_REQUEST_SECONDS

    @property
    def per_address(self) -> int:
        # A browser opens up to six connections to a site; a few computers may share an address (NAT).
        return min(self.max_connections, max(8, self.max_connections // 8))

    def within(self, open_files: int | None) -> ConnectionLimits:
        """These limits, with room left for the server's own files and for connections accepted but not yet seen, when the process may open only `open_files`."""
        if open_files is None:
            return self
        room = open_files - OWN_FILES - 3 * LISTEN_BACKLOG  # asyncio accepts a batch each turn of its loop; closing takes a turn or two
        return ConnectionLimits(max(4, min(self.max_connections, room)), self.request_seconds)


def limits_from(env: Mapping[str, str]) -> ConnectionLimits:
    """The limits HANDOUT_WEB_MAX_CONNECTIONS and HANDOUT_WEB_REQUEST_SECONDS set (defaults for those not set); a bad value is a UsageError."""
    most = env.get(MAX_CONNECTIONS_VARIABLE, "").strip()
    seconds = env.get(REQUEST_SECONDS_VARIABLE, "").strip()
    limits = ConnectionLimits()
    if most:
        if not most.isdigit() or not 4 <= int(most) <= 100_000:
            raise UsageError(f"{MAX_CONNECTIONS_VARIABLE} must be a whole number from 4 to 100000, not {most[:20]!r}")
        limits = ConnectionLimits(int(most), limits.request_seconds)
    if seconds:
        try:
            value = float(seconds)
        except ValueError:
            value = -1.0
        if not 0.1 <= value <= 600:
            raise UsageError(f"{REQUEST_SECONDS_VARIABLE} must be a number of seconds from 0.1 to 600, not {seconds[:20]!r}")
        limits = ConnectionLimits(limits.max_connections, value)
    return limits


class _Connections:
    """The open connections of one server, oldest first, and how many each address has."""

    def __init__(self, limits: ConnectionLimits, exempt: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> None:
        self.limits = limits
        self.exempt = exempt  # the trusted proxy: everyone's requests come from its address
        self.open: dict[LimitedProtocol, None] = {}  # a dict keeps the order they came in
        self.per_address: Counter[str] = Counter()

    def admit(self, connection: LimitedProtocol) -> bool:
        """Make room for a new connection, closing the oldest that has not sent its request yet if need be; False when there is none to close."""
        address = connection.address
        if not self._exempt(address) and self.per_address[address] >= self.limits.per_address:
            if not self._close_oldest_waiting(address):
                return False
        if len(self.open) >= self.limits.max_connections and not self._close_oldest_waiting(None):
            return False
        self.open[connection] = None
        self.per_address[address] += 1
        return True

    def forget(self, connection: LimitedProtocol) -> None:
        if connection in self.open:
            del self.open[connection]
            self.per_address[connection.address] -= 1
            if self.per_address[connection.address] <= 0:
                del self.per_address[connection.address]

    def _close_oldest_waiting(self, address: str | None) -> bool:
        # A connection still waiting for its request costs its sender nothing to open again, while one whose
        # request is being answered is someone's page: only the first kind makes room.
        for connection in self.open:
            if connection.waiting_for_request and (address is None or connection.address == address):
                log.warning("too many connections%s: closed the oldest that had sent no request", "" if address is None else " from one address")
                connection.close_now()
                return True
        log.warning("too many connections%s with requests under way: refused a new one", "" if address is None else " from one address")
        return False

    def _exempt(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.exempt)


class LimitedProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 connection, closed when its request is slow to arrive, and admitted only while there is room (`_Connections`)."""

    connections_book: _Connections  # set on the subclass `limited_protocol` makes, one per server

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address = ""
        self.waiting_for_request = True
        self._timer: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.address = self.client[0] if self.client else ""
        if not self.connections_book.admit(self):
            self._refused = True
            transport.write(BUSY_RESPONSE)
            transport.close()
            return
        self._expect_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        self.connections_book.forget(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle and self.cycle is not None:
            self.waiting_for_request = False  # its head has arrived: from now on it is someone's page
        if not self.waiting_for_request:
            # The body, if any, must keep coming; once it has all arrived, the page takes as long as it takes.
            if self.cycle is not None and self.cycle.more_body and not self.cycle.response_complete:
                self._start_timer()
            else:
                self._stop_timer()

    def on_response_complete(self) -> None:
        self._expect_request()  # the next request on this connection has the same time to arrive
        super().on_response_complete()

    def close_now(self) -> None:
        self.connections_book.forget(self)
        self._stop_timer()
        if not self.transport.is_closing():
            self.transport.close()

    def _expect_request(self) -> None:
        self.waiting_for_request = True
        self._start_timer()

    def _start_timer(self) -> None:
        self._stop_timer()
        self._timer = self.loop.call_later(self.connections_book.limits.request_seconds, self._too_slow)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if self.flow is not None and self.flow.read_paused:
            self._start_timer()  # handout is not reading just now (its buffer is full): the sender is not the slow one
            return
        self.close_now()


def limited_protocol(limits: ConnectionLimits, trusted_proxy: tuple[str, ...] = ()) -> type[LimitedProtocol]:
    """The protocol class for one server (uvicorn's `http=`): its connections share one book of limits."""
    book = _Connections(limits, tuple(ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxy))
    return type("LimitedProtocol", (LimitedProtocol,), {"connections_book": book})
