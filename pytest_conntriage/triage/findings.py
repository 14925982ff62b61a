"""Findings from evidence gathered on the target host and the client: what a person
would conclude after logging in and looking (ss, the firewall, the unit, the route).

The rules only re-weigh causes; the check's pass or fail never depends on evidence.
Three principles keep them honest:

- Unknown is not absent. Every fact is read through triage.known (present, absent or
  unknown), and a finding is certain (100 or 0) only when every fact its conclusion
  rests on was gathered (`needs`); otherwise it is capped to likely/possible and says
  what is unknown. So leaving a fact out can take certainty away, never add it.
- A rule speaks about a cause only for outcomes the cause can produce (the runbook
  gives it a weight above 0): the service's state for refused, timeout or reset, the
  client's route for the error that route gives. Raising a cause the outcome alone
  rules out would make certainty depend on what was not gathered.
- Each cause is decided in one place from all the facts that bear on it (the service's
  causes in `_service`), so two rules never contradict each other.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..checks import host_port
from ..evidence.model import (
    Action,
    ClientEvidence,
    HostEvidence,
    Listener,
    RouteKind,
)
from ..outcome import Outcome
from .known import Fact, HostFacts, Knowledge
from .rank import CONFIRMED, Finding

# A service that started this recently and refused is most likely still starting.
RECENT_START_S = 120.0
JOURNAL_LINES_SHOWN = 3
# What a certain finding becomes when a fact it rests on was not gathered.
CAPPED_CONFIRMED = 90
CAPPED_RULED_OUT = 10

# The client's own routing table fails a connect at once, each kind with its own error.
_FAILING_ROUTES = {
    RouteKind.UNREACHABLE: ("an `unreachable` route", Outcome.HOST_UNREACHABLE),
    RouteKind.BLACKHOLE: ("a `blackhole` route", Outcome.NO_ROUTE),
    RouteKind.PROHIBIT: ("a `prohibit` route", Outcome.ADMIN_PROHIBITED),
    RouteKind.NO_ROUTE: ("no route at all", Outcome.NET_UNREACHABLE),
}
_CONNECT_OUTCOMES = frozenset(
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
# Outcomes of a SYN that reached the host's sockets, or may have (a timeout): only then
# does the service's own state (listening, queue, unit) bear on the failure.
_SERVICE_OUTCOMES = frozenset({Outcome.REFUSED, Outcome.TIMEOUT, Outcome.RESET})
# A blackhole route fails the connect on the client (EINVAL): no firewall is involved.
_FIREWALL_OUTCOMES = _CONNECT_OUTCOMES - {Outcome.NO_ROUTE}
# With no usable address the client sends to another machine, or to none.
_PATH_OUTCOMES = _CONNECT_OUTCOMES - {Outcome.REFUSED, Outcome.RESET}
_DOWN_STATES = ("failed", "inactive", "deactivating")


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


def findings(
    outcome: Outcome,
    target: Target,
    host: HostEvidence | None,
    client: ClientEvidence | None,
) -> tuple[Finding, ...]:
    """Every finding the evidence supports, in the order they were reached."""
    if outcome not in _CONNECT_OUTCOMES:
        return ()
    found: list[Finding] = []
    if client is not None:
        found += _route(outcome, target, client)
    if _unexpected_address(target, found):
        return tuple(found)  # the client went to the wrong machine: its host says nothing
    if host is None:
        return tuple(found)
    seen = _Seen(target, host)
    if _elsewhere(outcome, seen, found):
        return tuple(found)
    if outcome in _SERVICE_OUTCOMES:
        found += _service(outcome, seen)
    if outcome in _FIREWALL_OUTCOMES:
        found += _firewall(outcome, seen)
    found += _path(outcome, seen)
    return tuple(found)


def covers(listener: Listener, address: str) -> bool:
    """Whether a socket bound to `listener.address` accepts connections to `address`."""
    if listener.wildcard:
        return listener.address != "0.0.0.0" or ":" not in address
    return listener.address == address


class _Seen:
    """One target and its host's evidence, read fact by fact (triage.known)."""

    def __init__(self, target: Target, host: HostEvidence) -> None:
        self.target = target
        self.host = host
        self.facts = HostFacts(host)

    def state(self, fact: Fact) -> Knowledge:
        return self.facts.state(fact)

    def finding(self, cause: str, score: int, text: str, needs: Iterable[Fact]) -> Finding:
        """A finding whose certainty rests on `needs`: capped when one is unknown.

        Every host finding also rests on the host's addresses: only they show that the
        address probed is this host's, so that what the host says applies at all.
        """
        if score in (0, CONFIRMED):
            rests_on = (*needs, Fact.ADDRESSES)
            missing = next((f for f in rests_on if self.facts.why(f) is not None), None)
            if missing is not None:
                score = CAPPED_CONFIRMED if score else CAPPED_RULED_OUT
                text += f" (not certain: {missing} unknown)"
        return Finding(cause, score, text)


