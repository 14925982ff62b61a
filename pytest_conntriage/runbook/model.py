"""The runbook as frozen data: entries, causes, diagnostic steps and resolutions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum

from ..outcome import Outcome


class Side(str, Enum):
    """Where a diagnostic command is run."""

    CLIENT = "client"  # the machine that ran the probe (the vantage)
    TARGET = "target"  # the host the service runs on


class Platform(str, Enum):
    """Where an alternative command applies; the main command is the Linux one."""

    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"
    ANY = "any"


@dataclass(frozen=True)
class Alternative:
    """The same step with another tool or on another platform (kept as data, not printed)."""

    platform: Platform
    command: str


@dataclass(frozen=True)
class Step:
    """One instruction; `command`, if any, is a template whose values get shell-quoted."""

    text: str
    command: str = ""
    # More specific forms of `command`, tried first: the first whose placeholders are all
    # known is used, so `dig @{resolver_address} ...` appears only when a resolver is.
    prefer: tuple[str, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    # Placeholder names: the step is left out when one of them is known (a generic step
    # that a more specific one replaces, e.g. "restart it" once the unit is known).
    unless: tuple[str, ...] = ()
    side: Side = Side.TARGET  # where its command runs (runbook/platforms.py)
    # A step for one platform's hosts alone (its command written for it); None: for
    # every host, its command a Linux one (alternatives for the others).
    platform: Platform | None = None


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
    prefer: tuple[str, ...] = ()  # as Step.prefer
    alternatives: tuple[Alternative, ...] = ()


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
    # Per outcome, the prose template saying why the outcome fits (or rules out) this
    # cause: the "why:" line a person reads under the cause.
    why: Mapping[Outcome, str] = field(default_factory=dict)


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

    def extended(self, entries: Iterable[RunbookEntry]) -> Runbook:
        """This runbook plus `entries`; one with a known id replaces it and moves last."""
        merged = {entry.id: entry for entry in self.entries}
        for entry in entries:
            # Re-inserting moves the id to the end: the replacement is the later-loaded
            # entry, so it also wins `entry_for` over entries loaded between the two.
            merged.pop(entry.id, None)
            merged[entry.id] = entry
        return Runbook(tuple(merged.values()))

    def adding(self, to: str, additions: Iterable[RunbookEntry]) -> Runbook:
        """This runbook with the causes, diagnostics, resolutions and indicators of
        `additions` joined to entry `to`; ValueError when there is no such entry, or an
        id is already the entry's (an addition adds, it never replaces)."""
        entry = next((e for e in self.entries if e.id == to), None)
        if entry is None:
            raise ValueError(f"there is no runbook entry {to!r} to add causes to")
        for extra in additions:
            for what, have, new in (
                ("cause", [c.id for c in entry.causes], [c.id for c in extra.causes]),
                ("diagnostic", list(entry.diagnostics), list(extra.diagnostics)),
                ("resolution", list(entry.resolutions), list(extra.resolutions)),
                ("indicator", [i.id for i in entry.indicators], [i.id for i in extra.indicators]),
            ):
                taken = sorted(set(have) & set(new))
                if taken:
                    raise ValueError(f"entry {to!r} already has the {what} {taken[0]!r}")
            entry = replace(
                entry,
                indicators=(*entry.indicators, *extra.indicators),
                causes=(*entry.causes, *extra.causes),
                diagnostics={**entry.diagnostics, **extra.diagnostics},
                resolutions={**entry.resolutions, **extra.resolutions},
            )
        return Runbook(tuple(entry if e.id == to else e for e in self.entries))


@dataclass(frozen=True)
class RunbookAddition:
    """A runbook file whose entries are not entries of their own: their causes (with
    the diagnostics, resolutions and indicators they name) join the loaded entry `to`.
    How a plugin adds a cause to the entry that explains its outcomes."""

    path: str
    to: str
