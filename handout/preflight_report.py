"""One check's result and a run's report, as `handout check` prints them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    """One measurement: what was checked, whether it passed, the numbers, and what to change if not."""

    name: str
    passed: bool
    detail: str
    fix: str = ""
    measured: bool = True  # False: nothing to measure (no formula for the language, no text); never fails the run
    warning: bool = False  # passes, but prints worse than it could: shown as WARN with its fix

    def line(self) -> str:
        status = "SKIP" if not self.measured else "WARN" if self.warning else "PASS" if self.passed else "FAIL"
        return f"{status}  {self.name}: {self.detail}"


@dataclass(frozen=True)
class Report:
    """Every check of one run, in the order printed."""

    heading: str
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def warnings(self) -> int:
        return sum(1 for r in self.results if r.warning)

    @property
    def fixes(self) -> tuple[str, ...]:
        """What to change for every failure and every warning, each once, in the order of the checks."""
        return tuple(dict.fromkeys(r.fix for r in self.results if (not r.passed or r.warning) and r.fix))

    def text(self) -> str:
        """The report as printed: a heading, one line per check, then what to fix."""
        lines = [self.heading, *(r.line() for r in self.results)]
        if self.fixes:
            lines += ["", "To fix:", *(f"  - {fix}" for fix in self.fixes)]
        return "\n".join(lines)
