"""The dashboard report: the run's checks as JUnit XML, one `<testsuite>` per inventory service.

Written with junit-xml (the design card's package) from compact records the run keeps
(`Case`, `Suite`), at the end of the session: a failure's triage text is rendered only
when its `<failure>` is written, a chunk of testcases at a time, and dropped again, so
the file costs one chunk's texts however many checks fail.

The file validates against junit-10.xsd (the schema Jenkins-style consumers use):
junit-xml's own output does not (it writes a `disabled` attribute that schema lacks,
and a suite time that may come out as `1e-05`), so those two are set here, and the
document is streamed suite by suite rather than through junit-xml's minidom pretty
printer, which holds the whole file several times over.

No pytest here: the run (run.py) turns reports into records; this turns records into XML.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TextIO

import junit_xml

from ..inventory.model import Inventory, Location

# Testcases built and serialized at once: their triage texts are what is held.
CASES_PER_CHUNK = 100
# The suite of checks no inventory service or closed rule owns (a check a team built
# itself, say), and of tests that could not even be collected.
UNOWNED_SUITE = "checks"
COLLECTION_SUITE = "collection"
# A sharded run's suite property: the suite's place in the inventory ("conntriage.order")
# and each case's in the whole collection ("conntriage.order[test_tcp[...]]").
ORDER_PROPERTY = "conntriage.order"
# ... and which shard wrote it ("conntriage.shard" = "2/4"), on every suite, or on a suite
# of this name alone when the shard ran no test: the merge checks that none is missing.
SHARD_PROPERTY = "conntriage.shard"
SHARD_SUITE = "conntriage shard"


class Problem(str, Enum):
    """What a testcase carries besides passing: JUnit's three child elements."""

    FAILURE = "failure"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Finding:
    """One `<failure>`, `<error>` or `<skipped>` of a testcase.

    `body` is the text inside the element, or a function that renders it when the
    element is written (a failed check's triage: not kept alive until then).
    """

    problem: Problem
    message: str  # one line: the first line is kept
    type: str = ""  # a failure's outcome ("refused"); "" for JUnit's default
    body: str | Callable[[], str] = ""


@dataclass(frozen=True, slots=True)
class Case:
    """One check's testcase: passed when it has no findings."""

    suite: str
    name: str  # stable: the node id after its file ("test_tcp[api:local->api:443]")
    elapsed: float  # seconds, every phase
    findings: tuple[Finding, ...] = ()
    order: int | None = None  # a sharded run's: its place in the whole collection

    @property
    def failed(self) -> bool:
        return any(f.problem is Problem.FAILURE for f in self.findings)

    @property
    def errored(self) -> bool:
        return any(f.problem is Problem.ERROR for f in self.findings)

    @property
    def skipped(self) -> bool:
        return any(f.problem is Problem.SKIPPED for f in self.findings)


@dataclass(frozen=True, slots=True)
class Suite:
    """A service (or closed rule) and the properties its `<testsuite>` shows."""

    name: str
    properties: tuple[tuple[str, str], ...] = ()


class SuiteIndex:
    """The inventory's suites, in inventory order, and which one owns a check.

    A service's suite is named after it and shows its host, unit and tags; a closed
    rule has a suite of its own, "closed <address>" ("#2" and on when that name is
    taken), found by where the rule was written, which each of its checks carries.
    """

    def __init__(self, inventory: Inventory) -> None:
        suites: list[Suite] = []
        taken = {service.name for service in inventory.services}
        for service in inventory.services:
            suites.append(
                Suite(
                    service.name,
                    _present(
                        ("address", service.address),
                        ("host", ",".join(service.on_hosts) or None),
                        ("unit", service.unit),
                        ("tags", ",".join(service.tags)),
                        ("inventory", str(service.location)),
                    ),
                )
            )
        self._closed: dict[Location, str] = {}
        for rule in inventory.closed:
            name = f"closed {rule.address}"
            number = 1
            while name in taken:
                number += 1
                name = f"closed {rule.address} #{number}"
            taken.add(name)
            self._closed.setdefault(rule.location, name)
            suites.append(
                Suite(
                    name,
                    _present(
                        ("address", rule.address),
                        ("ports", ",".join(map(str, rule.ports))),
                        ("tags", ",".join(rule.tags)),
                        ("inventory", str(rule.location)),
                    ),
                )
            )
        self.suites = tuple(suites)
        self._services = frozenset(service.name for service in inventory.services)

    def suite_of(self, service: str | None, location: Location) -> str:
        """The suite of a check of `service` (None for a closed rule's) written at
        `location`."""
        if service is not None:
            return service if service in self._services else UNOWNED_SUITE
        return self._closed.get(location, UNOWNED_SUITE)


