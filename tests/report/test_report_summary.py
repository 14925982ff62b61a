"""The terminal's "connectivity triage" section."""

from __future__ import annotations

from pytest_conntriage.report.summary import IDS_PER_GROUP, TriageSummary

REFUSED = {"outcome": "refused", "top_cause": "service-down", "top_cause_title": "Down"}
TIMEOUT = {"outcome": "timeout", "top_cause": "host-firewall", "top_cause_title": "Firewall"}


def test_groups_list_tests_in_collection_order_whatever_order_reports_arrive_in() -> None:
    collected = [f"inv.yml::test_tcp[local->10.0.0.1:{port}]" for port in range(1, 9)]
    # Two xdist workers, each with half: their reports interleave.
    arrival = [collected[i] for i in (4, 0, 5, 1, 6, 2, 7, 3)]
    in_arrival, in_order = TriageSummary(), TriageSummary()
    in_order.collected(collected)
    for nodeid in arrival:
        props = TIMEOUT if nodeid.endswith(("7]", "8]")) else REFUSED
        in_arrival.add(nodeid, props)
        in_order.add(nodeid, props)
    lines = in_order.lines()
    assert lines == [
        "8 failed connectivity checks, by outcome and top cause:",
        "     6 × refused            service-down: Down",
        *[f"           test_tcp[local->10.0.0.1:{port}]" for port in range(1, 1 + IDS_PER_GROUP)],
        "           ... and 1 more",
        "     2 × timeout            host-firewall: Firewall",
        "           test_tcp[local->10.0.0.1:7]",
        "           test_tcp[local->10.0.0.1:8]",
    ]
    # Without the collection order the arrival order shows (what an xdist run printed).
    assert in_arrival.lines() != lines


def test_the_first_collection_wins() -> None:
    summary = TriageSummary()
    summary.collected(["b", "a"])
    summary.collected(["a", "b"])  # another worker's identical collection, or a stray one
    summary.add("a", REFUSED)
    summary.add("b", REFUSED)
    assert summary.lines()[2:] == ["           b", "           a"]


def test_a_failure_whose_triage_crashed_is_grouped_as_such() -> None:
    summary = TriageSummary()
    summary.add("a", {"outcome": "refused", "triage_error": "ranking: KeyError: 'x'"})
    summary.add("b", {"outcome": "refused"})
    assert summary.lines()[1:] == [
        "     1 × refused            no runbook cause",
        "           b",
        "     1 × refused            triage unavailable (see the failure)",
        "           a",
    ]
