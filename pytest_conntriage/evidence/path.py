"""Where on the way to the target a SYN dies: hop replies read into a path trace.

The trace itself (probe/trace.py) sends the probe's SYN once per TTL, 1 to `max_hops`,
and records what came back for each: a router's ICMP time-exceeded (the SYN passed
the hops before it), an ICMP error that ends the path, the target's own answer, or
nothing within the hop timeout. This module only reads those replies; it does no I/O.

What a trace can say is limited, and the text says no more than that: routers that
do not answer expired packets, or rate-limit their ICMP, look exactly like the SYN
dying. So a trace names the last hop that answered and what happened after it, never
which device after that hop dropped the packet.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from ..checks import host_port
from ..outcome import Outcome
from .model import Route, RouteKind


class HopKind(str, Enum):
    """What came back for the SYN sent with one TTL."""

    TIME_EXCEEDED = "time-exceeded"  # a router on the way: the SYN passed the hops before
    UNREACHABLE = "unreachable"  # an ICMP destination-unreachable: the path ends there
    ANSWERED = "answered"  # the target itself answered: SYN-ACK or reset
    SILENT = "silent"  # nothing within the hop timeout
    FAILED = "failed"  # the SYN could not be sent at all (a local error)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class HopReply:
    """The reply to the SYN sent with TTL (IPv6: hop limit) `ttl`."""

    ttl: int
    kind: HopKind
    sender: str | None = None  # who answered: a router, or the target
    icmp: str | None = None  # the ICMP message: "time-exceeded", "admin-prohibited", ...
    detail: str = ""  # ANSWERED: "open" or "refused"; FAILED: the local error


class PathEnd(str, Enum):
    """How the trace ended."""

    SILENT = "silent"  # no answer after the last hop that answered
    REJECTED = "rejected"  # an ICMP error ended it
    REACHED = "reached"  # the target answered this time
    FAILED = "failed"  # no SYN could be sent: nothing is known

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class PathTrace:
    """The replies of one trace to `target`:`port`, one per TTL, and what they say.

    A trace that was not run has no hops and says why in `unavailable`: unknown, never
    "nothing answered".
    """

    target: str
    port: int
    hops: tuple[HopReply, ...] = ()
    max_hops: int = 0  # the highest TTL the trace sent
    hop_timeout_s: float = 0.0
    unavailable: str | None = None

    @property
    def ordered(self) -> tuple[HopReply, ...]:
        return tuple(sorted(self.hops, key=lambda hop: hop.ttl))

    @property
    def end_hop(self) -> HopReply | None:
        """The lowest TTL whose SYN got a final answer (the target's, or an ICMP error):
        SYNs with a higher TTL went no further than it."""
        return next(
            (h for h in self.ordered if h.kind in (HopKind.ANSWERED, HopKind.UNREACHABLE)), None
        )

    @property
    def end(self) -> PathEnd:
        end = self.end_hop
        if end is not None:
            return PathEnd.REACHED if end.kind is HopKind.ANSWERED else PathEnd.REJECTED
        if not self.hops or any(h.kind is HopKind.FAILED for h in self.hops):
            # A TTL whose SYN was never sent would pass for silence: nothing is known.
            return PathEnd.FAILED
        return PathEnd.SILENT

    @property
    def last_router(self) -> HopReply | None:
        """The farthest hop that answered time-exceeded before the end: the SYN passed it
        (and every hop before it, answering or not)."""
        limit = self.end_hop.ttl if self.end_hop is not None else self.max_hops + 1
        passed = [
            h
            for h in self.ordered
            if h.kind is HopKind.TIME_EXCEEDED and h.ttl < limit and h.sender != self.target
        ]
        return passed[-1] if passed else None

    def describe(self) -> str:
        """Where the SYN dies, in one sentence (or why the trace says nothing)."""
        if self.unavailable is not None:
            return f"the path was not traced: {self.unavailable}"
        end, last = self.end, self.last_router
        passed = f"the SYN passes hop {last.ttl} ({last.sender})" if last else ""
        if end is PathEnd.FAILED:
            failed = next((h.detail for h in self.hops if h.detail), "no SYN could be sent")
            return f"the path could not be traced: {failed}"
        if end is PathEnd.REACHED:
            hop = self.end_hop
            assert hop is not None
            return (
                f"a SYN traced to {host_port(self.target, self.port)} now reaches it at hop "
                f"{hop.ttl} "
                f"and is {'accepted' if hop.detail == 'open' else hop.detail or 'answered'}: "
                "the path works at the moment"
            )
        if end is PathEnd.REJECTED:
            hop = self.end_hop
            assert hop is not None
            icmp = f"ICMP {hop.icmp}" if hop.icmp else "an ICMP error"
            sender = hop.sender or "?"
            # No TTL in the text: a router rate-limits its ICMP (Linux: a burst of 6 per
            # client, then 1 a second), so which TTL's error came back first is chance.
            if last is not None and last.sender == sender:
                return f"{passed} and hop {last.ttl} rejects it on the way on ({icmp})"
            if sender == self.target:
                return f"the SYN reaches {sender}, which answers {icmp}"
            if last is not None:
                return f"{passed} and {sender} rejects it ({icmp})"
            return f"{sender} rejects the SYN ({icmp}); no hop before it answered"
        wait = f"{self.hop_timeout_s:g} s"
        if last is None:
            return (
                f"no hop answered the traced SYN (TTL 1 to {self.max_hops}, {wait} each): it "
                "dies at the first hop, or the routers on the way do not answer expired packets"
            )
        return (
            f"{passed} and gets no answer after it (TTL {last.ttl + 1} to {self.max_hops} "
            f"silent for {wait}): it is dropped after hop {last.ttl}, or at {self.target}"
        )


def wants_more(wave: Sequence[HopReply]) -> bool:
    """Whether to send the next TTLs after this wave: only while its highest TTL still
    came back from a router. Past a silent one nothing new would be learned but more
    silence (and more SYNs queued or rejected past the end)."""
    if not wave:
        return False
    last = max(wave, key=lambda hop: hop.ttl)
    return last.kind is HopKind.TIME_EXCEEDED


def worth_tracing(
    outcome: Outcome, address: str, icmp_from: str | None, route: Route | None
) -> bool:
    """Whether a failed connect is one the path trace can locate: a timeout, or an ICMP
    error sent by something other than the target (a router on the way). Not when the
    target is this machine itself (loopback, or one of its own addresses), nor when
    the client's own route refused (no SYN left it), nor when that route reaches the
    target on-link (no gateway): no router is on the way, so the SYN with TTL 1 is
    delivered to the target itself and the trace would only repeat the probe."""
    if outcome is not Outcome.TIMEOUT and (icmp_from is None or icmp_from == address):
        return False
    try:
        if ipaddress.ip_address(address.strip("[]")).is_loopback:
            return False
    except ValueError:
        return False  # only an IP literal is traced
    if route is None or route.kind is RouteKind.UNKNOWN:
        return True
    return route.kind is RouteKind.UNICAST and route.gateway is not None
