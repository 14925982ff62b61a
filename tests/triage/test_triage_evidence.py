"""Host and client evidence → findings → verdicts: what is certain, and what is not.

Unknown is not absent: each rule is run with every fact it reads missing, and a
property-based test removes facts from random evidence and checks that no verdict
becomes confirmed or ruled out by it. Then the contradictions once seen in the lab,
from hand-made evidence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_conntriage.evidence.model import (
    Action,
    Backend,
    ClientEvidence,
    FirewallVerdict,
    HostEvidence,
    Listener,
    ProcessAge,
    ProcessRef,
    Route,
    RouteKind,
    UnitState,
)
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.report.text import both_hold
from pytest_conntriage.runbook import load_runbook
from pytest_conntriage.runbook.model import Runbook
from pytest_conntriage.triage import diagnose
from pytest_conntriage.triage.findings import Target, findings, is_address_of
from pytest_conntriage.triage.known import Fact, HostFacts, Knowledge
from pytest_conntriage.triage.model import Diagnosis, Facts, Verdict

CONFIRMED, LIKELY, POSSIBLE, RULED_OUT = (
    Verdict.CONFIRMED,
    Verdict.LIKELY,
    Verdict.POSSIBLE,
    Verdict.RULED_OUT,
)
ADDRESS, PORT, ROUTER = "10.0.2.2", 8080, "10.0.1.1"
# The gap each fact leaves when its collector fails (what evidence.host records).
GAP = {
    Fact.LISTENERS: "listeners",
    Fact.LISTENER_PROCESSES: "listener processes",
    Fact.PROCESSES: "process ages",
    Fact.UNIT: "unit",
    Fact.JOURNAL: "journal",
    Fact.FIREWALL: "iptables",
    Fact.ADDRESSES: "host addresses",
}
RUNBOOK = load_runbook([])


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    return RUNBOOK


def drop(rule: str = "-A INPUT -p tcp --dport 8080 -j DROP") -> FirewallVerdict:
    return FirewallVerdict(Backend.IPTABLES_NFT, Action.DROP, rule, "filter", "INPUT", 1)


def reject(reject_with: str) -> FirewallVerdict:
    rule = f"-A INPUT -p tcp --dport 8080 -j REJECT --reject-with {reject_with}"
    return FirewallVerdict(
        Backend.IPTABLES_NFT, Action.REJECT, rule, "filter", "INPUT", 1, reject_with
    )


ACCEPT = FirewallVerdict(
    Backend.IPTABLES_NFT, Action.ACCEPT, "-P INPUT ACCEPT", "filter", "INPUT", None
)
SERVING = Listener("0.0.0.0", PORT, 0, 128, processes=(ProcessRef("api", 7),))


def without(host: HostEvidence, fact: Fact) -> HostEvidence:
    """`host` as if `fact`'s collector had failed: its gap recorded, its value kept (a
    rule must not read a value the gap says is not there). A firewall that could not be
    read has no verdict: a block found in another backend would still stand."""
    gaps = (*host.unavailable, (GAP[fact], "removed"))
    if fact is Fact.FIREWALL:
        return dataclasses.replace(host, firewall_effective=None, unavailable=gaps)
    return dataclasses.replace(host, unavailable=gaps)


def diagnosis(
    outcome: Outcome,
    host: HostEvidence | None,
    *,
    client: ClientEvidence | None = None,
    unit: str | None = None,
    name: str | None = None,
    address: str = ADDRESS,
    icmp: str | None = None,
    icmp_from: str | None = None,
    expected: tuple[str, ...] = (),
) -> Diagnosis:
    target = Target("srv", address, PORT, None, unit, name, expected, icmp_from)
    facts = Facts(
        address=address,
        port=PORT,
        name=name,
        host=name or address,
        unit=unit,
        icmp=icmp,
        icmp_from=icmp_from,
    )
    found = findings(outcome, target, host, client)
    d = diagnose(outcome, facts, RUNBOOK, found)
    assert d is not None
    return d


def verdicts(d: Diagnosis) -> dict[str, Verdict]:
    return {c.id: c.verdict for c in d.causes}


# -- the accessor --------------------------------------------------------------------------


def test_a_failed_batch_leaves_every_fact_unknown() -> None:
    host = HostEvidence(unavailable=(("batch", "ssh: connect to host srv port 22: timed out"),))
    seen = HostFacts(host)
    for fact in Fact:
        assert seen.state(fact) is Knowledge.UNKNOWN, fact
        assert "ssh: connect to host srv" in (seen.why(fact) or ""), fact


def test_a_batch_that_never_ran_knows_nothing() -> None:
    host = HostEvidence(ran=False, unavailable=(("batch", "ssh: Connection timed out"),))
    seen = HostFacts(host)
    assert {seen.state(f) for f in Fact} == {Knowledge.UNKNOWN}
    assert seen.why(Fact.LISTENERS) == "batch: ssh: Connection timed out"


def test_a_cut_batch_still_knows_what_it_saw() -> None:
    host = HostEvidence(listeners=(SERVING,), unavailable=(("batch", "ended early"),))
    seen = HostFacts(host)
    assert seen.state(Fact.LISTENERS) is Knowledge.PRESENT
    assert seen.state(Fact.PROCESSES) is Knowledge.UNKNOWN


def test_gathered_and_empty_is_absent() -> None:
    seen = HostFacts(HostEvidence(addresses=(ADDRESS,), firewall_effective=ACCEPT))
    assert seen.state(Fact.LISTENERS) is Knowledge.ABSENT
    assert seen.state(Fact.FIREWALL) is Knowledge.ABSENT
    assert seen.state(Fact.ADDRESSES) is Knowledge.PRESENT


def test_a_firewall_backend_that_could_not_be_read_may_hold_the_block() -> None:
    gap = ("iptables", "needs root: iptables-save: Permission denied")
    admits = HostEvidence(firewall_effective=ACCEPT, unavailable=(gap,))
    assert HostFacts(admits).state(Fact.FIREWALL) is Knowledge.UNKNOWN
    blocks = HostEvidence(firewall_effective=drop(), unavailable=(gap,))
    assert HostFacts(blocks).state(Fact.FIREWALL) is Knowledge.PRESENT
    # No iptables binary, nft read fine: nft shows every rule, iptables-nft's too.
    only_nft = HostEvidence(firewall_effective=ACCEPT, unavailable=(("iptables", "not installed"),))
    assert HostFacts(only_nft).state(Fact.FIREWALL) is Knowledge.ABSENT


def test_no_systemd_is_an_answer_not_a_gap() -> None:
    host = HostEvidence(
        init="other", unavailable=(("unit", "systemd is not PID 1 on the host: ..."),)
    )
    assert HostFacts(host).state(Fact.UNIT) is Knowledge.ABSENT


def test_loopback_addresses_belong_to_a_host_with_a_loopback() -> None:
    assert is_address_of("127.0.0.2", ("127.0.0.1", "::1", "192.0.2.2"))
    assert not is_address_of("127.0.0.2", ("192.0.2.2",))
    assert not is_address_of("10.0.0.9", ("127.0.0.1", "10.0.0.1"))
    assert is_address_of("::1", ("::1",))


# -- each rule, with each fact it reads missing ----------------------------------------------


@dataclass(frozen=True)
class RuleCase:
    """One rule's certain conclusion from complete evidence, and the facts it read."""

    id: str
    outcome: Outcome
    host: HostEvidence
    cause: str
    verdict: Verdict  # with everything gathered
    reads: tuple[Fact, ...]
    unit: str | None = None
    name: str | None = None


