"""Hand-made checks for the kinds' pure deciders: one of each, with typical values."""

from __future__ import annotations

from pytest_conntriage.inventory.model import DnsSpec, Location, Policy, Resolver
from pytest_conntriage.kinds import closed, firewall, idle, listening, service, tcp
from pytest_conntriage.kinds.dns import DnsCheck
from pytest_conntriage.kinds.on_host import HostCheck, HostKind
from pytest_conntriage.kinds.tcp import HandshakeKind, TcpCheck

WHERE = Location("inventory.yml", 3, 5)


def on_host(
    kind: HostKind, port: int = 8080, listen: str | None = None, unit: str | None = None
) -> HostCheck:
    return HostCheck(kind, "web-1", "api", port, "127.0.0.2", (), unit, listen, Policy(), WHERE)


def handshake(
    kind: HandshakeKind = tcp.KIND,
    target: str = "127.0.0.2",
    resolvers: tuple[Resolver, ...] = (),
    idle_s: float = 0.0,
    service: str | None = "api",
) -> TcpCheck:
    return TcpCheck(
        kind, target, 8080, "local", resolvers, Policy(timeout=2.0), WHERE,
        service=service, idle=idle_s,
    )  # fmt: skip


def lookup(spec: DnsSpec, resolver: Resolver | None = None) -> DnsCheck:
    return DnsCheck("api", "api.test", resolver, spec, Policy(), WHERE)


LISTENING = on_host(listening.KIND)
FIREWALL = on_host(firewall.KIND)
SERVICE = on_host(service.KIND, port=0, unit="nginx")
TCP = handshake()
CLOSED = handshake(closed.KIND, service=None)
IDLE = handshake(idle.KIND, idle_s=30.0)