def _who(listener: Listener) -> str:
    names = sorted({p.name for p in listener.processes})
    return ", ".join(names) if names else "a process"


def _where(listener: Listener) -> str:
    return host_port(listener.address, listener.port)


def _service(outcome: Outcome, seen: _Seen) -> Iterator[Finding]:
    """service-down, wrong-port-or-interface, backlog-full and not-ready, decided
    together from the listeners, the unit and its processes."""
    target, host = seen.target, seen.host
    if seen.state(Fact.LISTENERS) is Knowledge.UNKNOWN:
        yield from _unit_state(outcome, seen, (Fact.LISTENERS,))
        return
    on_port = host.listeners_on(target.port)
    serving = [listener for listener in on_port if covers(listener, target.address)]
    h, port = target.host, target.port
    listeners = (Fact.LISTENERS,)
    if not on_port:
        yield seen.finding(
            "backlog-full", 0, f"{h}: there is no listener whose queue could fill", listeners
        )
        yield from _nothing_on_port(seen)
        return
    if not serving:
        bound = ", ".join(f"{_who(x)} on {_where(x)}" for x in on_port)
        yield seen.finding(
            "wrong-port-or-interface",
            CONFIRMED,
            f"{h}: port {port} is bound, but not on {target.address}: {bound} (ss -ltnp)",
            listeners,
        )
        yield seen.finding(
            "service-down", 0, f"{h}: {bound} listens, so the service is running", listeners
        )
        return
    listener = serving[0]
    yield seen.finding(
        "service-down",
        0,
        f"{h}: {_who(listener)} listens on {_where(listener)} (ss -ltnp)",
        listeners,
    )
    if target.listen and not any(x.address == target.listen or x.wildcard for x in on_port):
        yield seen.finding(
            "wrong-port-or-interface",
            80,
            f"{h}: the inventory expects it on {target.listen}, it listens on {_where(listener)}",
            listeners,
        )
    else:
        yield seen.finding(
            "wrong-port-or-interface", 0, f"{h}: it listens where the client connects", listeners
        )
    full = [x for x in serving if x.accept_queue_full]
    overflows = host.counters.listen_overflows if host.counters else None
    if full:
        x = full[0]
        counted = f"; TcpExtListenOverflows {overflows}" if overflows else ""
        yield seen.finding(
            "backlog-full",
            CONFIRMED,
            f"{h}: the accept queue of {_where(x)} is full: Recv-Q {x.recv_q} over its "
            f"backlog {x.send_q} (ss -ltn){counted}",
            listeners,
        )
    elif outcome is Outcome.TIMEOUT and listener.send_q is not None:
        yield seen.finding(
            "backlog-full",
            10,
            f"{h}: the accept queue of {_where(listener)} has room now "
            f"(Recv-Q {listener.recv_q} of {listener.send_q})",
            listeners,
        )
    if outcome is Outcome.REFUSED:
        yield from _started_late(seen)