SYSTEMD_FAILED = HostEvidence(
    addresses=(ADDRESS,),
    init="systemd",
    unit=UnitState("api", active_state="failed", sub_state="failed", result="exit-code"),
    journal=("Dec 01 api[7]: bind: Address already in use",),
)
NO_SYSTEMD_DOWN = HostEvidence(
    addresses=(ADDRESS,),
    init="other",
    unavailable=(("unit", "systemd is not PID 1 on the host: see process ages instead"),),
)
ON_ANOTHER_PORT = dataclasses.replace(
    NO_SYSTEMD_DOWN,
    listeners=(Listener("0.0.0.0", 9090, 0, 128, processes=(ProcessRef("api", 7),)),),
    unit_processes=(ProcessAge(7, 3600, "/usr/bin/api"),),
    processes=(ProcessAge(7, 3600, "/usr/bin/api"),),
)

RULE_CASES = [
    RuleCase(
        "nothing-listens",
        Outcome.REFUSED,
        HostEvidence(addresses=(ADDRESS,)),
        "service-down",
        CONFIRMED,
        (Fact.LISTENERS,),
    ),
    RuleCase(
        "no-listener-no-queue",
        Outcome.TIMEOUT,
        HostEvidence(addresses=(ADDRESS,)),
        "backlog-full",
        RULED_OUT,
        (Fact.LISTENERS,),
    ),
    RuleCase(
        "unit-failed",
        Outcome.REFUSED,
        SYSTEMD_FAILED,
        "service-down",
        CONFIRMED,
        (Fact.LISTENERS, Fact.UNIT, Fact.PROCESSES),
        unit="api",
    ),
    RuleCase(
        "no-process-without-systemd",
        Outcome.REFUSED,
        NO_SYSTEMD_DOWN,
        "service-down",
        CONFIRMED,
        (Fact.LISTENERS, Fact.PROCESSES),
        unit="api",
    ),
    RuleCase(
        "unit-on-another-port",
        Outcome.REFUSED,
        ON_ANOTHER_PORT,
        "wrong-port-or-interface",
        CONFIRMED,
        (Fact.LISTENERS, Fact.PROCESSES, Fact.LISTENER_PROCESSES),
        unit="api",
    ),
    RuleCase(
        "unit-on-another-port-is-running",
        Outcome.REFUSED,
        ON_ANOTHER_PORT,
        "service-down",
        RULED_OUT,
        (Fact.LISTENERS, Fact.PROCESSES, Fact.LISTENER_PROCESSES),
        unit="api",
    ),
    RuleCase(
        "bound-elsewhere",
        Outcome.REFUSED,
        HostEvidence(addresses=(ADDRESS,), listeners=(Listener("127.0.0.1", PORT, 0, 128),)),
        "wrong-port-or-interface",
        CONFIRMED,
        (Fact.LISTENERS,),
    ),
    RuleCase(
        "serving",
        Outcome.TIMEOUT,
        HostEvidence(addresses=(ADDRESS,), listeners=(SERVING,)),
        "service-down",
        RULED_OUT,
        (Fact.LISTENERS,),
    ),
    RuleCase(
        "queue-full",
        Outcome.TIMEOUT,
        HostEvidence(addresses=(ADDRESS,), listeners=(Listener("0.0.0.0", PORT, 129, 128),)),
        "backlog-full",
        CONFIRMED,
        (Fact.LISTENERS,),
    ),
    RuleCase(
        "firewall-drops",
        Outcome.TIMEOUT,
        HostEvidence(addresses=(ADDRESS,), listeners=(SERVING,), firewall_effective=drop()),
        "host-firewall",
        CONFIRMED,
        (Fact.FIREWALL,),
    ),
    RuleCase(
        "firewall-admits",
        Outcome.TIMEOUT,
        HostEvidence(addresses=(ADDRESS,), listeners=(SERVING,), firewall_effective=ACCEPT),
        "host-firewall",
        RULED_OUT,
        (Fact.FIREWALL,),
    ),
    RuleCase(
        "name-leads-elsewhere",
        Outcome.REFUSED,
        HostEvidence(addresses=("10.0.2.3",)),
        "dns-wrong-host",
        CONFIRMED,
        (Fact.ADDRESSES,),
        name="api.test",
    ),
]


