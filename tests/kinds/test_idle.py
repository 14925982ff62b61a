"""The idle kind's pure parts: a failure says something about idling only once the
connection was established; its test waits for the idle time and the keepalives."""

from __future__ import annotations

import errno

from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.idle import KEEPALIVE_INTERVAL_S, KEEPALIVE_PROBES
from pytest_conntriage.probe.result import Attempt

from .hostmade import IDLE, TCP

DROPPED = Attempt(
    Outcome.RESET, 30_000.0, "127.0.0.2", 8080, errno.ECONNRESET,
    "established in 0.3 ms, then reset by the peer after 30 s idle",
)  # fmt: skip
REFUSED = Attempt(Outcome.REFUSED, 0.25, "127.0.0.2", 8080, errno.ECONNREFUSED)


def test_a_connection_dropped_while_idle_is_triaged_as_idling() -> None:
    assert IDLE.kind.facts(IDLE, DROPPED).idle == "30 s"
    assert IDLE.kind.explain(IDLE, DROPPED) == (
        "127.0.0.2:8080: established in 0.3 ms, then reset by the peer after 30 s idle (ECONNRESET)"
    )


def test_a_failed_handshake_is_triaged_like_any_other() -> None:
    assert IDLE.kind.facts(IDLE, REFUSED).idle is None
    assert IDLE.kind.explain(IDLE, REFUSED) == TCP.kind.explain(TCP, REFUSED)


def test_the_test_waits_for_the_idle_time_and_the_keepalives() -> None:
    held = 30 + KEEPALIVE_PROBES * KEEPALIVE_INTERVAL_S + 1
    assert IDLE.kind.attempt_budget(IDLE) == IDLE.policy.timeout + held
    assert TCP.kind.attempt_budget(TCP) == TCP.policy.timeout
    assert IDLE.kind.endpoint(IDLE) is None
