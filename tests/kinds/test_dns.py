"""The dns kind's mismatch decision, from hand-made answers (kinds.dns.answers_fit)."""

from __future__ import annotations

import pytest

from pytest_conntriage.inventory.model import DnsMatch, DnsSpec, Resolver
from pytest_conntriage.kinds.dns import answers_fit
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.result import Attempt

from .hostmade import lookup


def answered(*addresses: str, outcome: Outcome = Outcome.RESOLVED) -> Attempt:
    return Attempt(outcome, 1.5, "127.0.0.1", answers=tuple(sorted(addresses)))


EXACT, SUBSET = DnsMatch.EXACT, DnsMatch.CONTAINS
CASES = [
    pytest.param(
        (), EXACT, answered("10.0.0.2"), Outcome.RESOLVED, "",
        id="nothing expected: any answer resolves",
    ),
    pytest.param(
        ("10.0.0.2",), EXACT, answered("10.0.0.2"), Outcome.RESOLVED, "",
        id="exactly the expected address",
    ),
    pytest.param(
        ("10.0.0.2", "10.0.0.3"), EXACT, answered("10.0.0.3", "10.0.0.2"), Outcome.RESOLVED, "",
        id="the expected addresses in another order",
    ),
    pytest.param(
        ("10.0.0.2",), EXACT, answered("10.0.0.9"), Outcome.DNS_MISMATCH,
        "expected [10.0.0.2] (exact), got [10.0.0.9] — missing: 10.0.0.2; unexpected: 10.0.0.9",
        id="a stale record is a mismatch naming what is missing and what is extra",
    ),
    pytest.param(
        ("10.0.0.2",), EXACT, answered("10.0.0.2", "10.0.0.9"), Outcome.DNS_MISMATCH,
        "expected [10.0.0.2] (exact), got [10.0.0.2, 10.0.0.9] — missing: none;"
        " unexpected: 10.0.0.9",
        id="an extra address breaks an exact match",
    ),
    pytest.param(
        ("10.0.0.2",), SUBSET, answered("10.0.0.2", "10.0.0.9"), Outcome.RESOLVED, "",
        id="an extra address is fine when the expected ones need only be among them",
    ),
    pytest.param(
        ("10.0.0.2", "10.0.0.3"), SUBSET, answered("10.0.0.2"), Outcome.DNS_MISMATCH,
        "expected [10.0.0.2, 10.0.0.3] (contains), got [10.0.0.2] — missing: 10.0.0.3;"
        " unexpected: none",
        id="a missing address breaks a subset match too",
    ),
    pytest.param(
        ("10.0.0.2",), EXACT, answered(outcome=Outcome.DNS_NXDOMAIN), Outcome.DNS_NXDOMAIN, "",
        id="a lookup that failed stays its own failure, not a mismatch",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("expect", "match", "attempt", "outcome", "detail"), CASES)
def test_answers_are_held_against_what_the_inventory_expects(
    expect: tuple[str, ...], match: DnsMatch, attempt: Attempt, outcome: Outcome, detail: str
) -> None:
    seen = answers_fit(DnsSpec(expect, (), match), attempt)
    assert (seen.outcome, seen.detail) == (outcome, detail)
    assert (seen.answers, seen.address, seen.elapsed_ms) == (
        attempt.answers, attempt.address, attempt.elapsed_ms,
    )  # fmt: skip


def test_a_dns_check_is_named_and_described_by_its_resolver() -> None:
    by_system = lookup(DnsSpec())
    by_one = lookup(DnsSpec(), Resolver("127.0.0.1", 5353))
    assert (by_system.id, by_one.id) == ("api:api.test@system", "api:api.test@127.0.0.1:5353")
    assert by_one.kind.describe(by_one) == "dns api.test via resolver 127.0.0.1:5353, service api"
    failed = Attempt(Outcome.DNS_NXDOMAIN, 2.25, "127.0.0.1", detail="rcode NXDOMAIN")
    assert by_one.kind.explain(by_one, failed) == (
        "api.test: " + Outcome.DNS_NXDOMAIN.describes + " at 127.0.0.1 after 2.2 ms"
        " — rcode NXDOMAIN"
    )
    assert by_one.kind.properties(by_one, failed) == [("address", "api.test"), ("port", "")]
    assert by_one.kind.facts(by_one, failed).resolver == "127.0.0.1:5353"
