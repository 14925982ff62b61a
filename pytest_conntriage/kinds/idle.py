"""The idle kind: a connection established, then left idle for `idle` seconds, must live."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from ..checks import host_port
from ..inventory.model import Inventory
from ..probe.idle import KEEPALIVE_INTERVAL_S, KEEPALIVE_PROBES, hold_idle, idle_seconds
from ..probe.result import Attempt
from ..probe.tcp import open_connection
from ..triage.model import Facts
from .protocol import ProbeContext
from .tcp import HandshakeKind, TcpCheck, service_checks

if TYPE_CHECKING:
    from .protocol import Kind


def idled(attempt: Attempt) -> bool:
    """Pure: the connection was established, so the failure is about idling; a failed
    handshake is triaged like any other."""
    return attempt.detail.startswith("established")


class IdleKind(HandshakeKind):
    name = "idle"

    def plan(self, inventory: Inventory) -> Iterator[TcpCheck]:
        for service in inventory.services:
            if service.idle > 0:
                yield from service_checks(service, self, idle=service.idle)

    async def connect(self, check: TcpCheck, address: str, context: ProbeContext) -> Attempt:
        # The slot covers the handshake only: a connection held idle for minutes must
        # not keep other probes waiting.
        connected, sock = await context.engine.bounded(
            open_connection(address, check.port, check.policy.timeout)
        )
        if sock is None:
            return connected
        try:
            return await hold_idle(sock, check.idle, connected.elapsed_ms)
        finally:
            sock.close()

    def attempt_budget(self, check: TcpCheck) -> float:
        # It holds its connection, then waits out the keepalive probes.
        held = idle_seconds(check.idle) + KEEPALIVE_PROBES * KEEPALIVE_INTERVAL_S + 1
        return check.policy.timeout + (held if check.idle else 0)

    def facts(self, check: TcpCheck, attempt: Attempt) -> Facts:
        facts = super().facts(check, attempt)
        return replace(facts, idle=f"{idle_seconds(check.idle)} s") if idled(attempt) else facts

    def explain(self, check: TcpCheck, attempt: Attempt) -> str:
        if not attempt.outcome.is_dns and idled(attempt):
            peer = host_port(attempt.address or "?", attempt.port or check.port)
            errno = f" ({attempt.errno_name})" if attempt.errno_name else ""
            return f"{peer}: {attempt.detail}{errno}"
        return super().explain(check, attempt)


KIND = IdleKind()

if TYPE_CHECKING:
    _: Kind[TcpCheck] = KIND
