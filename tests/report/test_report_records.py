"""The pieces of the Markdown and JSON reports below the plugin: a check's record made from
a real result, the spool that keeps records on disk, the count by service, the JSON
document and its published schema."""

from __future__ import annotations

import io
import json
import random
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from pytest_conntriage.inventory.model import Location, Policy
from pytest_conntriage.kinds import tcp
from pytest_conntriage.kinds.tcp import TcpCheck
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.result import Attempt, ProbeResult
from pytest_conntriage.report import json_report
from pytest_conntriage.report.dashboard import Suite
from pytest_conntriage.report.record import (
    check_part,
    complete,
    redacted,
    result_part,
    top_cause,
    triage_part,
)
from pytest_conntriage.report.services import ServiceTally, table_lines
from pytest_conntriage.report.spool import RecordSpool
from pytest_conntriage.result import CheckResult

CHECK = TcpCheck(
    kind=tcp.KIND,
    target="api.test",
    port=443,
    vantage="local",
    resolvers=(),
    policy=Policy(1.0, 2, 0.0),
    location=Location("inv.yml", 4, 5),
    host="web-1",
)


def refused_twice_then_open() -> ProbeResult:
    stale = Attempt(Outcome.REFUSED, 0.4, "10.0.0.9", 443, errno=111, via=("10.0.0.53",))
    good = Attempt(Outcome.OPEN, 0.3, "10.0.0.2", 443, via=("10.0.0.53",))
    final = replace(stale, tried=(good, stale))
    return ProbeResult((Attempt(Outcome.REFUSED, 0.5, "10.0.0.9", 443, errno=111), final), 1.25)


def test_a_checks_record_has_its_attempts_addresses_and_the_other_vantages() -> None:
    result = CheckResult(
        CHECK, False, refused_twice_then_open(), elsewhere=(("web-2", Outcome.OPEN),)
    )
    part = {"order": 7, **check_part(CHECK, "api")}
    record = complete(
        "inv.yml::test_tcp[x]",
        7,
        "failed",
        "refused: ...",
        0.2,
        part,
        result_part(result, triage=False),
    )
    assert record["order"] == 7
    assert record["name"] == "test_tcp[x]"
    assert (record["kind"], record["target"], record["port"]) == ("tcp", "api.test", 443)
    assert (record["vantage"], record["host"], record["location"]) == (
        "local",
        "web-1",
        "inv.yml:4:5",
    )
    probe = record["probe"]
    assert probe["history"] == "refused ×2 after 1.2 s"
    assert [a["errno"] for a in probe["attempts"]] == ["ECONNREFUSED", "ECONNREFUSED"]
    assert record["addresses"] == [
        {"address": "10.0.0.2", "outcome": "open", "resolvers": ["10.0.0.53"]},
        {"address": "10.0.0.9", "outcome": "refused", "resolvers": ["10.0.0.53"]},
    ]
    assert record["elsewhere"] == [{"vantage": "web-2", "outcome": "open"}]
    assert record["triage"] is None
    jsonschema.validate(_document([record]), json_report.schema())


def test_a_record_part_that_cannot_be_read_is_left_out_with_the_reason() -> None:
    class Broken:
        kind = tcp.KIND

        @property
        def location(self) -> str:
            raise RuntimeError("no location")

        service = None
        target = 5  # not a string: shown as one
        port = "443"  # not a port number: left out

    part = check_part(Broken(), "checks")  # type: ignore[arg-type]
    assert part["location"] is None
    assert part["target"] == "5"
    assert part["port"] is None

    class NoOutcome(CheckResult):
        @property
        def outcome(self) -> Outcome:
            raise RuntimeError("no outcome")

    probe = ProbeResult((Attempt(Outcome.REFUSED, 0.5, "10.0.0.9", 443),), 0.5)
    part = result_part(NoOutcome(CHECK, False, probe), triage=True)
    assert part["triage"]["error"] == "triage unavailable: report: RuntimeError: no outcome"
    # A probe without attempts: no outcome, and the reason.
    part = result_part(CheckResult(CHECK, False, ProbeResult((), 0.0)), triage=True)
    assert part["outcome"] is None
    assert (
        part["triage"]["error"]
        == "triage unavailable: report: IndexError: tuple index out of range"
    )
    crashed = CheckResult(CHECK, False, probe, triage_error="ranking: KeyError: 'x'")
    assert triage_part(crashed)["error"] == "triage unavailable: ranking: KeyError: 'x'"
    # No diagnosis: the kind's own words say why.
    assert triage_part(CheckResult(CHECK, False, probe))["note"]


