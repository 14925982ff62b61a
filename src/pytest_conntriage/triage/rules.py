"""Findings from the check's own facts: what the failed check itself says about a cause."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..outcome import Outcome
from .model import Facts
from .rank import Finding

Applies = Callable[[Outcome, Facts], bool]


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
        Finding(rule.cause, rule.score, rule.evidence)
        for rule in rules
        if rule.applies(outcome, facts)
    )


def _connects_to_an_address(outcome: Outcome, facts: Facts) -> bool:
    # The inventory gave an IP literal: nothing was looked up, so DNS cannot have sent
    # the connection astray, whatever the outcome's weight for stale records says.
    return not outcome.is_dns and facts.name is None and facts.address is not None


FACT_RULES: tuple[Rule, ...] = (
    Rule(
        name="no-lookup-for-an-address",
        cause="dns-wrong-host",
        score=0,
        evidence="the check connects to the address {address} itself: no DNS lookup was involved",
        applies=_connects_to_an_address,
    ),
)
