"""The dashboard report's document, from records alone: no pytest run (see
test_report_dashboard_run.py for the plugin writing it)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import xmlschema

from pytest_conntriage.inventory import load_inventories
from pytest_conntriage.inventory.model import Inventory, Location
from pytest_conntriage.report import dashboard
from pytest_conntriage.report.dashboard import Case, Finding, Problem, Suite, SuiteIndex

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).with_name("junit-10.xsd")))

INVENTORY = """\
version: 1
hosts:
  web-1:
    connection: ssh://deploy@web-1.example.com
services:
  api:
    address: api.example.com
    ports: [443]
    host: web-1
    unit: nginx
    tags: [prod, edge]
  db:
    address: 192.0.2.10
    ports: [5432]
  closed 192.0.2.10:
    address: 192.0.2.11
    ports: [80]
closed:
  - address: 192.0.2.10
    ports: [22, 23]
    tags: [gate]
  - address: 192.0.2.10
    ports: [25]
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    path = tmp_path / "inv.yml"
    path.write_text(INVENTORY)
    return load_inventories([str(path)], environ={})


def document(
    suites: list[Suite],
    cases: list[Case],
    redact: Callable[[str], str] = str,
    timestamp: str = "",
) -> str:
    stream = io.StringIO()
    dashboard.write(stream, suites, cases, redact, timestamp)
    return stream.getvalue()


def valid(text: str) -> ET.Element:
    SCHEMA.validate(text)  # raises with the first violation
    return ET.fromstring(text)


def failure(outcome: str, message: str, body: str | Callable[[], str] = "the triage") -> Finding:
    return Finding(Problem.FAILURE, message, outcome, body)


def test_every_service_and_closed_rule_is_a_suite_with_its_properties(inventory: Inventory) -> None:
    index = SuiteIndex(inventory)
    assert [s.name for s in index.suites] == [
        "api",
        "db",
        "closed 192.0.2.10",  # a service's name...
        "closed 192.0.2.10 #2",  # ...so the first rule at that address counts on
        "closed 192.0.2.10 #3",
    ]
    api = dict(index.suites[0].properties)
    assert api == {
        "address": "api.example.com",
        "host": "web-1",
        "unit": "nginx",
        "tags": "prod,edge",
        "inventory": api["inventory"],
    }
    assert api["inventory"].endswith("inv.yml:6:3")
    assert "host" not in dict(index.suites[1].properties)  # not said: not written as ""
    gate = dict(index.suites[3].properties)
    assert (gate["ports"], gate["tags"]) == ("22,23", "gate")
    rules = inventory.closed
    assert index.suite_of(None, rules[0].location) == "closed 192.0.2.10 #2"
    assert index.suite_of(None, rules[1].location) == "closed 192.0.2.10 #3"
    assert index.suite_of("api", Location("inv.yml", 1, 1)) == "api"
    # A check nothing in the inventory owns still has a suite.
    assert index.suite_of("elsewhere", Location("x", 1, 1)) == dashboard.UNOWNED_SUITE
    assert index.suite_of(None, Location("x", 1, 1)) == dashboard.UNOWNED_SUITE


def test_a_document_of_every_shape_validates_against_junit_10_xsd(inventory: Inventory) -> None:
    suites = list(SuiteIndex(inventory).suites)
    cases = [
        Case("api", "test_tcp[api:local->api.example.com:443]", 0.25),
        Case("api", "test_dns[api:api.example.com@system]", 0.00001),  # no 1e-05
        Case(
            "db",
            "test_tcp[db:local->192.0.2.10:5432]",
            1.5,
            (failure("refused", "refused: connection refused — likely: service-down"),),
        ),
        Case("db", "test_listening[db@web-1:5432]", 0.0, (Finding(Problem.SKIPPED, "no host"),)),
        Case(
            "closed 192.0.2.10 #2",
            "test_closed[local->192.0.2.10:22]",
            0.1,
            (
                failure("open", "open: accepted, but must be closed"),
                Finding(Problem.ERROR, "error at teardown", body="Traceback ..."),
            ),
        ),
        Case("elsewhere", "test_mine[x]", 0.0, (failure("", "escape \x1b[31m and \x00"),)),
    ]
    root = valid(document(suites, cases, timestamp="2026-12-02T04:40:00"))
    assert root.attrib == {"tests": "6", "failures": "3", "errors": "1", "time": "1.850"}
    # Deselected everywhere: "db" has no case under #3, so that suite is left out; a
    # suite no inventory entry names comes last.
    names = [s.get("name") for s in root.iter("testsuite")]
    assert names == ["api", "db", "closed 192.0.2.10 #2", "elsewhere"]
    api, db, closed, elsewhere = root.iter("testsuite")
    assert api.attrib == {
        "name": "api",
        "tests": "2",
        "failures": "0",
        "errors": "0",
        "skipped": "0",
        "time": "0.250",
        "timestamp": "2026-12-02T04:40:00",
    }
    props = {p.get("name"): p.get("value") for p in api.iter("property")}
    assert (props["host"], props["unit"], props["tags"]) == ("web-1", "nginx", "prod,edge")
    assert [c.get("time") for c in api.iter("testcase")] == ["0.250", "0.000"]
    assert db.get("failures") == "1"
    assert db.get("skipped") == "1"
    refused = db.find("testcase/failure")
    assert refused is not None
    assert refused.attrib == {
        "type": "refused",
        "message": "refused: connection refused — likely: service-down",
    }
    assert refused.text == "the triage"
    (case,) = closed.iter("testcase")
    assert case.attrib["classname"] == "closed 192.0.2.10 #2"
    assert [child.tag for child in case] == ["failure", "error"]
    mine = elsewhere.find("testcase/failure")
    assert mine is not None
    assert mine.get("type") == "failure"  # JUnit's default: not a check's outcome
    assert mine.get("message") == "escape #x1B[31m and #x00"