def test_redaction_reaches_every_string_and_the_top_cause_is_never_a_ruled_out_one() -> None:
    value = {"a": ["pw=S3cret", ("S3cret",)], "b": {"c": "S3cret!"}, "n": 1, "z": None}
    assert redacted(value, lambda text: text.replace("S3cret", "***")) == {
        "a": ["pw=***", ["***"]], "b": {"c": "***!"}, "n": 1, "z": None
    }  # fmt: skip
    ruled_out = {"triage": {"causes": [{"id": "x", "verdict": "ruled out"}]}}
    assert top_cause(ruled_out) is None
    assert top_cause({"triage": None}) is None


def test_the_spool_reads_back_in_order_key_order_and_keeps_nothing_in_memory() -> None:
    spool = RecordSpool()
    assert list(spool.in_order()) == []
    for order, marked in ((5, False), (1, True), (3, False), (1, False), (-1, True)):
        spool.add(order, json.dumps({"o": order, "m": marked}).encode(), marked)
    assert len(spool) == 5
    assert spool.marked == 2
    read = [json.loads(line) for line in spool.in_order()]
    # Equal keys keep the order they were added in.
    assert read == [
        {"o": -1, "m": True}, {"o": 1, "m": True}, {"o": 1, "m": False},
        {"o": 3, "m": False}, {"o": 5, "m": False},
    ]  # fmt: skip
    assert [json.loads(line)["o"] for line in spool.in_order(marked=True)] == [-1, 1]
    spool.add(0, b'{"o":0}')  # after reading: added at the end all the same
    assert next(spool.in_order()) == b'{"o": -1, "m": true}'
    spool.close()
    spool.close()


def test_rows_by_service_are_the_same_whatever_order_the_checks_come_in() -> None:
    checks = [
        ("api", "failed", "refused", "service-down"),
        ("api", "failed", "timeout", "host-firewall"),
        ("api", "failed", "refused", "service-down"),
        ("api", "passed", "open", None),
        ("web", "passed", "open", None),
        ("web", "skipped", None, None),
        ("db", "error", None, None),
        ("zz-own", "passed", "open", None),
        ("collection", "error", None, None),
    ]
    seen = []
    for seed in range(5):
        random.Random(seed).shuffle(checks)
        tally = ServiceTally(["web", "api", "db", "unused"])
        for suite, status, outcome, cause in checks:
            tally.add(suite, status, outcome, cause, warned=suite == "zz-own")
        seen.append(table_lines(tally.rows()))
        totals = tally.totals()
    assert all(lines == seen[0] for lines in seen)
    assert [line.split()[:5] for line in seen[0]] == [
        ["service", "checks", "passed", "failed", "skipped"],
        ["web", "2", "1", "0", "1"],
        ["api", "4", "1", "3", "0"],
        ["db", "1", "0", "1", "0"],
        ["collection", "1", "0", "1", "0"],
        ["zz-own", "1", "1", "0", "0"],
    ]
    assert seen[0][2].endswith("FAILED refused  service-down ×2")
    assert seen[0][3].split()[5:] == ["ERROR"]
    assert seen[0][5].split()[5:] == ["WARN", "open"]
    assert seen[0][1].split()[5:] == ["skipped"]  # unverified: worse than a pass
    assert dict(totals) == {
        "passed": 3, "skipped": 1, "error": 2, "failed": 3, "warned": 1, "checks": 9
    }  # fmt: skip


def _document(checks: list[dict[str, Any]]) -> dict[str, Any]:
    run = {
        "tool": "pytest-conntriage",
        "tool_version": "0",
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:00:01+00:00",
        "duration_s": 1.0,
        "inventories": ["inv.yml"],
        "exit_status": 1,
        "interrupted": False,
        "complete": True,
        "error": None,
        "totals": {"checks": 1, "passed": 0, "failed": 1, "error": 0, "skipped": 0, "warned": 0},
    }
    suites = [
        Suite("api", (("tags", "a,b"), ("address", "x"))),
        Suite("closed x", (("ports", "1,2"),)),
    ]
    stream = io.StringIO()
    json_report.write(stream, run, json_report.services(suites), map(json_report.dumps, checks))
    loaded: dict[str, Any] = json.loads(stream.getvalue())
    return loaded


def test_the_json_document_is_one_object_with_a_check_a_line() -> None:
    jsonschema.Draft202012Validator.check_schema(json_report.schema())
    record = complete("inv.yml::test_tcp[a]", 0, "passed", None, 0.0)
    document = _document([record, record | {"order": 1}])
    assert document["services"] == [
        {"name": "api", "tags": ["a", "b"], "address": "x"},
        {"name": "closed x", "ports": [1, 2]},
    ]
    jsonschema.validate(document, json_report.schema())
    stream = io.StringIO()
    json_report.write(stream, {}, [], iter(["{}", "{}"]))
    assert stream.getvalue().splitlines()[-3:] == ["{},", "{}", "]}"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_document([record | {"status": "flaky"}]), json_report.schema())
    with pytest.raises(ValueError, match="Out of range float"):
        json_report.dumps({"x": float("nan")})
