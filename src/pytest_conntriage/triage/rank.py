"""Ranking as one declarative step: outcome weights, then findings, then verdicts in order."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..outcome import Outcome
from ..runbook.model import RunbookEntry
from .model import CONFIRMED, LIKELY, EvidenceLine, Score, Template, Verdict, template, verdict

__all__ = [
    "CONFIRMED",
    "LIKELY",
    "Finding",
    "Score",
    "Template",
    "Verdict",
    "adjust",
    "diagnostic_order",
    "from_outcome",
    "ranked",
    "verdict",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """Evidence about one cause that overrides what the outcome alone says of it.

    Rules produce these from the check's facts (triage.rules) and from what was
    gathered on the hosts (triage.evidence: listening sockets, firewall verdicts,
    journal lines).
    """

    cause: str  # a cause id; a finding about a cause the entry lacks is ignored
    # 100 confirms, 0 rules out, anything between re-weighs; None adds the line and
    # leaves the score as it was (a fact that locates the fault without weighing it).
    score: int | None
    # The line shown under the cause: a plain str is printed verbatim (host output and
    # inventory values are data); only a Template is filled with the failure's values.
    evidence: EvidenceLine

    def __post_init__(self) -> None:
        if self.score is not None and not 0 <= self.score <= CONFIRMED:
            raise ValueError(f"finding score {self.score} for {self.cause} is not within 0-100")


def from_outcome(entry: RunbookEntry, outcome: Outcome) -> tuple[Score, ...]:
    """Every cause of `entry` scored by the runbook's weight for `outcome`, in runbook order."""
    return tuple(
        Score(
            c.id,
            c.weights.get(outcome, 0),
            (template(c.why[outcome]),) if outcome in c.why else (),
        )
        for c in entry.causes
    )


def adjust(scores: Sequence[Score], findings: Iterable[Finding]) -> tuple[Score, ...]:
    """Apply `findings` in order: each sets its cause's score and adds its evidence line.

    Later findings win, so stronger evidence is passed last; the outcome's own "why"
    stays first, as the context the later lines refine.
    """
    by_id = {s.cause: s for s in scores}
    for finding in findings:
        current = by_id.get(finding.cause)
        if current is not None:
            score = current.score if finding.score is None else finding.score
            by_id[finding.cause] = Score(
                finding.cause, score, (*current.evidence, finding.evidence)
            )
    return tuple(by_id[s.cause] for s in scores)


def ranked(scores: Iterable[Score]) -> tuple[Score, ...]:
    """Highest score first, ties in runbook order; ruled-out causes (score 0) land last.

    Equal rankings come back as one shared tuple: thousands of failures with the same
    outcome and evidence keep a single ranking between them.
    """
    return _ranked(tuple(scores))


@functools.lru_cache(maxsize=1024)
def _ranked(scores: tuple[Score, ...]) -> tuple[Score, ...]:
    return tuple(sorted(scores, key=lambda s: -s.score))  # sorted() is stable


def diagnostic_order(entry: RunbookEntry, scores: Iterable[Score]) -> tuple[str, ...]:
    """What to run next: the causes still in play, best first, each's diagnostics in its
    own order (most telling first), every diagnostic once, where first named."""
    causes = {c.id: c for c in entry.causes}
    wanted = (d for s in scores if s.score > 0 for d in causes[s.cause].diagnostics)
    return tuple(d for d in dict.fromkeys(wanted) if d in entry.diagnostics)
