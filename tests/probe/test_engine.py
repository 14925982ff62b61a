"""The engine: concurrent, bounded, cached per run."""

from __future__ import annotations

import asyncio
import time

import pytest

from pytest_conntriage.demo.listeners import FullQueueListener
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.engine import Engine
from pytest_conntriage.probe.tcp import connect_once


@pytest.fixture
def engine():
    running = Engine(concurrency=64)
    yield running
    running.close()


def test_blackholed_probes_cost_one_timeout_not_one_each(engine: Engine) -> None:
    with FullQueueListener("127.0.0.6") as listener:
        started = time.monotonic()
        futures = [
            engine.submit(i, lambda: engine.bounded(connect_once("127.0.0.6", listener.port, 0.5)))
            for i in range(40)
        ]
        outcomes = {f.result().outcome for f in futures}
        took = time.monotonic() - started
    assert outcomes == {Outcome.TIMEOUT}
    assert took < 1.5  # 40 sequential timeouts would take 20 s


def test_concurrency_is_bounded() -> None:
    small = Engine(concurrency=3)
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1

    try:
        futures = [small.submit(i, lambda: small.bounded(work())) for i in range(20)]
        for future in futures:
            future.result()
    finally:
        small.close()
    assert peak == 3


def test_a_key_runs_once(engine: Engine) -> None:
    calls = 0

    async def work() -> int:
        nonlocal calls
        calls += 1
        return calls

    first = engine.submit("same", work)
    second = engine.submit("same", work)
    assert first is second
    assert first.result() == 1
    assert calls == 1


def test_close_cancels_what_still_runs() -> None:
    engine = Engine()
    future = engine.submit("slow", lambda: asyncio.sleep(30))
    time.sleep(0.05)
    started = time.monotonic()
    engine.close()
    assert time.monotonic() - started < 2
    assert future.cancelled()
