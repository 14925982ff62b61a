"""The tcp kind: a handshake from each vantage to each port of a service must complete.

Its check, TcpCheck, also serves the closed and idle kinds (closed.py, idle.py), which
change what passes and how an attempt is made, not what a check is.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..checks import host_port, is_ip_literal
from ..evidence import HostEvidence, Packet
from ..evidence.path import worth_tracing
from ..inventory.model import LOCAL_VANTAGE, Inventory, Location, Policy, Resolver, Service
from ..outcome import Outcome
from ..probe.dns import SYSTEM
from ..probe.result import Attempt, ProbeResult
from ..probe.retry import with_retries
from ..probe.tcp import connect_once
from ..resolution import Resolution, disagreement, may_ask_system
from ..result import crash_reason
from ..triage import Finding
from ..triage import findings as evidence_rules
from ..triage.findings import Target
from ..triage.model import Facts
from .dns import lookup_line, ms
from .on_host import runs_systemd, source_address, target_platform
from .protocol import Investigation, KindDefaults, ProbeContext

if TYPE_CHECKING:
    from .protocol import Kind


@dataclass(frozen=True, slots=True)
class TcpCheck:
    """A handshake from `vantage` to `target`:`port`, judged by its `kind`.

    A name is resolved when the check runs (by `resolvers`, or the system's), and every
    address it has is tried: the check passes when each of them does.
    """

    kind: HandshakeKind
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
    idle: float = 0.0  # idle checks: how long the established connection stays idle
    expected: tuple[str, ...] = ()  # the addresses `dns.expect` says the name has

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


def service_checks(
    service: Service,
    kind: HandshakeKind,
    idle: float = 0.0,
    ports: Sequence[int] | None = None,
    location: Location | None = None,
) -> Iterator[TcpCheck]:
    """A service's handshakes: every vantage to every port (`ports`, else the service's),
    in inventory order, each located at its port (or at `location`)."""
    for vantage in service.vantages:
        for port in service.ports if ports is None else ports:
            yield TcpCheck(
                kind=kind,
                target=service.address,
                port=port,
                vantage=vantage,
                resolvers=service.dns.resolvers,
                policy=service.policy,
                location=location or service.port_location(port),
                tags=service.tags,
                service=service.name,
                host=service.host,
                unit=service.unit,
                listen=service.listen,
                idle=idle,
                expected=service.dns.expect,
            )


def given_by(check: TcpCheck, attempt: Attempt) -> str | None:
    """Pure: the resolver that gave the failing address (the `dig` to run asks that one);
    None for the system resolver's answer (plain `dig name`)."""
    named = [r for r in attempt.via if r != SYSTEM]
    if named:
        return named[0]
    if attempt.via:
        return None
    return str(check.resolvers[0]) if check.resolvers else None


def asking_resolvers(check: TcpCheck) -> tuple[Resolver | None, ...]:
    """Pure: whom to ask what a failed check's name resolves to now: every resolver of
    the check, and the system resolver too when the inventory names others (unless the
    name is a reserved one, see resolution.may_ask_system); () when one resolver is all."""
    name = check.name
    if name is None:
        return ()
    asked: tuple[Resolver | None, ...] = check.resolvers or (None,)
    if check.resolvers and may_ask_system(name):
        asked += (None,)
    return asked if len(asked) > 1 else ()


