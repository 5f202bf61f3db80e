"""Problems found in a handbook, reported as `path:line:col: level: message`.

Every stage appends to one `Report` instead of raising, so `csbp check` can list every
problem of every file in one pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based line and column in a source file."""

    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Diagnostic:
    path: Path
    position: Position
    level: str
    message: str

    def format(self, root: Path | None = None) -> str:
        shown = self.path
        if root is not None:
            try:
                shown = self.path.resolve().relative_to(root.resolve())
            except ValueError:
                shown = self.path
        return f"{shown}:{self.position.line}:{self.position.column}: {self.level}: {self.message}"


@dataclass
class Report:
    """Collects diagnostics from every stage; errors stop a build, warnings do not."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, path: Path, position: Position | None, message: str) -> None:
        self.diagnostics.append(Diagnostic(path, position or Position(), ERROR, message))

    def warning(self, path: Path, position: Position | None, message: str) -> None:
        self.diagnostics.append(Diagnostic(path, position or Position(), WARNING, message))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == WARNING]

    def has_errors_for(self, path: Path) -> bool:
        return any(d.path == path for d in self.errors)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.diagnostics, key=lambda d: (str(d.path), d.position, d.message))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix for a near miss, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def choices_hint(choices: Iterable[str], limit: int = 12) -> str:
    """The allowed values, shortened when the list is long."""
    values = sorted(choices)
    shown = ", ".join(values[:limit])
    return shown + (f", … ({len(values)} in all)" if len(values) > limit else "")
