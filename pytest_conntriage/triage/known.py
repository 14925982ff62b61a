"""What was gathered on a host, per fact: present, absent, or unknown.

Unknown is not absent. "ss found nothing on port 8080" rules causes in and out; "ss
never ran" (the batch failed, ss is missing, no root, a timeout) says nothing at all.
Every triage rule asks this one accessor, never `HostEvidence.unavailable` by a key of
its own: the gap names a collector records and the facts a rule reads are mapped here,
once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ..evidence.model import Action, HostEvidence


class Fact(str, Enum):
    """A piece of host evidence a rule can read."""

    LISTENERS = "listeners"  # the listening sockets (ss -ltn)
    LISTENER_PROCESSES = "listener processes"  # which process owns each (ss -p)
    PROCESSES = "process ages"  # the unit's processes and their ages (ps)
    UNIT = "unit"  # the systemd unit's state (systemctl show)
    JOURNAL = "journal"  # the unit's last journal lines
    FIREWALL = "firewall"  # the host firewall's verdict for the probe's packet
    ADDRESSES = "host addresses"  # the host's own IP addresses (ip addr)

    def __str__(self) -> str:
        return self.value


class Knowledge(str, Enum):
    PRESENT = "present"  # gathered, and there is something (a listener, a block, ...)
    ABSENT = "absent"  # gathered, and there is none: this rules things out
    UNKNOWN = "unknown"  # not gathered: proves nothing either way


# The gaps (names in HostEvidence.unavailable) that leave a fact unknown.
_GAPS: dict[Fact, tuple[str, ...]] = {
    Fact.LISTENERS: ("listeners",),
    Fact.LISTENER_PROCESSES: ("listeners", "listener processes"),
    Fact.PROCESSES: ("process ages",),
    Fact.UNIT: ("unit",),
    Fact.JOURNAL: ("journal", "unit"),
    # One backend that could not be read may hold the rule that blocks.
    Fact.FIREWALL: (
        "iptables",
        "ip6tables",
        "iptables-legacy",
        "ip6tables-legacy",
        "nftables",
        "firewall",
    ),
    Fact.ADDRESSES: ("host addresses",),
}

# What is there, per fact: truthy when something is.
_VALUE: dict[Fact, Callable[[HostEvidence], object]] = {
    Fact.LISTENERS: lambda h: h.listeners,
    Fact.LISTENER_PROCESSES: lambda h: any(x.processes for x in h.listeners),
    Fact.PROCESSES: lambda h: h.unit_processes,
    Fact.UNIT: lambda h: h.unit is not None and h.unit.active_state is not None,
    Fact.JOURNAL: lambda h: h.journal,
    Fact.FIREWALL: lambda h: h.firewall_effective is not None and h.firewall_effective.blocks,
    Fact.ADDRESSES: lambda h: h.addresses,
}


def _missing_tool(why: str) -> bool:
    return "not installed" in why or why.endswith("not found")


def _expected(what: str, why: str, gaps: dict[str, str]) -> bool:
    """A gap that is itself an answer: a tool the host does not have, whose absence
    is a fact (no systemd: no unit; no iptables-legacy: no legacy rules; only one of
    iptables and nft: the other shows every rule, iptables-nft's included)."""
    if what == "unit":
        return "systemd is not PID 1" in why
    if not _missing_tool(why):
        return False
    if what in ("iptables-legacy", "ip6tables-legacy"):
        return True
    other = "nftables" if what in ("iptables", "ip6tables") else "iptables"
    return what in ("iptables", "ip6tables", "nftables") and other not in gaps


@dataclass(frozen=True)
class HostFacts:
    """A host's evidence read fact by fact: `state(fact)` is the one accessor."""

    host: HostEvidence

    def state(self, fact: Fact) -> Knowledge:
        """PRESENT, ABSENT or UNKNOWN: whether `fact` was gathered, and found."""
        if self.why(fact) is not None:
            return Knowledge.UNKNOWN
        return Knowledge.PRESENT if _VALUE[fact](self.host) else Knowledge.ABSENT

    def known(self, *facts: Fact) -> bool:
        """Every one of `facts` was gathered."""
        return all(self.why(f) is None for f in facts)

    def why(self, fact: Fact) -> str | None:
        """Why `fact` is unknown, in the collector's words; None when it was gathered."""
        host = self.host
        if not host.ran:  # no output came back at all: nothing was seen
            return f"batch: {host.why_unavailable('batch') or 'no output came back'}"
        gaps = dict(host.unavailable)
        present = bool(_VALUE[fact](host))
        for what, why in host.unavailable:
            if what not in _GAPS[fact] or _expected(what, why, gaps):
                continue
            if fact is Fact.FIREWALL and present and what != "firewall":
                continue  # a backend that blocks blocks, whatever the others say
            return f"{what}: {why}"
        batch = host.why_unavailable("batch")
        if batch is not None and not present:
            # The batch did not finish: an empty piece may be one it never reached.
            return f"batch: {batch}"
        if fact is Fact.FIREWALL:
            verdict = host.firewall_effective
            if verdict is None:
                return "firewall: no ruleset could be read"
            if verdict.action is Action.UNDECIDABLE:
                return f"firewall: {verdict.describe()}"
        if fact is Fact.ADDRESSES and not present:
            return "host addresses: none read"  # every host has one: none is no answer
        if fact is Fact.UNIT and host.init is None and not present:
            return "unit: whether systemd runs is unknown"
        return None
