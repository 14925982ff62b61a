"""A run's remote probes, one round trip per vantage per batch, every vantage at once.

A check `from: [web-1]` connects from web-1. One command per connect would cost a round
trip each: 20 vantages × 1,000 ports, 20,000 of them. Here each vantage's connects are
gathered into batches, one command each (batch_script.py), and the vantages' batches run
concurrently, each on a host thread of its own, so the engine never blocks.

Batching windows: the run announces what it queued after collection (`gathering()`
around the announcements); the first batch of each vantage goes when the round of
announcements ends, with every connect announced. A connect asked for later (a name
just resolved, a retry, a `wait:` loop's next try, a test's own check) waits WINDOW_S
for others to join, then goes. A vantage without python3 (or whose transport hands the
batch no input) is probed connect by connect, as before (remote.connect_from).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, cast

from .. import children
from ..children import in_thread
from ..connections import HostUnavailable
from ..evidence.runner import GRACE_S, reason
from ..outcome import Outcome
from ..spawn import CommandHost, CommandResult
from ..spawn import run as spawn_safely
from ..transport import CutOff, deadline, feeding
from . import batch_script
from .batch_script import Endpoint
from .remote import connect_from
from .result import Attempt

if TYPE_CHECKING:
    from ..connections import HostPool
    from .engine import Engine

# Seconds a connect asked for outside a round of announcements waits for others.
WINDOW_S = 0.05
# Connects at once on a vantage (its open-file limit may lower it there).
WIDTH = 512
# Endpoints in one command at most; a larger batch is split, the parts run at once.
MOST = 4096

_Waiting = concurrent.futures.Future[Attempt]


@dataclass
class _Vantage:
    """One vantage's connects: those not sent yet, and the announced ones not claimed."""

    pending: dict[Endpoint, list[_Waiting]] = field(default_factory=dict)
    announced: dict[Endpoint, list[_Waiting]] = field(default_factory=dict)
    armed: bool = False  # a window is open: a send is scheduled
    one_by_one: bool = False  # no python3 there: connect by connect
    commands: int = 0  # batch commands sent (the lab counts round trips by it)


class VantageBatches:
    """Every remote connect of one run, batched per vantage (see the module's text)."""

    def __init__(self, engine: Engine, hosts: HostPool, width: int = WIDTH) -> None:
        self._engine = engine
        self._hosts = hosts
        self.width = width
        self._lock = threading.Lock()
        self._vantages: dict[str, _Vantage] = {}
        self._held = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def commands(self, vantage: str) -> int:
        """How many batch commands went to `vantage` so far."""
        with self._lock:
            state = self._vantages.get(vantage)
            return state.commands if state is not None else 0

    # -- asking (any thread for announcements; the engine's loop for connects) ------------

    @contextlib.contextmanager
    def gathering(self) -> Iterator[None]:
        """Hold every vantage's batch until the block ends (the run queueing what it
        collected), then send what was announced and asked meanwhile."""
        with self._lock:
            self._held += 1
        try:
            yield
        finally:
            with self._lock:
                self._held -= 1
                release = self._held == 0 and any(v.pending for v in self._vantages.values())
            if release:
                self._engine.call_soon(self._send_all)

    def announce(self, vantage: str, address: str, port: int, timeout: float) -> None:
        """A first connect a queued check will ask for: it goes in the vantage's next
        batch (sent when `gathering()` ends, or at once outside one)."""
        endpoint = (address, port, float(timeout))
        waiting: _Waiting = concurrent.futures.Future()
        with self._lock:
            state = self._vantages.setdefault(vantage, _Vantage())
            state.pending.setdefault(endpoint, []).append(waiting)
            state.announced.setdefault(endpoint, []).append(waiting)
            arm = self._arm(state)
        if arm:
            self._engine.call_soon(self._open_window, vantage)

    async def connect(
        self, vantage: str, address: str, port: int, timeout: float, fresh: bool = False
    ) -> Attempt:
        """One TCP connect from `vantage`, made in a batch; never raises.

        A first connect that was announced takes the announced one's result; `fresh`
        (a retry, the next try of a `wait:`) always connects again.
        """
        endpoint = (address, port, float(timeout))
        with self._lock:
            state = self._vantages.setdefault(vantage, _Vantage())
            claimed = None if fresh else state.announced.get(endpoint)
            if claimed:
                waiting = claimed.pop()
                if not claimed:
                    del state.announced[endpoint]
                arm = False
            else:
                waiting = concurrent.futures.Future()
                state.pending.setdefault(endpoint, []).append(waiting)
                arm = self._arm(state)
        if arm:
            self._open_window(vantage)
        # Shielded: a check cancelled (the run stopping) must not cancel the batch's
        # future another check of the same endpoint waits for.
        return await asyncio.shield(asyncio.wrap_future(waiting))

    def _arm(self, state: _Vantage) -> bool:
        """Whether a window must be opened for `state` (the lock is held)."""
        if state.armed or self._held:
            return False
        state.armed = True
        return True

    # -- sending (on the engine's loop) -----------------------------------------------

    def _open_window(self, vantage: str) -> None:
        asyncio.get_running_loop().call_later(WINDOW_S, self._send, vantage)

    def _send_all(self) -> None:
        with self._lock:
            vantages = list(self._vantages)
        for vantage in vantages:
            self._send(vantage)

    def _send(self, vantage: str) -> None:
        with self._lock:
            state = self._vantages[vantage]
            state.armed = False
            if self._held or not state.pending:
                return  # the end of the round of announcements sends it
            pending, state.pending = state.pending, {}
        endpoints = list(pending)
        for start in range(0, len(endpoints), MOST):
            part = {e: pending[e] for e in endpoints[start : start + MOST]}
            task = asyncio.ensure_future(self._run(vantage, part))
            self._tasks.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(self._tasks.discard)

    async def _run(self, vantage: str, part: dict[Endpoint, list[_Waiting]]) -> None:
        """One batch: each endpoint's Attempt to all who wait for it, whatever happens."""
        endpoints = list(part)
        found: Sequence[Attempt] = ()
        try:
            found = await self._attempts(vantage, endpoints)
        except asyncio.CancelledError:
            found = _all_failed(endpoints, "the test run ended before the probe did")
            raise
        except Exception as exc:  # a bug here must not leave a check waiting forever
            found = _all_failed(endpoints, f"the batch on vantage {vantage} failed: {exc!r}")
        finally:
            for endpoint, attempt in zip(endpoints, found, strict=False):
                for waiting in part[endpoint]:
                    _settle(waiting, replace(attempt, detail=self._hosts.redact(attempt.detail)))
            unsettled = _all_failed(endpoints, f"vantage {vantage}: no result")
            for endpoint, attempt in zip(endpoints, unsettled, strict=True):
                for waiting in part[endpoint]:
                    _settle(waiting, attempt)

    async def _attempts(self, vantage: str, endpoints: list[Endpoint]) -> Sequence[Attempt]:
        try:
            shell = self._hosts.shell(vantage)
        except HostUnavailable as exc:  # its message is already masked
            return _all_failed(endpoints, str(exc))
        with self._lock:
            state = self._vantages[vantage]
            one_by_one = state.one_by_one
            if not one_by_one:
                state.commands += 1
        if not one_by_one:
            transport = self._hosts.timeout
            limit = transport + batch_script.far_bound(endpoints, self.width)
            try:
                found = await asyncio.wait_for(
                    in_thread(run_batch, shell, vantage, endpoints, self.width, limit),
                    limit + GRACE_S,
                )
            except (asyncio.TimeoutError, TimeoutError):
                return _all_failed(endpoints, f"no word from vantage {vantage} within {limit:g} s")
            if found is not None:
                return found
            with self._lock:
                state.one_by_one = True
        return await asyncio.gather(*(self._one(shell, vantage, e) for e in endpoints))

    async def _one(self, shell: CommandHost, vantage: str, endpoint: Endpoint) -> Attempt:
        address, port, timeout = endpoint
        return await self._engine.bounded(
            connect_from(shell, vantage, address, port, timeout, self._hosts.timeout)
        )


