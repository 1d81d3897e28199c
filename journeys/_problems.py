"""Problems found in definitions, reported as ``file:line:column: message``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from wayfinder.vocabulary import escape_controls

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    message: str
    severity: Severity = "error"
    runs_anyway: str | None = None
    """For an error SPEC gives a run-time meaning to (an unguarded field that may be absent: the expression counts
    as false; a trigger on an undeclared event type: it waits for events of that type), what a run does instead.
    ``validate``, the authoring gate, reports it as an error; a run (simulate, preview, a worker) as a warning."""

    def __str__(self) -> str:
        label = "" if self.severity == "error" else "warning: "
        # one line whatever a file name or a quoted id holds: a newline in an id forged a line of its own
        return escape_controls(f"{self.file}:{self.line}:{self.column}: {label}{self.message}")


def for_runs(problems: Iterable[Problem]) -> list[Problem]:
    """``problems`` as a run sees them: an error that runs anyway is a warning saying what the run does."""
    return [replace(p, severity="warning", message=f"{p.message} (validate counts this as an error; {p.runs_anyway})",
                    runs_anyway=None) if p.runs_anyway is not None and p.severity == "error" else p
            for p in problems]


class DefinitionError(Exception):
    """Definitions that cannot be used; carries every problem found, not only the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]
