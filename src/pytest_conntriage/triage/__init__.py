"""Outcome + facts + runbook → Diagnosis: every cause with a verdict, fixes filled in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..outcome import Outcome
from ..runbook.model import Cause, Runbook, RunbookEntry
from .model import Diagnosis, Facts, RankedCause
from .rank import Finding, Score, adjust, diagnostic_order, from_outcome, ranked, verdict
from .rules import FACT_RULES, findings_from_facts

__all__ = ["Finding", "diagnose"]


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
    values = facts.values()
    evidence = (*findings_from_facts(FACT_RULES, outcome, facts), *findings)
    scores = ranked(adjust(from_outcome(entry, outcome), evidence))
    causes = {c.id: c for c in entry.causes}
    return Diagnosis(
        outcome=outcome,
        entry_id=entry.id,
        entry_title=entry.title,
        reference=entry.reference,
        causes=tuple(_ranked_cause(entry, causes[s.cause], s, values) for s in scores),
        next_steps=tuple(entry.diagnostics[d] for d in diagnostic_order(entry, scores)),
        values=values,
    )


def _ranked_cause(
    entry: RunbookEntry, cause: Cause, score: Score, values: Mapping[str, str]
) -> RankedCause:
    return RankedCause(
        id=cause.id,
        verdict=verdict(score.score),
        score=score.score,
        cause=cause,
        why=score.evidence,
        fixes=tuple(entry.resolutions[r] for r in cause.resolutions if r in entry.resolutions),
        values=values,
    )
