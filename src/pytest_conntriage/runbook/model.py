"""The runbook as frozen data: entries, causes, diagnostic steps and resolutions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from ..outcome import Outcome


class Side(str, Enum):
    """Where a diagnostic command is run."""

    CLIENT = "client"  # the machine that ran the probe (the vantage)
    TARGET = "target"  # the host the service runs on


@dataclass(frozen=True)
class Step:
    """One instruction; `command`, if any, is a template whose values get shell-quoted."""

    text: str
    command: str = ""


@dataclass(frozen=True)
class Indicator:
    id: str
    text: str
    outcomes: tuple[Outcome, ...] = ()


@dataclass(frozen=True)
class Diagnostic:
    id: str
    title: str
    side: Side
    command: str  # template: {host} {address} {port} {name} {resolver} {unit} ...
    tells: str  # what the result tells apart


@dataclass(frozen=True)
class Resolution:
    id: str
    title: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Cause:
    id: str
    title: str
    detail: str
    # How well each outcome fits this cause on client-side facts alone, 0-100:
    # 100 = the outcome itself proves it, 0 (or absent) = the outcome rules it out.
    weights: Mapping[Outcome, int]
    diagnostics: tuple[str, ...]  # Diagnostic ids, most telling first
    resolutions: tuple[str, ...]  # Resolution ids


@dataclass(frozen=True)
class RunbookEntry:
    id: str
    title: str
    summary: str
    reference: str
    source: str  # the file it was loaded from
    indicators: tuple[Indicator, ...]
    causes: tuple[Cause, ...]
    diagnostics: Mapping[str, Diagnostic]
    resolutions: Mapping[str, Resolution]
    prevention: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()

    @property
    def outcomes(self) -> frozenset[Outcome]:
        """The outcomes this entry explains: those some cause gives a weight above 0."""
        return frozenset(o for c in self.causes for o, w in c.weights.items() if w > 0)


@dataclass(frozen=True)
class Runbook:
    """All loaded entries; a later file's entry replaces an earlier one with the same id."""

    entries: tuple[RunbookEntry, ...] = field(default_factory=tuple)

    def entry_for(self, outcome: Outcome) -> RunbookEntry | None:
        """The last-loaded entry that explains `outcome` (user runbooks win)."""
        for entry in reversed(self.entries):
            if outcome in entry.outcomes:
                return entry
        return None
