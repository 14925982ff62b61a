"""What triage concludes for one failed check."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Protocol

from ..outcome import Outcome
from ..runbook.model import Cause, Platform, Resolution, RunbookEntry
from ..runbook.template import CORE_PLACEHOLDERS
from . import fill
from .fill import FilledDiagnostic, FilledResolution, FilledStep

__all__ = [
    "Diagnosis",
    "EvidenceLine",
    "Facts",
    "FilledDiagnostic",
    "FilledResolution",
    "FilledStep",
    "KindFacts",
    "RankedCause",
    "Score",
    "Template",
    "Verdict",
    "split_resolver",
    "verdict",
]


CONFIRMED = 100  # the evidence proves the cause
LIKELY = 60  # from here on a cause is "likely"; above 0 it is "possible"


class Verdict(str, Enum):
    """How strongly triage holds a cause responsible, from its score (see triage.rank)."""

    CONFIRMED = "confirmed"
    LIKELY = "likely"
    POSSIBLE = "possible"
    RULED_OUT = "ruled out"


def verdict(score: int) -> Verdict:
    """The word for a score: confirmed (100), likely (60+), possible (1+), ruled out (0)."""
    if score >= CONFIRMED:
        return Verdict.CONFIRMED
    if score >= LIKELY:
        return Verdict.LIKELY
    if score > 0:
        return Verdict.POSSIBLE
    return Verdict.RULED_OUT


@dataclass(frozen=True, slots=True)
class Template:
    """Words of the runbook (or of the triage rules) with `{port}`-style placeholders,
    filled with the failure's values when read.

    Only text wrapped in this is ever parsed as a template. Everything else that
    reaches a "why:" line is a plain `str` and printed verbatim: firewall rules and
    their comments, journal lines, host aliases and other inventory values, command
    output. Those are data; `deny {port} {legacy` or `tcp dport { 80, 8443 } drop`
    must come out exactly as the host said it.
    """

    text: str


# One line under a cause: a Template to fill, or data (str) to print as it is.
EvidenceLine = Template | str


def template(text: str) -> Template:
    """The Template for `text`, shared: every failure reuses the same few dozen."""
    return _templates(text)


@functools.lru_cache(maxsize=1024)
def _templates(text: str) -> Template:
    return Template(text)


def words(
    line: EvidenceLine, values: Mapping[str, str], unknown: Mapping[str, str] = CORE_PLACEHOLDERS
) -> str:
    """An evidence line as a person reads it: a Template filled (`unknown`: what a value
    not known is worded as), data as it is."""
    if isinstance(line, Template):
        return fill.prose(line.text, values, unknown)
    return line


@dataclass(frozen=True, slots=True)
class Score:
    """Where one cause stands, and the (unfilled) evidence lines that put it there."""

    cause: str
    score: int
    evidence: tuple[EvidenceLine, ...]
    prior: int = 0  # the outcome's own weight for the cause: how well it explains it


@dataclass(frozen=True, slots=True)
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
    icmp: str | None = None  # the ICMP error that ended the connect: "admin-prohibited", ...
    icmp_from: str | None = None  # who sent it: the target itself, or a router on the way
    idle: str | None = None  # an idle check whose connection was established: "30 s"
    # Whether the target host runs systemd: None when its evidence did not say.
    systemd: bool | None = None
    # The check's kind's own facts (http's URL and status...): what fills its placeholders.
    own: KindFacts | None = None
    # The target host's platform: WINDOWS for a winrm host, whose commands are chosen
    # for it (runbook/platforms.py); None: not known (taken as Linux).
    platform: Platform | None = None

    def values(self) -> dict[str, str]:
        """The known values by placeholder name (runbook.template.CORE_PLACEHOLDERS,
        then the kind's own)."""
        known = {f.name: str(v) for f in _VALUE_FIELDS if (v := getattr(self, f.name)) is not None}
        if self.own is not None:
            known.update(self.own.values())
        if self.unit and self.platform is Platform.WINDOWS:
            known["windows_unit"] = self.unit  # a Windows service's name
        elif self.unit:
            # systemctl and journalctl fit a host with systemd, or one not known to lack it.
            known["systemd_unit" if self.systemd is not False else "plain_unit"] = self.unit
        if self.resolver:
            # dig and friends take the resolver's address and port apart: `@ADDR -p PORT`.
            known["resolver_address"], known["resolver_port"] = split_resolver(self.resolver)
        return known

    @property
    def words(self) -> Mapping[str, str]:
        """What prose says for each placeholder whose value is not known."""
        if self.own is None:
            return CORE_PLACEHOLDERS
        return {**CORE_PLACEHOLDERS, **self.own.words}


class KindFacts(Protocol):
    """A kind's own facts about one failed check (Facts.own), frozen: the values of the
    placeholders the kind declares (Kind.placeholders), and what the kind's cause rules
    read (`isinstance(facts.own, HttpFacts)`)."""

    def values(self) -> Mapping[str, str]:
        """The known values by the kind's placeholder names; an unknown one is left out."""
        ...

    @property
    def words(self) -> Mapping[str, str]:
        """The kind's placeholders, each with the words prose says when it is unknown."""
        ...


# The fields of Facts that are placeholder values (the others say how to use them).
_VALUE_FIELDS = tuple(f for f in fields(Facts) if f.name not in ("systemd", "own", "platform"))


def split_resolver(resolver: str) -> tuple[str, str]:
    """("127.0.0.1", "5353") for "127.0.0.1:5353"; port 53 when none is written."""
    if resolver.startswith("["):  # "[2001:db8::53]:5353" or "[2001:db8::53]"
        address, _, rest = resolver[1:].partition("]")
        return address, rest[1:] if rest.startswith(":") and rest[1:] else "53"
    if resolver.count(":") == 1:
        address, _, port = resolver.partition(":")
        return address, port or "53"
    return resolver, "53"  # an IPv4 address alone, or a bare IPv6 one


@dataclass(frozen=True, slots=True)
class RankedCause:
    """One cause with its verdict. Its words are the runbook's templates, filled with the
    failure's values when read, not before: at 10,000 failing checks nobody reads most of
    them, and kept filled they were most of the run's memory."""

    id: str
    verdict: Verdict
    score: int  # 0-100, what the ranking sorted by
    cause: Cause  # the runbook's templates
    why: tuple[EvidenceLine, ...]  # evidence lines, in the order the ranking added them
    fixes: tuple[Resolution, ...]  # resolution templates
    values: Mapping[str, str]  # what the templates are filled with (Facts.values())
    # What prose says for a value not known (Facts.words).
    unknown: Mapping[str, str] = field(repr=False)
    platform: Platform | None = None  # the target's, for its commands (Facts.platform)

    @property
    def title(self) -> str:
        return fill.prose(self.cause.title, self.values, self.unknown)

    @property
    def detail(self) -> str:
        return fill.prose(self.cause.detail, self.values, self.unknown)

    @property
    def evidence(self) -> tuple[str, ...]:
        """The lines behind the verdict."""
        return tuple(words(line, self.values, self.unknown) for line in self.why)

    @property
    def resolutions(self) -> tuple[FilledResolution, ...]:
        return tuple(
            fill.resolution(r, self.values, self.unknown, self.platform) for r in self.fixes
        )


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The ranking of one failure, kept small: ~9,500 of them live until the run ends.

    It holds the runbook entry, the scores (equal rankings share one tuple, see
    triage.rank.ranked) and the failure's facts; the causes, with their words filled
    in, are built each time they are read.
    """

    outcome: Outcome
    entry: RunbookEntry = field(repr=False)
    ranking: tuple[Score, ...]  # best first, ruled-out causes (score 0) last
    next_steps: tuple[str, ...]  # diagnostic ids: what to run next, most telling first
    facts: Facts

    @property
    def entry_id(self) -> str:
        return self.entry.id

    @property
    def entry_title(self) -> str:
        return self.entry.title

    @property
    def reference(self) -> str:
        return self.entry.reference

    @property
    def values(self) -> dict[str, str]:
        return self.facts.values()

    @property
    def causes(self) -> tuple[RankedCause, ...]:
        """Every cause of the entry, ranked, ruled-out ones last."""
        values = self.values
        by_id = {c.id: c for c in self.entry.causes}
        return tuple(self._cause(s, by_id[s.cause], values) for s in self.ranking)

    @property
    def in_play(self) -> tuple[str, ...]:
        """The ids of the causes not ruled out, best first (no words filled)."""
        return tuple(s.cause for s in self.ranking if s.score > 0)

    @property
    def top(self) -> RankedCause | None:
        best = self.ranking[0] if self.ranking else None
        if best is None or best.score <= 0:
            return None
        cause = next(c for c in self.entry.causes if c.id == best.cause)
        return self._cause(best, cause, self.values)

    @property
    def diagnostics(self) -> tuple[FilledDiagnostic, ...]:
        """What to run next, filled in."""
        values = self.values
        unknown = self.facts.words
        filled = (
            fill.diagnostic(self.entry.diagnostics[d], values, unknown, self.facts.platform)
            for d in self.next_steps
        )
        return tuple(d for d in filled if d is not None)

    def _cause(self, score: Score, cause: Cause, values: Mapping[str, str]) -> RankedCause:
        resolutions = self.entry.resolutions
        return RankedCause(
            id=cause.id,
            verdict=verdict(score.score),
            score=score.score,
            cause=cause,
            why=score.evidence,
            fixes=tuple(resolutions[r] for r in cause.resolutions if r in resolutions),
            values=values,
            unknown=self.facts.words,
            platform=self.facts.platform,
        )