class HandshakeKind(KindDefaults):
    """What the tcp, closed and idle kinds share: a TcpCheck's probe, and its words.

    Only the tcp kind gathers evidence and compares vantages on failure (TcpKind); the
    others change what passes (closed) or how an attempt is made (idle).
    """

    def plan(self, inventory: Inventory) -> Iterator[TcpCheck]:
        raise NotImplementedError  # each kind plans its own

    # -- probing ---------------------------------------------------------------------

    async def probe(self, check: TcpCheck, context: ProbeContext) -> ProbeResult:
        """The check's probe, shared with every check that would run the very same one.

        The vantage is part of what a probe is: from another machine the same target
        can answer differently, and a vantage that cannot be reached has no answer.
        """
        attempts = itertools.count()
        key = ("tcp", check.vantage, *self._endpoint_key(check))
        return await context.engine.once(
            key,
            lambda: with_retries(
                lambda: self._attempt(check, context, fresh=next(attempts) > 0),
                check.policy,
                lambda a: self.judge(check, a),
            ),
        )

    async def _attempt(self, check: TcpCheck, context: ProbeContext, fresh: bool) -> Attempt:
        """One attempt: every address of the target, at once; the verdict's attempt.

        A name is resolved first (once per run for first attempts; `fresh` asks again,
        as a gate waiting for a record must), and each address is tried: the attempt
        that decides is the first address that fails the check, else the first.
        """
        if check.address is not None:
            return await self._attempt_at(check, check.address, context, fresh)
        resolution = await context.resolve(
            check.target, check.resolvers, check.policy.timeout, fresh
        )
        addresses = resolution.addresses
        if not addresses:
            return resolution.failure
        attempts = await asyncio.gather(
            *(self._attempt_at(check, a, context, fresh) for a in addresses)
        )
        tried = tuple(
            replace(a, via=resolution.sources(a.address or x))
            for a, x in zip(attempts, addresses, strict=True)
        )
        verdict = next((a for a in tried if not self.judge(check, a)), tried[0])
        return replace(verdict, tried=tried) if len(tried) > 1 else verdict

    async def _attempt_at(
        self, check: TcpCheck, address: str, context: ProbeContext, fresh: bool = False
    ) -> Attempt:
        if check.vantage != LOCAL_VANTAGE:
            return await self._remote_attempt(check, address, context, fresh)
        return await self.connect(check, address, context)

    async def connect(self, check: TcpCheck, address: str, context: ProbeContext) -> Attempt:
        """One attempt from this machine to `address`."""
        return await context.engine.bounded(connect_once(address, check.port, check.policy.timeout))

    async def _remote_attempt(
        self, check: TcpCheck, address: str, context: ProbeContext, fresh: bool
    ) -> Attempt:
        # The name was resolved here, by the inventory's resolvers or this machine's:
        # the vantage connects to that address, so both ends probe the same target. It
        # goes in the vantage's next batch (probe/vantages.py): one round trip for all.
        return await context.remote.connect(
            check.vantage, address, check.port, check.policy.timeout, fresh
        )

    def announce(self, check: TcpCheck, context: ProbeContext) -> None:
        # A remote check of an IP literal: its first connect is known now, and joins the
        # vantage's first batch (a name's address is known only once resolved).
        if check.vantage != LOCAL_VANTAGE and check.address is not None:
            context.remote.announce(check.vantage, check.address, check.port, check.policy.timeout)

    def _endpoint_key(self, check: TcpCheck) -> tuple[object, ...]:
        """What a tcp probe is, apart from the vantage it runs from."""
        return (self, check.target, check.resolvers, check.port, check.policy, check.idle)

    def judge(self, check: TcpCheck, attempt: Attempt) -> bool:
        return attempt.outcome is Outcome.OPEN

    def facts(self, check: TcpCheck, attempt: Attempt) -> Facts:
        return Facts(
            address=attempt.address or check.address,
            port=check.port,
            name=check.name,
            # A name with several addresses that failed on one: the name alone would let
            # `nc` or `traceroute` pick another address, one that may well work.
            host=attempt.address if attempt.tried and attempt.address else check.target,
            resolver=given_by(check, attempt),
            unit=check.unit,
            service=check.service,
            vantage=check.vantage,
            listen=check.listen,
            icmp=attempt.icmp.kind if attempt.icmp else None,
            icmp_from=attempt.icmp.sender if attempt.icmp else None,
        )

    # -- words -------------------------------------------------------------------------

    def describe(self, check: TcpCheck) -> str:
        text = f"{self.name} {check.vantage} -> {host_port(check.target, check.port)}"
        return text + (f", service {check.service}" if check.service else "")

    def explain(self, check: TcpCheck, attempt: Attempt) -> str:
        if attempt.outcome.is_dns:
            return lookup_line(check.name or check.target, attempt)
        peer = host_port(attempt.address or "?", attempt.port or check.port)
        took = ms(attempt.elapsed_ms)
        errno = f" ({attempt.errno_name})" if attempt.errno_name else ""
        if attempt.outcome is Outcome.TIMEOUT:
            return f"no answer from {peer} within {check.policy.timeout:g} s{errno}"
        if attempt.outcome is Outcome.REFUSED:
            return f"connection refused by {peer} after {took}{errno}"
        if attempt.outcome is Outcome.PROBE_ERROR:
            return f"the probe to {peer} could not run: {attempt.detail}{errno}"
        return f"{attempt.outcome.describes} for {peer} after {took}{errno}"

    def properties(self, check: TcpCheck, attempt: Attempt) -> list[tuple[str, str]]:
        # The address connected to; for a name that did not resolve, none.
        address = "" if attempt.outcome.is_dns else attempt.address
        return [("address", address or ""), ("port", str(check.port))]


