"""One bounded asyncio engine per run: every probe runs on it concurrently, each at most once."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_CONCURRENCY = 256


class Engine:
    """Runs probe coroutines on an event loop in a daemon thread.

    Tests block on the returned futures while every other probe keeps running, so a
    run costs about one timeout however many endpoints are blackholed. Results are
    cached by key for the whole run: a probe asked for twice runs once.
    """

    def __init__(self, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self._futures: dict[Hashable, concurrent.futures.Future[Any]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._slots: asyncio.Semaphore | None = None
        # Probes shared between checks (two services naming one endpoint); touched only
        # from the loop's own thread, so no lock.
        self._shared: dict[Hashable, asyncio.Future[Any]] = {}

    def _start(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                self._slots = asyncio.Semaphore(self.concurrency)
                ready.set()
                loop.run_forever()

            self._thread = threading.Thread(target=run, name="conntriage-engine", daemon=True)
            self._thread.start()
            ready.wait()
            self._loop = loop
        return self._loop

    async def bounded(self, work: Awaitable[T]) -> T:
        """Await `work` holding one of the engine's slots (one socket's worth of probing).

        Callers take the slot per attempt, not per probe, so a probe sleeping between
        retries does not hold one; and an attempt's timeout starts once it has its slot,
        so waiting for a slot never reads as a timeout of the target.
        """
        assert self._slots is not None
        async with self._slots:
            return await work

    async def once(self, key: Hashable, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """On the loop: await `make()`, run once per `key` however many checks ask for it."""
        shared = self._shared.get(key)
        if shared is None:
            shared = asyncio.ensure_future(make())
            self._shared[key] = shared
        # shield: one waiting check being cancelled must not cancel the others' probe.
        result: T = await asyncio.shield(shared)
        return result

    def submit(
        self, key: Hashable, make: Callable[[], Coroutine[Any, Any, T]]
    ) -> concurrent.futures.Future[T]:
        """Start `make()` unless a probe with `key` already ran or runs; its future."""
        with self._lock:
            future = self._futures.get(key)
            if future is None:
                loop = self._start()
                future = asyncio.run_coroutine_threadsafe(make(), loop)
                self._futures[key] = future
        return future

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run one uncached coroutine on the engine and wait for it."""
        return asyncio.run_coroutine_threadsafe(make(), self._start()).result()

    def close(self) -> None:
        """Cancel what still runs and stop the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        for future in self._futures.values():
            future.cancel()

        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(drain(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
        self._loop = self._thread = self._slots = None
        self._shared.clear()
