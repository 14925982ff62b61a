"""The demo's observer: a pytest plugin that records what each inventory check reported.

The demo loads it with `-p pytest_conntriage.demo.observe --conntriage-demo-record=FILE`.
It reads the check's own result in-process, so the demo needs nothing from the user's
options: not their `--junitxml` (the JUnit file is theirs), nor a serial run (under
xdist each worker attaches the record to the report it sends, and the controller
writes it), nor every check (a `-k` or `--lf` run records only what ran).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import IO, Any

import pytest

from ..fixture import call_result
from ..nodes import InventoryCheck
from ..result import CheckResult
from ..triage.model import Verdict
from .intended import Record

RECORD_ATTR = "conntriage_demo"  # survives xdist: a report's extra attributes are sent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--conntriage-demo-record",
        default=None,
        metavar="FILE",
        help="(the demo's own) write one JSON line per inventory check that ran to FILE",
    )


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("conntriage_demo_record")
    # Written by the process that sees every report: the controller, or a serial run.
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(RecordWriter(path), "conntriage-demo-writer")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Read before the plugin's own hook, which hands the result to the report and drops it.
    result = call_result(item, call)
    report = yield
    if isinstance(item, InventoryCheck) and (call.when == "call" or report.skipped):
        setattr(report, RECORD_ATTR, describe(item, result))
    return report


def describe(item: InventoryCheck, result: CheckResult | None) -> dict[str, Any]:
    """The check's identity and what its result says, as plain JSON values."""
    check = item.check
    # A closed rule's check has no service: its target is what it is about.
    subject = check.service or check.target
    port = getattr(check, "port", 0) or None  # a service check's 0 and dns's none: no port
    data: dict[str, Any] = {"kind": check.kind.name, "subject": subject, "port": port}
    if result is None:
        return data
    data["outcome"] = result.outcome.value
    data["detail"] = result.result.final.detail
    data["unavailable"] = list(result.unavailable)
    diagnosis = result.diagnosis
    if diagnosis is not None:
        top = diagnosis.top
        if top is not None:
            data["top_cause"] = top.id
            data["top_verdict"] = top.verdict.value
        data["confirmed"] = [c.id for c in diagnosis.causes if c.verdict is Verdict.CONFIRMED]
    return data


class RecordWriter:
    """Appends one line per check as its report arrives, so an interrupted run keeps
    what it had."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, RECORD_ATTR, None)
        if not isinstance(data, dict):
            return
        record = Record(
            nodeid=report.nodeid,
            kind=str(data["kind"]),
            subject=str(data["subject"]),
            port=data.get("port"),
            status=report.outcome,
            outcome=data.get("outcome"),
            top_cause=data.get("top_cause"),
            top_verdict=data.get("top_verdict"),
            confirmed=tuple(data.get("confirmed", ())),
            detail=str(data.get("detail", "")),
            unavailable=tuple(data.get("unavailable", ())),
        )
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._file.write(record.to_json() + "\n")
        self._file.flush()

    def pytest_unconfigure(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
