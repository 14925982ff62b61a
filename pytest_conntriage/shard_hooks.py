"""`--conntriage-shard I/N`'s hooks: keep this shard's tests, and mark each with its place
in the whole collection so the shards' reports merge back into a serial run's order.

Registered by the run only with the option (shard.py decides; this applies it).
Every process collects every test and deselects the same ones: an xdist worker's
collection matches its peers', and pytest counts the others as deselected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import Any

import pytest

from . import junit
from .pytest_internals import junit_xml
from .report.properties import PREFIX
from .run import ConntriageRun
from .shard import ORDER, ORDER_ATTRIBUTE, SHARD, Shard, group_of


class ShardHooks:
    def __init__(self, run: ConntriageRun, shard: Shard) -> None:
        self.run = run
        self.shard = shard
        self.order: dict[str, int] = {}  # node id → place in the whole collection

    def pytest_report_header(self) -> list[str]:
        return [f"conntriage: shard {self.shard}: the checks of hosts and services hashed to it"]

    @pytest.hookimpl(trylast=True)  # after -k and -m: they deselect in every shard alike
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        kept: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for place, item in enumerate(items):
            check = self.run.check_of(item)
            group = group_of(check) if check is not None else f"test {item.nodeid}"
            if self.shard.keeps(group):
                self.order[item.nodeid] = place
                kept.append(item)
            else:
                dropped.append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        place = self.order.get(item.nodeid)
        if place is not None:
            setattr(report, ORDER_ATTRIBUTE, place)
        return report

    @pytest.hookimpl(trylast=True)  # after junitxml has opened the testcase
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # The test's last word on its testcase: its call, or a setup that ended it.
        if self.run.is_worker or not (report.when == "call" or not report.passed):
            return
        place = getattr(report, ORDER_ATTRIBUTE, None)
        if not isinstance(place, int) or report.when == "teardown":
            return
        pairs = [(f"{PREFIX}{ORDER}", str(place))]
        # The testcase stands without it; the merge places it after the ordered ones.
        with contextlib.suppress(Exception):
            junit.write(self.run.config, self.run.junit_properties, report, pairs, None)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # A shard whose share is empty ran all it had to: the merged reports hold the
        # run's tests (a serial run of an inventory without checks still exits 5).
        if session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and self.shard.total > 1:
            session.exitstatus = pytest.ExitCode.OK

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self) -> None:
        # Which shard wrote the JUnit file: the merge stops when one is missing.
        xml: Any = junit_xml(self.run.config)
        if xml is not None and not self.run.is_worker:
            xml.add_global_property(f"{PREFIX}{SHARD}", str(self.shard))
