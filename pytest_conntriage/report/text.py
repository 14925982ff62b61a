"""The words of a failure: its one-line message and the full triage a person reads."""

from __future__ import annotations

from ..outcome import Outcome
from ..resolution import labels
from ..result import CheckResult, crash_reason
from ..runbook.model import Side
from ..triage.model import CONFIRMED, Diagnosis, RankedCause, Verdict

# How many ranked causes get their resolution steps printed in full; the rest are
# listed by title, so a failure stays readable on one screen.
CAUSES_WITH_STEPS = 3


def describe_check(result: CheckResult) -> str:
    """ "tcp local -> api.example.com:443 (192.0.2.10), service api"."""
    check = result.check
    return check.kind.describe(check)


def outcome_line(result: CheckResult) -> str:
    """What happened, in one line: "connection refused by 127.0.0.3:8080 after 0.2 ms"."""
    attempt = result.result.final
    count = len(result.result.attempts)
    tries = f", {count} attempts ({result.result.history()})" if count > 1 else ""
    given = f" — {attempt.address} from {labels(attempt.via)}" if attempt.via else ""
    return result.check.kind.explain(result.check, attempt) + given + tries


def addresses_line(result: CheckResult) -> str:
    """What each address of a name with several did, and which resolver gave it:
    "10.0.0.2 open (resolver 10.0.0.53); 10.0.0.9 refused (resolver 10.0.0.54)"; ""
    for one address (the outcome line names it and its resolver)."""
    tried = result.result.final.tried
    return "; ".join(
        f"{a.address} {a.outcome.value} ({labels(a.via)})"
        if a.via
        else f"{a.address} {a.outcome.value}"
        for a in tried
    )


def vantages_line(result: CheckResult) -> str:
    """Where else the failed target was probed from, and what it gave there:
    "reachable from v1, not from local"; "not reachable from v2 either (timeout)"."""
    check = result.check
    here = getattr(check, "vantage", "?")
    reachable = [v for v, outcome in result.elsewhere if outcome is Outcome.OPEN]
    failed = [(v, outcome) for v, outcome in result.elsewhere if outcome is not Outcome.OPEN]
    parts = []
    if reachable:
        parts.append(f"reachable from {', '.join(reachable)}, not from {here}")
    if failed:
        said = ", ".join(f"{v}: {outcome.value}" for v, outcome in failed)
        parts.append(f"not reachable from {', '.join(v for v, _ in failed)} either ({said})")
    return "; ".join(parts)


def failure_message(result: CheckResult) -> str:
    """The one line for JUnit's failure message and pytest's short summary.

    Never raises: a failed check must be reported failed with its outcome whatever
    goes wrong in triage, so a crash becomes "triage unavailable: <why>".
    """
    try:
        message = f"{result.outcome.value}: {outcome_line(result)}"
    except Exception as exc:
        return f"{_outcome_value(result)}: {unavailable_line(crash_reason('rendering', exc))}"
    if result.triage_error:
        return f"{message} — {unavailable_line(result.triage_error)}"
    try:
        top = result.diagnosis.top if result.diagnosis else None
        return message + (f" — {top.verdict.value}: {top.id}" if top is not None else "")
    except Exception as exc:
        return f"{message} — {unavailable_line(crash_reason('filling', exc))}"


def unavailable_line(reason: str) -> str:
    """The one line a failure shows in place of the triage that crashed."""
    return f"triage unavailable: {reason}"


def failure_text(result: CheckResult, notes: tuple[str, ...] = ()) -> str:
    """The full triage: what happened, the ranked causes with fixes, what to run next.

    Never raises (see failure_message): whatever fails to render is replaced by one
    "triage unavailable: <why>" line under the check's outcome. `notes`: reasons other
    stages failed (the JUnit properties), one such line each.
    """
    try:
        lines = _header_lines(result)
    except Exception as exc:
        lines = [f"  outcome: {_outcome_value(result)}"]
        notes = (crash_reason("rendering", exc), *notes)
    body: list[str] = []
    if result.triage_error:
        notes = (result.triage_error, *notes)
    else:
        try:
            body = _triage_lines(result)
        except Exception as exc:  # filling a template, or rendering the text
            notes = (crash_reason("rendering", exc), *notes)
    tail = ["", *(unavailable_line(note) for note in notes)] if notes else []
    return "\n".join([*lines, *body, *tail])


