"""Inventory → checks: one frozen Check per test, with the stable id pytest shows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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


# A name and the resolvers asked for it; () = the system resolver.
Lookup = tuple[str, tuple[Resolver, ...]]
# What each name resolved to when the checks were planned; () = it did not resolve.
Resolutions = Mapping[Lookup, tuple[str, ...]]


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
        return f"{self.name}@{self.resolver or 'system'}"


@dataclass(frozen=True, slots=True)
class TcpCheck:
    """A handshake from `vantage` to `address`:`port` must complete (TCP) or not (CLOSED)."""

    kind: CheckKind
    target: str  # as the inventory wrote it: a name or an IP literal
    port: int
    vantage: str
    address: str | None  # the IP to connect to; None: the name did not resolve when planned
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
    def id(self) -> str:
        text = f"{self.vantage}->{host_port(self.target, self.port)}"
        if self.address != self.target:
            text += f"@{self.address or 'unresolved'}"
        return text


@dataclass(frozen=True, slots=True)
class HostCheck:
    """A fact about the service's host, read there: listening, firewall or service state."""

    kind: CheckKind
    host: str  # the inventory alias of the machine
    service: str
    port: int  # 0 for SERVICE checks
    addresses: tuple[str | None, ...]  # where clients connect (resolved); None: unresolved
    unit: str | None
    listen: str | None
    policy: Policy
    location: Location
    tags: tuple[str, ...] = ()
    name: str | None = None  # the service's DNS name, if it has one

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


def lookups(inventory: Inventory) -> list[Lookup]:
    """The names whose addresses the tcp and closed checks need, each once."""
    wanted: dict[Lookup, None] = {}
    for service in inventory.services:
        if not is_ip_literal(service.address):
            wanted[(service.address, service.dns.resolvers)] = None
    for rule in inventory.closed:
        if not is_ip_literal(rule.address):
            wanted[(rule.address, rule.resolvers)] = None
    return list(wanted)


def plan(inventory: Inventory, resolutions: Resolutions) -> Plan:
    """Expand the inventory into checks, using the addresses each name resolved to."""
    dns: list[DnsCheck] = []
    tcp: list[TcpCheck] = []
    closed: list[TcpCheck] = []
    idle: list[TcpCheck] = []
    host: list[HostCheck] = []
    for service in inventory.services:
        host.extend(_host_checks(service, resolutions))
        dns.extend(_dns_checks(service))
        service_tcp = list(_tcp_checks(service, resolutions))
        tcp.extend(service_tcp)
        if service.idle > 0:
            idle.extend(replace(c, kind=CheckKind.IDLE, idle=service.idle) for c in service_tcp)
    for rule in inventory.closed:
        closed.extend(_closed_checks(rule, resolutions))
    return Plan(tuple(dns), tuple(tcp), tuple(closed), tuple(idle), tuple(host))


def _host_checks(service: Service, found: Resolutions) -> Iterator[HostCheck]:
    if service.host is None:
        return
    addresses = tuple(_addresses(service.address, service.dns.resolvers, found))
    name = None if is_ip_literal(service.address) else service.address

    def check(kind: CheckKind, port: int, where: Location) -> HostCheck:
        assert service.host is not None
        return HostCheck(
            kind,
            service.host,
            service.name,
            port,
            addresses,
            service.unit,
            service.listen,
            service.policy,
            where,
            service.tags,
            name,
        )

    for kind in (CheckKind.LISTENING, CheckKind.FIREWALL):
        for port in service.ports:
            yield check(kind, port, service.port_location(port))
    if service.unit:
        yield check(CheckKind.SERVICE, 0, service.location)


def _addresses(
    address: str, resolvers: tuple[Resolver, ...], found: Resolutions
) -> list[str | None]:
    if is_ip_literal(address):
        return [address]
    return list(found.get((address, resolvers), ())) or [None]


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


def _tcp_checks(service: Service, found: Resolutions) -> Iterator[TcpCheck]:
    for vantage in service.vantages:
        for address in _addresses(service.address, service.dns.resolvers, found):
            for port in service.ports:
                yield TcpCheck(
                    kind=CheckKind.TCP,
                    target=service.address,
                    port=port,
                    vantage=vantage,
                    address=address,
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


def _closed_checks(rule: ClosedRule, found: Resolutions) -> Iterator[TcpCheck]:
    for vantage in rule.vantages:
        for address in _addresses(rule.address, rule.resolvers, found):
            for port in rule.ports:
                yield TcpCheck(
                    kind=CheckKind.CLOSED,
                    target=rule.address,
                    port=port,
                    vantage=vantage,
                    address=address,
                    resolvers=rule.resolvers,
                    policy=rule.policy,
                    location=rule.location,
                    tags=rule.tags,
                )
