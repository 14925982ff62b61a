"""The dns kind: a service's name must resolve, via each of its resolvers, to what it expects."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..checks import is_ip_literal
from ..inventory.model import DnsMatch, DnsSpec, Inventory, Location, Policy, Resolver
from ..outcome import Outcome
from ..probe.result import Attempt, ProbeResult
from ..probe.retry import with_retries
from ..triage.model import Facts
from .protocol import KindDefaults, ProbeContext

if TYPE_CHECKING:
    from .protocol import Kind


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

    @property
    def kind(self) -> DnsKind:
        return KIND

    @property
    def target(self) -> str:
        return self.name

    @property
    def id(self) -> str:
        """ "api:api.example.com@192.0.2.53": the service, the name, the resolver asked."""
        return f"{self.service}:{self.name}@{self.resolver or 'system'}"


def answers_fit(spec: DnsSpec, attempt: Attempt) -> Attempt:
    """Pure: a resolved `attempt` as the check sees it: DNS_MISMATCH when its answers are
    not what `spec` expects (all of them, or at least them: `spec.match`), else as is."""
    if attempt.outcome is not Outcome.RESOLVED or not spec.expect:
        return attempt
    expected = set(spec.expect)
    got = set(attempt.answers)
    fits = got == expected if spec.match is DnsMatch.EXACT else expected <= got
    if fits:
        return attempt
    missing = ", ".join(sorted(expected - got)) or "none"
    extra = ", ".join(sorted(got - expected)) or "none"
    detail = (
        f"expected {_listing(expected)} ({spec.match.value}), got {_listing(got)}"
        f" — missing: {missing}; unexpected: {extra}"
    )
    return Attempt(
        Outcome.DNS_MISMATCH,
        attempt.elapsed_ms,
        attempt.address,
        detail=detail,
        answers=attempt.answers,
    )


def _listing(addresses: Iterable[str]) -> str:
    return "[" + ", ".join(sorted(addresses)) + "]" if addresses else "[]"


def lookup_line(name: str, attempt: Attempt) -> str:
    """ "api.example.com: no such name at 10.0.0.53 after 1.2 ms — rcode NXDOMAIN"."""
    where = f" at {attempt.address}" if attempt.address else ""
    text = f"{name}: {attempt.outcome.describes}{where} after {ms(attempt.elapsed_ms)}"
    return text + (f" — {attempt.detail}" if attempt.detail else "")


def ms(value: float) -> str:
    """A duration for people: "0.2 ms", "1.5 s"."""
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    return f"{value:.1f} ms"


class DnsKind(KindDefaults):
    name = "dns"

    def plan(self, inventory: Inventory) -> Iterator[DnsCheck]:
        for service in inventory.services:
            if is_ip_literal(service.address):
                continue
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

    async def probe(self, check: DnsCheck, context: ProbeContext) -> ProbeResult:
        # Two checks asking the same (one name in two services) share one run of it.
        key = ("dns", check.name, check.resolver, check.spec, check.policy)

        async def attempt() -> Attempt:
            asked = await context.ask(check.name, check.resolver, check.policy.timeout)
            return answers_fit(check.spec, asked)

        return await context.engine.once(
            key, lambda: with_retries(attempt, check.policy, lambda a: self.judge(check, a))
        )

    def judge(self, check: DnsCheck, attempt: Attempt) -> bool:
        return attempt.outcome is Outcome.RESOLVED

    def facts(self, check: DnsCheck, attempt: Attempt) -> Facts:
        return Facts(
            name=check.name,
            host=check.name,
            resolver=str(check.resolver) if check.resolver else None,
            service=check.service,
        )

    def describe(self, check: DnsCheck) -> str:
        via = f"resolver {check.resolver}" if check.resolver else "the system resolver"
        return f"dns {check.name} via {via}, service {check.service}"

    def explain(self, check: DnsCheck, attempt: Attempt) -> str:
        return lookup_line(check.name, attempt)

    def properties(self, check: DnsCheck, attempt: Attempt) -> list[tuple[str, str]]:
        return [("address", check.name), ("port", "")]


KIND = DnsKind()

if TYPE_CHECKING:
    _: Kind[DnsCheck] = KIND
