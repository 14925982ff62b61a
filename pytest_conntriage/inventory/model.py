"""The validated, frozen inventory model that every later stage reads."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

# Re-exported: the model's values carry where they were written.
from ..document_errors import Location as Location
from .hostspec import masked


@dataclass(frozen=True)
class Resolver:
    """A DNS server to ask: "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:5353"."""

    address: str
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return host if self.port == 53 else f"{host}:{self.port}"


LOCAL_VANTAGE = "local"
# `host: group:web`, `from: [group:web]`: every host of the Ansible group web (hosts_from).
GROUP_PREFIX = "group:"


@dataclass(frozen=True, slots=True)
class Policy:
    """How hard a probe tries: per-attempt timeout, extra attempts, and a deadline."""

    timeout: float = 2.0
    retries: int = 0
    wait: float = 0.0


class Severity(str, Enum):
    """What a service's failed check does to the run (inventory `severity:`)."""

    FAIL = "fail"  # fails the run
    WARN = "warn"  # reported (xfail, with its triage message), the run still passes


@dataclass(frozen=True, slots=True)
class PolicyOverride:
    """A per-run value (command line or ini) that replaces the inventory's `defaults:`
    one; a value a service (or closed rule) sets itself still wins."""

    name: str  # "timeout", "retries" or "wait"
    value: float
    source: str  # where it was given: "--conntriage-timeout", "ini conntriage_timeout"


class DnsMatch(str, Enum):
    """How a DNS answer is compared with `dns.expect`."""

    EXACT = "exact"  # the answer is exactly the expected set
    CONTAINS = "contains"  # the answer includes every expected address (extra ones allowed)


@dataclass(frozen=True)
class DnsSpec:
    """What a service's name must resolve to, and the resolvers asked (() = the system's)."""

    expect: tuple[str, ...] = ()
    resolvers: tuple[Resolver, ...] = ()
    match: DnsMatch = DnsMatch.EXACT


@dataclass(frozen=True)
class Host:
    """A machine the suite may log into for evidence, named by a testinfra host spec."""

    alias: str
    connection: str
    sudo: bool
    location: Location

    def __repr__(self) -> str:
        # Shown by pytest's `-l` and in any traceback that holds one: never the password.
        return (
            f"Host(alias={self.alias!r}, connection={masked(self.connection)!r},"
            f" sudo={self.sudo!r}, location={self.location!r})"
        )


@dataclass(frozen=True, slots=True)
class Service:
    """Something that must be reachable: `address` on every port, from every vantage."""

    name: str
    address: str
    ports: tuple[int, ...]
    policy: Policy
    vantages: tuple[str, ...]
    location: Location
    dns: DnsSpec = field(default_factory=DnsSpec)
    host: str | None = None
    unit: str | None = None
    listen: str | None = None
    tags: tuple[str, ...] = ()
    # Where each port number was written, for failures that point at the right line.
    port_locations: tuple[Location, ...] = ()
    # Seconds to keep a connection idle before checking it still carries data; 0 = off.
    idle: float = 0.0
    # Every host the service runs on: `host`'s, or each host of its `group:` (then
    # `host` is None unless the group has one). () = the same as (host,) if any.
    hosts: tuple[str, ...] = ()
    severity: Severity = Severity.FAIL
    # The sections of the service a check kind owns (Kind.inventory_schema), each as that
    # kind read it (Kind.read_section): (key, frozen value), in the order written.
    sections: tuple[tuple[str, Hashable], ...] = ()
    # port → where it was written, built on first use: planning asks once per port, and
    # a scan per call made a list of 65,535 ports take a minute.
    _located: dict[int, Location] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def section(self, key: str) -> Hashable | None:
        """The kind's own value for the service's `key` section; None: not written."""
        for name, value in self.sections:
            if name == key:
                return value
        return None

    def port_location(self, port: int) -> Location:
        """Where `port` was written in the inventory (the service's line if it was not)."""
        located = self._located
        if located is None:
            located = {}
            for number, where in zip(self.ports, self.port_locations, strict=False):
                located.setdefault(number, where)
            object.__setattr__(self, "_located", located)
        return located.get(port, self.location)

    @property
    def on_hosts(self) -> tuple[str, ...]:
        """The hosts whose listening, firewall and service checks this service gets."""
        return self.hosts or (() if self.host is None else (self.host,))


@dataclass(frozen=True)
class ClosedRule:
    """An exposure gate: these ports must NOT be reachable from these vantages."""

    address: str
    ports: tuple[int, ...]
    vantages: tuple[str, ...]
    policy: Policy
    location: Location
    resolvers: tuple[Resolver, ...] = ()
    tags: tuple[str, ...] = ()


# Seconds one evidence host may take for a whole batch (or a remote vantage's probe
# round trip): connect, auth and the commands. Past it everything still running is killed.
DEFAULT_EVIDENCE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Defaults:
    """What services and closed rules use unless they say otherwise."""

    policy: Policy = field(default_factory=Policy)
    resolvers: tuple[Resolver, ...] = ()
    vantages: tuple[str, ...] = (LOCAL_VANTAGE,)
    evidence_timeout: float = DEFAULT_EVIDENCE_TIMEOUT_S
    # Where each policy field's value comes from: "inventory" (its `defaults:`), a
    # per-run override ("--conntriage-timeout", "ini conntriage_timeout"), or "default".
    policy_sources: tuple[tuple[str, str], ...] = ()

    def policy_source(self, name: str) -> str:
        """Where `name` ("timeout", "retries", "wait") of `policy` was set."""
        return dict(self.policy_sources).get(name, "default")


@dataclass(frozen=True)
class Inventory:
    """One or more inventory files, merged."""

    sources: tuple[str, ...]
    defaults: Defaults
    hosts: dict[str, Host]
    services: tuple[Service, ...]
    closed: tuple[ClosedRule, ...]
    # Per file, the digest of the document validated (inventory.load): xdist workers
    # are handed these and skip validating the same documents again.
    digests: tuple[str, ...] = ()
    # What hosts_from read, by the Ansible file's absolute path (inventory.ansible
    # to_data): xdist workers are handed it and use it, not a read of their own. Holds
    # host specs with their passwords: never shown (repr=False).
    ansible: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