def _present(*pairs: tuple[str, str | None]) -> tuple[tuple[str, str], ...]:
    # What the inventory does not say is left out, not written as "".
    return tuple((name, value) for name, value in pairs if value)


def write(
    stream: TextIO,
    suites: Sequence[Suite],
    cases: Iterable[Case],
    redact: Callable[[str], str] = str,
    timestamp: str = "",
    shard: str = "",
) -> None:
    """The JUnit document of `cases`, to `stream`.

    Suites come in the order of `suites`, then any other suite a case names; a suite
    without cases is left out (its checks were deselected). Cases keep the order they
    come in. Every text written passes through `redact` first. `shard` ("2/4"): the
    document is that shard's, with the properties the merge needs.
    """
    grouped: dict[str, list[Case]] = {suite.name: [] for suite in suites}
    for case in cases:
        grouped.setdefault(case.suite, []).append(case)
    properties = {suite.name: suite.properties for suite in suites}
    if shard:
        # One shard of a split run: which, and where each suite and case goes in the
        # whole run's document, for `python -m pytest_conntriage.merge` (which removes
        # them).
        if not any(grouped.values()):
            grouped[SHARD_SUITE] = []
        for place, (name, group) in enumerate(grouped.items()):
            extra = ((SHARD_PROPERTY, shard), *_orders(place, group))
            properties[name] = (*properties.get(name, ()), *extra)
    everything = [case for group in grouped.values() for case in group]
    stream.write('<?xml version="1.0" encoding="utf-8"?>\n')
    stream.write(_start_tag(ET.Element("testsuites", _totals(everything))))
    for name, group in grouped.items():
        if group or name == SHARD_SUITE:
            _write_suite(stream, name, properties.get(name, ()), group, redact, timestamp)
    stream.write("</testsuites>\n")


