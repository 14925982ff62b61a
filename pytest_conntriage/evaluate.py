"""Run a check's probes on the engine and decide pass or fail, with the diagnosis on failure."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import threading
import time
from collections.abc import Callable, Coroutine, Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from . import hostcheck
from .checks import Check, CheckKind, DnsCheck, HostCheck, TcpCheck
from .connections import HostPool, HostUnavailable
from .evidence import ClientEvidence, HostEvidence, Packet
from .evidence.collector import EvidenceCollector
from .evidence.path import worth_tracing
from .inventory.model import LOCAL_VANTAGE, DnsMatch, Resolver
from .outcome import Outcome
from .probe.dns import RESOLV_CONF, SYSTEM, ask_resolver, resolve_system
from .probe.engine import Engine
from .probe.idle import hold_idle, idle_seconds
from .probe.remote import connect_from
from .probe.result import Attempt, ProbeResult
from .probe.retry import with_retries
from .probe.tcp import connect_once, open_connection
from .resolution import Resolution, disagreement, may_ask_system
from .runbook.model import Runbook
from .triage import Finding, diagnose
from .triage import findings as evidence_rules
from .triage.findings import Target
from .triage.model import Diagnosis, Facts
from .triage.path import path_findings


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    passed: bool
    result: ProbeResult
    diagnosis: Diagnosis | None = None
    # Evidence that could not be gathered for the diagnosis, "host: what: why".
    unavailable: tuple[str, ...] = ()
    # A failed tcp check: what the same probe gave from the run's other vantages.
    elsewhere: tuple[tuple[str, Outcome], ...] = ()
    # Why there is no diagnosis although the check failed: a crash while gathering
    # evidence or ranking ("ranking: KeyError: 'x'"). The verdict stands without it.
    triage_error: str = ""
    # A failed tcp check on a name: what each resolver answers for it now (when there
    # is more than one to ask).
    answers_now: Resolution | None = None

    @property
    def outcome(self) -> Outcome:
        return self.result.outcome


class Evaluator:
    """Turns checks into probes on one engine and their results into verdicts."""

    def __init__(
        self,
        engine: Engine,
        runbook: Runbook,
        hosts: HostPool | None = None,
        resolv_conf: str = RESOLV_CONF,
    ):
        self.engine = engine
        self.runbook = runbook
        self.hosts = hosts or HostPool({})
        self.collector = EvidenceCollector(engine, self.hosts)
        self.resolv_conf = resolv_conf
        # The vantages each tcp target is probed from in this run (this process's share
        # under xdist), so a failure can say where the same target is reachable from
        # without probing from a vantage nobody selected.
        self._vantages: dict[Hashable, list[TcpCheck]] = {}
        self.compare_vantages = True  # False: the run has one vantage, nothing to record
        self._vantages_lock = threading.Lock()

    # -- names: resolved when a check runs, each resolver's answer kept ---------------

    async def resolve(
        self, name: str, resolvers: tuple[Resolver, ...], timeout: float, fresh: bool = False
    ) -> Resolution:
        """What each of `resolvers` (() = the system resolver) answers for `name`.

        Once per run for every check that asks (`fresh`: ask again, for a retry or a
        gate that waits for the record to appear).
        """
        if fresh:
            return await self._lookup(name, resolvers, timeout)
        return await self.engine.once(
            ("lookup", name, resolvers, timeout), lambda: self._lookup(name, resolvers, timeout)
        )

    async def _lookup(
        self, name: str, resolvers: tuple[Resolver, ...], timeout: float
    ) -> Resolution:
        answers = await asyncio.gather(
            *(self._resolve_once(name, r, timeout) for r in resolvers or (None,))
        )
        return Resolution(name, tuple(answers))

    async def _answers_now(
        self, check: TcpCheck, asked: tuple[Resolver | None, ...]
    ) -> Resolution | None:
        """What each of `asked` (None: the system resolver) answers now for the failed
        check's name (see _asking_resolvers)."""
        name = check.name
        if name is None or not asked:
            return None

        async def ask() -> Resolution:
            timeout = check.policy.timeout
            answers = await asyncio.gather(*(self._resolve_once(name, r, timeout) for r in asked))
            return Resolution(name, tuple(answers))

        return await self.engine.once(("answers-now", name, asked), ask)

    async def _resolve_once(self, name: str, resolver: Resolver | None, timeout: float) -> Attempt:
        if resolver is None:
            return await self.engine.bounded(resolve_system(name, timeout, self.resolv_conf))
        return await self.engine.bounded(ask_resolver(name, resolver, timeout))

    # -- running checks ----------------------------------------------------------

    def submit(self, check: Check, urgent: bool = False) -> concurrent.futures.Future[CheckResult]:
        """Start `check` (once per run) and return its future result; `urgent`: now,
        ahead of checks submitted earlier that nothing waits for yet."""
        self._note_vantage(check)
        return self.engine.submit(check, lambda: self._evaluate(check), urgent=urgent)

    def prefetch(self, check: Check) -> None:
        """Queue `check` to run as soon as the engine has room; `submit` fetches it."""
        self._note_vantage(check)
        self.engine.prefetch(check, lambda: self._evaluate(check))

    def _note_vantage(self, check: Check) -> None:
        if self.compare_vantages and isinstance(check, TcpCheck) and check.kind is CheckKind.TCP:
            with self._vantages_lock:
                seen = self._vantages.setdefault(_endpoint_key(check), [])
                if all(other.vantage != check.vantage for other in seen):
                    seen.append(check)

    async def _evaluate(self, check: Check) -> CheckResult:
        if isinstance(check, HostCheck):
            return await self._evaluate_on_host(check)
        # Two checks naming the same probe (one endpoint in two services, say) share one
        # run of it: the key is what the probe does, not which check asked.
        if isinstance(check, DnsCheck):
            key: tuple[object, ...] = ("dns", check.name, check.resolver, check.spec, check.policy)
            result = await self.engine.once(
                key, lambda: with_retries(lambda: self._dns_attempt(check), check.policy, _resolved)
            )
            passed = result.outcome is Outcome.RESOLVED
        else:
            result = await self._tcp_probe(check)
            passed = _wanted(check)(result.final)
        if passed:
            return CheckResult(check, passed, result)
        # From here on the verdict is decided: a bug in triage must not turn a failed
        # check into an error without its outcome (or worse, lose it).
        findings: tuple[Finding, ...] = ()
        gaps: tuple[str, ...] = ()
        elsewhere: tuple[tuple[str, Outcome], ...] = ()
        systemd: bool | None = None
        answers_now: Resolution | None = None
        now: asyncio.Future[Resolution | None] | None = None
        try:
            if isinstance(check, TcpCheck) and check.kind is CheckKind.TCP:
                final = result.final
                # Asked alongside the evidence; a task only when there is something to
                # ask (thousands of failures each with a task would cost seconds).
                asking = _asking_resolvers(check)
                now = asyncio.ensure_future(self._answers_now(check, asking)) if asking else None
                elsewhere = await self._from_other_vantages(check)
                findings, gaps, systemd = await self._evidence(check, final)
                answers_now = await now if now is not None else None
                if check.name is not None:
                    disagreeing = disagreement(check.name, final.tried, check.expect_open)
                    # Before the host's evidence: what was seen on the host weighs more.
                    findings = ((disagreeing,) if disagreeing else ()) + findings
        except Exception as exc:
            if now is not None:
                now.cancel()
            crash = self._crash("evidence", exc)
            return CheckResult(
                check,
                passed,
                result,
                elsewhere=elsewhere,
                triage_error=crash,
                answers_now=answers_now,
            )
        try:
            facts = replace(facts_for(check, result.final), systemd=systemd)
            diagnosis = diagnose(result.outcome, facts, self.runbook, findings)
        except Exception as exc:
            crash = self._crash("ranking", exc)
            return CheckResult(
                check, passed, result, None, gaps, elsewhere, crash, answers_now=answers_now
            )
        return CheckResult(
            check, passed, result, diagnosis, gaps, elsewhere, answers_now=answers_now
        )

    def _tcp_probe(self, check: TcpCheck) -> Coroutine[Any, Any, ProbeResult]:
        """The check's probe, shared with every check that would run the very same one.

        The vantage is part of what a probe is: from another machine the same target
        can answer differently, and a vantage that cannot be reached has no answer.
        """
        wanted = _wanted(check)
        attempts = itertools.count()
        return self.engine.once(
            _probe_key(check),
            lambda: with_retries(
                lambda: self._tcp_attempt(check, fresh=next(attempts) > 0), check.policy, wanted
            ),
        )

    async def _from_other_vantages(self, check: TcpCheck) -> tuple[tuple[str, Outcome], ...]:
        """What the same target gave from this run's other vantages, in inventory order."""
        with self._vantages_lock:
            others = [
                other
                for other in self._vantages.get(_endpoint_key(check), ())
                if other.vantage != check.vantage
            ]
        if not others:
            return ()
        results = await asyncio.gather(*(self._tcp_probe(other) for other in others))
        return tuple((other.vantage, r.outcome) for other, r in zip(others, results, strict=True))

    async def _evaluate_on_host(self, check: HostCheck) -> CheckResult:
        """A listening, firewall or service check: read from the host's evidence batch."""
        started = time.monotonic()
        if check.name is None:
            addresses: tuple[str, ...] = (check.target,)
        else:
            timeout = check.policy.timeout
            addresses = (await self.resolve(check.name, check.resolvers, timeout)).addresses
        address = addresses[0] if addresses else None
        client = await self.collector.client(address) if address else None
        source = _source_address(client)
        # The firewall is asked about this machine's packet: from the source address its
        # route picks, to where clients connect.
        packet = Packet(check.port or 1, source, address)
        host = await self.collector.host(check.host, check.unit, packet)
        attempt = hostcheck.judge(check, host, (time.monotonic() - started) * 1000.0, addresses)
        result = ProbeResult((attempt,), time.monotonic() - started)
        if attempt.outcome.is_success:
            return CheckResult(check, True, result)
        findings: tuple[Finding, ...] = ()
        try:
            if attempt.outcome in (Outcome.NOT_LISTENING, Outcome.INACTIVE):
                # Read like a refused connect: is it down, elsewhere, or still starting?
                target = Target(check.host, address or "", check.port, check.listen, check.unit)
                findings = evidence_rules.findings(Outcome.REFUSED, target, host, None)
            gaps = evidence_rules.unavailable_lines(check.host, host, client)
        except Exception as exc:
            return CheckResult(check, False, result, triage_error=self._crash("evidence", exc))
        facts = Facts(
            address=address,
            port=check.port or None,
            name=check.name,
            host=check.name or address,
            unit=check.unit,
            service=check.service,
            listen=check.listen,
            systemd=_runs_systemd(host),
        )
        try:
            diagnosis = diagnose(attempt.outcome, facts, self.runbook, findings)
        except Exception as exc:
            return CheckResult(check, False, result, triage_error=self._crash("ranking", exc))
        return CheckResult(check, False, result, diagnosis, gaps)

    def _crash(self, stage: str, exc: Exception) -> str:
        # Transport errors can quote a host spec: no password may reach a report.
        return self.hosts.redact(crash_reason(stage, exc))

    async def _evidence(
        self, check: TcpCheck, final: Attempt
    ) -> tuple[tuple[Finding, ...], tuple[str, ...], bool | None]:
        """What the target host and the client say about a failed connect, and whether
        the host runs systemd (None: not known), which the fixes' commands must fit.

        Only re-weighs the causes: pass or fail was decided by the probe alone.
        """
        address = final.address or check.address
        if not address or final.outcome.is_dns or final.outcome is Outcome.PROBE_ERROR:
            return (), (), None
        client = await self.collector.client(address) if check.vantage == LOCAL_VANTAGE else None
        trace = None
        icmp_from = final.icmp.sender if final.icmp else None
        route = client.route if client is not None else None
        if check.vantage == LOCAL_VANTAGE and worth_tracing(
            final.outcome, address, icmp_from, route
        ):
            trace = await self.collector.trace(address, check.port)
        host = None
        if check.host is not None:
            # The target sees the client by the source address this machine's route
            # picks (unless NAT is in between); a remote vantage's is not known here.
            source = _source_address(client)
            packet = Packet(check.port, source, address)
            host = await self.collector.host(check.host, check.unit, packet)
        target = Target(
            check.host or "",
            address,
            check.port,
            check.listen,
            check.unit,
            check.name,
            check.expected,
            icmp_from,
        )
        # The trace locates; what the host itself shows has the last word on a cause.
        found = (
            *path_findings(final.outcome, trace),
            *evidence_rules.findings(final.outcome, target, host, client),
        )
        gaps = evidence_rules.unavailable_lines(check.host, host, client)
        if trace is not None and trace.unavailable is not None:
            gaps += (f"client: path trace: {trace.unavailable}",)
        return found, gaps, _runs_systemd(host)

    async def _dns_attempt(self, check: DnsCheck) -> Attempt:
        attempt = await self._resolve_once(check.name, check.resolver, check.policy.timeout)
        if attempt.outcome is not Outcome.RESOLVED or not check.spec.expect:
            return attempt
        expected = set(check.spec.expect)
        got = set(attempt.answers)
        fits = got == expected if check.spec.match is DnsMatch.EXACT else expected <= got
        if fits:
            return attempt
        missing = ", ".join(sorted(expected - got)) or "none"
        extra = ", ".join(sorted(got - expected)) or "none"
        detail = (
            f"expected {_listing(expected)} ({check.spec.match.value}), got {_listing(got)}"
            f" — missing: {missing}; unexpected: {extra}"
        )
        return Attempt(
            Outcome.DNS_MISMATCH,
            attempt.elapsed_ms,
            attempt.address,
            detail=detail,
            answers=attempt.answers,
        )

    async def _tcp_attempt(self, check: TcpCheck, fresh: bool = False) -> Attempt:
        """One attempt: every address of the target, at once; the verdict's attempt.

        A name is resolved first (once per run for first attempts; `fresh` asks again,
        as a gate waiting for a record must), and each address is tried: the attempt
        that decides is the first address that fails the check, else the first.
        """
        if check.address is not None:
            return await self._attempt_at(check, check.address)
        resolution = await self.resolve(check.target, check.resolvers, check.policy.timeout, fresh)
        addresses = resolution.addresses
        if not addresses:
            return resolution.failure
        attempts = await asyncio.gather(*(self._attempt_at(check, a) for a in addresses))
        tried = tuple(
            replace(a, via=resolution.sources(a.address or x))
            for a, x in zip(attempts, addresses, strict=True)
        )
        wanted = _wanted(check)
        verdict = next((a for a in tried if not wanted(a)), tried[0])
        return replace(verdict, tried=tried) if len(tried) > 1 else verdict

    async def _attempt_at(self, check: TcpCheck, address: str) -> Attempt:
        if check.vantage != LOCAL_VANTAGE:
            return await self._remote_attempt(check, address)
        if check.kind is CheckKind.IDLE:
            return await self._idle_attempt(check, address)
        return await self.engine.bounded(connect_once(address, check.port, check.policy.timeout))

    async def _remote_attempt(self, check: TcpCheck, address: str) -> Attempt:
        # The name was resolved here, by the inventory's resolvers or this machine's:
        # the vantage connects to that address, so both ends probe the same target.
        try:
            shell = self.hosts.shell(check.vantage)
        except HostUnavailable as exc:  # its message is already masked
            return Attempt(Outcome.PROBE_ERROR, 0.0, address, check.port, None, str(exc))
        attempt = await self.engine.bounded(
            connect_from(
                shell,
                check.vantage,
                address,
                check.port,
                check.policy.timeout,
                self.hosts.timeout,
            )
        )
        return replace(attempt, detail=self.hosts.redact(attempt.detail))

    async def _idle_attempt(self, check: TcpCheck, address: str) -> Attempt:
        # The slot covers the handshake only: a connection held idle for minutes must
        # not keep other probes waiting.
        connected, sock = await self.engine.bounded(
            open_connection(address, check.port, check.policy.timeout)
        )
        if sock is None:
            return connected
        try:
            return await hold_idle(sock, check.idle, connected.elapsed_ms)
        finally:
            sock.close()


