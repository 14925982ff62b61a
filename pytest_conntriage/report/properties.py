"""The `conntriage.*` properties a failing check carries into JUnit and across xdist."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..outcome import Outcome
from ..result import CheckResult, crash_reason
from ..triage.model import Diagnosis
from .waiting import outcome_runs, waited_phrase

PREFIX = "conntriage."
# One string per property name for the whole run, not one per failing check.
_NAMES = {
    name: PREFIX + name
    for name in (
        "check", "outcome", "address", "port", "attempts", "causes", "top_cause",
        "top_cause_title", "reachable_from", "triage_error", "addresses", "resolved_by",
        "elapsed_s", "outcomes", "waited", "severity",
    )
}  # fmt: skip


def properties(result: CheckResult) -> tuple[list[tuple[str, str]], str]:
    """Name/value pairs for the report (see plugin: where JUnit writes them), and why
    the triage's could not be made ("" when they could).

    Never raises: the check's kind and outcome are always there; a crash while reading
    the triage (filling a cause's title, say) leaves its pairs out and is itself a
    property, `conntriage.triage_error`, as is a crash of triage before it.
    """
    try:
        pairs = _probe_pairs(result)
    except Exception as exc:
        reason = crash_reason("JUnit properties", exc)
        return [*essential_properties(result), (_NAMES["triage_error"], reason)], reason
    if result.triage_error:
        pairs.append(("triage_error", result.triage_error))
        return _named(pairs), ""
    try:
        triage = _triage_pairs(result.diagnosis)
    except Exception as exc:
        reason = crash_reason("JUnit properties", exc)
        return _named([*pairs, ("triage_error", reason)]), reason
    return _named(pairs + triage), ""


def _probe_pairs(result: CheckResult) -> list[tuple[str, str]]:
    check = result.check
    final = result.result.final
    pairs = [
        ("check", check.kind.name),
        ("outcome", result.outcome.value),
        *check.kind.properties(check, final),
        ("attempts", str(len(result.result.attempts))),
    ]
    probe = result.result
    if len(probe.attempts) > 1:
        # A check that retried or waited: how long, through which outcomes, and for one
        # that passed in the end, the phrase its report line shows.
        pairs.append(("elapsed_s", f"{probe.elapsed_s:.1f}"))
        pairs.append(("outcomes", outcome_runs([a.outcome for a in probe.attempts])))
        if result.passed:
            pairs.append(("waited", waited_phrase(probe)))
    tried = final.tried or ((final,) if final.via else ())
    if tried:
        # Every address of a name and what it did: "10.0.0.2=open,10.0.0.9=refused".
        pairs.append(("addresses", ",".join(f"{a.address}={a.outcome.value}" for a in tried)))
    if final.via:
        pairs.append(("resolved_by", ",".join(final.via)))
    reachable = [vantage for vantage, outcome in result.elsewhere if outcome is Outcome.OPEN]
    if reachable:
        pairs.append(("reachable_from", ",".join(reachable)))
    return pairs


def essential_properties(result: CheckResult) -> list[tuple[str, str]]:
    """The check's kind and outcome alone, for when the rest cannot be made."""
    try:
        pairs = [("check", result.check.kind.name), ("outcome", result.outcome.value)]
    except Exception:
        return []
    return _named(pairs)


def _triage_pairs(diagnosis: Diagnosis | None) -> list[tuple[str, str]]:
    if diagnosis is None:
        return []
    pairs = [("causes", ",".join(diagnosis.in_play))]
    top = diagnosis.top
    if top is not None:
        pairs.append(("top_cause", top.id))
        pairs.append(("top_cause_title", top.title))
    return pairs


def _named(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # A kind's own keys beyond the usual ones are prefixed as they come.
    return [(_NAMES.get(name) or PREFIX + name, value) for name, value in pairs]


def read(user_properties: object) -> dict[str, str]:
    """The conntriage properties of a report, prefix stripped ({} for other tests)."""
    found: dict[str, str] = {}
    if isinstance(user_properties, (list, tuple)):
        for pair in user_properties:
            if isinstance(pair, (list, tuple)) and len(pair) == 2:
                name, value = pair
                if isinstance(name, str) and name.startswith(PREFIX):
                    found[name[len(PREFIX) :]] = str(value)
    return found


def suite_property_name(name: str, testcase: str) -> str:
    """`conntriage.outcome[inventory.yml::test_tcp[...]]`: property `name` of the
    testcase `testcase` ("classname::name"), written on the JUnit suite."""
    return f"{name}[{testcase}]"


def junit_properties(root: ET.Element) -> dict[str, dict[str, str]]:
    """Each testcase's conntriage properties in a JUnit file, by "classname::name",
    prefix stripped, whether the run wrote them on the suite or in the testcases."""
    found: dict[str, dict[str, str]] = {}
    for suite in root.iter("testsuite"):
        for prop in suite.findall("properties/property"):
            name = prop.get("name", "")
            key, bracket, testcase = name.partition("[")
            if key.startswith(PREFIX) and bracket and testcase.endswith("]"):
                found.setdefault(testcase[:-1], {})[key[len(PREFIX) :]] = prop.get("value", "")
        for case in suite.iter("testcase"):
            classname, case_name = case.get("classname", ""), case.get("name", "")
            testcase = f"{classname}::{case_name}" if classname else case_name
            for prop in case.findall("properties/property"):
                name = prop.get("name", "")
                if name.startswith(PREFIX):
                    found.setdefault(testcase, {})[name[len(PREFIX) :]] = prop.get("value", "")
    return found
