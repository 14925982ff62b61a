"""What the demo means each check of demo.yml to show, and the judging of what ran.

Pure: the observer plugin (observe.py) writes one record per check that ran, and this
module compares them with the intents. Checks are named by kind, service (a closed
rule's address) and port, never by test id: ids are the plugin's to change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

CONFIRMED = "confirmed"


@dataclass(frozen=True)
class Intent:
    """One fault the demo injects, and what the plugin must make of it."""

    kind: str  # "tcp", "dns", "closed", "listening", ...
    subject: str  # the service, or a closed rule's address
    port: int | None  # None for dns checks
    outcome: str  # the outcome the check must fail with
    top_cause: str | None  # the runbook cause that must rank first; None: no runbook entry
    confirmed: bool  # whether the evidence the demo provides proves it
    injected: str  # what the demo did

    @property
    def key(self) -> tuple[str, str, int | None]:
        return (self.kind, self.subject, self.port)


# The demo's faults, in demo.yml's order. Every other check must pass, except that a
# firewall check may also be a probe-error where this machine's rules cannot be read.
INTENDED: tuple[Intent, ...] = (
    Intent(
        "tcp",
        "api",
        8081,
        "refused",
        "wrong-port-or-interface",
        True,
        "api listens on 127.0.0.2:8081 only; its clients connect to 127.0.0.3",
    ),
    Intent(
        "listening",
        "api",
        8081,
        "wrong-interface",
        "wrong-port-or-interface",
        True,
        "the same fault, read on the host: ss shows 127.0.0.2:8081, not 127.0.0.3",
    ),
    Intent(
        "tcp",
        "queue",
        8082,
        "timeout",
        "backlog-full",
        True,
        "queue never accepts and its accept queue is full, so the kernel drops new SYNs",
    ),
    Intent(
        "dns",
        "billing",
        None,
        "dns-mismatch",
        "dns-wrong-host",
        True,
        "billing.demo.test still points at 127.0.0.9 (stale); the service moved to 127.0.0.5",
    ),
    Intent(
        "tcp",
        "billing",
        8083,
        "refused",
        "dns-wrong-host",
        True,
        "the stale address 127.0.0.9 has nothing listening",
    ),
    Intent(
        "dns",
        "legacy",
        None,
        "dns-nxdomain",
        "dns-wrong-host",
        False,
        "legacy.demo.test's record was deleted",
    ),
    Intent(
        "tcp",
        "legacy",
        8084,
        "dns-nxdomain",
        "dns-wrong-host",
        False,
        "a connection cannot even start: the name does not resolve",
    ),
    Intent(
        "closed",
        "127.0.0.2",
        9090,
        "open",
        None,
        False,
        "an admin port is reachable although the exposure gate says it must be closed",
    ),
)

# A firewall check reads the host's iptables/nftables rules: only root can, and only
# where the tools are installed. Elsewhere it cannot decide and says why.
UNREADABLE_NOTE = "its rules cannot be read here (not root, or no iptables/nft): unknown"


def _unreadable_rules(record: Record) -> bool:
    """A firewall check that failed only because the rules could not be read (not a
    host the demo could not reach at all, nor rules it could not decide)."""
    return (
        record.outcome == "probe-error"
        and "rules of" in record.detail
        and "could not be read" in record.detail
    )


@dataclass(frozen=True)
class Record:
    """One check that ran, as the observer plugin saw its report."""

    nodeid: str
    kind: str
    subject: str
    port: int | None
    status: str  # "passed", "failed", "skipped"
    outcome: str | None = None
    top_cause: str | None = None
    top_verdict: str | None = None
    confirmed: tuple[str, ...] = ()  # every cause the diagnosis confirmed
    detail: str = ""  # the final attempt's detail (a host check's reading)
    unavailable: tuple[str, ...] = ()  # evidence that could not be gathered

    @property
    def key(self) -> tuple[str, str, int | None]:
        return (self.kind, self.subject, self.port)

    @property
    def label(self) -> str:
        where = f"{self.subject}:{self.port}" if self.port is not None else self.subject
        return f"{self.kind} {where}"

    @property
    def said(self) -> str:
        """What the plugin reported, in one line."""
        if self.status != "failed":
            return self.status + (f" ({self.outcome})" if self.outcome else "")
        top = (
            f"top cause {self.top_cause} [{self.top_verdict}]"
            if self.top_cause
            else "no runbook cause"
        )
        return f"{self.outcome}; {top}"

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Record:
        data: dict[str, Any] = json.loads(line)
        data["confirmed"] = tuple(data.get("confirmed", ()))
        data["unavailable"] = tuple(data.get("unavailable", ()))
        return cls(**data)


@dataclass(frozen=True)
class Judged:
    """One check that ran, against what the demo meant it to show."""

    record: Record
    intent: Intent | None  # None: the check must pass
    problems: tuple[str, ...] = ()
    note: str = ""  # why an allowed alternative is fine here

    @property
    def as_intended(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Judgement:
    """Every check that ran, judged; the intents whose check did not run."""

    judged: tuple[Judged, ...]
    not_run: tuple[Intent, ...] = field(default=())

    @property
    def problems(self) -> list[str]:
        return [f"{j.record.label}: {p}" for j in self.judged for p in j.problems]

    @property
    def any_failed(self) -> bool:
        return any(j.record.status == "failed" for j in self.judged)


def judge(records: Iterable[Record], intents: Sequence[Intent] = INTENDED) -> Judgement:
    """Compare every check that ran with its intent; checks that did not run are not
    judged (a `-k`, `-m` or `--lf` selection), only listed."""
    by_key = {intent.key: intent for intent in intents}
    ran = list(records)
    order = {intent.key: n for n, intent in enumerate(intents)}
    # Intended faults first, in the demo's order; then the rest, in the order they ran.
    ran.sort(key=lambda r: order.get(r.key, len(order)))
    judged = tuple(_judge_one(r, by_key.get(r.key)) for r in ran)
    seen = {r.key for r in ran}
    return Judgement(judged, tuple(i for i in intents if i.key not in seen))


def _judge_one(record: Record, intent: Intent | None) -> Judged:
    if record.status == "skipped":
        return Judged(record, intent, ("skipped, but the demo means every check to run",))
    if intent is None:
        if record.status == "passed":
            return Judged(record, None)
        if record.kind == "firewall" and _unreadable_rules(record):
            # Unknown, and said so: not a pass, and not a finding either.
            return Judged(record, None, note=UNREADABLE_NOTE)
        return Judged(record, None, (f"expected to pass, got {record.said}",))
    problems = []
    if record.status != "failed":
        problems.append(f"expected to fail with {intent.outcome}, but it {record.said}")
    else:
        if record.outcome != intent.outcome:
            problems.append(f"expected outcome {intent.outcome}, got {record.outcome}")
        problems += _top_cause_problems(record, intent)
    return Judged(record, intent, tuple(problems))


def _top_cause_problems(record: Record, intent: Intent) -> list[str]:
    if record.top_cause != intent.top_cause:
        want = intent.top_cause or "no runbook cause"
        return [f"expected top cause {want}, got {record.said}"]
    problems = []
    if intent.confirmed and record.top_verdict != CONFIRMED:
        problems.append(
            f"expected {intent.top_cause} confirmed by the evidence, got [{record.top_verdict}]"
        )
    others = [c for c in record.confirmed if c != intent.top_cause]
    if others:
        problems.append(f"also confirmed, contradicting it: {', '.join(others)}")
    return problems


def read_records(path: str) -> list[Record]:
    """The records a run wrote; none if it wrote nothing (nothing ran)."""
    try:
        with open(path, encoding="utf-8") as lines:
            return [Record.from_json(line) for line in lines if line.strip()]
    except FileNotFoundError:
        return []