def crash_reason(stage: str, exc: BaseException) -> str:
    """One line saying which stage of triage failed and how: "ranking: KeyError: 'x'"."""
    detail = " ".join(str(exc).split())
    return f"{stage}: {type(exc).__name__}" + (f": {detail}" if detail else "")


def facts_for(check: DnsCheck | TcpCheck, attempt: Attempt) -> Facts:
    """The real values the runbook's templates are filled with for this failure."""
    if isinstance(check, DnsCheck):
        return Facts(
            name=check.name,
            host=check.name,
            resolver=str(check.resolver) if check.resolver else None,
            service=check.service,
        )
    # The resolver that gave the failing address: the `dig` to run asks that one.
    given_by = [r for r in attempt.via if r != SYSTEM]
    resolver: str | None
    if given_by:
        resolver = given_by[0]
    elif attempt.via:
        resolver = None  # the system resolver's answer: plain `dig name`
    else:
        resolver = str(check.resolvers[0]) if check.resolvers else None
    return Facts(
        address=attempt.address or check.address,
        port=check.port,
        name=check.name,
        # A name with several addresses that failed on one: the name alone would let
        # `nc` or `traceroute` pick another address, one that may well work.
        host=attempt.address if attempt.tried and attempt.address else check.target,
        resolver=resolver,
        unit=check.unit,
        service=check.service,
        vantage=check.vantage,
        listen=check.listen,
        icmp=attempt.icmp.kind if attempt.icmp else None,
        icmp_from=attempt.icmp.sender if attempt.icmp else None,
        # Only once the connection was established does an idle check's failure say
        # anything about idling; a failed handshake is triaged like any other.
        idle=f"{idle_seconds(check.idle)} s"
        if check.kind is CheckKind.IDLE and attempt.detail.startswith("established")
        else None,
    )


