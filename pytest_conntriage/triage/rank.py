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
    # The fault this finding shows is what the packet met first and what produced the
    # outcome (the target's firewall rejected the SYN before any socket saw it): among
    # equally sure causes, this one goes first.
    first: bool = False

    def __post_init__(self) -> None:
        if self.score is not None and not 0 <= self.score <= CONFIRMED:
            raise ValueError(f"finding score {self.score} for {self.cause} is not within 0-100")


# The tie-break weight of a cause whose deciding finding is `first`: above any outcome's.
FIRST = CONFIRMED + 1

# Two certain findings that contradict each other (one confirms, one rules out) leave
# the cause open: this score, with both lines shown.
CONTESTED = 50


def from_outcome(entry: RunbookEntry, outcome: Outcome) -> tuple[Score, ...]:
    """Every cause of `entry` scored by the runbook's weight for `outcome`, in runbook order."""
    return tuple(
        Score(
            c.id,
            c.weights.get(outcome, 0),
            (template(c.why[outcome]),) if outcome in c.why else (),
            c.weights.get(outcome, 0),
        )
        for c in entry.causes
    )


def adjust(scores: Sequence[Score], findings: Iterable[Finding]) -> tuple[Score, ...]:
    """Re-weigh `scores` by `findings`, so that certainty comes only from evidence.

    - A cause no finding is about keeps the outcome's weight and its "why".
    - Certain findings (100 confirms, 0 rules out) beat the weighing ones (1-99), and
      among those the last one wins, so stronger evidence is passed last.
    - Two certain findings that disagree leave the cause open (CONTESTED).
    - A finding without a score (a fact that locates the fault without weighing it)
      adds its line and leaves the decision to the others.
    - The lines shown under a cause are the findings that decided it; the outcome's own
      "why" is dropped once a finding speaks: it was a guess from the client's side
      that the evidence has replaced (it may even describe another mechanism, such as
      the client's own firewall when the ICMP came from the target).

    Because a rule only makes a finding certain when every fact it read was gathered
    (triage.evidence), leaving a fact out can take certainty away but never add it.
    """
    about: dict[str, list[Finding]] = {}
    for finding in findings:
        about.setdefault(finding.cause, []).append(finding)
    return tuple(_decide(s, about[s.cause]) if s.cause in about else s for s in scores)


def _decide(current: Score, findings: list[Finding]) -> Score:
    # A finding without a score locates the fault without weighing it (the path
    # trace's "the SYN dies after hop 2"): its line is added, the decision is the others'.
    located = tuple(f.evidence for f in findings if f.score is None)
    weighing = [f for f in findings if f.score is not None]
    if not weighing:
        return Score(current.cause, current.score, (*current.evidence, *located), current.prior)
    certain = [f for f in weighing if f.score in (0, CONFIRMED)]
    deciding = certain or weighing
    lines = (*(f.evidence for f in deciding), *located)
    scores = {f.score for f in certain}
    if len(scores) > 1:
        return Score(current.cause, CONTESTED, lines, current.prior)
    score = deciding[-1].score
    assert score is not None  # weighing findings all have one
    prior = FIRST if any(f.first for f in deciding) else current.prior
    return Score(current.cause, score, lines, prior)


def ranked(scores: Iterable[Score]) -> tuple[Score, ...]:
    """Highest score first; between equal scores, the cause the outcome itself fits
    better (two confirmed faults: the one that explains this failure first), then
    runbook order; ruled-out causes (score 0) land last, in runbook order.

    Equal rankings come back as one shared tuple: thousands of failures with the same
    outcome and evidence keep a single ranking between them.
    """
    return _ranked(tuple(scores))


@functools.lru_cache(maxsize=1024)
def _ranked(scores: tuple[Score, ...]) -> tuple[Score, ...]:
    # sorted() is stable: runbook order breaks the remaining ties.
    return tuple(sorted(scores, key=lambda s: (-s.score, -s.prior if s.score > 0 else 0)))


def diagnostic_order(entry: RunbookEntry, scores: Iterable[Score]) -> tuple[str, ...]:
    """What to run next: the causes still in play, best first, each's diagnostics in its
    own order (most telling first), every diagnostic once, where first named."""
    causes = {c.id: c for c in entry.causes}
    wanted = (d for s in scores if s.score > 0 for d in causes[s.cause].diagnostics)
    return tuple(d for d in dict.fromkeys(wanted) if d in entry.diagnostics)
