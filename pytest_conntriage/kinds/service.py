"""The service kind: the service's unit runs on its host (systemd, or its processes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..evidence import HostEvidence
from ..inventory.model import Service
from ..outcome import Outcome
from .on_host import HostCheck, HostKind

if TYPE_CHECKING:
    from .protocol import Kind


def read_service(check: HostCheck, host: HostEvidence) -> tuple[Outcome, str]:
    """Pure: whether the unit is active, by systemd's word, or without systemd by the
    processes that name it."""
    unit, h = check.unit or "", check.host
    state = host.unit
    if state is not None and state.active_state is not None:
        sub = f"/{state.sub_state}" if state.sub_state else ""
        text = f"unit {unit} on {h} is {state.active_state}{sub}"
        if state.active_state == "active":
            return Outcome.ACTIVE, text
        result = f" (result {state.result})" if state.result and state.result != "success" else ""
        return Outcome.INACTIVE, text + result
    if host.init in ("systemd", "windows"):
        said = "systemctl said nothing" if host.init == "systemd" else "Get-Service said nothing"
        why = host.why_unavailable("unit") or said
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


class ServiceKind(HostKind):
    name = "service"
    # An inactive unit reads like a refused connect: is it down, elsewhere, starting?
    like_refused = frozenset({Outcome.INACTIVE})

    def ports(self, service: Service) -> tuple[int, ...]:
        return (0,) if service.unit else ()

    def subject(self, check: HostCheck) -> str:
        return check.unit or ""

    def read(
        self, check: HostCheck, host: HostEvidence, addresses: tuple[str, ...]
    ) -> tuple[Outcome, str]:
        return read_service(check, host)


KIND = ServiceKind()

if TYPE_CHECKING:
    _: Kind[HostCheck] = KIND
