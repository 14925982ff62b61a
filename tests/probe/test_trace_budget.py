"""The path trace on the run's engine: once per address and port, at most a few per run."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_conntriage.connections import HostPool
from pytest_conntriage.demo.listeners import FullQueueListener, closed_port
from pytest_conntriage.evidence import collector as collect
from pytest_conntriage.evidence.collector import TRACES_PER_RUN, EvidenceCollector
from pytest_conntriage.evidence.path import PathEnd, PathTrace
from pytest_conntriage.probe.engine import Engine
from pytest_conntriage.probe.trace import trace_path


@pytest.fixture
def collector() -> Iterator[EvidenceCollector]:
    engine = Engine(concurrency=64)
    try:
        yield EvidenceCollector(engine, HostPool({}))
    finally:
        engine.close()


def traced(collector: EvidenceCollector, address: str, port: int) -> PathTrace:
    key = ("test-trace", address, port)
    return collector.engine.submit(key, lambda: collector.trace(address, port)).result()


def test_traces_past_the_runs_limit_are_not_run_and_say_so(collector: EvidenceCollector) -> None:
    # Loopback answers every port at hop 1, refused or open: each trace is REACHED.
    ports = range(40000, 40000 + TRACES_PER_RUN + 1)
    results = [traced(collector, "127.0.0.6", port) for port in ports]
    assert all(r.end is PathEnd.REACHED for r in results[:TRACES_PER_RUN])
    assert results[-1].end is PathEnd.FAILED
    assert results[-1].hops == ()
    assert results[-1].unavailable == f"the run's limit of {TRACES_PER_RUN} path traces is reached"


def test_one_trace_per_address_and_port(collector: EvidenceCollector) -> None:
    port = closed_port("127.0.0.6")
    first = traced(collector, "127.0.0.6", port)
    again = collector.engine.submit(
        ("another-check",), lambda: collector.trace("127.0.0.6", port)
    ).result()
    assert again is first
    assert collector.traces_left == TRACES_PER_RUN - 1


def test_at_most_two_traces_run_at_once(
    collector: EvidenceCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, most = 0, 0

    async def counted(*args: Any, **kwargs: Any) -> PathTrace:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            return await trace_path(*args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(collect, "trace_path", counted)
    # Submitted together, all four would start at once without the limit; the first
    # waits out its hop timeout (a full accept queue answers no SYN).
    with FullQueueListener("127.0.0.7") as listener:
        futures = [
            collector.engine.submit(
                ("test-trace", i),
                functools.partial(collector.trace, "127.0.0.7", listener.port + i),
            )
            for i in range(4)
        ]
        results = [f.result() for f in futures]
    assert collect.TRACES_AT_ONCE == 2
    assert most == 2
    assert len(results) == 4