def _header_lines(result: CheckResult) -> list[str]:
    check = result.check
    lines = [
        describe_check(result),
        f"  defined at {check.location}",
        f"  outcome: {result.outcome.value} — {outcome_line(result)}",
    ]
    if len(result.result.attempts) > 1:
        lines.append(f"  attempts: {result.result.history()}")
    if result.elsewhere:
        lines.append(f"  vantages: {vantages_line(result)}")
    if addresses := addresses_line(result):
        lines.append(f"  addresses of {check.target}: {addresses}")
    return lines


def _outcome_value(result: CheckResult) -> str:
    try:
        return result.outcome.value
    except Exception:
        return "unknown outcome"


def _triage_lines(result: CheckResult) -> list[str]:
    lines: list[str] = []
    diagnosis = result.diagnosis
    if diagnosis is None:
        return ["", _no_entry(result)]
    lines += ["", f"Likely causes ({diagnosis.entry_id}: {diagnosis.entry_title}):"]
    causes = diagnosis.causes  # built on each read: once here
    ranked = [c for c in causes if c.verdict is not Verdict.RULED_OUT]
    both = both_hold(diagnosis)
    if both:
        lines.append(f"  {both}")
    for rank, cause in enumerate(ranked, 1):
        lines += _cause_lines(rank, cause, full=rank <= CAUSES_WITH_STEPS)
    ruled_out = [c.id for c in causes if c.verdict is Verdict.RULED_OUT]
    if ruled_out:
        lines.append(f"  ruled out: {', '.join(ruled_out)}")
    if result.answers_now is not None:
        failing = result.result.final.address if result.result.final.via else None
        lines += ["", f"DNS answers now for {result.answers_now.name}:"]
        lines += [f"  {line}" for line in result.answers_now.lines(failing)]
    if result.unavailable:
        blind = any(": batch: " in line for line in result.unavailable)
        fallback = " (ranked on what the client saw)" if blind else ""
        lines += ["", f"Evidence unavailable{fallback}:"]
        lines += [f"  {line}" for line in result.unavailable]
    lines += ["", *_diagnostic_lines(diagnosis)]
    lines += ["", f"Reference: {diagnosis.reference}"]
    return lines


def both_hold(diagnosis: Diagnosis) -> str:
    """The line that says two (or more) confirmed faults hold at once; "" for one."""
    ids = [s.cause for s in diagnosis.ranking if s.score >= CONFIRMED]
    if len(ids) < 2:
        return ""
    listed = ", ".join(ids[:-1]) + f" and {ids[-1]}"
    count = "Two faults" if len(ids) == 2 else f"{len(ids)} faults"
    return (
        f"{count} hold at once: {listed}. {ids[0]} explains this {diagnosis.outcome.value}; "
        "fixing it alone will not make the check pass."
    )


def _cause_lines(rank: int, cause: RankedCause, full: bool) -> list[str]:
    lines = [f"  {rank}. [{cause.verdict.value}] {cause.title} ({cause.id})"]
    if not full:
        return lines
    lines += [f"       why: {line}" for line in cause.evidence]
    for resolution in cause.resolutions:
        lines.append(f"       fix: {resolution.title}")
        for step in resolution.steps:
            lines.append(f"         - {step.text}")
            if step.command:
                lines.append(f"           $ {step.command}")
    return lines


def _diagnostic_lines(diagnosis: Diagnosis) -> list[str]:
    lines = ["Next diagnostics:"]
    for diagnostic in diagnosis.diagnostics:
        where = "on the client" if diagnostic.side is Side.CLIENT else "on the target"
        lines.append(f"  {where}: $ {diagnostic.command}")
        lines.append(f"      {diagnostic.title} — {diagnostic.tells}")
    return lines


def _no_entry(result: CheckResult) -> str:
    return result.check.kind.unexplained(result.check, result.outcome)
