"""One bounded asyncio engine per run: every probe runs on it concurrently, each at most once."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from functools import partial
from typing import Any, Generic, TypeVar

T = TypeVar("T")

DEFAULT_CONCURRENCY = 256
STARTED_PER_SLOT = 4
MIN_WINDOW = 1024


class _Done(Generic[T]):
    """A finished probe's result (or error), kept instead of its future.

    A done concurrent future holds its lock, its condition and, through its callbacks,
    the asyncio task and coroutine that produced it: ~3 KB a check, 30 MB at 10,000.
    """

    __slots__ = ("error", "value")

    def __init__(self, value: T | None, error: BaseException | None) -> None:
        self.value = value
        self.error = error

    @classmethod
    def of(cls, future: asyncio.Future[T] | concurrent.futures.Future[T]) -> _Done[T]:
        error = future.exception()
        return cls(None if error is not None else future.result(), error)

    def unwrap(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # None only alongside an error

    def future(self) -> concurrent.futures.Future[T]:
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        if self.error is not None:
            done.set_exception(self.error)
        else:
            done.set_result(self.value)  # type: ignore[arg-type]
        return done


class Engine:
    """Runs probe coroutines on an event loop in a daemon thread.

    Tests block on the returned futures while every other probe keeps running, so a
    run costs about one timeout however many endpoints are blackholed. Results are
    cached by key for the whole run: a probe asked for twice runs once.
    """

    def __init__(self, concurrency: int = DEFAULT_CONCURRENCY, window: int | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        # Started coroutines at once: enough to keep every slot busy while some sleep
        # between retries or wait for evidence, few enough that 10,000 queued checks
        # cost a pair of references each, not a coroutine stack.
        self.window = window or max(STARTED_PER_SLOT * concurrency, MIN_WINDOW)
        self._started = 0
        self._queued: dict[
            Hashable,
            tuple[Callable[[], Coroutine[Any, Any, Any]], concurrent.futures.Future[Any] | None],
        ] = {}
        self._waiting: collections.deque[Hashable] = collections.deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._futures: dict[Hashable, concurrent.futures.Future[Any] | _Done[Any]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._slots: asyncio.Semaphore | None = None
        # Probes shared between checks (two services naming one endpoint); touched only
        # from the loop's own thread, so no lock.
        self._shared: dict[Hashable, asyncio.Future[Any] | _Done[Any]] = {}

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
        started = False
        try:
            async with self._slots:
                started = True
                return await work
        finally:
            if not started and inspect.iscoroutine(work):
                # Cancelled while waiting for a slot (the run stopped early, -x): the
                # probe never ran; closing it spares a "never awaited" warning.
                work.close()

    async def once(self, key: Hashable, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """On the loop: await `make()`, run once per `key` however many checks ask for it."""
        shared = self.begin(key, make)
        if isinstance(shared, _Done):
            return shared.unwrap()
        # shield: one waiting check being cancelled must not cancel the others' probe.
        result: T = await asyncio.shield(shared)
        return result

    def begin(
        self, key: Hashable, make: Callable[[], Coroutine[Any, Any, T]]
    ) -> asyncio.Future[T] | _Done[T]:
        """On the loop: start `make()` now unless `key` ran or runs (see `once`), without
        waiting for it; `once(key, ...)` later awaits the same run. A run nobody awaits
        is still bounded by its own timeout and cancelled by `close`."""
        shared = self._shared.get(key)
        if shared is None:
            shared = asyncio.ensure_future(make())
            self._shared[key] = shared
            shared.add_done_callback(partial(self._settle_shared, key))
        return shared

    def submit(
        self, key: Hashable, make: Callable[[], Coroutine[Any, Any, T]], *, urgent: bool = False
    ) -> concurrent.futures.Future[T]:
        """Start `make()` unless a probe with `key` already ran or runs; its future.

        At most `window` submitted coroutines are started at once; the rest wait their
        turn in submission order, as a (make, future) pair: 10,000 started coroutines
        waiting for a slot were 70 MB. `urgent` (a test is waiting for this one now)
        starts it at once.
        """
        with self._lock:
            future = self._enqueue(key, make, urgent=urgent, want=True)
        assert future is not None
        return future

    def prefetch(self, key: Hashable, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Queue `make()` like `submit`, without a future until someone asks for one."""
        with self._lock:
            self._enqueue(key, make, urgent=False, want=False)

    def _enqueue(
        self,
        key: Hashable,
        make: Callable[[], Coroutine[Any, Any, Any]],
        *,
        urgent: bool,
        want: bool,
    ) -> concurrent.futures.Future[Any] | None:
        """Run, queue or look up `key` (the lock is held); its future if `want`."""
        entry = self._futures.get(key)
        if isinstance(entry, _Done):
            return entry.future() if want else None
        if entry is not None:  # started
            return entry
        queued = self._queued.get(key)
        if queued is not None:
            make, future = queued
            if want and future is None:
                future = concurrent.futures.Future()
                self._queued[key] = (make, future)
            if urgent:
                del self._queued[key]  # its place in `_waiting` is skipped later
                future = self._launch(key, make, future)
            return future
        future = concurrent.futures.Future() if want else None
        if urgent or self._started < self.window:
            return self._launch(key, make, future)
        self._queued[key] = (make, future)
        self._waiting.append(key)
        return future

    def _launch(
        self,
        key: Hashable,
        make: Callable[[], Coroutine[Any, Any, Any]],
        future: concurrent.futures.Future[Any] | None,
    ) -> concurrent.futures.Future[Any]:
        """Start one queued coroutine (the lock is held)."""
        if future is None:
            future = concurrent.futures.Future()
        self._futures[key] = future
        self._started += 1
        loop = self._start()
        if threading.current_thread() is self._thread:
            self._spawn(key, make, future)
        else:
            loop.call_soon_threadsafe(self._spawn, key, make, future)
        return future

    def _spawn(
        self, key: Hashable, make: Callable[[], Coroutine[Any, Any, Any]], future: Any
    ) -> None:
        task = asyncio.ensure_future(self._drive(key, make, future))
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    async def _drive(
        self,
        key: Hashable,
        make: Callable[[], Coroutine[Any, Any, T]],
        future: concurrent.futures.Future[T],
    ) -> None:
        """Run `make()` into `future`, then let the next queued coroutine start."""
        try:
            if future.cancelled():
                return
            try:
                value = await make()
            except asyncio.CancelledError:
                future.cancel()
                raise
            except BaseException as exc:  # the waiting test gets it, whatever it is
                if future.set_running_or_notify_cancel():
                    future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                if future.set_running_or_notify_cancel():
                    future.set_result(value)
        finally:
            self._finish(key, future)

    def _finish(self, key: Hashable, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._started -= 1
            if future.done() and not future.cancelled():
                self._futures[key] = _Done.of(future)
            while self._waiting and self._started < self.window:
                next_key = self._waiting.popleft()
                queued = self._queued.pop(next_key, None)
                if queued is not None:  # else an urgent ask started it already
                    self._launch(next_key, *queued)

    def _settle_shared(self, key: Hashable, shared: asyncio.Future[Any]) -> None:
        if not shared.cancelled():
            self._shared[key] = _Done.of(shared)

    def call_soon(self, callback: Callable[..., object], *args: Any) -> None:
        """Call `callback(*args)` on the engine's loop, from any thread."""
        self._start().call_soon_threadsafe(callback, *args)

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run one uncached coroutine on the engine and wait for it."""
        return asyncio.run_coroutine_threadsafe(make(), self._start()).result()

    def close(self) -> None:
        """Cancel what still runs and stop the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with self._lock:
            queued = [future for _, future in self._queued.values() if future is not None]
            self._queued.clear()
            self._waiting.clear()
            for future in [*self._futures.values(), *queued]:
                if not isinstance(future, _Done):
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
