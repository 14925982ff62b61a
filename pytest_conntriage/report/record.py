"""A check as one record of the JSON report: plain data (str, int, float, None, lists and
dicts), small, the same whichever process ran the check.

The process that ran a check (an xdist worker, or a serial run) turns its result into
the record's check part here; the part travels on the report (pickled by xdist as the
plain data it is) and the controller completes it with what pytest reported (status,
message, duration). The schema of the whole record is `conntriage-report.schema.json`
beside this module; its "version" is FORMAT_VERSION.

Never raises: a crash while reading the result leaves the part that could be made and
one "triage unavailable: <why>" note, so a failed check is never lost from a report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..checks import Check
from ..probe.result import Attempt
from ..result import CheckResult, crash_reason
from ..triage.model import Diagnosis, Verdict
from .text import CAUSES_WITH_STEPS, outcome_line, unavailable_line
from .waiting import waited_phrase

# The JSON report's format and version: a reader checks both; a new field that a
# reader may ignore keeps the version, a field changed or removed raises it.
FORMAT = "pytest-conntriage-report"
FORMAT_VERSION = 1

# The record's statuses, best first: a service's worst is the last one it has.
STATUSES = ("passed", "skipped", "error", "failed")

Record = dict[str, Any]


def check_part(check: Check, suite: str) -> Record:
    """What a check is, from the inventory alone: its kind, where it is defined, what it
    targets and from where. Never raises (a field that cannot be read is null)."""
    part: Record = {"suite": suite, "service": None, "kind": None}
    _guarded(part, "service", lambda: check.service)
    _guarded(part, "kind", lambda: check.kind.name)
    _guarded(part, "location", lambda: str(check.location))
    _guarded(part, "target", lambda: check.target)
    port = getattr(check, "port", None)
    part["port"] = port if isinstance(port, int) and port > 0 else None
    # Where the probe runs from (tcp-like checks) and which machine a host check reads.
    for name in ("vantage", "host"):
        value = getattr(check, name, None)
        part[name] = value if isinstance(value, str) else None
    return part


def _guarded(part: Record, name: str, read: Callable[[], object]) -> None:
    try:
        value = read()
    except Exception:
        value = None
    part[name] = value if value is None or isinstance(value, str) else str(value)


def result_part(result: CheckResult, triage: bool) -> Record:
    """What the check's run gave: its outcome, its attempts and their timings, the
    addresses it tried, the other vantages' view and, with `triage` (the check itself
    failed), the ranked causes. Never raises: see the module."""
    part: Record = {"outcome": None, "probe": None, "addresses": [], "elsewhere": []}
    try:
        part["outcome"] = result.outcome.value
    except Exception as exc:
        return part | {"triage": unavailable_triage(crash_reason("report", exc))}
    try:
        probe = result.result
        final = probe.final
        part["probe"] = {
            "elapsed_s": round(float(probe.elapsed_s), 6),
            "history": probe.history(),
            "explained": outcome_line(result),
            "attempts": [_attempt(a) for a in probe.attempts],
        }
        tried = final.tried or ((final,) if final.via else ())
        part["addresses"] = [
            {"address": a.address, "outcome": a.outcome.value, "resolvers": list(a.via)}
            for a in tried
        ]
        part["elsewhere"] = [
            {"vantage": vantage, "outcome": outcome.value} for vantage, outcome in result.elsewhere
        ]
    except Exception as exc:
        return part | {"triage": unavailable_triage(crash_reason("report", exc))}
    try:
        if result.passed and len(result.result.attempts) > 1:
            # A gate that passed after waiting says so: "open after 12.4 s (refused ×7)".
            part["warning"] = waited_phrase(result.result)
    except Exception:  # the probe's part above already stands; this line is extra
        pass
    if triage:
        part["triage"] = triage_part(result)
    return part


def _attempt(attempt: Attempt) -> Record:
    return {
        "outcome": attempt.outcome.value,
        "elapsed_ms": round(float(attempt.elapsed_ms), 3),
        "address": attempt.address or None,
        "errno": attempt.errno_name or None,
        "detail": attempt.detail or None,
    }


def triage_part(result: CheckResult) -> Record:
    """The failed check's triage: every cause ranked with its verdict and the evidence
    lines behind it, the fix of the causes the terminal shows it for, the evidence that
    could not be gathered. A crash anywhere leaves what was made and an `error`."""
    triage: Record = {
        "entry": None,
        "entry_title": None,
        "causes": [],
        "unavailable": list(result.unavailable),
        "note": None,
        "error": None,
    }
    if result.triage_error:
        triage["error"] = unavailable_line(result.triage_error)
        return triage
    try:
        diagnosis = result.diagnosis
        if diagnosis is None:
            triage["note"] = result.check.kind.unexplained(result.check, result.outcome)
            return triage
        triage["entry"] = diagnosis.entry_id
        triage["entry_title"] = diagnosis.entry_title
        triage["causes"] = _causes(diagnosis)
    except Exception as exc:
        triage["error"] = unavailable_line(crash_reason("report", exc))
    return triage


def _causes(diagnosis: Diagnosis) -> list[Record]:
    causes = []
    for rank, cause in enumerate(diagnosis.causes, 1):
        record: Record = {
            "id": cause.id,
            "title": cause.title,
            "verdict": cause.verdict.value,
            "score": cause.score,
            "evidence": list(cause.evidence),
        }
        if rank <= CAUSES_WITH_STEPS and cause.verdict is not Verdict.RULED_OUT:
            record["fix"] = [
                {
                    "title": resolution.title,
                    "steps": [
                        {"text": step.text, "command": step.command or None}
                        for step in resolution.steps
                    ],
                }
                for resolution in cause.resolutions
            ]
        causes.append(record)
    return causes


def unavailable_triage(reason: str) -> Record:
    """The triage of a failed check whose triage could not be made: why, in one line."""
    return {
        "entry": None,
        "entry_title": None,
        "causes": [],
        "unavailable": [],
        "note": None,
        "error": unavailable_line(reason),
    }


def complete(
    nodeid: str,
    order: int,
    status: str,
    message: str | None,
    duration_s: float,
    check: Record | None = None,
    result: Record | None = None,
    outcome: str | None = None,
) -> Record:
    """The whole record of a check: what pytest reported of it (`status`, `message`, its
    time), completed with what the process that ran it made (`check`: check_part,
    `result`: result_part). `outcome`: the check's outcome when no result part came."""
    check = check or {}
    result = result or {}
    return {
        "order": order,
        "id": nodeid,
        "name": nodeid.partition("::")[2] or nodeid,
        "suite": check.get("suite", ""),
        "service": check.get("service"),
        "kind": check.get("kind"),
        "status": status,
        # A passed check worth a look ("open after 12.4 s (refused ×7)"): what the
        # check's run says, in its part.
        "warning": result.get("warning"),
        "outcome": result.get("outcome") or outcome,
        "message": message,
        "location": check.get("location"),
        "target": check.get("target"),
        "port": check.get("port"),
        "vantage": check.get("vantage"),
        "host": check.get("host"),
        "duration_s": round(max(float(duration_s), 0.0), 6),
        "probe": result.get("probe"),
        "addresses": result.get("addresses", []),
        "elsewhere": result.get("elsewhere", []),
        "triage": result.get("triage"),
    }


def top_cause(record: Record) -> Record | None:
    """The record's best cause not ruled out, or None."""
    triage = record.get("triage") or {}
    for cause in triage.get("causes") or ():
        return cause if cause.get("verdict") != Verdict.RULED_OUT.value else None
    return None


def redacted(value: Any, redact: Callable[[str], str]) -> Any:
    """`value` with `redact` applied to every string in it (keys are the report's own)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redacted(item, redact) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redacted(item, redact) for item in value]
    return value
