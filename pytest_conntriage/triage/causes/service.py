"""service-down, wrong-port-or-interface, backlog-full and not-ready: the service on
the target host is not there to answer, decided together from the listeners, the unit
and its processes (so two rules never contradict each other)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ...checks import host_port
from ...evidence.model import HostEvidence, Listener
from ...outcome import Outcome
from ..checked import icmp, ruled_out_by_idle_drop
from ..known import Fact, HostFacts, Knowledge
from ..model import CONFIRMED
from ..rank import Finding
from ..rules import CauseRules, Rule, from_rules
from ..seen import CONNECT_OUTCOMES, Seen, covers

SERVICE_DOWN = "service-down"
WRONG_PORT = "wrong-port-or-interface"
BACKLOG_FULL = "backlog-full"
NOT_READY = "not-ready"

# A service that started this recently and refused is most likely still starting.
RECENT_START_S = 120.0
JOURNAL_LINES_SHOWN = 3
# Outcomes of a SYN that reached the host's sockets, or may have (a timeout): only then
# does the service's own state (listening, queue, unit) bear on the failure.
_SERVICE_OUTCOMES = frozenset({Outcome.REFUSED, Outcome.TIMEOUT, Outcome.RESET})
_DOWN_STATES = ("failed", "inactive", "deactivating")


def from_evidence(seen: Seen) -> Iterator[Finding]:
    outcome, target = seen.outcome, seen.target
    if outcome not in CONNECT_OUTCOMES or seen.wrong_address:
        return
    if seen.elsewhere:
        if not target.name and outcome in (Outcome.REFUSED, Outcome.RESET):
            # A machine answered at that address, just not this host.
            yield Finding(
                WRONG_PORT,
                95,
                f"{seen.not_mine}: another machine answered there; the service is not on "
                "the address clients use",
            )
        return
    if seen.host is not None and seen.host_speaks and outcome in _SERVICE_OUTCOMES:
        yield from _service(outcome, _OnHost(seen, seen.host))


class _OnHost:
    """A failure whose host's evidence bears on it, read fact by fact (triage.known)."""

    def __init__(self, seen: Seen, host: HostEvidence) -> None:
        self.seen = seen
        self.target = seen.target
        self.host = host
        self.facts = HostFacts(host)

    def state(self, fact: Fact) -> Knowledge:
        return self.facts.state(fact)

    def finding(self, cause: str, score: int, text: str, needs: Iterable[Fact]) -> Finding:
        return self.seen.finding(cause, score, text, needs)


def _who(listener: Listener) -> str:
    names = sorted({p.name for p in listener.processes})
    return ", ".join(names) if names else "a process"


def _where(listener: Listener) -> str:
    return host_port(listener.address, listener.port)


def _service(outcome: Outcome, seen: _OnHost) -> Iterator[Finding]:
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
            BACKLOG_FULL, 0, f"{h}: there is no listener whose queue could fill", listeners
        )
        yield from _nothing_on_port(seen)
        return
    if not serving:
        bound = ", ".join(f"{_who(x)} on {_where(x)}" for x in on_port)
        yield seen.finding(
            WRONG_PORT,
            CONFIRMED,
            f"{h}: port {port} is bound, but not on {target.address}: {bound} (ss -ltnp)",
            listeners,
        )
        yield seen.finding(
            SERVICE_DOWN, 0, f"{h}: {bound} listens, so the service is running", listeners
        )
        return
    listener = serving[0]
    yield seen.finding(
        SERVICE_DOWN,
        0,
        f"{h}: {_who(listener)} listens on {_where(listener)} (ss -ltnp)",
        listeners,
    )
    if target.listen and not any(x.address == target.listen or x.wildcard for x in on_port):
        yield seen.finding(
            WRONG_PORT,
            80,
            f"{h}: the inventory expects it on {target.listen}, it listens on {_where(listener)}",
            listeners,
        )
    else:
        yield seen.finding(WRONG_PORT, 0, f"{h}: it listens where the client connects", listeners)
    full = [x for x in serving if x.accept_queue_full]
    overflows = host.counters.listen_overflows if host.counters else None
    if full:
        x = full[0]
        counted = f"; TcpExtListenOverflows {overflows}" if overflows else ""
        yield seen.finding(
            BACKLOG_FULL,
            CONFIRMED,
            f"{h}: the accept queue of {_where(x)} is full: Recv-Q {x.recv_q} over its "
            f"backlog {x.send_q} (ss -ltn){counted}",
            listeners,
        )
    elif outcome is Outcome.TIMEOUT and listener.send_q is not None:
        yield seen.finding(
            BACKLOG_FULL,
            10,
            f"{h}: the accept queue of {_where(listener)} has room now "
            f"(Recv-Q {listener.recv_q} of {listener.send_q})",
            listeners,
        )
    if outcome is Outcome.REFUSED:
        yield from _started_late(seen)


def _unit_state(outcome: Outcome, seen: _OnHost, needs: tuple[Fact, ...]) -> Iterator[Finding]:
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
            SERVICE_DOWN, CONFIRMED, f"{h}: unit {unit.name} is {state}{result}", needs
        )
        yield from _journal(seen, needs)
    elif unit.active_state == "activating":
        yield seen.finding(NOT_READY, 90, f"{h}: unit {unit.name} is still {state}", needs)
    elif outcome is Outcome.REFUSED:
        yield from _started_late(seen)