@pytest.mark.parametrize("case", RULE_CASES, ids=[c.id for c in RULE_CASES])
def test_each_rule_is_certain_only_with_every_fact_it_reads(case: RuleCase) -> None:
    def run(host: HostEvidence | None) -> Verdict:
        d = diagnosis(case.outcome, host, unit=case.unit, name=case.name)
        return verdicts(d)[case.cause]

    assert run(case.host) is case.verdict
    for fact in case.reads:
        assert run(without(case.host, fact)) not in (CONFIRMED, RULED_OUT), fact
    # The batch failed altogether (the ssh port drops, the session hangs): nothing is
    # known, so nothing is certain (the outcome's own weights stand).
    assert run(HostEvidence(unavailable=(("batch", "ssh: timed out"),))) is run(None)


def test_a_dropped_ssh_port_does_not_confirm_service_down(runbook: Runbook) -> None:
    """Issue 11: the batch returned nothing, and "nothing listens on port 8080" was
    printed as [confirmed] while the service was listening."""
    failed = HostEvidence(unavailable=(("batch", "ssh: connect to host srv: timed out"),))
    for outcome in (Outcome.REFUSED, Outcome.TIMEOUT):
        d = diagnosis(outcome, failed, unit="api")
        assert CONFIRMED not in verdicts(d).values()
        assert not any("(ss -ltn)" in line for c in d.causes for line in c.evidence)


