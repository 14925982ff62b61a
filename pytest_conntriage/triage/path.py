"""Findings from the path trace: where on the way the SYN dies, under the causes it
concerns (the network ACL and routing, and the host firewall when the target itself
answered).

A trace mostly locates a fault without weighing it: "the SYN passes hop 2 and gets no
answer after it" fits a router's ACL, a broken route after hop 2 and the target's own
firewall alike, so it is added to those causes' reasons and leaves their scores alone.
Only an ICMP error from a router on the way re-weighs: that router said no. A trace
that was not run, or could not send anything, says nothing at all (unknown, never
"nothing answered").
"""

from __future__ import annotations

from ..evidence.path import PathEnd, PathTrace
from ..outcome import Outcome
from .rank import Finding

# A router's own ICMP error seen by the trace, though the check itself saw none.
ROUTER_REJECTS = 90  # network-acl: admin-prohibited from a router on the way
ROUTER_CANNOT_REACH = 80  # routing: host/net-unreachable from a router on the way


def path_findings(outcome: Outcome, trace: PathTrace | None) -> tuple[Finding, ...]:
    """What the trace adds to the diagnosis of a failed connect with this outcome."""
    if trace is None or trace.unavailable is not None or trace.end is PathEnd.FAILED:
        return ()
    said = f"path trace: {trace.describe()}"
    end = trace.end_hop
    if trace.end is PathEnd.REJECTED and end is not None:
        from_target = end.sender == trace.target
        prohibited = (end.icmp or "").endswith("prohibited")
        if from_target:
            # The target answered the SYN itself: the path to it works, for now.
            return (Finding("host-firewall", None, said), Finding("routing", None, said))
        if prohibited:
            score = ROUTER_REJECTS if outcome is Outcome.TIMEOUT else None
            return (Finding("network-acl", score, said),)
        score = ROUTER_CANNOT_REACH if outcome is Outcome.TIMEOUT else None
        return (Finding("routing", score, said),)
    # Silence after the last hop that answered (or from the first hop on); or another
    # SYN got through just now, so whatever stopped the check comes and goes.
    return (Finding("network-acl", None, said), Finding("routing", None, said))
