"""The engine: concurrent, bounded, cached per run."""

from __future__ import annotations

import asyncio
import functools
import gc
import threading
import time
from collections.abc import Iterator

import pytest

from pytest_conntriage.demo.listeners import FullQueueListener
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.engine import Engine
from pytest_conntriage.probe.tcp import connect_once


@pytest.fixture
def engine() -> Iterator[Engine]:
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


def test_a_key_asked_for_while_it_runs_runs_once(engine: Engine) -> None:
    calls = 0
    release = threading.Event()

    async def work() -> int:
        nonlocal calls
        calls += 1
        # Held until both asks are in: the second one finds it running, whatever the
        # machine's load (no reliance on the first still being busy by chance).
        await asyncio.to_thread(release.wait)
        return calls

    first = engine.submit("same", work)
    try:
        second = engine.submit("same", work)
    finally:
        release.set()
    assert first is second  # one running probe, one future
    assert first.result() == 1
    assert calls == 1


def test_a_key_asked_for_after_it_finished_runs_once(engine: Engine) -> None:
    calls = 0

    async def work() -> int:
        nonlocal calls
        calls += 1
        return calls

    first = engine.submit("same", work)
    assert first.result() == 1
    second = engine.submit("same", work)  # finished: its kept result, not a new run
    assert second.result() == 1
    assert calls == 1


def test_close_cancels_what_still_runs() -> None:
    engine = Engine()
    future = engine.submit("slow", lambda: asyncio.sleep(30))
    time.sleep(0.05)
    started = time.monotonic()
    engine.close()
    assert time.monotonic() - started < 2
    assert future.cancelled()


def test_a_finished_key_keeps_its_result_or_error_not_its_future(engine: Engine) -> None:
    calls = 0

    async def work() -> int:
        nonlocal calls
        calls += 1
        return 7

    async def broken() -> int:
        raise OSError("no route")

    first = engine.submit("done", work)
    assert first.result() == 7
    failing = engine.submit("broken", broken)
    with pytest.raises(OSError, match="no route"):
        failing.result()
    # Settled: later askers get the same answer from the memo, and nothing runs again.
    deadline = time.monotonic() + 2
    while type(engine._futures["done"]).__name__ != "_Done" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert type(engine._futures["done"]).__name__ == "_Done"
    assert engine.submit("done", work).result() == 7
    with pytest.raises(OSError, match="no route"):
        engine.submit("broken", broken).result()
    assert calls == 1


def test_a_shared_probe_settles_to_its_result(engine: Engine) -> None:
    calls = 0

    async def probe() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return "refused"

    async def ask() -> list[str]:
        together = await asyncio.gather(*(engine.once("k", probe) for _ in range(3)))
        await asyncio.sleep(0)  # the task's done callback has run
        return [*together, await engine.once("k", probe)]

    assert engine.submit("ask", ask).result() == ["refused"] * 4
    assert calls == 1


def test_submissions_beyond_the_window_wait_their_turn_in_order() -> None:
    small = Engine(concurrency=1, window=2)
    started: list[int] = []
    running = 0
    peak = 0

    async def work(i: int) -> int:
        nonlocal running, peak
        started.append(i)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return i

    try:
        futures = [small.submit(i, functools.partial(work, i)) for i in range(8)]
        assert [f.result(timeout=5) for f in futures] == list(range(8))
    finally:
        small.close()
    assert peak == 2  # started coroutines, not only probes in flight, are bounded
    assert started == list(range(8))


def test_an_urgent_submission_does_not_wait_behind_the_queue() -> None:
    small = Engine(concurrency=4, window=1)
    gate = threading.Event()

    async def blocked() -> str:
        await asyncio.to_thread(gate.wait, 5)
        return "late"

    async def quick() -> str:
        return "now"

    try:
        first = small.submit("blocked", blocked)
        queued = small.submit("queued", quick)
        assert not queued.done()
        # A test asks for the queued one itself: it runs before the window frees up.
        assert small.submit("queued", quick, urgent=True).result(timeout=2) == "now"
        assert small.submit("adhoc", quick, urgent=True).result(timeout=2) == "now"
        gate.set()
        assert first.result(timeout=5) == "late"
    finally:
        gate.set()
        small.close()


def test_close_cancels_what_waits_in_the_queue() -> None:
    small = Engine(concurrency=1, window=1)
    running = small.submit("slow", lambda: asyncio.sleep(30))
    waiting = small.submit("next", lambda: asyncio.sleep(0))
    small.close()
    assert running.cancelled()
    assert waiting.cancelled()


def test_a_prefetched_key_runs_once_and_submit_finds_it() -> None:
    small = Engine(concurrency=1, window=1)
    calls: list[str] = []

    async def work(name: str) -> str:
        calls.append(name)
        await asyncio.sleep(0.01)
        return name

    try:
        for name in ("a", "b", "c"):
            small.prefetch(name, functools.partial(work, name))
        small.prefetch("a", lambda: work("again"))  # already known: not queued twice
        assert small.submit("c", lambda: work("again")).result(timeout=5) == "c"
        assert small.submit("a", lambda: work("again")).result(timeout=5) == "a"
    finally:
        small.close()
    assert calls == ["a", "b", "c"]


def test_a_probe_cancelled_while_waiting_for_a_slot_is_closed(
    recwarn: pytest.WarningsRecorder,
) -> None:
    small = Engine(concurrency=1)

    async def hold() -> None:
        await asyncio.sleep(30)

    async def probe() -> str:
        return "ran"

    small.submit("holds the only slot", lambda: small.bounded(hold()))
    waiting = small.submit("waits for it", lambda: small.bounded(probe()))
    time.sleep(0.05)
    small.close()  # what -x does to the rest of a run
    gc.collect()
    assert waiting.cancelled()
    assert not [w for w in recwarn if "never awaited" in str(w.message)]