def write_file(
    path: str | os.PathLike[str],
    suites: Sequence[Suite],
    cases: Iterable[Case],
    redact: Callable[[str], str] = str,
    timestamp: str = "",
    shard: str = "",
) -> None:
    """`write` to `path`, which holds either the whole new document or what it held
    before: a reader never sees half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Beside the target (os.replace stays on one file system), created as any file is.
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as stream:
            write(stream, suites, cases, redact, timestamp, shard)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def unavailable_document(reason: str) -> list[Case]:
    """The one case a dashboard holds when the run could not build it: an error that
    says why, so the dashboard shows something broke rather than all clear."""
    message = f"dashboard report unavailable: {reason}"
    return [Case("conntriage", "dashboard", 0.0, (Finding(Problem.ERROR, message),))]


def interrupted_case() -> Case:
    """The error a dashboard ends with when the run was interrupted (Ctrl-C, a
    collection error): the checks that did not run are not in it, so it is not all clear."""
    message = "the run was interrupted: checks that had not run yet are not listed"
    return Case("conntriage", "run", 0.0, (Finding(Problem.ERROR, message),))


def _orders(place: int, cases: Sequence[Case]) -> list[tuple[str, str]]:
    pairs = [(ORDER_PROPERTY, str(place))]
    pairs += [(f"{ORDER_PROPERTY}[{c.name}]", str(c.order)) for c in cases if c.order is not None]
    return pairs


def _totals(cases: Sequence[Case]) -> dict[str, str]:
    return {
        "tests": str(len(cases)),
        "failures": str(sum(c.failed for c in cases)),
        "errors": str(sum(c.errored for c in cases)),
        "time": _seconds(sum(c.elapsed for c in cases)),
    }


def _write_suite(
    stream: TextIO,
    name: str,
    properties: tuple[tuple[str, str], ...],
    cases: list[Case],
    redact: Callable[[str], str],
    timestamp: str,
) -> None:
    # (a sharded run's case orders name their case as its testcase is written below)
    shown = {clean(redact(key)): clean(redact(value)) for key, value in properties}
    suite_name = clean(redact(name))
    if 0 < len(cases) <= CASES_PER_CHUNK:
        # The usual suite, a service's few checks: built and written at once (at
        # 10,000 services, half the time of building its header and cases apart).
        testcases = [_testcase(suite_name, case, redact) for case in cases]
        element = junit_xml.TestSuite(
            suite_name, testcases, properties=shown or None, timestamp=timestamp or None
        ).build_xml_doc()
        _set_totals(element, cases)
        for testcase, case in zip(element.iter("testcase"), cases, strict=True):
            testcase.set("time", _seconds(case.elapsed))  # junit-xml leaves out 0
        stream.write(ET.tostring(element, encoding="unicode"))
        stream.write("\n")
        return
    element = junit_xml.TestSuite(
        suite_name, properties=shown or None, timestamp=timestamp or None
    ).build_xml_doc()
    _set_totals(element, cases)
    children = list(element)
    for child in children:
        element.remove(child)
    stream.write(_start_tag(element))
    for child in children:
        stream.write(ET.tostring(child, encoding="unicode"))
    for start in range(0, len(cases), CASES_PER_CHUNK):
        chunk = cases[start : start + CASES_PER_CHUNK]
        built = junit_xml.TestSuite(
            suite_name, [_testcase(suite_name, case, redact) for case in chunk]
        ).build_xml_doc()
        for testcase, case in zip(built.iter("testcase"), chunk, strict=True):
            testcase.set("time", _seconds(case.elapsed))  # junit-xml leaves out 0
            stream.write(ET.tostring(testcase, encoding="unicode"))
    stream.write("</testsuite>\n")


def _set_totals(suite: ET.Element, cases: list[Case]) -> None:
    # Counted from every case of the suite, whichever of them junit-xml saw.
    suite.attrib.pop("disabled", None)  # not in junit-10.xsd
    suite.attrib.update(_totals(cases), skipped=str(sum(c.skipped for c in cases)))


def _testcase(suite: str, case: Case, redact: Callable[[str], str]) -> junit_xml.TestCase:
    testcase = junit_xml.TestCase(
        clean(redact(case.name)), classname=suite, allow_multiple_subelements=True
    )
    for finding in case.findings:
        lines = finding.message.splitlines()
        # junit-xml drops an element with neither message nor body.
        message = clean(redact(lines[0] if lines else "")) or finding.problem.value
        body = clean(redact(_rendered(finding.body))) or None
        if finding.problem is Problem.FAILURE:
            testcase.add_failure_info(message, body, finding.type or None)
        elif finding.problem is Problem.ERROR:
            testcase.add_error_info(message, body, finding.type or None)
        else:
            testcase.add_skipped_info(message, body)
    return testcase


def _rendered(body: str | Callable[[], str]) -> str:
    if isinstance(body, str):
        return body
    try:
        return body()
    except Exception as exc:  # the element and its message stand without the text
        return f"text unavailable: {type(exc).__name__}: {' '.join(str(exc).split())}"


def _start_tag(element: ET.Element) -> str:
    """`<tag attrs>` alone, for a document written piece by piece."""
    closing = f"</{element.tag}>"
    return ET.tostring(element, encoding="unicode", short_empty_elements=False)[: -len(closing)]


def _seconds(value: float) -> str:
    # Fixed point: junit-10.xsd's SUREFIRE_TIME has no exponent.
    return f"{max(value, 0.0):.3f}"


# What XML 1.0 cannot hold at all, even escaped: control characters other than tab,
# newline and carriage return, surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """`text` as XML can hold it: each character it cannot shown as `#x1B`, as
    pytest's junitxml does, so a detail with an escape sequence is still readable."""
    return _NOT_XML.sub(lambda m: f"#x{ord(m.group()):02X}", text)
