"""The path trace read for triage: whether it says anything, and where the SYN died.

A trace mostly locates a fault without weighing it: "the SYN passes hop 2 and gets no
answer after it" fits a router's ACL, a broken route after hop 2 and the target's own
firewall alike, so the cause modules add it to those causes' reasons and leave their
scores alone. Only an ICMP error from a router on the way re-weighs: that router said
no. A trace that was not run, or could not send anything, says nothing at all (unknown,
never "nothing answered").
"""

from __future__ import annotations

from dataclasses import dataclass

from ..evidence.path import PathEnd, PathTrace


@dataclass(frozen=True)
class TraceEnd:
    """How a trace that says something ended."""

    said: str  # the line shown under the causes it concerns
    rejected: bool  # an ICMP error ended it (else: silence after the last hop answering)
    from_target: bool  # ... sent by the target itself
    prohibited: bool  # ... of a "prohibited" kind (a filter's, not a route's)


def trace_end(trace: PathTrace) -> TraceEnd | None:
    """Where the SYN died; None for a trace that says nothing."""
    if trace.unavailable is not None or trace.end is PathEnd.FAILED:
        return None
    said = f"path trace: {trace.describe()}"
    end = trace.end_hop
    if trace.end is PathEnd.REJECTED and end is not None:
        prohibited = (end.icmp or "").endswith("prohibited")
        return TraceEnd(said, True, end.sender == trace.target, prohibited)
    # Silence after the last hop that answered (or from the first hop on); or another
    # SYN got through just now, so whatever stopped the check comes and goes.
    return TraceEnd(said, False, False, False)
