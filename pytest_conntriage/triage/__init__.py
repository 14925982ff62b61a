"""Outcome + facts + runbook → Diagnosis: every cause with a verdict, fixes filled when read."""

from __future__ import annotations

from collections.abc import Sequence

from ..outcome import Outcome
from ..runbook.model import Runbook
from .model import Diagnosis, Facts, Template
from .rank import Finding, adjust, diagnostic_order, from_outcome, ranked
from .rules import FACT_RULES, findings_from_facts

__all__ = ["Finding", "Template", "diagnose"]


def diagnose(
    outcome: Outcome, facts: Facts, runbook: Runbook, findings: Sequence[Finding] = ()
) -> Diagnosis | None:
    """Rank every cause of the entry that explains `outcome`; None if no entry does.

    `findings` (evidence gathered on the hosts) are applied after the facts' own, so
    they have the last word on a cause.
    """
    entry = runbook.entry_for(outcome)
    if entry is None:
        return None
    evidence = (*findings_from_facts(FACT_RULES, outcome, facts), *findings)
    scores = ranked(adjust(from_outcome(entry, outcome), evidence))
    return Diagnosis(
        outcome=outcome,
        entry=entry,
        ranking=scores,
        next_steps=diagnostic_order(entry, scores),
        facts=facts,
    )