def run_batch(
    shell: CommandHost, vantage: str, endpoints: Sequence[Endpoint], width: int, limit: float
) -> list[Attempt] | None:
    """One batch command on `shell`, killed after `limit` seconds: each endpoint's
    Attempt, or None when the vantage cannot run the batch (no python3 there, or its
    transport gave the script no input) and its connects must go one by one."""
    stdin = batch_script.request(endpoints, width)
    bound = str(batch_script.far_bound(endpoints, width))
    cut = f"the batch was cut off at its bound of {limit:g} s"
    try:
        with deadline(limit), feeding(stdin):
            result = spawn_safely(shell, batch_script.COMMAND, bound, batch_script.SCRIPT)
    except CutOff as exc:  # paramiko, at the deadline: what was printed until then
        output = batch_script.read_output(exc.stdout.decode(errors="replace"))
        if output.count is None:
            return _all_failed(endpoints, f"vantage {vantage} could not run the probe: {exc}")
        return batch_script.attempts(output, vantage, endpoints, cut)
    except Exception as exc:  # any transport failure (ssh refused, auth, ...) is reported
        ran = _result_in(exc)
        if ran is None:
            detail = f"vantage {vantage} could not run the probe: {reason(exc)}"
            return _all_failed(endpoints, detail)
        result = ran  # testinfra's ssh raises on exit 255, the result inside: kept
    output = batch_script.read_output(result.stdout)
    said = (result.stderr or "").strip().splitlines()[-1:] or [f"exit {result.rc}"]
    if output.count is None:
        if output.no_python:
            return None
        if result.rc == children.NOT_RUN:
            # The transport's failure (ssh's 255, killed at our deadline): no python3
            # was reached at all.
            detail = f"vantage {vantage} could not run the probe: {said[0][:200]}"
            return _all_failed(endpoints, detail)
        # python3 is there but could not run the batch (too old to parse it, or stuck
        # until the vantage's own `timeout` ended it, 124): one by one, as before.
        return None
    if output.count != len(endpoints):
        return None  # the script got no input (a transport without stdin)
    if output.ended:
        return batch_script.attempts(output, vantage, endpoints, "its result line was lost")
    killed = result.rc == children.TIMED_OUT or result.stderr.startswith("timed out after")
    why = cut if killed else f"the batch ended early: {said[0][:200]}"
    return batch_script.attempts(output, vantage, endpoints, why)


def _result_in(exc: Exception) -> CommandResult | None:
    """The command result an exception carries: testinfra's ssh backend raises
    RuntimeError(result) on exit 255, which is also how a command killed at its deadline
    ends (transport.py), with what it printed until then."""
    inner = exc.args[0] if isinstance(exc, RuntimeError) and exc.args else None
    if all(hasattr(inner, name) for name in ("rc", "stdout", "stderr")):
        return cast("CommandResult", inner)
    return None


def _all_failed(endpoints: Sequence[Endpoint], detail: str) -> list[Attempt]:
    return [Attempt(Outcome.PROBE_ERROR, 0.0, a, p, None, detail) for a, p, _ in endpoints]


def _settle(waiting: _Waiting, attempt: Attempt) -> None:
    if not waiting.done() and waiting.set_running_or_notify_cancel():
        waiting.set_result(attempt)
