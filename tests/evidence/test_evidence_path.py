"""Reading hop replies into a path trace: where the SYN dies (pure; the I/O is probe/trace)."""

from __future__ import annotations

import pytest

from pytest_conntriage.evidence.model import Route, RouteKind
from pytest_conntriage.evidence.path import (
    HopKind,
    HopReply,
    PathEnd,
    PathTrace,
    wants_more,
    worth_tracing,
)
from pytest_conntriage.outcome import Outcome

TARGET, R1, R2 = "10.200.2.2", "10.200.1.1", "10.200.9.1"
TE, SILENT = HopKind.TIME_EXCEEDED, HopKind.SILENT


def trace(*hops: HopReply, max_hops: int = 6) -> PathTrace:
    # Given in any order: the trace's hops finish concurrently.
    return PathTrace(TARGET, 8080, tuple(reversed(hops)), max_hops, 1.0)


def silent_from(ttl: int, max_hops: int = 6) -> tuple[HopReply, ...]:
    return tuple(HopReply(t, SILENT) for t in range(ttl, max_hops + 1))


def test_silence_after_a_router_names_the_last_hop_that_answered() -> None:
    found = trace(HopReply(1, TE, R1, "time-exceeded"), *silent_from(2))
    assert found.end is PathEnd.SILENT
    assert found.last_router == HopReply(1, TE, R1, "time-exceeded")
    assert found.describe() == (
        "the SYN passes hop 1 (10.200.1.1) and gets no answer after it (TTL 2 to 6 silent "
        "for 1 s): it is dropped after hop 1, or at 10.200.2.2"
    )


def test_a_hop_that_does_not_answer_is_passed_when_a_later_one_does() -> None:
    found = trace(
        HopReply(1, TE, R1, "time-exceeded"),
        HopReply(2, SILENT),
        HopReply(3, TE, R2, "time-exceeded"),
        *silent_from(4),
    )
    assert found.last_router is not None
    assert (found.last_router.ttl, found.last_router.sender) == (3, R2)
    assert found.describe().startswith("the SYN passes hop 3 (10.200.9.1) and gets no answer")


def test_no_hop_answering_is_said_as_such_not_as_a_drop_at_the_first_hop() -> None:
    found = trace(*silent_from(1))
    assert (found.end, found.last_router) == (PathEnd.SILENT, None)
    assert found.describe() == (
        "no hop answered the traced SYN (TTL 1 to 6, 1 s each): it dies at the first hop, "
        "or the routers on the way do not answer expired packets"
    )


def test_a_router_that_rejects_the_syn_itself() -> None:
    found = trace(
        HopReply(1, TE, R1, "time-exceeded"),
        *(HopReply(t, HopKind.UNREACHABLE, R1, "admin-prohibited") for t in range(2, 7)),
    )
    assert found.end is PathEnd.REJECTED
    assert found.end_hop == HopReply(2, HopKind.UNREACHABLE, R1, "admin-prohibited")
    assert found.describe() == (
        "the SYN passes hop 1 (10.200.1.1) and hop 1 rejects it on the way on "
        "(ICMP admin-prohibited)"
    )


def test_a_later_router_that_cannot_reach_the_target() -> None:
    found = trace(
        HopReply(1, TE, R1, "time-exceeded"),
        HopReply(2, TE, R2, "time-exceeded"),
        HopReply(3, HopKind.UNREACHABLE, "10.200.9.9", "host-unreachable"),
        *silent_from(4),
    )
    assert found.describe() == (
        "the SYN passes hop 2 (10.200.9.1) and 10.200.9.9 rejects it (ICMP host-unreachable)"
    )


def test_the_target_answering_ends_the_path() -> None:
    reached = trace(
        HopReply(1, TE, R1, "time-exceeded"),
        *(HopReply(t, HopKind.ANSWERED, TARGET, detail="refused") for t in range(2, 7)),
    )
    assert reached.end is PathEnd.REACHED
    assert reached.describe() == (
        "a SYN traced to 10.200.2.2:8080 now reaches it at hop 2 and is refused: the path "
        "works at the moment"
    )
    prohibited = trace(
        HopReply(1, TE, R1, "time-exceeded"),
        *(HopReply(t, HopKind.UNREACHABLE, TARGET, "host-prohibited") for t in range(2, 7)),
    )
    assert prohibited.describe() == (
        "the SYN reaches 10.200.2.2, which answers ICMP host-prohibited"
    )


