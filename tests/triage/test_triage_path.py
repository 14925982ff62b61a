"""The path trace in the diagnosis: it locates the fault under the causes it concerns,
re-weighs only on a router's own ICMP error, and says nothing when it did not run."""

from __future__ import annotations

import pytest

from pytest_conntriage.evidence.path import HopKind, HopReply, PathTrace
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.runbook import load_runbook
from pytest_conntriage.runbook.model import Runbook
from pytest_conntriage.triage import diagnose
from pytest_conntriage.triage.findings import path_findings
from pytest_conntriage.triage.model import Diagnosis, Facts

TARGET, ROUTER = "10.200.2.2", "10.200.1.1"
FACTS = Facts(address=TARGET, port=8080, host=TARGET)
PASSED_HOP_1 = HopReply(1, HopKind.TIME_EXCEEDED, ROUTER, "time-exceeded")


def trace(*after_hop_1: HopReply) -> PathTrace:
    return PathTrace(TARGET, 8080, (PASSED_HOP_1, *after_hop_1), 3, 1.0)


SILENT_AFTER_HOP_1 = trace(HopReply(2, HopKind.SILENT), HopReply(3, HopKind.SILENT))
ROUTER_PROHIBITS = trace(
    HopReply(2, HopKind.UNREACHABLE, ROUTER, "admin-prohibited"),
    HopReply(3, HopKind.UNREACHABLE, ROUTER, "admin-prohibited"),
)
ROUTER_CANNOT_REACH = trace(
    HopReply(2, HopKind.UNREACHABLE, ROUTER, "host-unreachable"), HopReply(3, HopKind.SILENT)
)
NOT_RUN = PathTrace(TARGET, 8080, unavailable="the run's limit of 8 path traces is reached")
NOTHING_SENT = PathTrace(
    TARGET, 8080, tuple(HopReply(t, HopKind.FAILED, detail="x (local)") for t in (1, 2, 3)), 3, 1.0
)


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    return load_runbook([])


def diagnosed(runbook: Runbook, outcome: Outcome, trace: PathTrace | None) -> Diagnosis:
    found = diagnose(outcome, FACTS, runbook, path_findings(outcome, trace))
    assert found is not None
    return found


def scores(d: Diagnosis) -> dict[str, int]:
    return {s.cause: s.score for s in d.ranking}


def why(d: Diagnosis, cause: str) -> tuple[str, ...]:
    return next(c.evidence for c in d.causes if c.id == cause)


def test_silence_after_a_hop_is_said_under_network_acl_and_routing_without_weighing(
    runbook: Runbook,
) -> None:
    plain = diagnosed(runbook, Outcome.TIMEOUT, None)
    traced = diagnosed(runbook, Outcome.TIMEOUT, SILENT_AFTER_HOP_1)
    assert scores(traced) == scores(plain)
    said = (
        "path trace: the SYN passes hop 1 (10.200.1.1) and gets no answer after it (TTL 2 to "
        "3 silent for 1 s): it is dropped after hop 1, or at 10.200.2.2"
    )
    assert why(traced, "network-acl")[-1] == said
    assert why(traced, "routing")[-1] == said
    assert said not in why(traced, "backlog-full")


def test_a_router_prohibiting_what_timed_out_points_at_the_network_acl(runbook: Runbook) -> None:
    traced = diagnosed(runbook, Outcome.TIMEOUT, ROUTER_PROHIBITS)
    assert traced.top is not None
    assert traced.top.id == "network-acl"
    assert scores(traced)["network-acl"] == 90
    assert "hop 1 rejects it on the way on (ICMP admin-prohibited" in why(traced, "network-acl")[-1]


def test_a_router_that_cannot_reach_what_timed_out_raises_routing(runbook: Runbook) -> None:
    traced = diagnosed(runbook, Outcome.TIMEOUT, ROUTER_CANNOT_REACH)
    assert scores(traced)["routing"] == 80
    assert "ICMP host-unreachable" in why(traced, "routing")[-1]


def test_an_icmp_error_the_check_already_had_is_only_located(runbook: Runbook) -> None:
    facts = Facts(address=TARGET, port=8080, host=TARGET, icmp="admin-prohibited", icmp_from=ROUTER)
    plain = diagnose(Outcome.ADMIN_PROHIBITED, facts, runbook)
    findings = path_findings(Outcome.ADMIN_PROHIBITED, ROUTER_PROHIBITS)
    traced = diagnose(Outcome.ADMIN_PROHIBITED, facts, runbook, findings)
    assert plain is not None
    assert traced is not None
    assert scores(traced) == scores(plain)
    assert why(traced, "network-acl")[-1].startswith("path trace: the SYN passes hop 1")


@pytest.mark.parametrize("trace", [None, NOT_RUN, NOTHING_SENT], ids=["none", "not-run", "failed"])
def test_a_trace_that_says_nothing_changes_nothing(
    runbook: Runbook, trace: PathTrace | None
) -> None:
    assert path_findings(Outcome.TIMEOUT, trace) == ()
    plain = diagnosed(runbook, Outcome.TIMEOUT, None)
    assert diagnosed(runbook, Outcome.TIMEOUT, trace) == plain