def _unit_state(outcome: Outcome, seen: _Seen, needs: tuple[Fact, ...]) -> Iterator[Finding]:
    """What the unit alone says (its listeners unknown): never certain on its own."""
    target, host = seen.target, seen.host
    unit = host.unit
    if not target.unit or unit is None or unit.active_state is None:
        return
    h, needs = target.host, (*needs, Fact.UNIT)
    state = f"{unit.active_state}/{unit.sub_state}" if unit.sub_state else unit.active_state
    if unit.active_state in _DOWN_STATES:
        result = f", result {unit.result}" if unit.result and unit.result != "success" else ""
        yield seen.finding(
            "service-down", CONFIRMED, f"{h}: unit {unit.name} is {state}{result}", needs
        )
        yield from _journal(seen, needs)
    elif unit.active_state == "activating":
        yield seen.finding("not-ready", 90, f"{h}: unit {unit.name} is still {state}", needs)
    elif outcome is Outcome.REFUSED:
        yield from _started_late(seen)


def _journal(seen: _Seen, needs: tuple[Fact, ...]) -> Iterator[Finding]:
    h = seen.target.host
    for line in seen.host.journal[-JOURNAL_LINES_SHOWN:]:
        yield seen.finding("service-down", CONFIRMED, f"{h}: journal: {line}", needs)


def _started_late(seen: _Seen) -> Iterator[Finding]:
    """Refused, yet listening (or running) now: it started after the check, or while."""
    target, host = seen.target, seen.host
    h, unit = target.host, host.unit
    if unit is not None and unit.active_state is not None:
        if unit.active_state == "activating":
            yield Finding("not-ready", 90, f"{h}: unit {unit.name} is still {unit.active_state}")
            return
        started = unit.started_ago_s
        if started is not None and started < RECENT_START_S:
            yield Finding(
                "not-ready",
                90,
                f"{h}: unit {unit.name} (re)started {started:.0f} s ago: it was likely "
                "still starting when the check ran",
            )
        return
    # No systemd: how long the process holding the port has been running tells the same.
    owners = {p.pid for x in host.listeners_on(target.port) for p in x.processes}
    young = [p for p in host.processes if p.pid in owners and p.age_s < RECENT_START_S]
    if young:
        p = young[0]
        yield Finding(
            "not-ready",
            90,
            f"{h}: {p.command.split()[0] if p.command else 'the process'} (pid {p.pid}) now "
            f"listens on port {target.port} and started {p.age_s} s ago: it was not ready "
            "when the check ran",
        )


