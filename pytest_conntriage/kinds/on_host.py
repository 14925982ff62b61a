"""What the listening, firewall and service kinds share: a check read on the service's
host itself, from the one evidence batch the run gathers there.

Each of those kinds is a pure `read` of HostEvidence (listening.py, firewall.py,
service.py); this module does the I/O around it: where clients connect, the client's
route to there, the host's batch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..checks import is_ip_literal
from ..evidence import ClientEvidence, HostEvidence, Packet
from ..inventory.model import Inventory, Location, Policy, Resolver, Service
from ..outcome import Outcome
from ..probe.result import Attempt, ProbeResult
from ..runbook.model import Platform
from ..triage import Finding
from ..triage import findings as evidence_rules
from ..triage.findings import Target
from ..triage.model import Facts
from .protocol import Investigation, KindDefaults, ProbeContext


@dataclass(frozen=True, slots=True)
class HostCheck:
    """A fact about the service's host, read there: listening, firewall or service state."""

    kind: HostKind
    host: str  # the inventory alias of the machine
    service: str
    port: int  # 0 for service checks
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
        return f"{self.service}@{self.host}:{self.kind.subject(self)}"


@dataclass(frozen=True, slots=True)
class HostReading:
    """What a host check read: where clients connect, and both ends' evidence."""

    addresses: tuple[str, ...]  # the service's address, or what its name resolves to
    client: ClientEvidence | None
    host: HostEvidence
    elapsed_ms: float

    @property
    def address(self) -> str | None:
        return self.addresses[0] if self.addresses else None


def runs_systemd(host: HostEvidence | None) -> bool | None:
    """Whether the host's batch found systemd as PID 1; None when it could not tell."""
    if host is None or host.init is None:
        return None
    return host.init == "systemd"


def target_platform(host: HostEvidence | None) -> Platform | None:
    """WINDOWS when the host's evidence is a Windows batch's (a winrm host), whose
    commands the runbook chooses for it; None otherwise."""
    return Platform.WINDOWS if host is not None and host.init == "windows" else None


def source_address(client: ClientEvidence | None) -> str | None:
    """The address this machine sends from, as its route to the target picks it."""
    return client.route.src if client is not None and client.route else None


def judge_reading(kind: HostKind, check: HostCheck, reading: HostReading) -> Attempt:
    """Pure: the attempt a host check's reading gives; PROBE_ERROR when the host's batch
    could not be read at all."""
    address = reading.address or ""
    batch = reading.host.why_unavailable("batch")
    if batch is not None:
        outcome, detail = Outcome.PROBE_ERROR, f"no evidence: {batch}"
    else:
        outcome, detail = kind.read(check, reading.host, reading.addresses)
    return Attempt(outcome, reading.elapsed_ms, address, check.port, detail=detail)


class HostKind(KindDefaults):
    """A kind read on the service's host; a subclass says what it reads (`read`)."""

    # Outcomes a refused connect's evidence explains (is it down, elsewhere, starting?).
    like_refused: frozenset[Outcome] = frozenset()

    def ports(self, service: Service) -> tuple[int, ...]:
        """The ports a service gets one check of this kind for (0: one for the service)."""
        return service.ports

    def subject(self, check: HostCheck) -> str:
        """What the check is about on its host, for its id: the port (or the unit)."""
        return str(check.port)

    def read(
        self, check: HostCheck, host: HostEvidence, addresses: tuple[str, ...]
    ) -> tuple[Outcome, str]:
        """Pure: the outcome and its one-line detail, from the host's evidence."""
        raise NotImplementedError

    def plan(self, inventory: Inventory) -> Iterator[HostCheck]:
        for service in inventory.services:
            for host, port in ((h, p) for h in service.on_hosts for p in self.ports(service)):
                yield HostCheck(
                    self,
                    host,
                    service.name,
                    port,
                    service.address,
                    service.dns.resolvers,
                    service.unit,
                    service.listen,
                    service.policy,
                    service.port_location(port) if port else service.location,
                    service.tags,
                )

    async def _reading(self, check: HostCheck, context: ProbeContext) -> HostReading:
        started = time.monotonic()
        if check.name is None:
            addresses: tuple[str, ...] = (check.target,)
        else:
            timeout = check.policy.timeout
            addresses = (await context.resolve(check.name, check.resolvers, timeout)).addresses
        address = addresses[0] if addresses else None
        collector = context.collector
        client = await collector.client(address) if address else None
        # The firewall is asked about this machine's packet: from the source address its
        # route picks, to where clients connect.
        packet = Packet(check.port or 1, source_address(client), address)
        host = await collector.host(check.host, check.unit, packet)
        return HostReading(addresses, client, host, (time.monotonic() - started) * 1000.0)

    async def reading(self, check: HostCheck, context: ProbeContext) -> HostReading:
        """Once per check and run: the failure's triage reads what its probe read."""
        return await context.engine.once(
            ("host-reading", check), lambda: self._reading(check, context)
        )

    async def probe(self, check: HostCheck, context: ProbeContext) -> ProbeResult:
        started = time.monotonic()
        reading = await self.reading(check, context)
        attempt = judge_reading(self, check, reading)
        return ProbeResult((attempt,), time.monotonic() - started)

    def judge(self, check: HostCheck, attempt: Attempt) -> bool:
        return attempt.outcome.is_success

    async def investigate(
        self, check: HostCheck, result: ProbeResult, context: ProbeContext
    ) -> Investigation:
        reading = await self.reading(check, context)
        host, client = reading.host, reading.client
        found: tuple[Finding, ...] = ()
        if result.outcome in self.like_refused:
            target = Target(check.host, reading.address or "", check.port, check.listen, check.unit)
            found = evidence_rules.findings(Outcome.REFUSED, target, host, None, context.rules)
        gaps = evidence_rules.unavailable_lines(check.host, host, client)
        return Investigation(found, gaps, runs_systemd(host), platform=target_platform(host))

    def facts(self, check: HostCheck, attempt: Attempt) -> Facts:
        address = attempt.address or None
        return Facts(
            address=address,
            port=check.port or None,
            name=check.name,
            host=check.name or address,
            unit=check.unit,
            service=check.service,
            listen=check.listen,
        )

    def describe(self, check: HostCheck) -> str:
        return f"{self.name} on {check.id}, service {check.service}"

    def explain(self, check: HostCheck, attempt: Attempt) -> str:
        return attempt.detail

    def properties(self, check: HostCheck, attempt: Attempt) -> list[tuple[str, str]]:
        return [("address", attempt.address or ""), ("port", str(check.port))]
