"""Names are resolved when their checks run, by each resolver apart: a name with several
addresses is one check that tries each, and a failure names the resolver that gave the
failing address. Every name here is answered by a DNS server the test starts on
loopback, or by /etc/hosts (`localhost`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_conntriage.demo.dnsserver import LoopbackDnsServer
from pytest_conntriage.demo.listeners import OpenListener
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.result import Attempt
from pytest_conntriage.report.properties import junit_properties as read_junit_properties
from pytest_conntriage.resolution import Resolution, disagreement, may_ask_system


@pytest.fixture
def listener() -> Iterator[OpenListener]:
    """Open on 127.0.0.2 only: the same port on 127.0.0.3 or 127.0.0.9 refuses."""
    with OpenListener("127.0.0.2") as server:
        yield server


def junit_properties(path: Path) -> dict[str, dict[str, str]]:
    """Testcase name → its conntriage properties, "conntriage." prefix kept."""
    by_testcase = read_junit_properties(ET.parse(path).getroot())
    return {
        key.partition("::")[2]: {f"conntriage.{k}": v for k, v in props.items()}
        for key, props in by_testcase.items()
    }


def run(pytester: pytest.Pytester, text: str, *args: str) -> pytest.RunResult:
    (pytester.path / "inventory.yml").write_text(text)
    return pytester.runpytest_inprocess("--inventory", "inventory.yml", *args)


def test_a_name_with_several_addresses_is_one_check_that_tries_each(
    pytester: pytest.Pytester, listener: OpenListener
) -> None:
    port = listener.port
    both = ["127.0.0.2", "127.0.0.3"]
    # Two names for the same two addresses: the inventory may not ask one endpoint to
    # be both reachable and closed.
    with LoopbackDnsServer(records={"two.test": both, "also-two.test": both}) as dns:
        text = (
            f"version: 1\ndefaults:\n  timeout: 500ms\n  resolvers: ['{dns.where}']\n"
            f"services:\n  two:\n    address: two.test\n    ports: [{port}]\n"
            f"closed:\n  - address: also-two.test\n    ports: [{port}]\n"
        )
        junit = pytester.path / "junit.xml"
        result = run(pytester, text, f"--junitxml={junit}")
    # dns passes; tcp fails on 127.0.0.3; closed fails because 127.0.0.2 accepts.
    result.assert_outcomes(passed=1, failed=2)
    props = junit_properties(junit)
    tcp = props[f"test_tcp[two:local->two.test:{port}]"]
    assert tcp["conntriage.outcome"] == "refused"
    assert tcp["conntriage.address"] == "127.0.0.3"
    assert tcp["conntriage.addresses"] == "127.0.0.2=open,127.0.0.3=refused"
    assert tcp["conntriage.resolved_by"] == dns.where
    closed = props[f"test_closed[local->also-two.test:{port}]"]
    assert closed["conntriage.outcome"] == "open"
    assert closed["conntriage.address"] == "127.0.0.2"
    assert closed["conntriage.addresses"] == "127.0.0.2=open,127.0.0.3=refused"
    result.stdout.fnmatch_lines(
        [
            f"  outcome: refused — connection refused by 127.0.0.3:{port} after * (ECONNREFUSED)"
            f" — 127.0.0.3 from resolver {dns.where}",
            f"  addresses of two.test: 127.0.0.2 open (resolver {dns.where}); "
            f"127.0.0.3 refused (resolver {dns.where})",
        ]
    )


def test_the_resolver_with_the_stale_answer_is_named_and_dug(
    pytester: pytest.Pytester, listener: OpenListener
) -> None:
    port = listener.port
    with (
        LoopbackDnsServer(records={"svc.test": ["127.0.0.2"]}) as good,
        LoopbackDnsServer(records={"svc.test": ["127.0.0.9"]}) as stale,
    ):
        text = (
            "version: 1\ndefaults:\n  timeout: 500ms\n"
            f"  resolvers: ['{good.where}', '{stale.where}']\n"
            f"services:\n  svc:\n    address: svc.test\n    ports: [{port}]\n"
        )
        junit = pytester.path / "junit.xml"
        result = run(pytester, text, f"--junitxml={junit}", "-k", "tcp")
    result.assert_outcomes(failed=1)
    props = junit_properties(junit)[f"test_tcp[svc:local->svc.test:{port}]"]
    assert props["conntriage.resolved_by"] == stale.where
    assert props["conntriage.top_cause"] == "dns-wrong-host"
    result.stdout.fnmatch_lines(
        [
            f"  outcome: refused — connection refused by 127.0.0.9:{port} * — 127.0.0.9 from "
            f"resolver {stale.where}",
            f"  addresses of svc.test: 127.0.0.2 open (resolver {good.where}); "
            f"127.0.0.9 refused (resolver {stale.where})",
            "  1. [[]likely[]] DNS leads to a wrong or non-existent host (dns-wrong-host)",
            f"*the resolvers disagree on svc.test: resolver {stale.where} gave 127.0.0.9 (refused),"
            " while 127.0.0.2 accepted*",
        ]
    )
    # What each resolver answers now; the system resolver is not asked about a .test name.
    result.stdout.fnmatch_lines(
        [
            "DNS answers now for svc.test:",
            f"  resolver {good.where}: 127.0.0.2",
            f"  resolver {stale.where}: 127.0.0.9  ← gave 127.0.0.9",
            "",
        ]
    )
    # The dig to run asks the resolver that gave the bad answer.
    out = result.stdout.str()
    good_port = good.where.split(":")[1]
    stale_address, stale_port = stale.where.split(":")
    assert f"dig @{stale_address} -p {stale_port} svc.test" in out
    # By hand, the address that failed: the name could pick the one that works.
    assert f"$ nc -zv 127.0.0.9 {port}" in out
    assert f"-p {good_port} svc.test" not in out
    assert "the system resolver" not in out


def test_the_system_resolver_answer_is_shown_beside_the_inventorys(
    pytester: pytest.Pytester, listener: OpenListener
) -> None:
    # `localhost` is answered by /etc/hosts: the system resolver is asked for real.
    with LoopbackDnsServer(records={"localhost": ["127.0.0.9"]}) as dns:
        text = (
            f"version: 1\ndefaults:\n  timeout: 500ms\n  resolvers: ['{dns.where}']\n"
            f"services:\n  svc:\n    address: localhost\n    ports: [{listener.port}]\n"
        )
        result = run(pytester, text, "-k", "tcp")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "DNS answers now for localhost:",
            f"  resolver {dns.where}: 127.0.0.9  ← gave 127.0.0.9",
            "  the system resolver: *127.0.0.1*",
        ]
    )


def test_collecting_asks_no_resolver(pytester: pytest.Pytester) -> None:
    """The same ids with the resolver answering and with it gone."""
    with LoopbackDnsServer(records={"svc.test": ["127.0.0.2"]}) as dns:
        text = (
            f"version: 1\ndefaults:\n  resolvers: ['{dns.where}']\nservices:\n"
            "  svc:\n    address: svc.test\n    ports: [443]\n    host: web\n"
            "hosts:\n  web:\n    connection: local://\n"
            "closed:\n  - address: svc.test\n    ports: [22]\n"
        )
        answering = run(pytester, text, "--collect-only", "-q")
    down = run(pytester, text, "--collect-only", "-q")
    ids = [line for line in answering.outlines if "::" in line]
    assert ids == [line for line in down.outlines if "::" in line]
    assert ids == [
        "inventory.yml::test_dns[svc:svc.test@" + dns.where + "]",
        "inventory.yml::test_tcp[svc:local->svc.test:443]",
        "inventory.yml::test_closed[local->svc.test:22]",
        "inventory.yml::test_listening[svc@web:443]",
        "inventory.yml::test_firewall[svc@web:443]",
    ]


# -- the pure part: resolution.py ----------------------------------------------------


def _answer(resolver: str, *addresses: str) -> Attempt:
    if not addresses:
        return Attempt(Outcome.DNS_NXDOMAIN, 1.0, resolver)
    return Attempt(Outcome.RESOLVED, 1.0, resolver, answers=addresses)


def test_a_resolution_keeps_who_gave_which_address() -> None:
    both = Resolution(
        "svc.test",
        (_answer("10.0.0.53", "10.0.0.2"), _answer("10.0.0.54", "10.0.0.2", "10.0.0.9")),
    )
    assert both.addresses == ("10.0.0.2", "10.0.0.9")
    assert both.sources("10.0.0.2") == ("10.0.0.53", "10.0.0.54")
    assert both.sources("10.0.0.9") == ("10.0.0.54",)
    assert both.disagree
    assert both.lines("10.0.0.9") == [
        "resolver 10.0.0.53: 10.0.0.2",
        "resolver 10.0.0.54: 10.0.0.2, 10.0.0.9  ← gave 10.0.0.9",
    ]
    none = Resolution("gone.test", (_answer("10.0.0.53"), _answer("system")))
    assert none.addresses == ()
    assert none.failure.outcome is Outcome.DNS_NXDOMAIN
    assert not none.disagree
    assert none.lines() == ["resolver 10.0.0.53: dns-nxdomain", "the system resolver: dns-nxdomain"]


def test_disagreement_pins_only_the_resolvers_that_gave_nothing_but_failing_addresses() -> None:
    good = Attempt(Outcome.OPEN, 1.0, "10.0.0.2", 80, via=("10.0.0.53",))
    stale = Attempt(Outcome.REFUSED, 1.0, "10.0.0.9", 80, via=("10.0.0.54",))
    line = disagreement("svc.test", (good, stale), wanted_open=True)
    # Names and addresses are data, never a template to fill: a plain str.
    assert isinstance(line, str)
    assert "resolver 10.0.0.54 gave 10.0.0.9 (refused)" in line
    # Both resolvers gave the refusing address: nothing to tell them apart by.
    shared = Attempt(Outcome.REFUSED, 1.0, "10.0.0.9", 80, via=("10.0.0.53", "10.0.0.54"))
    good_both = Attempt(Outcome.OPEN, 1.0, "10.0.0.2", 80, via=("10.0.0.53", "10.0.0.54"))
    assert disagreement("svc.test", (good_both, shared), wanted_open=True) is None
    # Every address fails: no answer is the better one.
    assert disagreement("svc.test", (stale,), wanted_open=True) is None
    # An exposure check (closed) is not about a stale record.
    assert disagreement("svc.test", (good, stale), wanted_open=False) is None


@pytest.mark.parametrize(
    ("name", "asked"),
    [
        ("svc.test", False),
        ("a.b.example", False),
        ("x.invalid.", False),
        ("SVC.TEST", False),
        ("localhost", True),
        ("api.example.com", True),
    ],
)
def test_reserved_names_are_never_sent_to_the_system_resolver(name: str, asked: bool) -> None:
    assert may_ask_system(name) is asked
