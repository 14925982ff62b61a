"""What a rule reads about one failed check: the target it tried, and what the target
host and the client showed (every host fact through triage.known: unknown is not absent).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from ..evidence.model import ClientEvidence, Collected, HostEvidence, Listener
from ..outcome import Outcome
from .known import Fact, HostFacts, Knowledge
from .model import CONFIRMED
from .rank import Finding

# What a certain finding becomes when a fact it rests on was not gathered.
CAPPED_CONFIRMED = 90
CAPPED_RULED_OUT = 10

# The outcomes of a connect that failed: only these are read against the evidence.
CONNECT_OUTCOMES = frozenset(
    {
        Outcome.REFUSED,
        Outcome.TIMEOUT,
        Outcome.HOST_UNREACHABLE,
        Outcome.NET_UNREACHABLE,
        Outcome.ADMIN_PROHIBITED,
        Outcome.NO_ROUTE,
        Outcome.RESET,
    }
)


@dataclass(frozen=True)
class Target:
    """What the failing check tried to reach, as the rules need it."""

    host: str  # the inventory alias of the machine it runs on
    address: str  # the IP the client connected to
    port: int
    listen: str | None = None  # the bind address the inventory expects, if any
    unit: str | None = None
    name: str | None = None  # the DNS name the address came from, if any
    expected: tuple[str, ...] = ()  # the addresses the inventory says the name has
    icmp_from: str | None = None  # who sent the ICMP error that ended the connect, if any
    # The resolvers disagree on the name, and those whose addresses failed are named
    # here (resolution.disagreement); None when they agree or there is one.
    disagreement: str | None = None


@dataclass(frozen=True)
class Seen:
    """One failed check's target and the evidence gathered for it (None: not gathered)."""

    outcome: Outcome
    target: Target
    host: HostEvidence | None
    client: ClientEvidence | None

    @cached_property
    def facts(self) -> HostFacts | None:
        return HostFacts(self.host) if self.host is not None else None

    def state(self, fact: Fact) -> Knowledge:
        """PRESENT, ABSENT or UNKNOWN for a fact of the target host (UNKNOWN without it)."""
        return self.facts.state(fact) if self.facts is not None else Knowledge.UNKNOWN

    def why(self, fact: Fact) -> str | None:
        """Why `fact` is unknown; None when it was gathered."""
        return self.facts.why(fact) if self.facts is not None else "host: not gathered"

    def collected(self, name: str) -> Collected:
        """What a plugin's collector gave on the target host (unknown without it)."""
        if self.host is None:
            return Collected(name, None, "no evidence gathered on the target host")
        return self.host.collected_by(name)

    @property
    def wrong_address(self) -> bool:
        """The name resolved to an address the inventory does not expect for it: the
        client went to the wrong machine, so its host says nothing."""
        t = self.target
        return bool(t.name and t.expected and t.address not in t.expected)

    @property
    def elsewhere(self) -> bool:
        """The host's addresses were read, and the address probed is not one of them:
        what the host shows does not apply to this failure."""
        if self.host is None or self.state(Fact.ADDRESSES) is Knowledge.UNKNOWN:
            return False  # the inventory says this is the host: nothing contradicts it
        return not is_address_of(self.target.address, self.host.addresses)

    @property
    def not_mine(self) -> str:
        """ "10.0.0.9 is not an address of web (10.0.0.2, ...)": what `elsewhere` found."""
        mine = ", ".join(self.host.addresses[:6]) if self.host is not None else "unknown"
        return f"{self.target.address} is not an address of {self.target.host} ({mine})"

    @property
    def host_speaks(self) -> bool:
        """The host's evidence was gathered and bears on this failure."""
        return self.host is not None and not self.wrong_address and not self.elsewhere

    def finding(self, cause: str, score: int, text: str, needs: Iterable[Fact]) -> Finding:
        """A finding whose certainty rests on `needs`: capped when one is unknown.

        Every host finding also rests on the host's addresses: only they show that the
        address probed is this host's, so that what the host says applies at all.
        """
        if score in (0, CONFIRMED):
            rests_on = (*needs, Fact.ADDRESSES)
            missing = next((f for f in rests_on if self.why(f) is not None), None)
            if missing is not None:
                score = CAPPED_CONFIRMED if score else CAPPED_RULED_OUT
                text += f" (not certain: {missing} unknown)"
        return Finding(cause, score, text)


def covers(listener: Listener, address: str) -> bool:
    """Whether a socket bound to `listener.address` accepts connections to `address`."""
    if listener.wildcard:
        return listener.address != "0.0.0.0" or ":" not in address
    return listener.address == address


def is_address_of(address: str, addresses: Iterable[str]) -> bool:
    """Whether a host with `addresses` answers on `address`: one of them, or any of
    127.0.0.0/8 on a host with a loopback address (Linux answers on the whole range)."""
    mine = set(addresses)
    if address in mine:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if not ip.is_loopback:
        return False
    loopbacks = (a for a in mine if _is_loopback(a))
    return any(ipaddress.ip_address(a).version == ip.version for a in loopbacks)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
