"""Findings from the evidence gathered for one failed check (the path trace, the target
host and the client), from the run's cause modules: what a person would conclude after
logging in and looking. And the lines naming the evidence that could not be gathered.

The rules only re-weigh causes; the check's pass or fail never depends on evidence.
Three principles keep them honest (see triage/causes/ for each cause's own):

- Unknown is not absent. Every fact is read through triage.known (present, absent or
  unknown), and a finding is certain (100 or 0) only when every fact its conclusion
  rests on was gathered (`Seen.finding`); otherwise it is capped to likely/possible and
  says what is unknown. A plugin's collector that did not run leaves the rules that
  need it unasked. So leaving a fact out can take certainty away, never add it.
- A rule speaks about a cause only for outcomes the cause can produce (the runbook
  gives it a weight above 0).
- Each cause is decided in one module, from all the facts that bear on it, so two
  rules never contradict each other.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..evidence.model import ClientEvidence, HostEvidence
from ..evidence.path import PathTrace
from ..outcome import Outcome
from .causes import BUILTIN
from .rank import Finding
from .rules import CauseRules, from_evidence, from_trace
from .seen import Seen, Target, covers, is_address_of

__all__ = [
    "Target",
    "covers",
    "findings",
    "is_address_of",
    "path_findings",
    "unavailable_lines",
]


def findings(
    outcome: Outcome,
    target: Target,
    host: HostEvidence | None,
    client: ClientEvidence | None,
    rules: Sequence[CauseRules] = BUILTIN,
) -> tuple[Finding, ...]:
    """Every finding the host's and the client's evidence support, module by module."""
    return from_evidence(rules, Seen(outcome, target, host, client))


def path_findings(
    outcome: Outcome, trace: PathTrace | None, rules: Sequence[CauseRules] = BUILTIN
) -> tuple[Finding, ...]:
    """What the path trace adds to the diagnosis of a failed connect with this outcome."""
    return from_trace(rules, outcome, trace)


# Tools a host may well not have, whose absence is a fact rather than a gap: the
# firewall they would show is read from iptables/nftables anyway.
_OPTIONAL = frozenset(
    {"ufw", "firewalld", "iptables-legacy", "ip6tables", "ip6tables-legacy", "nft-text"}
)


def _expected_gap(what: str, why: str) -> bool:
    if what in _OPTIONAL and "not installed" in why:
        return True
    # Without systemd the unit is read from the process table instead: nothing is missing.
    return what == "unit" and "systemd is not PID 1" in why


def unavailable_lines(
    host_alias: str | None, host: HostEvidence | None, client: ClientEvidence | None
) -> tuple[str, ...]:
    """One "evidence unavailable" line per piece that could not be gathered."""
    lines: list[str] = []
    if host is not None and host_alias:
        lines += [
            f"{host_alias}: {what}: {why}"
            for what, why in host.unavailable
            if not _expected_gap(what, why)
        ]
    if client is not None:
        lines += [f"client: {what}: {why}" for what, why in client.unavailable]
    return tuple(lines)