class TcpKind(HandshakeKind):
    name = "tcp"

    def plan(self, inventory: Inventory) -> Iterator[TcpCheck]:
        for service in inventory.services:
            yield from service_checks(service, self)

    def endpoint(self, check: TcpCheck) -> tuple[str, Hashable] | None:
        return check.vantage, self._endpoint_key(check)

    # -- on failure --------------------------------------------------------------------

    async def investigate(
        self, check: TcpCheck, result: ProbeResult, context: ProbeContext
    ) -> Investigation:
        final = result.final
        # The host's batch and the client's route start now, as the probe fails: they
        # run while the other vantages are probed and the resolvers asked again.
        address = evidence_address(check, final)
        if address is not None:
            local = check.vantage == LOCAL_VANTAGE
            context.collector.start(check.host, check.unit, address if local else None)
        elsewhere: tuple[tuple[str, Outcome], ...] = ()
        answers_now: Resolution | None = None
        # Asked alongside the evidence; a task only when there is something to ask
        # (thousands of failures each with a task would cost seconds).
        asking = asking_resolvers(check)
        now = asyncio.ensure_future(self._answers_now(check, asking, context)) if asking else None
        try:
            elsewhere = await self._from_other_vantages(check, context)
            # Weighed with the host's evidence (triage/causes/dns.py), which has the
            # last word.
            disagreeing = (
                disagreement(check.name, final.tried, True) if check.name is not None else None
            )
            found, gaps, host = await self._evidence(check, final, context, disagreeing)
            answers_now = await now if now is not None else None
        except Exception as exc:
            if now is not None:
                now.cancel()
            return Investigation(
                elsewhere=elsewhere, answers_now=answers_now, error=crash(context, exc)
            )
        return Investigation(
            found,
            gaps,
            runs_systemd(host),
            elsewhere,
            answers_now,
            platform=target_platform(host),
        )

    async def _from_other_vantages(
        self, check: TcpCheck, context: ProbeContext
    ) -> tuple[tuple[str, Outcome], ...]:
        """What the same target gave from this run's other vantages, in inventory order."""
        others = [o for o in context.other_vantages(check) if isinstance(o, TcpCheck)]
        if not others:
            return ()
        results = await asyncio.gather(*(self.probe(other, context) for other in others))
        return tuple((other.vantage, r.outcome) for other, r in zip(others, results, strict=True))

    async def _answers_now(
        self, check: TcpCheck, asked: tuple[Resolver | None, ...], context: ProbeContext
    ) -> Resolution | None:
        """What each of `asked` (None: the system resolver) answers now for the failed
        check's name (see asking_resolvers)."""
        name = check.name
        if name is None or not asked:
            return None

        async def ask() -> Resolution:
            timeout = check.policy.timeout
            answers = await asyncio.gather(*(context.ask(name, r, timeout) for r in asked))
            return Resolution(name, tuple(answers))

        return await context.engine.once(("answers-now", name, asked), ask)

    async def _evidence(
        self,
        check: TcpCheck,
        final: Attempt,
        context: ProbeContext,
        disagreeing: str | None = None,
    ) -> tuple[tuple[Finding, ...], tuple[str, ...], HostEvidence | None]:
        """What the target host and the client say about a failed connect, and the
        host's evidence (None: not gathered), whose systemd and platform the fixes'
        commands must fit.

        Only re-weighs the causes: pass or fail was decided by the probe alone.
        """
        address = evidence_address(check, final)
        if address is None:
            address = final.address or check.address
            target = Target(check.host or "", address or "", check.port, disagreement=disagreeing)
            return (
                evidence_rules.findings(final.outcome, target, None, None, context.rules),
                (),
                None,
            )
        collector = context.collector
        local = check.vantage == LOCAL_VANTAGE
        client = await collector.client(address) if local else None
        trace = None
        icmp_from = final.icmp.sender if final.icmp else None
        route = client.route if client is not None else None
        if local and worth_tracing(final.outcome, address, icmp_from, route):
            trace = await collector.trace(address, check.port)
        host = None
        if check.host is not None:
            # The target sees the client by the source address this machine's route
            # picks (unless NAT is in between); a remote vantage's is not known here.
            packet = Packet(check.port, source_address(client), address)
            host = await collector.host(check.host, check.unit, packet)
        target = Target(
            check.host or "",
            address,
            check.port,
            check.listen,
            check.unit,
            check.name,
            check.expected,
            icmp_from,
            disagreeing,
        )
        # The trace locates; what the host itself shows has the last word on a cause.
        found = (
            *evidence_rules.path_findings(final.outcome, trace, context.rules),
            *evidence_rules.findings(final.outcome, target, host, client, context.rules),
        )
        gaps = evidence_rules.unavailable_lines(check.host, host, client)
        if trace is not None and trace.unavailable is not None:
            gaps += (f"client: path trace: {trace.unavailable}",)
        return found, gaps, host


def evidence_address(check: TcpCheck, final: Attempt) -> str | None:
    """The address a failed connect's evidence is gathered for; None when there is
    none to gather (no address, a DNS failure, the probe's own failure)."""
    address = final.address or check.address
    if not address or final.outcome.is_dns or final.outcome is Outcome.PROBE_ERROR:
        return None
    return address


def crash(context: ProbeContext, exc: Exception) -> str:
    """The one line for evidence that crashed part way, with no secret in it."""
    return context.hosts.redact(crash_reason("evidence", exc))


KIND = TcpKind()

if TYPE_CHECKING:
    _: Kind[TcpCheck] = KIND