def _runs_systemd(host: HostEvidence | None) -> bool | None:
    """Whether the host's batch found systemd as PID 1; None when it could not tell."""
    if host is None or host.init is None:
        return None
    return host.init == "systemd"


def _source_address(client: ClientEvidence | None) -> str | None:
    """The address this machine sends from, as its route to the target picks it."""
    return client.route.src if client is not None and client.route else None


def _listing(addresses: Iterable[str]) -> str:
    return "[" + ", ".join(sorted(addresses)) + "]" if addresses else "[]"


def _resolved(attempt: Attempt) -> bool:
    return attempt.outcome is Outcome.RESOLVED


def _open(attempt: Attempt) -> bool:
    return attempt.outcome is Outcome.OPEN


def _not_open(attempt: Attempt) -> bool:
    # A probe that could not run (a vantage that cannot be reached, no socket) saw
    # nothing: it cannot prove the port closed.
    return attempt.outcome not in (Outcome.OPEN, Outcome.PROBE_ERROR)


def _asking_resolvers(check: TcpCheck) -> tuple[Resolver | None, ...]:
    """Whom to ask what a failed check's name resolves to now: every resolver of the
    check, and the system resolver too when the inventory names others (unless the name
    is a reserved one, see resolution.may_ask_system); () when one resolver is all."""
    name = check.name
    if name is None:
        return ()
    asked: tuple[Resolver | None, ...] = check.resolvers or (None,)
    if check.resolvers and may_ask_system(name):
        asked += (None,)
    return asked if len(asked) > 1 else ()


def _wanted(check: TcpCheck) -> Callable[[Attempt], bool]:
    return _open if check.expect_open else _not_open


def _probe_key(check: TcpCheck) -> tuple[object, ...]:
    """Everything that makes a tcp probe what it is: equal keys may share one run."""
    return ("tcp", check.vantage, *_endpoint_key(check))


def _endpoint_key(check: TcpCheck) -> tuple[object, ...]:
    """What a tcp probe is, apart from the vantage it runs from."""
    return (check.kind, check.target, check.resolvers, check.port, check.policy, check.idle)
