"""The import report: counts, and every problem with the feature it concerns.

Errors stop the import (nothing is written); warnings are reported and the import goes on. The
same report is printed by the commands and shown by the admin.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One problem: which feature (its id in the file and its code), what, and where."""

    message: str
    fid: str | None = None
    code: str | None = None
    lon: float | None = None
    lat: float | None = None
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        where = []
        if self.fid is not None:
            where.append(f"feature {self.fid}")
        if self.code:
            where.append(f"code {self.code}")
        place = f" [{', '.join(where)}]" if where else ""
        at = (
            f" (near lon {self.lon:.6f}, lat {self.lat:.6f})"
            if self.lon is not None and self.lat is not None
            else ""
        )
        return f"{self.severity}{place}: {self.message}{at}"


@dataclass
class ImportReport:
    """What an import did (or, in a dry run or after an error, would have done)."""

    source: str
    level: str
    features: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    dry_run: bool = False
    written: bool = False
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def error(self, message: str, **where) -> None:
        self.problems.append(Problem(message, severity="error", **where))

    def warning(self, message: str, **where) -> None:
        self.problems.append(Problem(message, severity="warning", **where))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            outcome = f"NOT imported: {len(self.errors)} error(s); nothing was written"
        elif self.dry_run:
            outcome = "dry run: valid, nothing written"
        else:
            outcome = "imported"
        return (
            f"{self.source} → {self.level}: {self.features} feature(s); "
            f"{self.created} new, {self.updated} updated, {self.deleted} deleted; "
            f"{len(self.warnings)} warning(s). {outcome}."
        )

    def lines(self, *, limit: int | None = None) -> list[str]:
        """The report as text lines: notes, problems (errors first), then the summary."""
        problems = self.errors + self.warnings
        shown = problems if limit is None else problems[:limit]
        out = [*self.notes, *(str(p) for p in shown)]
        if len(shown) < len(problems):
            out.append(f"… and {len(problems) - len(shown)} more problem(s)")
        out.append(self.summary())
        return out
