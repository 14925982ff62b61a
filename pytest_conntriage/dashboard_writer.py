"""`--conntriage-junit FILE`: the hooks that turn each check's reports into dashboard
records and write the file at the end of the session (report/dashboard.py builds it).

Registered by the run only when the option (or its ini value) names a file, as pytest
registers its LogXML only for `--junitxml`. On an xdist worker it only tags each
check's reports with its suite (the tag travels with the report); the controller, or a
serial run, records them and writes the file.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from .checks import Check
from .inventory.model import Inventory
from .nodes import TriageRepr
from .report import dashboard
from .report.dashboard import Case, Finding, Problem
from .report.properties import read
from .result import crash_reason
from .run import ConntriageRun
from .shard import ORDER_ATTRIBUTE

# The report attribute that carries a check's suite: pytest keeps a report's extra
# attributes, and sends them from an xdist worker to the controller.
SUITE_ATTRIBUTE = "conntriage_suite"
# Why a report went to the unowned suite when its item's suite could not be found.
MISPLACED_ATTRIBUTE = "conntriage_misplaced"


UNFINISHED = Finding(Problem.ERROR, "did not finish: the run ended while it ran")


class DashboardWriter:
    """Records every check's phases as they are reported; writes the file once."""

    def __init__(
        self,
        path: Path,
        inventory: Inventory,
        redact: Callable[[str], str],
        order: Callable[[], dict[str, int]],
        is_worker: bool,
        check_of: Callable[[pytest.Item], Check | None],
        shard: str = "",
    ) -> None:
        self.path = path
        self.shard = shard  # "2/4" in a sharded run
        self.check_of = check_of  # the check an item runs, whatever kind it is
        self.index = dashboard.SuiteIndex(inventory)
        self.redact = redact
        self.order = order  # the run's collection order, by node id (read at the end)
        self.is_worker = is_worker
        self.elapsed: dict[str, float] = {}
        self.suites: dict[str, str] = {}
        self.findings: dict[str, list[Finding]] = {}
        self.orders: dict[str, int] = {}  # a sharded run's (shard_hooks.py), by node id
        # Set up but not yet called: a run interrupted there must not show them passed.
        self.unfinished: set[str] = set()
        self.started = datetime.now().astimezone().isoformat(timespec="seconds")
        self.error = ""  # why the records are incomplete: then the file says so
        self.said = ""  # the one line for the terminal summary
        self.misplaced = ""  # why some tests are in the unowned suite, not their service's

    @classmethod
    def for_run(cls, run: ConntriageRun, path: Path) -> DashboardWriter:
        """The writer of `run` (which has an inventory): its redaction, its collection order."""
        assert run.inventory is not None
        return cls(
            path,
            run.inventory,
            run.hosts.redact,
            lambda: run.summary.order,
            run.is_worker,
            run.check_of,
            str(run.settings.shard or ""),
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        try:
            check = self.check_of(item)
            if check is not None:
                suite = self.index.suite_of(check.service, check.location)
                setattr(report, SUITE_ATTRIBUTE, suite)
        except Exception as exc:  # listed all the same, and the terminal says why there
            setattr(report, SUITE_ATTRIBUTE, dashboard.UNOWNED_SUITE)
            setattr(report, MISPLACED_ATTRIBUTE, crash_reason("dashboard suite", exc))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        suite = getattr(report, SUITE_ATTRIBUTE, None)
        if self.is_worker or not isinstance(suite, str):
            return
        try:
            self._record(report, suite)
            misplaced = getattr(report, MISPLACED_ATTRIBUTE, None)
            if misplaced and not self.misplaced:
                self.misplaced = str(misplaced)
        except Exception as exc:
            self.error = self.error or crash_reason("dashboard", exc)

    def _record(self, report: pytest.TestReport, suite: str) -> None:
        nodeid = report.nodeid
        self.suites.setdefault(nodeid, suite)
        place = getattr(report, ORDER_ATTRIBUTE, None)
        if isinstance(place, int):
            self.orders[nodeid] = place
        self.elapsed[nodeid] = self.elapsed.get(nodeid, 0.0) + float(report.duration or 0.0)
        if report.when == "setup" and report.passed:
            self.unfinished.add(nodeid)
        else:  # its call, or what xdist reports for a worker that crashed in it
            self.unfinished.discard(nodeid)
        findings: list[Finding] = []
        if report.failed:
            if report.when == "call":
                longrepr = report.longrepr
                props = read(report.user_properties)
                # A failure of the check itself: its outcome is the type (a test's own
                # assert after a passing check is JUnit's plain failure).
                outcome = props.get("outcome", "") if isinstance(longrepr, TriageRepr) else ""
                findings.append(
                    Finding(Problem.FAILURE, _message(longrepr), outcome, _body(longrepr))
                )
            else:
                message = f"error at {report.when}: {_message(report.longrepr)}"
                findings.append(Finding(Problem.ERROR, message, "", _body(report.longrepr)))
        elif report.skipped:
            reason = getattr(report, "wasxfail", None)
            if reason is not None:
                message = "expected failure" + (f": {reason}" if reason else "")
            else:
                message = _skip_reason(report.longrepr)
            findings.append(Finding(Problem.SKIPPED, message))
        if findings:  # a passing check keeps no list
            self.findings.setdefault(nodeid, []).extend(findings)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A file that failed to collect holds checks that never ran: not all clear.
        if self.is_worker or not report.failed:
            return
        try:
            nodeid = report.nodeid
            self.suites[nodeid] = dashboard.COLLECTION_SUITE
            self.elapsed[nodeid] = 0.0
            text = str(report.longrepr)
            self.findings[nodeid] = [Finding(Problem.ERROR, "collection failed", "", text)]
        except Exception as exc:
            self.error = self.error or crash_reason("dashboard", exc)

    def pytest_sessionfinish(self, exitstatus: int | pytest.ExitCode) -> None:
        if self.is_worker:
            return
        try:
            cases = self._cases() if not self.error else dashboard.unavailable_document(self.error)
            if exitstatus == pytest.ExitCode.INTERRUPTED:
                # The checks that did not run are absent: not all clear.
                cases.append(dashboard.interrupted_case())
            dashboard.write_file(
                self.path,
                self.index.suites,
                cases,
                self.redact,
                timestamp=self.started,
                shard=self.shard,
            )
        except Exception as exc:
            reason = self.redact(crash_reason("dashboard", exc))
            self.said = f"conntriage: dashboard report not written: {reason}"
            return
        if self.error:
            self.said = (
                f"conntriage: dashboard report {self.path} holds only an error:"
                f" {self.redact(self.error)}"
            )
        else:
            self.said = f"conntriage: dashboard report written to {self.path}"

    def _cases(self) -> list[Case]:
        order = self.order()
        last = len(order)
        nodeids = sorted(self.suites, key=lambda nodeid: (order.get(nodeid, last), nodeid))
        for nodeid in self.unfinished:
            self.findings.setdefault(nodeid, []).append(UNFINISHED)
        cases = [
            Case(
                self.suites[nodeid],
                _case_name(nodeid),
                self.elapsed[nodeid],
                tuple(self.findings.get(nodeid, ())),
                self.orders.get(nodeid),
            )
            for nodeid in nodeids
        ]
        # Written: the records (and through them the reports' failure texts) go.
        self.suites.clear()
        self.findings.clear()
        self.unfinished.clear()
        return cases

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.said:
            terminalreporter.write_line(self.said)
        if self.misplaced:
            terminalreporter.write_line(
                f"conntriage: dashboard report: some tests are in the suite"
                f" {dashboard.UNOWNED_SUITE!r}, not their service's: {self.redact(self.misplaced)}"
            )


def _case_name(nodeid: str) -> str:
    """The node id after its file: `test_tcp[api:local->api.example.com:443]`, the same
    whichever path the inventory or suite module was collected under."""
    return nodeid.partition("::")[2] or nodeid


def _message(longrepr: object) -> str:
    crash = getattr(longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    if isinstance(message, str) and message:
        return message
    lines = str(longrepr).strip().splitlines()
    return lines[-1] if lines else ""


def _body(longrepr: object) -> Callable[[], str]:
    # Rendered when the file is written: a check's triage text is made again then
    # (TriageRepr keeps none), or already a string sent by an xdist worker.
    return partial(str, longrepr)


def _skip_reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason.removeprefix("Skipped: ")
    return str(longrepr) if longrepr else "skipped"
