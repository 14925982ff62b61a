"""A `-p` plugin for bench/vantages.py: how long the run's remote probing takes.

From the start of pytest_collection_finish (the plugin queues every check there) to:
  probed   the last vantage batch's results (every connect from every vantage is in);
  decided  the last check's result, each waited for through the run's own evaluator
           (the probing and the triage of every failure).
Written as JSON to the file named by CONNTRIAGE_BENCH_OUT. The batches' ends are noted
by wrapping VantageBatches._run: a bench's instrument, not the plugin's.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import time
from collections.abc import Generator
from typing import Any

import pytest

from pytest_conntriage.probe.batch_script import Endpoint
from pytest_conntriage.probe.vantages import VantageBatches
from pytest_conntriage.run import RUN_PLUGIN

BATCH_ENDS: list[float] = []
_run = VantageBatches._run


async def _timed(self: VantageBatches, vantage: str, part: dict[Endpoint, Any]) -> None:
    try:
        await _run(self, vantage, part)
    finally:
        BATCH_ENDS.append(time.perf_counter())


VantageBatches._run = _timed  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> Generator[None, None, None]:
    started = time.perf_counter()
    yield  # the plugin's own hook queues every check
    run = session.config.pluginmanager.get_plugin(RUN_PLUGIN)
    checks = [c for c in (run.check_of(item) for item in session.items) if c is not None]
    futures = [run.evaluator.submit(check) for check in checks]
    concurrent.futures.wait(futures, timeout=600)
    decided = time.perf_counter() - started
    probed = max(BATCH_ENDS) - started if BATCH_ENDS else None
    out = os.environ.get("CONNTRIAGE_BENCH_OUT")
    if out:
        with open(out, "w") as file:
            report = {"probed": probed, "decided": decided, "checks": len(checks)}
            json.dump({**report, "batches": len(BATCH_ENDS)}, file)
