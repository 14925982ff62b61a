"""Retries and the `wait` gate, against listeners that really come up late."""

from __future__ import annotations

import asyncio
import re

from pytest_conntriage.demo.listeners import DelayedListener, closed_port, free_port
from pytest_conntriage.inventory.model import Policy
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.result import Attempt, ProbeResult
from pytest_conntriage.probe.retry import with_retries
from pytest_conntriage.probe.tcp import connect_once


def run(address: str, port: int, policy: Policy) -> ProbeResult:
    async def attempt() -> Attempt:
        return await connect_once(address, port, policy.timeout)

    return asyncio.run(with_retries(attempt, policy, lambda a: a.outcome is Outcome.OPEN))


def test_one_attempt_by_default() -> None:
    result = run("127.0.0.1", closed_port("127.0.0.1"), Policy(timeout=0.5))
    assert [a.outcome for a in result.attempts] == [Outcome.REFUSED]
    assert result.history() == "refused"


def test_retries_make_extra_attempts_with_backoff() -> None:
    result = run("127.0.0.1", closed_port("127.0.0.1"), Policy(timeout=0.5, retries=2))
    assert [a.outcome for a in result.attempts] == [Outcome.REFUSED] * 3
    # backoff 0.1 s then 0.2 s between the three attempts
    assert 0.3 <= result.elapsed_s < 1.0
    assert re.fullmatch(r"refused ×3 after 0\.\d s", result.history())


def test_wait_keeps_trying_until_the_service_comes_up() -> None:
    port = free_port("127.0.0.5")
    with DelayedListener("127.0.0.5", port, delay=1.0):
        result = run("127.0.0.5", port, Policy(timeout=0.5, wait=5.0))
    assert result.outcome is Outcome.OPEN
    assert result.attempts[0].outcome is Outcome.REFUSED
    assert 0.9 <= result.elapsed_s < 3.0
    assert re.fullmatch(r"refused ×\d+ then open after [12]\.\d s", result.history())


def test_wait_gives_up_at_its_deadline() -> None:
    result = run("127.0.0.1", closed_port("127.0.0.1"), Policy(timeout=0.5, wait=1.0))
    assert result.outcome is Outcome.REFUSED
    assert len(result.attempts) >= 3
    assert 0.8 <= result.elapsed_s < 1.6
