"""Findings from evidence gathered on the target host and the client: what a person
would conclude after logging in and looking (ss, the firewall, the unit, the route).

Each rule is small and reads one kind of fact; together they confirm or rule out the
runbook's causes. They only re-weigh causes; the check's pass or fail never depends on
evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from .rank import CONFIRMED, Finding

# A service that started this recently and refused is most likely still starting.
RECENT_START_S = 120.0
JOURNAL_LINES_SHOWN = 3

_FAILING_ROUTES = {
    RouteKind.UNREACHABLE: "an `unreachable` route",
    RouteKind.BLACKHOLE: "a `blackhole` route",
    RouteKind.PROHIBIT: "a `prohibit` route",
    RouteKind.NO_ROUTE: "no route at all",
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


def findings(
    outcome: Outcome,
    target: Target,
    host: HostEvidence | None,
    client: ClientEvidence | None,
) -> tuple[Finding, ...]:
    """Every finding the evidence supports, weakest first (later findings win)."""
    if outcome not in _CONNECT_OUTCOMES:
        return ()
    found: list[Finding] = []
    if client is not None:
        found += _route(client)
    if _unexpected_address(target, found):
        return tuple(found)  # the client went to the wrong machine: its host says nothing
    if host is not None and not _elsewhere(target, host, found):
        found += _listeners(outcome, target, host)
        found += _firewall(outcome, target, host)
        found += _unit(outcome, target, host)
        found += _path(outcome, target, host)
    return tuple(found)


def covers(listener: Listener, address: str) -> bool:
    """Whether a socket bound to `listener.address` accepts connections to `address`."""
    if listener.wildcard:
        return listener.address != "0.0.0.0" or ":" not in address
    return listener.address == address


def _who(listener: Listener) -> str:
    names = sorted({p.name for p in listener.processes})
    return ", ".join(names) if names else "a process"


def _where(listener: Listener) -> str:
    return host_port(listener.address, listener.port)


def _listeners(outcome: Outcome, target: Target, host: HostEvidence) -> Iterator[Finding]:
    if host.why_unavailable("listeners") is not None:
        return
    on_port = host.listeners_on(target.port)
    serving = [listener for listener in on_port if covers(listener, target.address)]
    h, port = target.host, target.port
    if not on_port:
        yield from _nothing_on_port(target, host)
        yield Finding("backlog-full", 0, f"{h}: there is no listener whose queue could fill")
        return
    if not serving:
        bound = ", ".join(f"{_who(x)} on {_where(x)}" for x in on_port)
        yield Finding(
            "wrong-port-or-interface",
            CONFIRMED,
            f"{h}: port {port} is bound, but not on {target.address}: {bound} (ss -ltnp)",
        )
        yield Finding("service-down", 0, f"{h}: {bound} listens, so the service is running")
        return
    listener = serving[0]
    yield Finding(
        "service-down", 0, f"{h}: {_who(listener)} listens on {_where(listener)} (ss -ltnp)"
    )
    if target.listen and not any(x.address == target.listen or x.wildcard for x in on_port):
        yield Finding(
            "wrong-port-or-interface",
            80,
            f"{h}: the inventory expects it on {target.listen}, it listens on {_where(listener)}",
        )
    else:
        yield Finding("wrong-port-or-interface", 0, f"{h}: it listens where the client connects")
    full = [x for x in serving if x.accept_queue_full]
    overflows = host.counters.listen_overflows if host.counters else None
    if full:
        x = full[0]
        counted = f"; TcpExtListenOverflows {overflows}" if overflows else ""
        yield Finding(
            "backlog-full",
            CONFIRMED,
            f"{h}: the accept queue of {_where(x)} is full: Recv-Q {x.recv_q} over its "
            f"backlog {x.send_q} (ss -ltn){counted}",
        )
    elif outcome is Outcome.TIMEOUT and listener.send_q is not None:
        yield Finding(
            "backlog-full",
            10,
            f"{h}: the accept queue of {_where(listener)} has room now "
            f"(Recv-Q {listener.recv_q} of {listener.send_q})",
        )


def _nothing_on_port(target: Target, host: HostEvidence) -> Iterator[Finding]:
    """Nothing listens on the port: is the service down, elsewhere, or still starting?"""
    h, port, unit = target.host, target.port, target.unit
    nothing = f"{h}: nothing listens on port {port} (ss -ltn)"
    if not unit or host.why_unavailable("process ages") is not None:
        yield Finding("service-down", CONFIRMED, nothing)
        return
    mine = {p.pid: p for p in host.unit_processes}
    if not mine:
        yield Finding("service-down", CONFIRMED, f"{nothing}; no process of {unit} is running")
        return
    elsewhere = [x for x in host.listeners if any(p.pid in mine for p in x.processes)]
    if elsewhere:
        bound = ", ".join(_where(x) for x in elsewhere)
        yield Finding("service-down", 0, f"{h}: {unit} is running")
        yield Finding(
            "wrong-port-or-interface",
            CONFIRMED,
            f"{nothing}; {unit} listens on {bound} instead (ss -ltnp)",
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


def _elsewhere(target: Target, host: HostEvidence, found: list[Finding]) -> bool:
    """The address probed is not one of the host's: what the host says does not apply.

    Appends the finding that explains it: a name leading elsewhere (stale DNS), or an
    address in the inventory that is not this host's.
    """
    if not host.addresses or target.address in host.addresses:
        return False
    mine = ", ".join(host.addresses[:6])
    if target.name:
        found.append(
            Finding(
                "dns-wrong-host",
                CONFIRMED,
                f"{target.name} resolved to {target.address}, which is not an address of "
                f"{target.host} ({mine}): the record points elsewhere",
            )
        )
    else:
        found.append(
            Finding(
                "routing",
                90,
                f"{target.address} is not an address of {target.host} ({mine}): the "
                "client's packets go to another machine, or to none",
            )
        )
    return True


def _firewall(outcome: Outcome, target: Target, host: HostEvidence) -> Iterator[Finding]:
    verdict = host.firewall_effective
    if verdict is None:
        return
    h = target.host
    if verdict.blocks:
        sees = verdict.client_sees
        fits = sees is None or sees is outcome or outcome is Outcome.TIMEOUT
        yield Finding(
            "host-firewall",
            CONFIRMED if fits else 70,
            f"{h}: {verdict.describe()}",
        )
    elif verdict.action is Action.ACCEPT:
        yield Finding(
            "host-firewall",
            0,
            f"{h}: the firewall admits tcp/{target.port}: {verdict.describe()}",
        )


def _unit(outcome: Outcome, target: Target, host: HostEvidence) -> Iterator[Finding]:
    h = target.host
    unit = host.unit
    if unit is not None and unit.active_state is not None:
        state = f"{unit.active_state}/{unit.sub_state}" if unit.sub_state else unit.active_state
        if unit.active_state in ("failed", "inactive", "deactivating"):
            result = f", result {unit.result}" if unit.result and unit.result != "success" else ""
            yield Finding("service-down", CONFIRMED, f"{h}: unit {unit.name} is {state}{result}")
            for line in host.journal[-JOURNAL_LINES_SHOWN:]:
                yield Finding("service-down", CONFIRMED, f"{h}: journal: {line}")
        elif unit.active_state == "activating":
            yield Finding("not-ready", 90, f"{h}: unit {unit.name} is still {state}")
        started = unit.started_ago_s
        if started is not None and started < RECENT_START_S and outcome is Outcome.REFUSED:
            yield Finding(
                "not-ready",
                90,
                f"{h}: unit {unit.name} (re)started {started:.0f} s ago: it was likely "
                "still starting when the check ran",
            )
        return
    # No systemd: how long the process holding the port has been running tells the same.
    if outcome is not Outcome.REFUSED:
        return
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


def _path(outcome: Outcome, target: Target, host: HostEvidence) -> Iterator[Finding]:
    """Listening, admitted by the host, and still no answer: the path is to blame."""
    if outcome is not Outcome.TIMEOUT or host.why_unavailable("listeners") is not None:
        return
    serving = [x for x in host.listeners_on(target.port) if covers(x, target.address)]
    verdict = host.firewall_effective
    if not serving or any(x.accept_queue_full for x in serving):
        return
    if verdict is None or verdict.action is not Action.ACCEPT:
        return
    yield Finding(
        "network-acl",
        90,
        f"{target.host} listens on port {target.port} and its own firewall admits it, yet "
        "the client's SYN got no answer: something on the path (security group, network "
        "ACL, a firewall between) drops it",
    )


def _route(client: ClientEvidence) -> Iterator[Finding]:
    route = client.route
    if route is None:
        return
    if route.kind in _FAILING_ROUTES:
        yield Finding(
            "routing",
            CONFIRMED,
            f"client: `ip route get {client.address}` finds {_FAILING_ROUTES[route.kind]}"
            + (f" ({route.matched})" if route.matched else ""),
        )
    # A usable first hop says nothing about the hops after it: no finding.


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
