"""The terminal's "connectivity triage" section: failures grouped by outcome and top cause."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

# Test ids listed under each group before "... and N more".
IDS_PER_GROUP = 5


@dataclass
class TriageSummary:
    """Collects failing checks from reports (works the same on an xdist controller)."""

    groups: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    titles: dict[str, str] = field(default_factory=dict)

    def add(self, nodeid: str, props: dict[str, str]) -> None:
        top = props.get("top_cause", "")
        self.groups[(props.get("outcome", "?"), top)].append(nodeid)
        if top:
            self.titles[top] = props.get("top_cause_title", "")

    def __bool__(self) -> bool:
        return bool(self.groups)

    def lines(self) -> list[str]:
        total = sum(len(ids) for ids in self.groups.values())
        plural = "s" if total != 1 else ""
        lines = [f"{total} failed connectivity check{plural}, by outcome and top cause:"]
        ordered = sorted(self.groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        for (outcome, top), ids in ordered:
            cause = f"{top}: {self.titles.get(top, '')}" if top else "no runbook cause"
            lines.append(f"  {len(ids):>4} × {outcome:<18} {cause}")
            shown = [_short(i) for i in ids[:IDS_PER_GROUP]]
            lines += [f"           {i}" for i in shown]
            if len(ids) > IDS_PER_GROUP:
                lines.append(f"           ... and {len(ids) - IDS_PER_GROUP} more")
        return lines


def _short(nodeid: str) -> str:
    """`test_tcp[local->x:1]` rather than the suite module's long path."""
    return nodeid.rsplit("::", 1)[-1]
