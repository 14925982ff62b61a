"""Retries with backoff and the `wait` deadline, shared by every probe kind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from ..inventory.model import Policy
from .progress import WATCH
from .result import Attempt, ProbeResult

FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 1.0


async def with_retries(
    attempt: Callable[[], Awaitable[Attempt]],
    policy: Policy,
    done: Callable[[Attempt], bool],
) -> ProbeResult:
    """Run `attempt` until `done` says so, retries are spent and the wait deadline passed.

    `retries` extra attempts are always made on failure; `wait` keeps trying until that
    many seconds after the first attempt, for gates that wait for a service to come up.
    """
    started = time.monotonic()
    deadline = started + policy.wait
    attempts: list[Attempt] = []
    backoff = FIRST_BACKOFF_S
    # A gate's waiting is shown while it lasts (probe/progress.py): who waits, how far.
    watch = WATCH.get() if policy.wait > 0 else None
    token = watch.board.begin(watch.label, deadline) if watch is not None else None
    try:
        while True:
            result = await attempt()
            attempts.append(result)
            if watch is not None and token is not None:
                watch.board.attempted(token, result.outcome)
            if done(result):
                break
            retries_left = len(attempts) <= policy.retries
            until_deadline = deadline - time.monotonic()
            if not retries_left and until_deadline <= 0:
                break
            # The last attempt of a wait lands on its deadline, not a backoff before it.
            await asyncio.sleep(backoff if retries_left else min(backoff, until_deadline))
            backoff = min(backoff * 2, MAX_BACKOFF_S)
    finally:
        if watch is not None and token is not None:
            watch.board.end(token)
    return ProbeResult(tuple(attempts), time.monotonic() - started)
