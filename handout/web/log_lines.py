"""Where `handout serve` logs: one line per record on stderr, with at most so many lines a minute, so a flood of errors never floods the log."""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from collections.abc import Callable

WINDOW_SECONDS = 60.0
MOST_LINES = 600  # a minute, of every kind together: ten requests a second are logged in full
MOST_OF_A_KIND = 20  # a minute, of one warning or error (the same message from the same place)


class LineBudget(logging.Filter):
    """Lets through at most `most` records a minute, and `most_of_a_kind` of each warning or error; the next line let through says how many were not.

    Only the first record of a kind in a minute keeps its traceback: the rest say the same.
    """

    def __init__(
        self, most: int = MOST_LINES, most_of_a_kind: int = MOST_OF_A_KIND, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.most = most
        self.most_of_a_kind = most_of_a_kind
        self.window = window
        self.clock = clock
        self._window_ends = 0.0
        self._lines = 0
        self._kinds: Counter[tuple[str, object]] = Counter()
        self._held_back = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        if now >= self._window_ends:
            self._window_ends, self._lines = now + self.window, 0
            self._kinds.clear()
        kind = (record.name, record.msg)
        if record.levelno >= logging.WARNING:
            self._kinds[kind] += 1
            if self._kinds[kind] > 1:
                record.exc_info, record.exc_text, record.stack_info = None, None, None
        if self._lines >= self.most or (record.levelno >= logging.WARNING and self._kinds[kind] > self.most_of_a_kind):
            self._held_back += 1
            return False
        self._lines += 1
        if self._held_back:
            record.msg, record.args = f"{record.getMessage()}  ({self._held_back:,} log lines before this one were not written: too many a minute)", None
            self._held_back = 0
        return True


def log_to_stderr() -> None:
    """Every log record of the server (handout's request lines at INFO, uvicorn's and asyncio's warnings) as one line on stderr, within a budget."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    handler.addFilter(LineBudget())

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("handout.web").setLevel(logging.INFO)
