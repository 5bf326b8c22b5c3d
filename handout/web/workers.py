"""The threads that keep rendering and sending off the server's event loop, so no page waits for another's PDF or mail server."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
# One thread renders: ReportLab keeps state between calls, and with the GIL a second thread would not be faster.
RENDER_THREADS = 1
# Sends wait on mail servers, not on the processor: a few at once, in their own threads, so a mail server
# that never answers holds up only its own sends, never rendering, static files or Starlette's own threads.
SEND_THREADS = 4


class Workers:
    """A rendering thread and a few sending threads, started on first use and stopped with the server."""

    def __init__(self) -> None:
        self._render: ThreadPoolExecutor | None = None
        self._send: ThreadPoolExecutor | None = None

    async def render(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` in the rendering thread; the event loop serves other pages meanwhile."""
        if self._render is None:
            self._render = ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="handout-render")
        return await asyncio.get_running_loop().run_in_executor(self._render, functools.partial(work, *args))

    async def send(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` in a sending thread."""
        if self._send is None:
            self._send = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="handout-send")
        return await asyncio.get_running_loop().run_in_executor(self._send, functools.partial(work, *args))

    def close(self) -> None:
        """At shutdown: nothing new starts; a send under way ends by its mail server's timeout."""
        for pool in (self._render, self._send):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        self._render = self._send = None
