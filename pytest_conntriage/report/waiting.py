"""The words of a gate that waited: the phrase of a check that passed after waiting, and
the progress line of the gates still waiting. Pure: data in, text out."""

from __future__ import annotations

from collections.abc import Sequence

from ..outcome import Outcome
from ..probe.progress import Pending
from ..probe.result import ProbeResult

# Gates named in one progress line before "and N more".
SHOWN_PER_LINE = 4


def outcome_runs(outcomes: Sequence[Outcome]) -> str:
    """ "refused ×7, timeout ×2": the outcomes in order, repeats counted."""
    runs: list[tuple[Outcome, int]] = []
    for outcome in outcomes:
        if runs and runs[-1][0] is outcome:
            runs[-1] = (outcome, runs[-1][1] + 1)
        else:
            runs.append((outcome, 1))
    return ", ".join(f"{o.value} ×{n}" if n > 1 else o.value for o, n in runs)


def waited_phrase(probe: ProbeResult) -> str:
    """ "open after 12.4 s (refused ×7)": what a check that needed more than one attempt
    ended with, when, and what it went through before; "" for a first-attempt result."""
    if len(probe.attempts) < 2:
        return ""
    before = outcome_runs([a.outcome for a in probe.attempts[:-1]])
    return f"{probe.outcome.value} after {probe.elapsed_s:.1f} s ({before})"


def progress_line(pending: Sequence[Pending], now: float) -> str:
    """ "conntriage: waiting for 2 checks: api:local->10.0.0.2:443 (7 attempts, last
    refused, 3.2 s left); ...": the gates still waiting, oldest first; "" when none is."""
    if not pending:
        return ""
    shown = [_one(p, now) for p in pending[:SHOWN_PER_LINE]]
    more = len(pending) - len(shown)
    count = f"{len(pending)} check{'s' if len(pending) != 1 else ''}"
    tail = f"; and {more} more" if more else ""
    return f"conntriage: waiting for {count}: {'; '.join(shown)}{tail}"


def _one(pending: Pending, now: float) -> str:
    left = max(0.0, pending.deadline - now)
    if pending.last is None:
        done = "first attempt"
    else:
        plural = "s" if pending.attempts != 1 else ""
        done = f"{pending.attempts} attempt{plural}, last {pending.last.value}"
    return f"{pending.label} ({done}, {left:.1f} s left)"
