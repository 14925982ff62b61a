"""The run's checks by service: one row per inventory service (or closed rule) with its
checks passed and failed, its worst outcome and its top cause, for the terminal and the
Markdown report.

Counted as each check's record is made, in whatever order reports arrive: every figure
is a count, and ties are broken by name, so an xdist run's rows are a serial run's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .record import STATUSES


@dataclass
class ServiceRow:
    """One suite's checks, counted."""

    suite: str
    statuses: Counter[str] = field(default_factory=Counter)
    # (status, outcome) → checks: the worst status's most frequent outcome is its worst.
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    causes: Counter[str] = field(default_factory=Counter)  # failed checks' top causes
    warned: int = 0  # passed, but with a warning

    @property
    def checks(self) -> int:
        return sum(self.statuses.values())

    @property
    def passed(self) -> int:
        return self.statuses["passed"]

    @property
    def failed(self) -> int:
        """Failed checks and checks in error: neither is a pass."""
        return self.statuses["failed"] + self.statuses["error"]

    @property
    def skipped(self) -> int:
        return self.statuses["skipped"]

    @property
    def status(self) -> str:
        """The worst status of its checks: failed, error, skipped, passed."""
        present = [s for s in STATUSES if self.statuses[s]]
        return present[-1] if present else "passed"

    @property
    def worst_outcome(self) -> str:
        """The most frequent outcome among the checks of its worst status; for skipped
        checks that never ran, "skipped"; else ""."""
        status = self.status
        found = [(n, o) for (s, o), n in self.outcomes.items() if s == status and o]
        if found:
            return min(found, key=lambda pair: (-pair[0], pair[1]))[1]
        return "skipped" if status == "skipped" else ""

    @property
    def top_cause(self) -> tuple[str, int] | None:
        """The top cause most of its failed checks share, and how many do."""
        if not self.causes:
            return None
        return min(self.causes.items(), key=lambda pair: (-pair[1], pair[0]))


class ServiceTally:
    """Rows for the inventory's suites, in inventory order, then any other suite a check
    named (a team's own checks, collection errors) by name."""

    def __init__(self, suites: Sequence[str]) -> None:
        self._rows = {name: ServiceRow(name) for name in suites}
        self._known = len(self._rows)

    def add(
        self,
        suite: str,
        status: str,
        outcome: str | None,
        top_cause: str | None = None,
        warned: bool = False,
    ) -> None:
        row = self._rows.get(suite)
        if row is None:
            row = self._rows[suite] = ServiceRow(suite)
        row.statuses[status] += 1
        row.outcomes[(status, outcome or "")] += 1
        if top_cause and status in ("failed", "error"):
            row.causes[top_cause] += 1
        row.warned += warned

    def rows(self) -> list[ServiceRow]:
        """The suites with checks: the inventory's in its order, then the others by name
        (a suite whose checks were all deselected is left out)."""
        rows = list(self._rows.values())
        known, other = rows[: self._known], sorted(rows[self._known :], key=lambda r: r.suite)
        return [row for row in (*known, *other) if row.checks]

    def totals(self) -> Counter[str]:
        """Checks by status over every suite, with "checks" and "warned"."""
        total: Counter[str] = Counter({status: 0 for status in STATUSES})
        for row in self._rows.values():
            total.update(row.statuses)
            total["warned"] += row.warned
        total["checks"] = sum(total[status] for status in STATUSES)
        return total


def cause_cell(row: ServiceRow) -> str:
    """The top cause most failures share, with "×N" when N > 1 share it; "" for none."""
    top = row.top_cause
    if top is None:
        return ""
    cause, count = top
    return f"{cause} ×{count}" if count > 1 else cause


def table_lines(rows: Iterable[ServiceRow]) -> list[str]:
    """The terminal's table: a line per suite, passes included, and the totals."""
    header = ("service", "checks", "passed", "failed", "skipped", "worst", "top cause")
    body = [
        (
            row.suite,
            str(row.checks),
            str(row.passed),
            str(row.failed),
            str(row.skipped),
            " ".join(part for part in (_mark(row), row.worst_outcome) if part),
            cause_cell(row),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    # The service name may be long: the number columns stay aligned after it.
    lines = []
    for line in (header, *body):
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(widths[i]) for i, cell in enumerate(line[1:5], 1)]
        cells += [line[5].ljust(widths[5]), line[6]]
        lines.append("  ".join(cells).rstrip())
    return lines


def _mark(row: ServiceRow) -> str:
    if row.status in ("failed", "error"):
        return row.status.upper()
    return "WARN" if row.warned else ""
