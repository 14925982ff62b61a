"""The closed kind's pure parts: what proves a port closed, and what a failure says."""

from __future__ import annotations

import errno

import pytest

from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.result import Attempt, ProbeResult
from pytest_conntriage.result import CheckResult

from .hostmade import CLOSED


def at(outcome: Outcome, code: int | None = None) -> Attempt:
    return Attempt(outcome, 0.25, "127.0.0.2", 8080, code)


@pytest.mark.parametrize(
    ("outcome", "passes"),
    [
        pytest.param(Outcome.REFUSED, True, id="refused proves it closed"),
        pytest.param(Outcome.TIMEOUT, True, id="no answer proves it closed"),
        pytest.param(Outcome.ADMIN_PROHIBITED, True, id="a filter's no proves it closed"),
        pytest.param(Outcome.OPEN, False, id="a completed handshake is an exposure"),
        pytest.param(
            Outcome.PROBE_ERROR, False, id="a probe that could not run never counts as closed"
        ),
    ],
)
def test_only_an_answer_that_is_not_open_proves_a_port_closed(
    outcome: Outcome, passes: bool
) -> None:
    assert CLOSED.kind.judge(CLOSED, at(outcome)) is passes


def result(outcome: Outcome) -> CheckResult:
    attempt = at(outcome)
    return CheckResult(CLOSED, CLOSED.kind.judge(CLOSED, attempt), ProbeResult((attempt,), 0.1))


def test_a_name_that_does_not_resolve_is_skipped_not_passed() -> None:
    assert CLOSED.kind.unverified(CLOSED, result(Outcome.REFUSED)) is None
    assert CLOSED.kind.unverified(CLOSED, result(Outcome.DNS_NXDOMAIN)) == (
        "cannot verify that 127.0.0.2 is closed: the name does not resolve (dns-nxdomain)"
    )


def test_an_open_port_says_it_must_be_closed_and_how_to_close_it() -> None:
    assert CLOSED.id == "local->127.0.0.2:8080"
    assert CLOSED.kind.explain(CLOSED, at(Outcome.OPEN)) == (
        "127.0.0.2:8080 accepted a connection from local in 0.2 ms, but must be closed"
    )
    assert CLOSED.kind.explain(CLOSED, at(Outcome.PROBE_ERROR, errno.EMFILE)).startswith(
        "the probe to 127.0.0.2:8080 could not run"
    )
    assert CLOSED.kind.unexplained(CLOSED, Outcome.OPEN).startswith("Exposure: ")
    assert CLOSED.kind.endpoint(CLOSED) is None