def test_a_route_rule_needs_the_route_and_an_error_it_gives() -> None:
    prohibit = ClientEvidence(ADDRESS, Route(ADDRESS, RouteKind.PROHIBIT, matched="prohibit"))
    d = diagnosis(Outcome.ADMIN_PROHIBITED, None, client=prohibit)
    assert verdicts(d)["routing"] is CONFIRMED
    assert verdicts(diagnosis(Outcome.ADMIN_PROHIBITED, None))["routing"] is LIKELY
    no_route = ClientEvidence(ADDRESS, None, unavailable=(("route", "ip: not found"),))
    assert verdicts(diagnosis(Outcome.ADMIN_PROHIBITED, None, client=no_route))["routing"] is LIKELY
    # Not the error a prohibit route gives: the route changed after the probe.
    assert verdicts(diagnosis(Outcome.TIMEOUT, None, client=prohibit))["routing"] is POSSIBLE


# -- removing a fact never adds certainty (hypothesis) --------------------------------------

_PIDS = st.sampled_from([7, 8, 9])
_listener = st.builds(
    Listener,
    address=st.sampled_from([ADDRESS, "0.0.0.0", "127.0.0.1", "::", "10.9.9.9"]),
    port=st.sampled_from([PORT, 9090]),
    recv_q=st.integers(0, 3),
    send_q=st.one_of(st.none(), st.integers(0, 2)),
    processes=st.lists(st.builds(ProcessRef, st.just("api"), _PIDS), max_size=1).map(tuple),
)
_age = st.builds(ProcessAge, _PIDS, st.sampled_from([5, 500]), st.just("/usr/bin/api --serve"))
_unit = st.builds(
    UnitState,
    name=st.just("api"),
    active_state=st.sampled_from([None, "active", "failed", "inactive", "activating"]),
    sub_state=st.sampled_from([None, "running", "dead"]),
    result=st.sampled_from([None, "success", "exit-code"]),
    started_ago_s=st.sampled_from([None, 10.0, 1000.0]),
)
_verdict = st.sampled_from(
    [
        drop(),
        reject("tcp-reset"),
        reject("icmp-port-unreachable"),
        reject("icmp-host-prohibited"),
        reject("icmp-net-unreachable"),
        ACCEPT,
        FirewallVerdict(
            Backend.NFTABLES, Action.UNDECIDABLE, "meta skuid 0 drop", "inet f", "input", 2
        ),
    ]
)
_gap = st.sampled_from(
    [
        ("listeners", "ss: not found"),
        ("listener processes", "not root"),
        ("process ages", "timed out"),
        ("unit", "exit 1: Failed to connect to bus"),
        ("unit", "systemd is not PID 1 on the host: see process ages instead"),
        ("journal", "needs root"),
        ("iptables", "needs root: Permission denied"),
        ("iptables", "not installed"),
        ("nftables", "needs root"),
        ("iptables-legacy", "not installed"),
        ("host addresses", "timed out"),
        ("batch", "the output ends early: some collectors did not run"),
    ]
)
_host = st.builds(
    HostEvidence,
    listeners=st.lists(_listener, max_size=3).map(tuple),
    init=st.sampled_from([None, "systemd", "other"]),
    unit=st.one_of(st.none(), _unit),
    journal=st.lists(st.sampled_from(["boom", "bind {port}"]), max_size=2).map(tuple),
    processes=st.lists(_age, max_size=2).map(tuple),
    unit_processes=st.lists(_age, max_size=2).map(tuple),
    addresses=st.sampled_from([(), (ADDRESS,), ("10.9.9.9",), ("127.0.0.1", "::1")]),
    firewall_effective=st.one_of(st.none(), _verdict),
    unavailable=st.lists(_gap, max_size=3, unique_by=lambda g: g[0]).map(tuple),
)
_route = st.one_of(st.none(), st.builds(Route, st.just(ADDRESS), st.sampled_from(list(RouteKind))))
_connect = st.sampled_from(
    [
        Outcome.REFUSED,
        Outcome.TIMEOUT,
        Outcome.HOST_UNREACHABLE,
        Outcome.NET_UNREACHABLE,
        Outcome.ADMIN_PROHIBITED,
        Outcome.NO_ROUTE,
        Outcome.RESET,
    ]
)