def _nothing_on_port(seen: _Seen) -> Iterator[Finding]:
    """Nothing listens on the port: is the service down, elsewhere, or still starting?"""
    target, host = seen.target, seen.host
    h, port, unit = target.host, target.port, target.unit
    nothing = f"{h}: nothing listens on port {port} (ss -ltn)"
    if not unit:
        yield seen.finding("service-down", CONFIRMED, nothing, (Fact.LISTENERS,))
        return
    needs: tuple[Fact, ...] = (Fact.LISTENERS, Fact.UNIT, Fact.PROCESSES)
    mine = {p.pid: p for p in host.unit_processes}
    processes_known = seen.state(Fact.PROCESSES) is not Knowledge.UNKNOWN
    unit_known = seen.state(Fact.UNIT) is not Knowledge.UNKNOWN
    state = host.unit.active_state if host.unit is not None and unit_known else None
    if state in _DOWN_STATES and host.unit is not None:
        shown = f"{state}/{host.unit.sub_state}" if host.unit.sub_state else state
        result = host.unit.result
        said = f", result {result}" if result and result != "success" else ""
        if processes_known and mine:
            pids = ", ".join(str(pid) for pid in sorted(mine))
            yield Finding(
                "service-down",
                70,
                f"{nothing}; unit {host.unit.name} is {shown}{said}, yet its process "
                f"{pids} still runs",
            )
            return
        yield seen.finding(
            "service-down", CONFIRMED, f"{nothing}; unit {host.unit.name} is {shown}{said}", needs
        )
        yield from _journal(seen, needs)
        return
    if state == "activating":
        yield Finding("service-down", 30, f"{h}: unit {unit} is activating")
        yield Finding("not-ready", 90, f"{nothing}; unit {unit} is still activating")
        return
    if not processes_known:
        why = seen.facts.why(Fact.PROCESSES)
        yield Finding("service-down", 90, f"{nothing}; whether {unit} runs is unknown ({why})")
        return
    if not mine:
        yield seen.finding(
            "service-down", CONFIRMED, f"{nothing}; no process of {unit} is running", needs
        )
        return
    if seen.state(Fact.LISTENER_PROCESSES) is Knowledge.UNKNOWN:
        youngest = min(mine.values(), key=lambda p: p.age_s)
        yield Finding("service-down", 30, f"{h}: {unit} (pid {youngest.pid}) is running")
        yield Finding(
            "wrong-port-or-interface",
            60,
            f"{nothing}; {unit} (pid {youngest.pid}) runs, on ports that are unknown "
            f"({seen.facts.why(Fact.LISTENER_PROCESSES)})",
        )
        return
    elsewhere = [x for x in host.listeners if any(p.pid in mine for p in x.processes)]
    if elsewhere:
        bound = ", ".join(_where(x) for x in elsewhere)
        needs = (*needs, Fact.LISTENER_PROCESSES)
        yield seen.finding("service-down", 0, f"{h}: {unit} is running", needs)
        yield seen.finding(
            "wrong-port-or-interface",
            CONFIRMED,
            f"{nothing}; {unit} listens on {bound} instead (ss -ltnp)",
            needs,
        )
        return
    youngest = min(mine.values(), key=lambda p: p.age_s)
    if youngest.age_s < RECENT_START_S:
        yield Finding("service-down", 30, f"{h}: {unit} (pid {youngest.pid}) is running")
        yield Finding(
            "not-ready",
            95,
            f"{nothing}; {unit} (pid {youngest.pid}) started {youngest.age_s} s ago and does "
            "not listen yet: it is still starting",
        )
        return
    yield Finding(
        "service-down",
        70,
        f"{nothing}; {unit} (pid {youngest.pid}) has run for {youngest.age_s} s without "
        "listening anywhere: hung, or failing to bind",
    )


def _unexpected_address(target: Target, found: list[Finding]) -> bool:
    """The name resolved to an address the inventory does not expect for it."""
    if not target.name or not target.expected or target.address in target.expected:
        return False
    found.append(
        Finding(
            "dns-wrong-host",
            CONFIRMED,
            f"{target.name} resolved to {target.address}, but the inventory expects "
            f"{', '.join(target.expected)}: the record is stale or wrong",
        )
    )
    return True


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


def _elsewhere(outcome: Outcome, seen: _Seen, found: list[Finding]) -> bool:
    """The address probed is not one of the host's: what the host says does not apply.

    Appends the finding that explains it: a name leading elsewhere (stale DNS), or an
    address in the inventory that is not this host's.
    """
    target, host = seen.target, seen.host
    if seen.state(Fact.ADDRESSES) is Knowledge.UNKNOWN:
        return False  # the inventory says this is the host: nothing contradicts it
    if is_address_of(target.address, host.addresses):
        return False
    mine = ", ".join(host.addresses[:6])
    not_mine = f"{target.address} is not an address of {target.host} ({mine})"
    if target.name:
        found.append(
            Finding(
                "dns-wrong-host",
                CONFIRMED,
                f"{target.name} resolved to {target.address}, which is not an address of "
                f"{target.host} ({mine}): the record points elsewhere",
            )
        )
    elif outcome in _PATH_OUTCOMES:
        found.append(
            Finding(
                "routing",
                90,
                f"{not_mine}: the client's packets go to another machine, or to none",
            )
        )
    else:
        # Refused or reset: a machine answered at that address, just not this host.
        found.append(
            Finding(
                "wrong-port-or-interface",
                95,
                f"{not_mine}: another machine answered there; the service is not on the "
                "address clients use",
            )
        )
    return True