def _journal(seen: _OnHost, needs: tuple[Fact, ...]) -> Iterator[Finding]:
    h = seen.target.host
    for line in seen.host.journal[-JOURNAL_LINES_SHOWN:]:
        yield seen.finding(SERVICE_DOWN, CONFIRMED, f"{h}: journal: {line}", needs)


def _started_late(seen: _OnHost) -> Iterator[Finding]:
    """Refused, yet listening (or running) now: it started after the check, or while."""
    target, host = seen.target, seen.host
    h, unit = target.host, host.unit
    if unit is not None and unit.active_state is not None:
        if unit.active_state == "activating":
            yield Finding(NOT_READY, 90, f"{h}: unit {unit.name} is still {unit.active_state}")
            return
        started = unit.started_ago_s
        if started is not None and started < RECENT_START_S:
            yield Finding(
                NOT_READY,
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
            NOT_READY,
            90,
            f"{h}: {p.command.split()[0] if p.command else 'the process'} (pid {p.pid}) now "
            f"listens on port {target.port} and started {p.age_s} s ago: it was not ready "
            "when the check ran",
        )


def _nothing_on_port(seen: _OnHost) -> Iterator[Finding]:
    """Nothing listens on the port: is the service down, elsewhere, or still starting?"""
    target, host = seen.target, seen.host
    h, port, unit = target.host, target.port, target.unit
    nothing = f"{h}: nothing listens on port {port} ({host.listeners_read_by})"
    if not unit:
        yield seen.finding(SERVICE_DOWN, CONFIRMED, nothing, (Fact.LISTENERS,))
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
                SERVICE_DOWN,
                70,
                f"{nothing}; unit {host.unit.name} is {shown}{said}, yet its process "
                f"{pids} still runs",
            )
            return
        yield seen.finding(
            SERVICE_DOWN, CONFIRMED, f"{nothing}; unit {host.unit.name} is {shown}{said}", needs
        )
        yield from _journal(seen, needs)
        return
    if state == "activating":
        yield Finding(SERVICE_DOWN, 30, f"{h}: unit {unit} is activating")
        yield Finding(NOT_READY, 90, f"{nothing}; unit {unit} is still activating")
        return
    if not processes_known:
        why = seen.facts.why(Fact.PROCESSES)
        yield Finding(SERVICE_DOWN, 90, f"{nothing}; whether {unit} runs is unknown ({why})")
        return
    if not mine:
        yield seen.finding(
            SERVICE_DOWN, CONFIRMED, f"{nothing}; no process of {unit} is running", needs
        )
        return
    if seen.state(Fact.LISTENER_PROCESSES) is Knowledge.UNKNOWN:
        youngest = min(mine.values(), key=lambda p: p.age_s)
        yield Finding(SERVICE_DOWN, 30, f"{h}: {unit} (pid {youngest.pid}) is running")
        yield Finding(
            WRONG_PORT,
            60,
            f"{nothing}; {unit} (pid {youngest.pid}) runs, on ports that are unknown "
            f"({seen.facts.why(Fact.LISTENER_PROCESSES)})",
        )
        return
    elsewhere = [x for x in host.listeners if any(p.pid in mine for p in x.processes)]
    if elsewhere:
        bound = ", ".join(_where(x) for x in elsewhere)
        needs = (*needs, Fact.LISTENER_PROCESSES)
        yield seen.finding(SERVICE_DOWN, 0, f"{h}: {unit} is running", needs)
        yield seen.finding(
            WRONG_PORT,
            CONFIRMED,
            f"{nothing}; {unit} listens on {bound} instead (ss -ltnp)",
            needs,
        )
        return
    youngest = min(mine.values(), key=lambda p: p.age_s)
    if youngest.age_s < RECENT_START_S:
        yield Finding(SERVICE_DOWN, 30, f"{h}: {unit} (pid {youngest.pid}) is running")
        yield Finding(
            NOT_READY,
            95,
            f"{nothing}; {unit} (pid {youngest.pid}) started {youngest.age_s} s ago and does "
            "not listen yet: it is still starting",
        )
        return
    yield Finding(
        SERVICE_DOWN,
        70,
        f"{nothing}; {unit} (pid {youngest.pid}) has run for {youngest.age_s} s without "
        "listening anywhere: hung, or failing to bind",
    )


RULES = CauseRules(
    name="service",
    causes=(SERVICE_DOWN, WRONG_PORT, BACKLOG_FULL, NOT_READY),
    from_check=from_rules(
        (
            # A closed port answers a SYN with a TCP reset; an ICMP port-unreachable in
            # its place is what a firewall's REJECT rule sends.
            *(
                Rule(
                    name=f"icmp-port-unreachable-from-target/{cause}",
                    cause=cause,
                    score=20,
                    evidence="{address} answered with {icmp} from {icmp_from}, not a TCP "
                    "reset: the firewall answered before the service could",
                    applies=icmp("port-unreachable", from_target=True),
                )
                for cause in (SERVICE_DOWN, WRONG_PORT)
            ),
            *map(ruled_out_by_idle_drop, (SERVICE_DOWN, WRONG_PORT, BACKLOG_FULL, NOT_READY)),
        )
    ),
    from_evidence=from_evidence,
)