@dataclass(frozen=True)
class Case:
    outcome: Outcome
    host: HostEvidence | None
    route: Route | None
    unit: str | None
    name: str | None
    expected: tuple[str, ...]
    icmp: str | None
    icmp_from: str | None

    def verdicts(self) -> dict[str, Verdict]:
        client = ClientEvidence(ADDRESS, self.route)
        return verdicts(
            diagnosis(
                self.outcome,
                self.host,
                client=client,
                unit=self.unit,
                name=self.name,
                icmp=self.icmp,
                icmp_from=self.icmp_from,
                expected=self.expected,
            )
        )

    def removals(self) -> list[tuple[str, Case]]:
        """This case with one fact less, each way a fact can go missing."""
        out = [("route", dataclasses.replace(self, route=None))]
        if self.host is not None:
            out.append(("host", dataclasses.replace(self, host=None)))
            batch = (*self.host.unavailable, ("batch", "removed"))
            out.append(
                (
                    "batch",
                    dataclasses.replace(
                        self, host=dataclasses.replace(self.host, unavailable=batch)
                    ),
                )
            )
            out += [(str(f), dataclasses.replace(self, host=without(self.host, f))) for f in Fact]
        return out


_icmp = st.sampled_from(
    [
        (None, None),
        ("port-unreachable", ADDRESS),
        ("host-prohibited", ADDRESS),
        ("host-unreachable", ADDRESS),
        ("admin-prohibited", ROUTER),
        ("host-unreachable", ROUTER),
    ]
)
_case = st.builds(
    lambda outcome, host, route, unit, named, icmp: Case(
        outcome, host, route, unit, named[0], named[1], icmp[0], icmp[1]
    ),
    _connect,
    st.one_of(st.none(), _host),
    _route,
    st.sampled_from([None, "api"]),
    st.sampled_from([(None, ()), ("api.test", ()), ("api.test", (ADDRESS,))]),
    _icmp,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case)
def test_removing_a_fact_never_makes_a_verdict_certain(case: Case) -> None:
    full = case.verdicts()
    for what, less in case.removals():
        for cause, verdict in less.verdicts().items():
            if verdict in (CONFIRMED, RULED_OUT):
                assert full[cause] is verdict, (
                    f"without {what}, {cause} became {verdict.value} (was {full[cause].value})"
                )


# -- no self-contradiction ------------------------------------------------------------------


def lines_of(d: Diagnosis, cause: str) -> Sequence[str]:
    return next(c.evidence for c in d.causes if c.id == cause)


def test_a_dropped_port_with_nothing_listening_confirms_both_firewall_first() -> None:
    """11.3 (a): service-down [confirmed] was ranked above host-firewall [confirmed]."""
    host = HostEvidence(addresses=(ADDRESS,), firewall_effective=drop())
    d = diagnosis(Outcome.TIMEOUT, host)
    top = [(c.id, c.verdict) for c in d.causes[:2]]
    assert top == [("host-firewall", CONFIRMED), ("service-down", CONFIRMED)]
    assert both_hold(d) == (
        "Two faults hold at once: host-firewall and service-down. host-firewall explains "
        "this timeout; fixing it alone will not make the check pass."
    )
    # With the service listening only the firewall is confirmed, and no "both" line.
    serving = dataclasses.replace(host, listeners=(SERVING,))
    d = diagnosis(Outcome.TIMEOUT, serving)
    assert [c.id for c in d.causes if c.verdict is CONFIRMED] == ["host-firewall"]
    assert verdicts(d)["service-down"] is RULED_OUT
    assert both_hold(d) == ""


def test_a_reject_in_front_of_a_dead_service_ranks_the_firewall_first() -> None:
    """Both hold, and both give "refused": the firewall answered before any socket."""
    host = HostEvidence(addresses=(ADDRESS,), firewall_effective=reject("tcp-reset"))
    d = diagnosis(Outcome.REFUSED, host)
    top = [(c.id, c.verdict) for c in d.causes[:2]]
    assert top == [("host-firewall", CONFIRMED), ("service-down", CONFIRMED)]
    assert both_hold(d).startswith("Two faults hold at once: host-firewall and service-down.")


@pytest.mark.parametrize("with_host", [True, False], ids=["host-evidence", "client-only"])
def test_a_reject_on_the_target_is_blamed_on_the_target(with_host: bool) -> None:
    """11.3 (b): REJECT --reject-with icmp-host-prohibited on the target itself."""
    host = HostEvidence(
        addresses=(ADDRESS,),
        listeners=(SERVING,),
        firewall_effective=reject("icmp-host-prohibited"),
    )
    d = diagnosis(
        Outcome.ADMIN_PROHIBITED,
        host if with_host else None,
        icmp="host-prohibited",
        icmp_from=ADDRESS,
    )
    assert d.top is not None
    assert d.top.id == "host-firewall"
    assert d.top.verdict is (CONFIRMED if with_host else LIKELY)
    firewall = " ".join(lines_of(d, "host-firewall"))
    assert "EPERM" not in firewall
    assert "client's own" not in firewall
    acl = " ".join(lines_of(d, "network-acl"))
    assert "on the client" not in acl
    assert f"from {ADDRESS} itself" in acl
    assert verdicts(d)["network-acl"] is POSSIBLE
    assert verdicts(d)["routing"] is RULED_OUT
    assert lines_of(d, "routing") == (
        f"the ICMP error came back from {ADDRESS} itself, so the path to it works",
    )


