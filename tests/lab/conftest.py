"""The fault lab's fixtures: one gate, labs torn down by every path, a leak check, a table."""

from __future__ import annotations

import itertools
import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from tests.lab import netlab, scenarios

ROW_PROPERTY = "conntriage_lab.row"
TABLE_ENV = "CONNTRIAGE_LAB_TABLE"


# -- gate --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lab_session() -> Iterator[None]:
    """Probe once whether the lab can run; at the end, prove nothing of it is left.

    Without root or a working `ip netns`, every lab test skips with the one reason;
    in CI as root that is a broken runner, so they fail instead.
    """
    reason = netlab.lab_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true" and os.geteuid() == 0:
            pytest.fail(f"the fault lab must run in CI as root: {reason}", pytrace=False)
        pytest.skip(reason)
    yield
    problems = netlab.teardown_all()
    left = netlab.leftovers()
    if left:
        problems += left
        problems += netlab.down(netlab.RUN_PREFIX)
    if problems:
        pytest.fail("the fault lab left things behind:\n  " + "\n  ".join(problems))


@pytest.fixture(autouse=True)
def _lab_gate(lab_session: None) -> None:
    """Every test in tests/lab goes through the gate (and the final leak check)."""


# -- labs --------------------------------------------------------------------------------

_numbers = itertools.count(1)


@pytest.fixture
def make_lab() -> Iterator[Callable[[], netlab.Lab]]:
    """Build fresh labs (client ── router ── server); all torn down after the test."""
    labs: list[netlab.Lab] = []

    def make() -> netlab.Lab:
        lab = netlab.Lab.build(f"{netlab.RUN_PREFIX}{next(_numbers):02d}-")
        labs.append(lab)
        return lab

    yield make
    problems: list[str] = []
    interrupted: KeyboardInterrupt | None = None
    for lab in labs:
        try:
            lab.teardown()
        except netlab.LabError as exc:
            problems.append(str(exc))
        except KeyboardInterrupt as exc:
            interrupted = exc  # tear down the other labs first
    if interrupted is not None:
        raise interrupted
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def lab(make_lab: Callable[[], netlab.Lab]) -> netlab.Lab:
    """One fresh lab."""
    return make_lab()


@pytest.fixture
def record_rows(request: pytest.FixtureRequest) -> Callable[[list[scenarios.Row]], None]:
    """Add accuracy-table rows to this test's report (they travel with it, xdist too)."""

    def record(rows: list[scenarios.Row]) -> None:
        for row in rows:
            data = {**row.__dict__, "problems": list(row.problems)}
            request.node.user_properties.append((ROW_PROPERTY, json.dumps(data)))

    return record


# -- interrupts --------------------------------------------------------------------------


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    # pytest turns KeyboardInterrupt into an orderly stop that still runs fixture
    # finalizers (teardown_exact at session finish); plain SIGTERM would skip them.
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    config.pluginmanager.register(AccuracyTable(), "conntriage-lab-table")


def pytest_keyboard_interrupt() -> None:
    # Belt and braces: netlab also tears down at interpreter exit.
    netlab.teardown_all()


# -- the accuracy table ------------------------------------------------------------------


class AccuracyTable:
    """Collects every scenario's rows from the reports and prints them at the end."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.started: float | None = None
        self.stopped: float | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if "lab" not in report.keywords:
            return
        start, stop = getattr(report, "start", None), getattr(report, "stop", None)
        if start is not None and (self.started is None or start < self.started):
            self.started = start
        if stop is not None and (self.stopped is None or stop > self.stopped):
            self.stopped = stop
        if report.when != "call" and not (report.when == "setup" and report.skipped):
            return
        for name, value in report.user_properties:
            if name == ROW_PROPERTY:
                self.rows.append(json.loads(str(value)))

    def lines(self) -> list[str]:
        rows = [scenarios.Row(**{**r, "problems": tuple(r["problems"])}) for r in self.rows]
        counts = {mark: sum(r.mark == mark for r in rows) for mark in ("✓", "✓ alt", "✗")}
        pending = sum(r.pending for r in rows)
        scenario_count = len({r.scenario for r in rows})
        wall = (self.stopped - self.started) if self.started and self.stopped else 0.0
        out = scenarios.table(rows)
        out.append("")
        out.append(
            f"{scenario_count} scenarios, {len(rows)} checks: {counts['✓']} ✓, "
            f"{counts['✓ alt']} ✓ alt (an acceptable client-side alternate), "
            f"{counts['✗']} ✗, {pending} pending; lab wall time {wall:.1f} s"
        )
        for r in rows:
            for problem in r.problems:
                prefix = "pending" if r.pending else "✗"
                out.append(f"  {prefix} {r.scenario} {r.case}: {problem}")
        return out

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.rows:
            return
        lines = self.lines()
        terminalreporter.write_sep("=", "fault lab accuracy")
        for line in lines:
            terminalreporter.write_line(line)
        path = os.environ.get(TABLE_ENV)
        if path:
            Path(path).write_text("\n".join(lines) + "\n")
            terminalreporter.write_line(f"(also written to {path})")
