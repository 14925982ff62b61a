"""The path trace on the run's engine: once per address and port, at most a few per run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_conntriage.collect import TRACES_PER_RUN, EvidenceCollector
from pytest_conntriage.demo.listeners import closed_port
from pytest_conntriage.evidence.path import PathEnd, PathTrace
from pytest_conntriage.hosts import HostPool
from pytest_conntriage.probe.engine import Engine


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
