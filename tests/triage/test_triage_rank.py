"""Ranking: which causes each outcome points at, and how findings re-weigh them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.http import HTTP_MALFORMED, HTTP_STATUS, HTTP_TIMEOUT, TLS_ERROR
from pytest_conntriage.runbook import load_runbook
from pytest_conntriage.runbook.model import Runbook
from pytest_conntriage.runbook.vocabulary import built_in
from pytest_conntriage.triage import Finding, Template, diagnose
from pytest_conntriage.triage.causes.http import HttpFacts
from pytest_conntriage.triage.model import Diagnosis, Facts, Verdict
from pytest_conntriage.triage.rank import verdict

# Every outcome the built-in kinds can report: the core taxonomy and each kind's own.
OUTCOMES = built_in().outcomes

LIKELY, POSSIBLE, CONFIRMED = Verdict.LIKELY, Verdict.POSSIBLE, Verdict.CONFIRMED

# A check of an IP literal, one of a name (the address it resolved to), one of DNS.
BY_ADDRESS = Facts(address="127.0.0.3", port=8080, host="127.0.0.3", unit="api-server")
BY_NAME = Facts(address="127.0.0.9", port=8080, name="stale.test", host="stale.test")
# What the ICMP error queue said about a failed connect.
FROM_ROUTER = Facts(
    address="10.0.2.2", port=80, host="10.0.2.2", icmp="admin-prohibited", icmp_from="10.0.1.1"
)
FROM_TARGET = Facts(
    address="10.0.2.2", port=80, host="10.0.2.2", icmp="host-prohibited", icmp_from="10.0.2.2"
)
REJECTED = Facts(
    address="10.0.2.2", port=80, host="10.0.2.2", icmp="port-unreachable", icmp_from="10.0.2.2"
)
DNS = Facts(name="gone.test", host="gone.test", resolver="127.0.0.1:5353", service="legacy")
HTTP = Facts(
    address="127.0.0.2",
    port=443,
    host="api.test",
    name="api.test",
    own=HttpFacts(url="https://api.test:443/"),
)

# outcome → the head of the ranking: (cause id, verdict) from the top.
HEADS = [
    (Outcome.REFUSED, BY_ADDRESS, [("service-down", LIKELY), ("wrong-port-or-interface", LIKELY)]),
    (Outcome.REFUSED, BY_NAME, [("service-down", LIKELY), ("wrong-port-or-interface", LIKELY)]),
    (Outcome.TIMEOUT, BY_ADDRESS, [("host-firewall", LIKELY), ("network-acl", LIKELY)]),
    (Outcome.HOST_UNREACHABLE, BY_ADDRESS, [("routing", LIKELY), ("network-acl", POSSIBLE)]),
    (Outcome.NET_UNREACHABLE, BY_ADDRESS, [("routing", LIKELY)]),
    (Outcome.NO_ROUTE, BY_ADDRESS, [("routing", LIKELY)]),
    # No ICMP message: the client's own kernel refused (a prohibit route, its OUTPUT chain).
    (Outcome.ADMIN_PROHIBITED, BY_ADDRESS, [("routing", LIKELY)]),
    (Outcome.ADMIN_PROHIBITED, FROM_ROUTER, [("network-acl", LIKELY), ("host-firewall", LIKELY)]),
    (Outcome.ADMIN_PROHIBITED, FROM_TARGET, [("host-firewall", LIKELY)]),
    (Outcome.REFUSED, REJECTED, [("host-firewall", LIKELY)]),
    (Outcome.RESET, BY_ADDRESS, [("service-down", POSSIBLE)]),
    (Outcome.DNS_NXDOMAIN, DNS, [("dns-wrong-host", LIKELY)]),
    (Outcome.DNS_NODATA, DNS, [("dns-wrong-host", LIKELY)]),
    (Outcome.DNS_SERVFAIL, DNS, [("dns-wrong-host", LIKELY)]),
    (Outcome.DNS_REFUSED, DNS, [("dns-wrong-host", LIKELY), ("network-acl", POSSIBLE)]),
    (Outcome.DNS_TIMEOUT, DNS, [("dns-wrong-host", LIKELY)]),
    (Outcome.DNS_MISMATCH, DNS, [("dns-wrong-host", CONFIRMED)]),
    # Host checks (listening, firewall, service), read on the target itself.
    (Outcome.NOT_LISTENING, BY_ADDRESS, [("service-down", LIKELY)]),
    (Outcome.WRONG_INTERFACE, BY_ADDRESS, [("wrong-port-or-interface", CONFIRMED)]),
    (Outcome.BLOCKED, BY_ADDRESS, [("host-firewall", CONFIRMED)]),
    (Outcome.INACTIVE, BY_ADDRESS, [("service-down", CONFIRMED)]),
    # An http check that connected (its connect failures are the tcp rows above).
    (HTTP_STATUS, HTTP, [("app-unhealthy", LIKELY), ("wrong-path-or-vhost", POSSIBLE)]),
    (HTTP_MALFORMED, HTTP, [("wrong-protocol", LIKELY)]),
    (HTTP_TIMEOUT, HTTP, [("app-unhealthy", POSSIBLE), ("overloaded", POSSIBLE)]),
    # Before the kind's finding from the handshake's reason, every TLS cause is a guess.
    (TLS_ERROR, HTTP, [("certificate-expired", POSSIBLE)]),
]


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    return load_runbook([])


def diagnosis(runbook: Runbook, outcome: Outcome, facts: Facts = BY_ADDRESS) -> Diagnosis:
    found = diagnose(outcome, facts, runbook)
    assert found is not None
    return found


def verdicts(d: Diagnosis) -> dict[str, Verdict]:
    return {c.id: c.verdict for c in d.causes}


@pytest.mark.parametrize(
    ("outcome", "facts", "head"),
    [pytest.param(*h, id=f"{h[0].value}-{i}") for i, h in enumerate(HEADS)],
)
def test_ranking_head_per_outcome(
    runbook: Runbook, outcome: Outcome, facts: Facts, head: list[tuple[str, Verdict]]
) -> None:
    d = diagnosis(runbook, outcome, facts)
    assert [(c.id, c.verdict) for c in d.causes[: len(head)]] == head
    assert d.top is not None
    assert d.top.id == head[0][0]


def test_every_failure_outcome_is_covered_by_the_table() -> None:
    covered = {outcome for outcome, _, _ in HEADS}
    assert covered == {o for o in OUTCOMES if not o.is_success} - {Outcome.PROBE_ERROR}


@pytest.mark.parametrize("outcome", [Outcome.OPEN, Outcome.RESOLVED, Outcome.PROBE_ERROR])
def test_no_diagnosis_when_no_entry_explains_the_outcome(
    runbook: Runbook, outcome: Outcome
) -> None:
    assert diagnose(outcome, BY_ADDRESS, runbook) is None


def test_refused_rules_out_idle_drop_and_routing(runbook: Runbook) -> None:
    found = verdicts(diagnosis(runbook, Outcome.REFUSED))
    assert found["idle-drop"] is Verdict.RULED_OUT
    assert found["routing"] is Verdict.RULED_OUT
    # A REJECT rule, a restarting pod or (elsewhere) a full queue remain possible.
    for cause in ("not-ready", "host-firewall", "backlog-full"):
        assert found[cause] is Verdict.POSSIBLE


def test_refused_ranks_reject_and_restarts_above_a_full_queue(runbook: Runbook) -> None:
    order = [c.id for c in diagnosis(runbook, Outcome.REFUSED).causes]
    assert order.index("not-ready") < order.index("backlog-full")
    assert order.index("host-firewall") < order.index("backlog-full")


def test_timeout_leaves_a_dead_service_only_possible_and_ranks_the_queue_next(
    runbook: Runbook,
) -> None:
    # A dead service is refused, not timed out: the outcome alone does not blame it, but
    # it may be down as well behind whatever drops the packets (two faults at once).
    d = diagnosis(runbook, Outcome.TIMEOUT, BY_NAME)
    found = verdicts(d)
    assert found["service-down"] is Verdict.POSSIBLE
    assert found["idle-drop"] is Verdict.RULED_OUT
    assert found["dns-wrong-host"] is Verdict.POSSIBLE
    order = [c.id for c in d.causes]
    assert order[2:4] == ["backlog-full", "routing"]
    assert order.index("service-down") > order.index("dns-wrong-host")


def test_ruled_out_causes_come_last_in_runbook_order(runbook: Runbook) -> None:
    found = diagnosis(runbook, Outcome.DNS_NXDOMAIN, DNS)
    causes = found.causes
    out = [c.id for c in causes if c.verdict is Verdict.RULED_OUT]
    assert [c.id for c in causes[-len(out) :]] == out
    assert out == [c.id for c in found.entry.causes if c.id in out]
    scores = [c.score for c in causes]
    assert scores == sorted(scores, reverse=True)


def test_dns_cannot_be_blamed_when_the_check_used_an_address(runbook: Runbook) -> None:
    d = diagnosis(runbook, Outcome.REFUSED, BY_ADDRESS)
    cause = next(c for c in d.causes if c.id == "dns-wrong-host")
    assert cause.verdict is Verdict.RULED_OUT
    assert cause.evidence[-1] == (
        "the check connects to the address 127.0.0.3 itself: no DNS lookup was involved"
    )
    # With a name, a stale record stays possible.
    assert verdicts(diagnosis(runbook, Outcome.REFUSED, BY_NAME))["dns-wrong-host"] is POSSIBLE


def test_evidence_is_the_outcomes_why_filled_in(runbook: Runbook) -> None:
    top = diagnosis(runbook, Outcome.REFUSED).causes[0]
    assert top.evidence == (
        "the host answered with a reset at once: it is up, but nothing accepted on port 8080",
    )


def test_a_finding_confirms_a_cause_and_moves_it_first(runbook: Runbook) -> None:
    overflow = Finding("backlog-full", 100, "TcpExtListenOverflows grew on the target")
    d = diagnose(Outcome.TIMEOUT, BY_ADDRESS, runbook, [overflow])
    assert d is not None
    assert d.top is not None
    assert (d.top.id, d.top.verdict) == ("backlog-full", Verdict.CONFIRMED)
    # The finding decided it: the outcome's own guess is no longer shown under it.
    assert d.top.evidence == ("TcpExtListenOverflows grew on the target",)


def test_a_finding_rules_a_cause_out(runbook: Runbook) -> None:
    clean = Finding("host-firewall", 0, Template("no rule on the target mentions port {port}"))
    d = diagnose(Outcome.TIMEOUT, BY_ADDRESS, runbook, [clean])
    assert d is not None
    assert [c.id for c in d.causes[:1]] == ["network-acl"]
    firewall = next(c for c in d.causes if c.id == "host-firewall")
    assert firewall.verdict is Verdict.RULED_OUT
    assert firewall.evidence[-1] == "no rule on the target mentions port 8080"


def test_certain_findings_beat_weighing_ones_and_unknown_causes_are_ignored(
    runbook: Runbook,
) -> None:
    findings = [
        Finding("routing", 100, "confirmed"),
        Finding("routing", 70, "weighs"),
        Finding("network-acl", 30, "first"),
        Finding("network-acl", 70, "second"),
        Finding("no-such-cause", 100, "ignored"),
    ]
    d = diagnose(Outcome.TIMEOUT, BY_ADDRESS, runbook, findings)
    assert d is not None
    by_id = {c.id: c for c in d.causes}
    assert (by_id["routing"].verdict, by_id["routing"].evidence) == (CONFIRMED, ("confirmed",))
    # Among weighing findings the later wins; both lines stay.
    assert by_id["network-acl"].score == 70
    assert by_id["network-acl"].evidence == ("first", "second")
    assert "no-such-cause" not in by_id


def test_certain_findings_that_contradict_leave_the_cause_open(runbook: Runbook) -> None:
    findings = [Finding("routing", 100, "says yes"), Finding("routing", 0, "says no")]
    d = diagnose(Outcome.TIMEOUT, BY_ADDRESS, runbook, findings)
    assert d is not None
    routing = next(c for c in d.causes if c.id == "routing")
    assert routing.verdict is POSSIBLE
    assert routing.evidence == ("says yes", "says no")


def test_finding_score_must_be_a_percentage() -> None:
    with pytest.raises(ValueError, match="not within 0-100"):
        Finding("routing", 101, "too sure")


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (100, CONFIRMED),
        (99, LIKELY),
        (60, LIKELY),
        (59, POSSIBLE),
        (1, POSSIBLE),
        (0, Verdict.RULED_OUT),
    ],
)
def test_verdict_thresholds(score: int, expected: Verdict) -> None:
    assert verdict(score) is expected


@pytest.mark.parametrize(
    ("outcome", "facts", "first"),
    [
        (Outcome.REFUSED, BY_ADDRESS, ["listening-sockets", "raw-connect"]),
        (Outcome.TIMEOUT, BY_ADDRESS, ["host-firewall-rules", "raw-connect", "trace-path"]),
        (Outcome.HOST_UNREACHABLE, BY_ADDRESS, ["trace-path"]),
        (Outcome.DNS_NXDOMAIN, DNS, ["dns-lookup"]),
        (Outcome.DNS_MISMATCH, DNS, ["dns-lookup"]),
        (Outcome.DNS_TIMEOUT, DNS, ["dns-lookup"]),
    ],
)
def test_next_diagnostics_most_telling_first(
    runbook: Runbook, outcome: Outcome, facts: Facts, first: list[str]
) -> None:
    ids = [d.id for d in diagnosis(runbook, outcome, facts).diagnostics]
    assert ids[: len(first)] == first
    assert len(ids) == len(set(ids))


def test_diagnostics_only_for_causes_still_in_play(runbook: Runbook) -> None:
    # With an IP literal DNS is ruled out, so no dig; with a name it is suggested.
    assert "dns-lookup" not in {d.id for d in diagnosis(runbook, Outcome.REFUSED).diagnostics}
    by_name = diagnosis(runbook, Outcome.REFUSED, BY_NAME).diagnostics
    assert "dns-lookup" in {d.id for d in by_name}


def test_diagnosis_names_the_entry_and_reference(runbook: Runbook) -> None:
    d = diagnosis(runbook, Outcome.REFUSED)
    assert d.entry_id == "tcp-connectivity"
    assert d.reference == (
        "The Triage Manual — Batch Entry: Connection refused / connection timeout"
    )
    assert len(d.causes) == 9


def test_triage_and_runbook_do_not_import_pytest() -> None:
    code = (
        "import sys, pytest_conntriage.triage, pytest_conntriage.runbook;"
        "sys.exit('pytest' in sys.modules or '_pytest' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
