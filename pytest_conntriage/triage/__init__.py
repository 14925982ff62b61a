"""Outcome + facts + runbook → Diagnosis: every cause with a verdict, fixes filled when read."""

from __future__ import annotations

from collections.abc import Sequence

from ..outcome import Outcome
from ..runbook.model import Runbook
from .causes import BUILTIN
from .model import Diagnosis, Facts, Template
from .rank import Finding, adjust, diagnostic_order, from_outcome, ranked
from .rules import CauseRules, from_check

__all__ = ["CauseRules", "Finding", "Template", "diagnose"]


def diagnose(
    outcome: Outcome,
    facts: Facts,
    runbook: Runbook,
    findings: Sequence[Finding] = (),
    rules: Sequence[CauseRules] = BUILTIN,
) -> Diagnosis | None:
    """Rank every cause of the entry that explains `outcome`; None if no entry does.

    `rules` read the check's own facts first; `findings` (evidence gathered on the
    hosts, triage.findings) are applied after them, so they have the last word on a
    cause.
    """
    entry = runbook.entry_for(outcome)
    if entry is None:
        return None
    evidence = (*from_check(rules, outcome, facts), *findings)
    scores = ranked(adjust(from_outcome(entry, outcome), evidence))
    return Diagnosis(
        outcome=outcome,
        entry=entry,
        ranking=scores,
        next_steps=diagnostic_order(entry, scores),
        facts=facts,
    )
