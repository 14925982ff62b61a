"""Inventory → checks: one frozen Check per test, with the stable id pytest shows.

Ids are made from the inventory alone (kind, service, vantage, name, port), never from
what a name resolves to: a record that changes, or a resolver that is down, must not
rename a test (GitLab keeps a test's history by its name). A name is resolved when
its check runs, and a name with several addresses is one check that tries them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import Enum
from ipaddress import ip_address

from .inventory.model import (
    ClosedRule,
    DnsSpec,
    Inventory,
    Location,
    Policy,
    Resolver,
    Service,
)


class CheckKind(str, Enum):
    DNS = "dns"
    TCP = "tcp"
    CLOSED = "closed"
    IDLE = "idle"  # connect, stay idle for `idle` seconds, then the connection must live
    # Read on the service's host itself (its `host:`), from one evidence batch:
    LISTENING = "listening"  # something listens on the port where clients connect
    FIREWALL = "firewall"  # the host's own firewall admits tcp to the port from here
    SERVICE = "service"  # the unit is active


def is_ip_literal(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


def host_port(host: str, port: int) -> str:
    """ "api.example.com:443", "[2001:db8::1]:443"."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class DnsCheck:
    """`name` must resolve via `resolver` (None: as applications do), to `spec.expect`."""

    service: str
    name: str
    resolver: Resolver | None
    spec: DnsSpec
    policy: Policy
    location: Location
    tags: tuple[str, ...] = ()

    kind = CheckKind.DNS

    @property
    def id(self) -> str:
        """ "api:api.example.com@192.0.2.53": the service, the name, the resolver asked."""
        return f"{self.service}:{self.name}@{self.resolver or 'system'}"


@dataclass(frozen=True, slots=True)
class TcpCheck:
    """A handshake from `vantage` to `target`:`port` must complete (TCP) or not (CLOSED).

    A name is resolved when the check runs (by `resolvers`, or the system's), and every
    address it has is tried: the check passes when each of them does.
    """

    kind: CheckKind
    target: str  # as the inventory wrote it: a name or an IP literal
    port: int
    vantage: str
    resolvers: tuple[Resolver, ...]
    policy: Policy
    location: Location
    tags: tuple[str, ...] = ()
    service: str | None = None
    host: str | None = None
    unit: str | None = None
    listen: str | None = None
    idle: float = 0.0  # IDLE checks: how long the established connection stays idle
    expected: tuple[str, ...] = ()  # the addresses `dns.expect` says the name has

    @property
    def expect_open(self) -> bool:
        return self.kind is not CheckKind.CLOSED

    @property
    def name(self) -> str | None:
        """The DNS name, when the target is one."""
        return None if is_ip_literal(self.target) else self.target

    @property
    def address(self) -> str | None:
        """The IP literal the inventory gave; None for a name (resolved when run)."""
        return self.target if is_ip_literal(self.target) else None

    @property
    def id(self) -> str:
        """ "api:local->api.example.com:443"; a closed rule has no service: "local->db:22"."""
        text = f"{self.vantage}->{host_port(self.target, self.port)}"
        return f"{self.service}:{text}" if self.service else text


@dataclass(frozen=True, slots=True)
class HostCheck:
    """A fact about the service's host, read there: listening, firewall or service state."""

    kind: CheckKind
    host: str  # the inventory alias of the machine
    service: str
    port: int  # 0 for SERVICE checks
    target: str  # where clients connect, as the inventory wrote it: a name or an IP literal
    resolvers: tuple[Resolver, ...]  # who resolves `target` when it is a name
    unit: str | None
    listen: str | None
    policy: Policy
    location: Location
    tags: tuple[str, ...] = ()

    @property
    def name(self) -> str | None:
        """The service's DNS name, if it has one."""
        return None if is_ip_literal(self.target) else self.target

    @property
    def id(self) -> str:
        """ "api@web-1:8080", "api@web-1:nginx": the service, its host, the port or unit."""
        what = self.unit if self.kind is CheckKind.SERVICE else self.port
        return f"{self.service}@{self.host}:{what}"


Check = DnsCheck | TcpCheck | HostCheck


@dataclass(frozen=True)
class Plan:
    """Every check the inventory asks for, by kind, in inventory order."""

    dns: tuple[DnsCheck, ...]
    tcp: tuple[TcpCheck, ...]
    closed: tuple[TcpCheck, ...]
    idle: tuple[TcpCheck, ...] = ()
    host: tuple[HostCheck, ...] = ()  # listening, firewall and service checks

    def __iter__(self) -> Iterator[Check]:
        yield from self.dns
        yield from self.tcp
        yield from self.closed
        yield from self.idle
        yield from self.host

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @property
    def vantages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.vantage for c in (*self.tcp, *self.closed)))


def plan(inventory: Inventory) -> Plan:
    """Expand the inventory into checks: no name is resolved here (see the module doc)."""
    dns: list[DnsCheck] = []
    tcp: list[TcpCheck] = []
    closed: list[TcpCheck] = []
    idle: list[TcpCheck] = []
    host: list[HostCheck] = []
    for service in inventory.services:
        host.extend(_host_checks(service))
        dns.extend(_dns_checks(service))
        service_tcp = list(_tcp_checks(service))
        tcp.extend(service_tcp)
        if service.idle > 0:
            idle.extend(replace(c, kind=CheckKind.IDLE, idle=service.idle) for c in service_tcp)
    for rule in inventory.closed:
        closed.extend(_closed_checks(rule))
    return Plan(tuple(dns), tuple(tcp), tuple(closed), tuple(idle), tuple(host))


def _host_checks(service: Service) -> Iterator[HostCheck]:
    if service.host is None:
        return

    def check(kind: CheckKind, port: int, where: Location) -> HostCheck:
        assert service.host is not None
        return HostCheck(
            kind,
            service.host,
            service.name,
            port,
            service.address,
            service.dns.resolvers,
            service.unit,
            service.listen,
            service.policy,
            where,
            service.tags,
        )

    for kind in (CheckKind.LISTENING, CheckKind.FIREWALL):
        for port in service.ports:
            yield check(kind, port, service.port_location(port))
    if service.unit:
        yield check(CheckKind.SERVICE, 0, service.location)


def _dns_checks(service: Service) -> Iterator[DnsCheck]:
    if is_ip_literal(service.address):
        return
    for resolver in service.dns.resolvers or (None,):
        yield DnsCheck(
            service=service.name,
            name=service.address,
            resolver=resolver,
            spec=service.dns,
            policy=service.policy,
            location=service.location,
            tags=service.tags,
        )


def _tcp_checks(service: Service) -> Iterator[TcpCheck]:
    for vantage in service.vantages:
        for port in service.ports:
            yield TcpCheck(
                kind=CheckKind.TCP,
                target=service.address,
                port=port,
                vantage=vantage,
                resolvers=service.dns.resolvers,
                policy=service.policy,
                location=service.port_location(port),
                tags=service.tags,
                service=service.name,
                host=service.host,
                unit=service.unit,
                listen=service.listen,
                expected=service.dns.expect,
            )


def _closed_checks(rule: ClosedRule) -> Iterator[TcpCheck]:
    for vantage in rule.vantages:
        for port in rule.ports:
            yield TcpCheck(
                kind=CheckKind.CLOSED,
                target=rule.address,
                port=port,
                vantage=vantage,
                resolvers=rule.resolvers,
                policy=rule.policy,
                location=rule.location,
                tags=rule.tags,
            )
