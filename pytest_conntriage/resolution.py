"""What each resolver answers for a name, kept apart: which resolver gave which address.

A tcp check on a name probes every address any of its resolvers gives (a stale
resolver's address is probed too), and a failure to one of them names the resolvers
that gave it, so the `dig` a person runs next asks the one with the bad answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .outcome import Outcome
from .probe.dns import SYSTEM
from .probe.result import Attempt

# Special-use names no real resolver knows (RFC 2606, RFC 6761): they are never sent to
# this machine's resolver only to compare its answer (tests and the demo use them).
SPECIAL_USE_TLDS = frozenset({"test", "example", "invalid"})


@dataclass(frozen=True, slots=True)
class Resolution:
    """One lookup of `name`: every resolver asked at once, each answer kept.

    `answers` has one Attempt per resolver, in the inventory's order; its `address` is
    the resolver ("192.0.2.53", "192.0.2.53:5353", or "system" for the system resolver).
    """

    name: str
    answers: tuple[Attempt, ...]

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address any resolver gave, sorted."""
        return tuple(
            sorted({a for at in self.answers if at.outcome is Outcome.RESOLVED for a in at.answers})
        )

    def sources(self, address: str) -> tuple[str, ...]:
        """The resolvers whose answer holds `address`."""
        return tuple(at.address for at in self.answers if address in at.answers)

    @property
    def failure(self) -> Attempt:
        """What to report when no resolver gave an address: the first resolver's answer."""
        return self.answers[0]

    @property
    def disagree(self) -> bool:
        """Whether the resolvers do not all give the same answer."""
        return len({_said(at) for at in self.answers}) > 1

    def lines(self, failing: str | None = None) -> list[str]:
        """ "10.0.0.53: 10.0.0.2", one per resolver; the one(s) that gave `failing` marked."""
        out = []
        for at in self.answers:
            said = ", ".join(at.answers) if at.outcome is Outcome.RESOLVED else at.outcome.value
            mark = f"  ← gave {failing}" if failing and failing in at.answers else ""
            out.append(f"{resolver_label(at.address)}: {said}{mark}")
        return out


def _said(attempt: Attempt) -> object:
    return attempt.answers if attempt.outcome is Outcome.RESOLVED else attempt.outcome


def resolver_label(resolver: str) -> str:
    """How a resolver is named in text: "resolver 10.0.0.53", "the system resolver"."""
    return "the system resolver" if resolver == SYSTEM else f"resolver {resolver}"


def labels(resolvers: Iterable[str]) -> str:
    """ "resolver 10.0.0.53 and resolver 10.0.0.54"."""
    names = [resolver_label(r) for r in resolvers]
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


def may_ask_system(name: str) -> bool:
    """Whether `name` may be sent to this machine's resolver just to compare answers."""
    tld = name.rstrip(".").rpartition(".")[2].lower()
    return tld not in SPECIAL_USE_TLDS


def disagreement(name: str, tried: tuple[Attempt, ...], wanted_open: bool) -> str | None:
    """Resolvers that disagree, where the addresses of some connect and the others'
    do not: the ones giving the failing addresses hold a stale or wrong record. The
    line saying so, which triage weighs (triage/causes/dns.py); None when they agree."""
    bad = [a for a in tried if (a.outcome is Outcome.OPEN) is not wanted_open]
    good = [a for a in tried if (a.outcome is Outcome.OPEN) is wanted_open]
    if not wanted_open or not bad or not good:
        return None
    bad_sources = {r for a in bad for r in a.via}
    good_sources = {r for a in good for r in a.via}
    only_bad = sorted(bad_sources - good_sources)
    if not only_bad:
        return None
    failing = ", ".join(f"{a.address} ({a.outcome.value})" for a in bad)
    working = ", ".join(a.address for a in good)
    return (
        f"the resolvers disagree on {name}: {labels(only_bad)} gave {failing}, while "
        f"{working} accepted: the record there is stale or wrong"
    )