def test_replies_past_the_end_do_not_count() -> None:
    # A late time-exceeded for TTL 4 (a routing loop, say) is past the target's answer.
    found = trace(
        HopReply(1, TE, R1, "time-exceeded"),
        HopReply(2, HopKind.ANSWERED, TARGET, detail="open"),
        HopReply(3, SILENT),
        HopReply(4, TE, R2, "time-exceeded"),
    )
    assert found.last_router is not None
    assert found.last_router.ttl == 1
    assert "is accepted" in found.describe()


def test_nothing_sent_or_not_run_is_unknown() -> None:
    failed = trace(
        *(HopReply(t, HopKind.FAILED, detail="Network is unreachable (local)") for t in range(1, 7))
    )
    assert failed.end is PathEnd.FAILED
    assert failed.describe() == "the path could not be traced: Network is unreachable (local)"
    # One SYN not sent, the others unanswered: its silence would be made up.
    partly = trace(
        HopReply(1, TE, R1, "time-exceeded"),
        HopReply(2, HopKind.FAILED, detail="no socket: Too many open files"),
        *silent_from(3),
    )
    assert partly.end is PathEnd.FAILED
    assert partly.describe() == "the path could not be traced: no socket: Too many open files"
    skipped = PathTrace(TARGET, 8080, unavailable="the run's limit of 8 path traces is reached")
    assert skipped.end is PathEnd.FAILED
    assert skipped.describe() == (
        "the path was not traced: the run's limit of 8 path traces is reached"
    )


UNICAST = Route(TARGET, RouteKind.UNICAST, dev="c0", gateway=R1, src="10.200.1.2")


@pytest.mark.parametrize(
    ("outcome", "address", "icmp_from", "route", "wanted"),
    [
        pytest.param(Outcome.TIMEOUT, TARGET, None, UNICAST, True, id="timeout"),
        pytest.param(Outcome.TIMEOUT, TARGET, None, None, True, id="timeout-route-unknown"),
        pytest.param(Outcome.ADMIN_PROHIBITED, TARGET, R1, UNICAST, True, id="icmp-from-a-router"),
        pytest.param(Outcome.REFUSED, TARGET, TARGET, UNICAST, False, id="icmp-from-the-target"),
        pytest.param(Outcome.REFUSED, TARGET, None, UNICAST, False, id="a-reset"),
        pytest.param(
            Outcome.HOST_UNREACHABLE,
            TARGET,
            None,
            Route(TARGET, RouteKind.UNREACHABLE),
            False,
            id="own-route-refused",
        ),
        pytest.param(
            Outcome.TIMEOUT, TARGET, None, Route(TARGET, RouteKind.LOCAL), False, id="own-address"
        ),
        pytest.param(
            Outcome.TIMEOUT,
            TARGET,
            None,
            Route(TARGET, RouteKind.UNICAST, dev="c0", src="10.200.1.2"),
            False,
            id="on-link-no-router-between",
        ),
        pytest.param(
            Outcome.TIMEOUT,
            TARGET,
            None,
            Route(TARGET, RouteKind.UNKNOWN),
            True,
            id="route-unknown",
        ),
        pytest.param(Outcome.TIMEOUT, "127.0.0.4", None, None, False, id="loopback"),
        pytest.param(Outcome.TIMEOUT, "::1", None, None, False, id="loopback-v6"),
        pytest.param(Outcome.TIMEOUT, "2001:db8::1", None, None, True, id="ipv6"),
        pytest.param(Outcome.TIMEOUT, "api.example.com", None, None, False, id="not-an-ip"),
    ],
)
def test_which_failures_are_traced(
    outcome: Outcome, address: str, icmp_from: str | None, route: Route | None, wanted: bool
) -> None:
    assert worth_tracing(outcome, address, icmp_from, route) is wanted


@pytest.mark.parametrize(
    ("wave", "wanted"),
    [
        pytest.param((HopReply(1, TE, R1), HopReply(2, TE, R2)), True, id="still-routers"),
        pytest.param((HopReply(2, TE, R2), HopReply(1, SILENT)), True, id="last-ttl-counts"),
        pytest.param((HopReply(1, TE, R1), HopReply(2, SILENT)), False, id="silent-after"),
        pytest.param(
            (HopReply(1, TE, R1), HopReply(2, HopKind.ANSWERED, TARGET, detail="open")),
            False,
            id="reached",
        ),
        pytest.param(
            (HopReply(1, TE, R1), HopReply(2, HopKind.UNREACHABLE, R1, "admin-prohibited")),
            False,
            id="rejected",
        ),
        pytest.param((HopReply(1, HopKind.FAILED, detail="x"),), False, id="failed"),
        pytest.param((), False, id="nothing"),
    ],
)
def test_another_wave_only_while_routers_still_answer(
    wave: tuple[HopReply, ...], wanted: bool
) -> None:
    assert wants_more(wave) is wanted
