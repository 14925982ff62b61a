"""The shape of the rules that decide causes, and the one place that asks them.

A rule module (triage/causes/, or a team's plugin through the
`pytest_conntriage_add_rules` hook) is a `CauseRules`: the cause ids it decides, and
how, from up to three sources, each asked in this order for every failed check:

- `from_check`: the failed check's own facts (the ICMP error, the address, idling);
- `from_trace`: where on the way the SYN died (the path trace), when one was run;
- `from_evidence`: the target host's and the client's evidence (`triage.seen.Seen`).

Later sources have the last word on a cause (triage.rank.adjust). A finding about a
cause the module did not declare is an error: each cause is decided in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..evidence.path import PathTrace
from ..outcome import Outcome
from .model import Facts, template
from .rank import Finding
from .seen import Seen

Applies = Callable[[Outcome, Facts], bool]
FromCheck = Callable[[Outcome, Facts], Iterable[Finding]]
FromTrace = Callable[[Outcome, PathTrace], Iterable[Finding]]
FromEvidence = Callable[[Seen], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """When `applies(outcome, facts)`, the cause `cause` gets `score`; `evidence` says why."""

    name: str
    cause: str
    score: int
    evidence: str  # prose template, filled with the facts like the runbook's own lines
    applies: Applies


def findings_from_facts(
    rules: Iterable[Rule], outcome: Outcome, facts: Facts
) -> tuple[Finding, ...]:
    """The findings of every rule that applies, in rule order."""
    return tuple(
        Finding(rule.cause, rule.score, template(rule.evidence))
        for rule in rules
        if rule.applies(outcome, facts)
    )


def from_rules(rules: Iterable[Rule]) -> FromCheck:
    """`from_check` for a table of declarative Rules, asked in table order."""
    table = tuple(rules)

    def from_check(outcome: Outcome, facts: Facts) -> tuple[Finding, ...]:
        return findings_from_facts(table, outcome, facts)

    return from_check


@dataclass(frozen=True)
class CauseRules:
    """One rule module: the causes it decides and how (see the module doc).

    `needs` names plugin collectors (evidence.batch.Collector) `from_evidence` reads:
    it is asked only when each of them ran and was read on the target host and the
    host's evidence bears on the failure (`Seen.host_speaks`). A collector that did
    not run confirms nothing, and rules nothing out.
    """

    name: str
    causes: tuple[str, ...]
    from_check: FromCheck | None = None
    from_trace: FromTrace | None = None
    from_evidence: FromEvidence | None = None
    needs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.causes, str) or not self.causes:
            raise ValueError(f"rules {self.name!r}: causes must be a tuple of cause ids")

    def asked(self, seen: Seen) -> bool:
        """Whether `from_evidence` may read `seen`: everything it needs is known."""
        if self.from_evidence is None:
            return False
        if not self.needs:
            return True
        return seen.host_speaks and all(seen.collected(n).why is None for n in self.needs)


def check_rules(rules: Iterable[CauseRules]) -> None:
    """Raise ValueError for two modules with one name, or one cause decided by two."""
    names: set[str] = set()
    deciders: dict[str, str] = {}
    for rule in rules:
        if not isinstance(rule, CauseRules):
            raise ValueError(f"not a CauseRules: {rule!r}")
        if rule.name in names:
            raise ValueError(f"two rule modules are named {rule.name!r}")
        names.add(rule.name)
        for cause in rule.causes:
            if cause in deciders:
                raise ValueError(
                    f"cause {cause!r} is decided by both {deciders[cause]!r} and {rule.name!r}"
                )
            deciders[cause] = rule.name


def from_check(rules: Sequence[CauseRules], outcome: Outcome, facts: Facts) -> tuple[Finding, ...]:
    """What the failed check itself says, module by module."""
    return _asked(rules, lambda r: r.from_check(outcome, facts) if r.from_check else ())


def from_trace(
    rules: Sequence[CauseRules], outcome: Outcome, trace: PathTrace | None
) -> tuple[Finding, ...]:
    """What the path trace says; nothing when none was run."""
    if trace is None:
        return ()
    return _asked(rules, lambda r: r.from_trace(outcome, trace) if r.from_trace else ())


def from_evidence(rules: Sequence[CauseRules], seen: Seen) -> tuple[Finding, ...]:
    """What the host's and the client's evidence say, from every module asked."""
    return _asked(
        rules, lambda r: r.from_evidence(seen) if r.from_evidence and r.asked(seen) else ()
    )


def _asked(
    rules: Sequence[CauseRules], ask: Callable[[CauseRules], Iterable[Finding]]
) -> tuple[Finding, ...]:
    found: list[Finding] = []
    for rule in rules:
        for finding in ask(rule):
            if finding.cause not in rule.causes:
                raise ValueError(
                    f"rules {rule.name!r} spoke of cause {finding.cause!r}, "
                    f"which it does not declare"
                )
            found.append(finding)
    return tuple(found)