def test_a_message_is_one_line_and_never_empty() -> None:
    cases = [
        Case("s", "a", 0.0, (failure("timeout", "first line\nsecond line", body=""),)),
        Case("s", "b", 0.0, (Finding(Problem.ERROR, ""),)),
    ]
    root = valid(document([], cases))
    a, b = root.iter("testcase")
    assert a[0].get("message") == "first line"
    assert a[0].text is None
    assert b[0].get("message") == "error"  # junit-xml drops an element with neither


def test_every_text_passes_through_the_runs_redaction() -> None:
    secret = "S3cretSentinel"
    suites = [Suite(f"svc-{secret}", (("host", f"ssh://u:{secret}@h"),))]
    cases = [Case(f"svc-{secret}", f"t[{secret}]", 0.0, (failure("refused", secret, secret),))]
    text = document(suites, cases, redact=lambda t: t.replace(secret, "***"))
    valid(text)
    assert secret not in text
    assert text.count("***") == 6  # suite, property, classname, name, message, body


def test_triage_texts_are_rendered_as_written_a_chunk_at_a_time() -> None:
    stream = io.StringIO()
    rendered: list[int] = []

    def triage(n: int) -> str:
        # By the time a chunk renders, every earlier chunk is already in the file.
        chunk_start = n - n % dashboard.CASES_PER_CHUNK
        if chunk_start:
            assert f"triage {chunk_start - 1}\n" in stream.getvalue()
        rendered.append(n)
        return f"triage {n}\n"

    total = 2 * dashboard.CASES_PER_CHUNK + 1
    cases = [
        Case("s", f"t{n}", 0.0, (failure("refused", "m", partial(triage, n)),))
        for n in range(total)
    ]
    dashboard.write(stream, [Suite("s")], cases)
    assert rendered == list(range(total))  # each once, in order
    valid(stream.getvalue())


def test_a_triage_text_that_cannot_be_rendered_leaves_the_failure_standing() -> None:
    def broken() -> str:
        raise KeyError("cause")

    cases = [Case("s", "t", 0.0, (failure("refused", "refused: connection refused", broken),))]
    root = valid(document([], cases))
    element = root.find("testsuite/testcase/failure")
    assert element is not None
    assert element.get("type") == "refused"
    assert element.get("message") == "refused: connection refused"
    assert element.text == "text unavailable: KeyError: 'cause'"


def test_the_file_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "dashboard.xml"
    dashboard.write_file(target, [], [Case("s", "t", 0.0)])
    before = target.read_text()
    valid(before)

    def interrupted(text: str) -> str:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        dashboard.write_file(target, [], [Case("s", "t", 0.0)], redact=interrupted)
    assert target.read_text() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["dashboard.xml"]


def test_a_dashboard_that_could_not_be_built_shows_an_error_not_all_clear() -> None:
    cases = [*dashboard.unavailable_document("KeyError: 'x'"), dashboard.interrupted_case()]
    root = valid(document([], cases))
    assert root.get("errors") == "2"
    unavailable, interrupted = root.iter("error")
    assert unavailable.get("message") == "dashboard report unavailable: KeyError: 'x'"
    assert interrupted.get("message", "").startswith("the run was interrupted: ")


def test_no_case_is_still_a_valid_document() -> None:
    root = valid(document([Suite("api")], []))
    assert root.attrib == {"tests": "0", "failures": "0", "errors": "0", "time": "0.000"}
    assert root.find("testsuite") is None


def test_a_suite_written_at_once_is_the_suite_written_a_chunk_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A suite of up to CASES_PER_CHUNK cases is built and written in one piece; a
    # larger one as its header, then its cases a chunk at a time. Both write the same.
    odd = 'q"<&>\x1b\ttab\r\nline'
    suites = [Suite("s", (("host", f"ssh://h{odd}"), ("tags", "a,b"))), Suite(f"t{odd}")]
    cases = [
        Case("s", "passed", 0.25),
        Case("s", f"failed{odd}", 1.5, (failure("refused", f"refused{odd}", f"body{odd}"),)),
        Case("s", "error", 0.0, (Finding(Problem.ERROR, "error at setup: x", "", "tb"),)),
        Case("s", "skipped", 0.0, (Finding(Problem.SKIPPED, f"skip{odd}"),)),
        Case(f"t{odd}", "one", 0.001),
    ]
    at_once = document(suites, cases, timestamp="2026-12-02T10:00:00+00:00")
    monkeypatch.setattr(dashboard, "CASES_PER_CHUNK", 1)
    chunked = document(suites, cases, timestamp="2026-12-02T10:00:00+00:00")
    assert at_once == chunked
    valid(at_once)
    assert at_once.count("<testsuite ") == 2