def _firewall(outcome: Outcome, seen: _Seen) -> Iterator[Finding]:
    state = seen.state(Fact.FIREWALL)
    verdict = seen.host.firewall_effective
    if state is Knowledge.UNKNOWN or verdict is None:
        return
    h = seen.target.host
    if verdict.blocks:
        sees = verdict.client_sees
        fits = sees is None or sees is outcome or outcome is Outcome.TIMEOUT
        found = seen.finding(
            "host-firewall", CONFIRMED if fits else 70, f"{h}: {verdict.describe()}", ()
        )
        # The firewall decides before any socket sees the SYN: with a dead service
        # behind it, the firewall is what the client met (two faults, this one first).
        yield dataclasses.replace(found, first=fits)
    elif verdict.action is Action.ACCEPT:
        yield seen.finding(
            "host-firewall",
            0,
            f"{h}: the firewall admits tcp/{seen.target.port}: {verdict.describe()}",
            (Fact.FIREWALL,),
        )


def _path(outcome: Outcome, seen: _Seen) -> Iterator[Finding]:
    """Listening, admitted by the host, and still no answer: the path is to blame."""
    if outcome is not Outcome.TIMEOUT or seen.state(Fact.LISTENERS) is Knowledge.UNKNOWN:
        return
    target, host = seen.target, seen.host
    serving = [x for x in host.listeners_on(target.port) if covers(x, target.address)]
    if not serving or any(x.accept_queue_full for x in serving):
        return
    if seen.state(Fact.FIREWALL) is not Knowledge.ABSENT:
        return  # blocked, or not known to admit it
    yield Finding(
        "network-acl",
        90,
        f"{target.host} listens on port {target.port} and its own firewall admits it, yet "
        "the client's SYN got no answer: something on the path (security group, network "
        "ACL, a firewall between) drops it",
    )


def _route(outcome: Outcome, target: Target, client: ClientEvidence) -> Iterator[Finding]:
    route = client.route
    if route is None or route.kind not in _FAILING_ROUTES:
        return  # a usable first hop says nothing about the hops after it
    if target.icmp_from is not None:
        return  # an ICMP error came from the network: the local route did not end it
    kind, gives = _FAILING_ROUTES[route.kind]
    if outcome is not gives:
        return  # not the error this route gives: it changed since the probe
    yield Finding(
        "routing",
        CONFIRMED,
        f"client: `ip route get {client.address}` finds {kind}"
        + (f" ({route.matched})" if route.matched else ""),
        first=True,  # the connect failed on the client: nothing else was reached
    )


# Tools a host may well not have, whose absence is a fact rather than a gap: the
# firewall they would show is read from iptables/nftables anyway.
_OPTIONAL = frozenset(
    {"ufw", "firewalld", "iptables-legacy", "ip6tables", "ip6tables-legacy", "nft-text"}
)


def _expected_gap(what: str, why: str) -> bool:
    if what in _OPTIONAL and "not installed" in why:
        return True
    # Without systemd the unit is read from the process table instead: nothing is missing.
    return what == "unit" and "systemd is not PID 1" in why


def unavailable_lines(
    host_alias: str | None, host: HostEvidence | None, client: ClientEvidence | None
) -> tuple[str, ...]:
    """One "evidence unavailable" line per piece that could not be gathered."""
    lines: list[str] = []
    if host is not None and host_alias:
        lines += [
            f"{host_alias}: {what}: {why}"
            for what, why in host.unavailable
            if not _expected_gap(what, why)
        ]
    if client is not None:
        lines += [f"client: {what}: {why}" for what, why in client.unavailable]
    return tuple(lines)
