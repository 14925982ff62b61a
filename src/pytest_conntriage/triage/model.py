"""What triage concludes for one failed check."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..outcome import Outcome
from ..runbook.model import Side


class Verdict(str, Enum):
    CONFIRMED = "confirmed"
    LIKELY = "likely"
    POSSIBLE = "possible"
    RULED_OUT = "ruled out"


@dataclass(frozen=True)
class Facts:
    """The real values a runbook template is filled with; None stays a <placeholder>."""

    address: str | None = None  # the IP literal probed
    port: int | None = None
    name: str | None = None  # the DNS name, if the inventory used one
    host: str | None = None  # name if given, else address: what a person types
    resolver: str | None = None  # "127.0.0.1:5353" when the check asked a specific one
    unit: str | None = None
    service: str | None = None
    vantage: str | None = None
    listen: str | None = None

    def values(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class FilledStep:
    text: str
    command: str = ""


@dataclass(frozen=True)
class FilledResolution:
    id: str
    title: str
    steps: tuple[FilledStep, ...]


@dataclass(frozen=True)
class FilledDiagnostic:
    id: str
    title: str
    side: Side
    command: str
    tells: str


@dataclass(frozen=True)
class RankedCause:
    id: str
    title: str
    detail: str
    verdict: Verdict
    score: int  # 0-100, what the ranking sorted by
    evidence: tuple[str, ...]  # the lines behind the verdict
    resolutions: tuple[FilledResolution, ...]


@dataclass(frozen=True)
class Diagnosis:
    outcome: Outcome
    entry_id: str
    entry_title: str
    reference: str
    causes: tuple[RankedCause, ...]  # ranked, ruled-out ones last
    diagnostics: tuple[FilledDiagnostic, ...]  # what to run next, most telling first

    @property
    def top(self) -> RankedCause | None:
        ranked = [c for c in self.causes if c.verdict is not Verdict.RULED_OUT]
        return ranked[0] if ranked else None
