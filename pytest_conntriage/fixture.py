"""The `conntriage` fixture: verify inventory checks, or ad-hoc endpoints, from any test."""

from __future__ import annotations

import concurrent.futures
import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import pytest
from _pytest.outcomes import Failed  # pytest.fail.Exception, importable for typing

from .checks import Check
from .evaluate import Evaluator
from .inventory.model import LOCAL_VANTAGE, DnsMatch, DnsSpec, Location, Policy, Resolver
from .kinds import closed, tcp
from .kinds.dns import DnsCheck
from .kinds.tcp import HandshakeKind, TcpCheck
from .probe.retry import MAX_BACKOFF_S
from .report.text import failure_message, failure_text
from .result import CheckResult

RESULT_KEY = pytest.StashKey[CheckResult]()
T = TypeVar("T")

# Slack on top of a check's own budget before waiting for it counts as an engine fault:
# a probe queued behind thousands of others may legitimately wait for a free slot.
ENGINE_SLACK_S = 120.0


class ConnectivityFailure(Failed):
    """A check failed; carries the result so the report can show the triage.

    It is pytest's own failure outcome with pytrace=False: pytest then renders the
    message alone instead of parsing the test's source for a traceback, which cost
    ~5 ms a failure (seconds on a fleet with many endpoints down) only to be replaced
    by the triage text.
    """

    def __init__(self, result: CheckResult) -> None:
        super().__init__(failure_message(result), pytrace=False)
        self.result = result

    @property
    def text(self) -> str:
        return failure_text(self.result)


def call_result(item: pytest.Item, call: pytest.CallInfo[None]) -> CheckResult | None:
    """The check result a test's call phase reported: the failing check's own (a test
    may verify several), else the last one `verify` returned; None for setup and
    teardown, or a test that verified nothing."""
    if call.when != "call":
        return None
    failure = call.excinfo.value if call.excinfo is not None else None
    if isinstance(failure, ConnectivityFailure):
        return failure.result
    return item.stash.get(RESULT_KEY, None)


class Conntriage:
    """What a test gets from the `conntriage` fixture."""

    def __init__(
        self,
        evaluator: Evaluator,
        current_item: Callable[[], pytest.Item | None],
        tick: Callable[[], None] | None = None,
    ) -> None:
        self._evaluator = evaluator
        # The test running now: a check's result goes with its report (JUnit properties).
        self._current_item = current_item
        # Called each time the wait for a result wakes: the waiting gates' progress line.
        self._tick = tick

    def verify(self, check: Check) -> CheckResult:
        """Wait for `check`'s result; fail the test with the triage if it failed."""
        # Evidence (the host's batch, a remote vantage's round trips) has its own bound.
        evidence = (check.policy.retries + 2) * self._evaluator.hosts.timeout
        future = self._evaluator.submit(check, urgent=True)
        result = _wait(future, _budget(check) + evidence, self._tick)
        item = self._current_item()
        if item is not None:
            item.stash[RESULT_KEY] = result
        unverified = check.kind.unverified(check, result)
        if unverified is not None:
            pytest.skip(unverified)
        if not result.passed:
            raise ConnectivityFailure(result)
        return result

    def expect_open(
        self, host: str, port: int, *, timeout: float = 2.0, retries: int = 0, wait: float = 0.0
    ) -> CheckResult:
        """`host`:`port` must accept a TCP connection from here."""
        policy = Policy(timeout, retries, wait)
        return self.verify(_tcp(tcp.KIND, host, port, policy, _caller()))

    def expect_closed(
        self, host: str, port: int, *, timeout: float = 2.0, retries: int = 0, wait: float = 0.0
    ) -> CheckResult:
        """`host`:`port` must NOT accept a TCP connection from here."""
        policy = Policy(timeout, retries, wait)
        return self.verify(_tcp(closed.KIND, host, port, policy, _caller()))

    def expect_resolves(
        self,
        name: str,
        *,
        resolver: str | None = None,
        expect: Sequence[str] = (),
        match: str = "exact",
        timeout: float = 2.0,
        retries: int = 0,
    ) -> CheckResult:
        """`name` must resolve (via `resolver`, "ip" or "ip:port"), to `expect` if given."""
        check = DnsCheck(
            service="(test)",
            name=name,
            resolver=_resolver(resolver) if resolver else None,
            spec=DnsSpec(tuple(expect), (), DnsMatch(match)),
            policy=Policy(timeout, retries, 0.0),
            location=_caller(),
        )
        return self.verify(check)


def _tcp(kind: HandshakeKind, host: str, port: int, policy: Policy, where: Location) -> TcpCheck:
    return TcpCheck(
        kind=kind,
        target=host,
        port=port,
        vantage=LOCAL_VANTAGE,
        resolvers=(),
        policy=policy,
        location=where,
    )


def _resolver(text: str) -> Resolver:
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    return Resolver(host, int(port)) if port else Resolver(text.strip("[]"))


def _caller() -> Location:
    """The test line that asked for an ad-hoc check, for the failure's location."""
    frame = sys._getframe(2)  # 0: here, 1: the fixture's method, 2: the test
    return Location(frame.f_code.co_filename, frame.f_lineno, 1)


# Seconds between looks at a future the main thread waits for. A Ctrl-C the kernel hands
# to another thread only reaches Python's handler when the main thread wakes: a wait
# without a timeout could hold it up for as long as the check takes.
WAKE_S = 0.1


def _wait(
    future: concurrent.futures.Future[T], budget: float, tick: Callable[[], None] | None = None
) -> T:
    """`future.result(timeout=budget)`, woken every WAKE_S so a signal is seen at once
    (and `tick` called, for the waiting gates' progress line)."""
    ends = time.monotonic() + budget
    while True:
        try:
            return future.result(timeout=min(WAKE_S, max(0.0, ends - time.monotonic())))
        except concurrent.futures.TimeoutError:
            if time.monotonic() >= ends:
                raise
            if tick is not None:
                tick()


def _budget(check: Check) -> float:
    policy = check.policy
    per_attempt = check.kind.attempt_budget(check) + MAX_BACKOFF_S
    return (policy.retries + 1) * per_attempt + policy.wait + ENGINE_SLACK_S