def test_a_refusal_on_a_local_host_does_not_blame_the_path() -> None:
    """11.3 (c): with `local://`, 127.0.0.2 is the host's (all of 127/8 is), and a
    refusal means the path works: routing is ruled out, with that reason alone."""
    host = HostEvidence(addresses=("127.0.0.1", "::1", "192.0.2.2"))
    d = diagnosis(Outcome.REFUSED, host, address="127.0.0.2")
    assert verdicts(d)["routing"] is RULED_OUT
    assert lines_of(d, "routing") == (
        "the refusal came back from the target, so the path to it works",
    )
    assert d.top is not None
    assert (d.top.id, d.top.verdict) == ("service-down", CONFIRMED)
    # An address that is not the host's, refused: another machine answered; never routing.
    elsewhere = HostEvidence(addresses=("192.0.2.2",))
    d = diagnosis(Outcome.REFUSED, elsewhere, address="10.0.2.9")
    assert verdicts(d)["routing"] is RULED_OUT
    assert d.top is not None
    assert d.top.id == "wrong-port-or-interface"


def test_reasons_agree_with_the_verdict_they_are_shown_under() -> None:
    """A ruled-out cause is never shown with its outcome's case for it, nor a raised one
    with the outcome's case against it: the lines are the ones that decided."""
    host = HostEvidence(addresses=(ADDRESS,), listeners=(SERVING,), firewall_effective=ACCEPT)
    d = diagnosis(Outcome.TIMEOUT, host)
    firewall = lines_of(d, "host-firewall")
    assert verdicts(d)["host-firewall"] is RULED_OUT
    assert firewall == (
        "srv: the firewall admits tcp/8080: iptables-nft: accept by the policy of filter "
        "INPUT: -P INPUT ACCEPT",
    )
    assert verdicts(d)["network-acl"] is LIKELY
    assert lines_of(d, "network-acl")[0].startswith("srv listens on port 8080")


def test_the_path_is_blamed_only_when_listening_and_admitting_are_both_known() -> None:
    """network-acl is raised only when the host listens and its firewall admits the SYN:
    with either fact unknown it keeps the outcome's own weight."""
    host = HostEvidence(addresses=(ADDRESS,), listeners=(SERVING,), firewall_effective=ACCEPT)
    acl = lines_of(diagnosis(Outcome.TIMEOUT, host), "network-acl")
    assert acl[0].startswith("srv listens on port 8080 and its own firewall admits it")
    baseline = lines_of(diagnosis(Outcome.TIMEOUT, None), "network-acl")
    for fact in (Fact.LISTENERS, Fact.FIREWALL):
        assert lines_of(diagnosis(Outcome.TIMEOUT, without(host, fact)), "network-acl") == (
            baseline
        ), fact


def test_a_late_start_is_read_only_from_what_was_gathered() -> None:
    """Refused, yet a young process listens now (no systemd): not-ready. Without the
    listener's owner or the process ages there is nothing to say it started late."""
    young = HostEvidence(
        addresses=(ADDRESS,),
        init="other",
        listeners=(SERVING,),
        processes=(ProcessAge(7, 5, "/usr/bin/api --serve"),),
        unavailable=(("unit", "systemd is not PID 1 on the host: see process ages instead"),),
    )
    d = diagnosis(Outcome.REFUSED, young)
    assert verdicts(d)["not-ready"] is LIKELY
    assert "started 5 s ago" in lines_of(d, "not-ready")[0]
    for fact in (Fact.LISTENERS, Fact.LISTENER_PROCESSES):
        gone = without(young, fact)
        if fact is Fact.LISTENER_PROCESSES:
            gone = dataclasses.replace(gone, listeners=(Listener("0.0.0.0", PORT, 0, 128),))
        assert verdicts(diagnosis(Outcome.REFUSED, gone))["not-ready"] is POSSIBLE, fact
