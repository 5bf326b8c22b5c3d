"""The one error type for problems a user can fix, and its exit codes."""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_USAGE = 2


class HandoutError(Exception):
    """A problem the user can fix: one line for stderr and the exit code to leave with."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(HandoutError):
    """A bad option value: exit code 2, like any other command-line misuse."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)
