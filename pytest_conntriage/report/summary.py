"""The terminal's "connectivity triage" section: failures grouped by outcome and top cause."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

# Test ids listed under each group before "... and N more".
IDS_PER_GROUP = 5
# The group of failures whose triage crashed (no cause id can look like it).
TRIAGE_UNAVAILABLE = "?triage-unavailable"


@dataclass
class TriageSummary:
    """Collects failing checks from reports (works the same on an xdist controller)."""

    groups: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    titles: dict[str, str] = field(default_factory=dict)
    # Collection order, by node id: tests are listed in it, not in the order their
    # reports arrived, so an xdist run prints what a serial run prints.
    order: dict[str, int] = field(default_factory=dict)

    def collected(self, nodeids: Iterable[str]) -> None:
        """The run's tests in collection order (first call wins: every worker's is the same)."""
        if not self.order:
            self.order = {nodeid: index for index, nodeid in enumerate(nodeids)}

    # Failed checks of `severity: warn` services (reported xfail: the run does not fail).
    warned: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, nodeid: str, props: dict[str, str], *, warn: bool = False) -> None:
        """A failed check, from its report's properties; `warn`: of a warn-only service."""
        top = props.get("top_cause", "")
        if not top and props.get("triage_error"):
            top = TRIAGE_UNAVAILABLE
        (self.warned if warn else self.groups)[(props.get("outcome", "?"), top)].append(nodeid)
        if top and top != TRIAGE_UNAVAILABLE:
            self.titles[top] = props.get("top_cause_title", "")

    def __bool__(self) -> bool:
        return bool(self.groups or self.warned)

    def lines(self) -> list[str]:
        lines: list[str] = []
        if self.groups:
            total = sum(len(ids) for ids in self.groups.values())
            plural = "s" if total != 1 else ""
            lines.append(f"{total} failed connectivity check{plural}, by outcome and top cause:")
            lines += self._group_lines(self.groups)
        if self.warned:
            total = sum(len(ids) for ids in self.warned.values())
            plural = "s" if total != 1 else ""
            lines.append(
                f"{total} failed check{plural} of severity warn (xfail: the run does not"
                " fail on them), by outcome and top cause:"
            )
            lines += self._group_lines(self.warned)
        return lines

    def _group_lines(self, groups: dict[tuple[str, str], list[str]]) -> list[str]:
        lines: list[str] = []
        ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        for (outcome, top), ids in ordered:
            if top == TRIAGE_UNAVAILABLE:
                cause = "triage unavailable (see the failure)"
            else:
                cause = f"{top}: {self.titles.get(top, '')}" if top else "no runbook cause"
            lines.append(f"  {len(ids):>4} × {outcome:<18} {cause}")
            ids = sorted(ids, key=lambda i: self.order.get(i, len(self.order)))
            shown = [_short(i) for i in ids[:IDS_PER_GROUP]]
            lines += [f"           {i}" for i in shown]
            if len(ids) > IDS_PER_GROUP:
                lines.append(f"           ... and {len(ids) - IDS_PER_GROUP} more")
        return lines


def _short(nodeid: str) -> str:
    """`test_tcp[api:local->x:1]` rather than the suite module's long path."""
    return nodeid.rsplit("::", 1)[-1]
