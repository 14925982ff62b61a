"""The listening, firewall and service checks: pass or fail, read from the host's evidence."""

from __future__ import annotations

from .checks import CheckKind, HostCheck, host_port
from .evidence import Action, HostEvidence
from .outcome import Outcome
from .probe.result import Attempt
from .triage.findings import covers
from .triage.known import Fact, HostFacts


def judge(
    check: HostCheck, host: HostEvidence, elapsed_ms: float, addresses: tuple[str, ...]
) -> Attempt:
    """What the host's evidence says about `check`, whose clients connect to `addresses`
    (the service's address, or what its name resolves to); PROBE_ERROR when it could not
    be read."""
    address = addresses[0] if addresses else ""
    batch = host.why_unavailable("batch")
    if batch is not None:
        return _attempt(Outcome.PROBE_ERROR, elapsed_ms, address, check, f"no evidence: {batch}")
    if check.kind is CheckKind.LISTENING:
        outcome, detail = _listening(check, host, addresses)
    elif check.kind is CheckKind.FIREWALL:
        outcome, detail = _firewall(check, host)
    else:
        outcome, detail = _service(check, host)
    return _attempt(outcome, elapsed_ms, address, check, detail)


def _attempt(
    outcome: Outcome, elapsed_ms: float, address: str, check: HostCheck, detail: str
) -> Attempt:
    return Attempt(outcome, elapsed_ms, address, check.port, detail=detail)


def _listening(
    check: HostCheck, host: HostEvidence, addresses: tuple[str, ...]
) -> tuple[Outcome, str]:
    why = host.why_unavailable("listeners")
    if why is not None:
        return Outcome.PROBE_ERROR, f"listening sockets could not be read: {why}"
    on_port = host.listeners_on(check.port)
    h, port = check.host, check.port
    if not on_port:
        return Outcome.NOT_LISTENING, f"nothing listens on port {port} on {h} (ss -ltn)"
    bound = ", ".join(host_port(x.address, port) for x in on_port)
    if check.listen and not any(x.address == check.listen or x.wildcard for x in on_port):
        return Outcome.WRONG_INTERFACE, (
            f"{h} listens on {bound}, not on {check.listen} as the inventory expects"
        )
    missed = [a for a in addresses if not any(covers(x, a) for x in on_port)]
    if missed:
        return Outcome.WRONG_INTERFACE, (
            f"{h} listens on {bound} only; clients connect to {', '.join(missed)}"
        )
    return Outcome.LISTENING, f"{h} listens on {bound}"


def _firewall(check: HostCheck, host: HostEvidence) -> tuple[Outcome, str]:
    verdict = host.firewall_effective
    if verdict is None:
        gaps = "; ".join(f"{what}: {why}" for what, why in host.unavailable) or "none loaded"
        return Outcome.PROBE_ERROR, f"the firewall rules of {check.host} could not be read: {gaps}"
    if verdict.blocks:
        return Outcome.BLOCKED, verdict.describe()
    if verdict.action is Action.UNDECIDABLE:
        return Outcome.PROBE_ERROR, f"cannot decide: {verdict.describe()}"
    # An accept proves nothing while a backend that may hold the blocking rule went
    # unread (iptables-legacy "accepts" with no rules when nft could not be read).
    unread = HostFacts(host).why(Fact.FIREWALL)
    if unread is not None:
        return Outcome.PROBE_ERROR, (
            f"{verdict.describe()}, but not every ruleset of {check.host} could be read: {unread}"
        )
    return Outcome.ADMITTED, verdict.describe()


def _service(check: HostCheck, host: HostEvidence) -> tuple[Outcome, str]:
    unit, h = check.unit or "", check.host
    state = host.unit
    if state is not None and state.active_state is not None:
        sub = f"/{state.sub_state}" if state.sub_state else ""
        text = f"unit {unit} on {h} is {state.active_state}{sub}"
        if state.active_state == "active":
            return Outcome.ACTIVE, text
        result = f" (result {state.result})" if state.result and state.result != "success" else ""
        return Outcome.INACTIVE, text + result
    if host.init == "systemd":
        why = host.why_unavailable("unit") or "systemctl said nothing"
        return Outcome.PROBE_ERROR, f"the state of {unit} on {h} could not be read: {why}"
    # No systemd: the unit is its processes (commands that name it).
    if host.why_unavailable("process ages") is not None:
        return Outcome.PROBE_ERROR, f"the process table of {h} could not be read"
    if not host.unit_processes:
        return Outcome.INACTIVE, f"no process of {unit} runs on {h} (no systemd: ps)"
    youngest = min(host.unit_processes, key=lambda p: p.age_s)
    count = len(host.unit_processes)
    return Outcome.ACTIVE, (
        f"{count} process(es) of {unit} run on {h}, the youngest (pid {youngest.pid}) "
        f"for {youngest.age_s} s (no systemd: ps)"
    )
