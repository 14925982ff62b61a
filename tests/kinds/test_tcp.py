"""The tcp kind's pure parts, from hand-made attempts: what passes, which resolver a
failure's fix asks, whom to ask again, and the words of an outcome."""

from __future__ import annotations

import errno

import pytest

from pytest_conntriage.inventory.model import Resolver
from pytest_conntriage.kinds.tcp import asking_resolvers, given_by
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.icmp import IcmpError
from pytest_conntriage.probe.result import Attempt

from .hostmade import TCP, handshake

NS1, NS2 = Resolver("10.0.0.53"), Resolver("10.0.0.54", 5353)


def at(outcome: Outcome, code: int | None = None, **fields: object) -> Attempt:
    return Attempt(outcome, 0.25, "127.0.0.2", 8080, code, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcome", "passes"),
    [
        pytest.param(Outcome.OPEN, True, id="a completed handshake passes"),
        pytest.param(Outcome.REFUSED, False, id="refused fails"),
        pytest.param(Outcome.TIMEOUT, False, id="no answer fails"),
        pytest.param(Outcome.PROBE_ERROR, False, id="a probe that could not run fails"),
        pytest.param(Outcome.DNS_NXDOMAIN, False, id="a name that does not resolve fails"),
    ],
)
def test_only_an_open_port_passes(outcome: Outcome, passes: bool) -> None:
    assert TCP.kind.judge(TCP, at(outcome)) is passes


@pytest.mark.parametrize(
    ("resolvers", "via", "expected"),
    [
        pytest.param((NS1, NS2), ("10.0.0.54:5353",), "10.0.0.54:5353",
                     id="the resolver whose answer held the failing address"),
        pytest.param((NS1,), ("system",), None,
                     id="the system resolver's answer: plain dig"),
        pytest.param((NS1, NS2), (), "10.0.0.53",
                     id="nothing resolved: the first resolver the inventory names"),
        pytest.param((), (), None, id="no resolver named and none asked"),
    ],
)  # fmt: skip
def test_the_fix_asks_the_resolver_that_gave_the_failing_address(
    resolvers: tuple[Resolver, ...], via: tuple[str, ...], expected: str | None
) -> None:
    check = handshake(target="api.test", resolvers=resolvers)
    assert given_by(check, at(Outcome.REFUSED, via=via)) == expected


@pytest.mark.parametrize(
    ("target", "resolvers", "asked"),
    [
        pytest.param("127.0.0.2", (NS1,), (), id="an address: nobody to ask"),
        pytest.param("api.test", (), (), id="the system resolver alone: nothing to compare"),
        pytest.param("api.example.com", (NS1, NS2), (NS1, NS2, None),
                     id="the inventory's resolvers, and the system's beside them"),
        pytest.param("api.example.com", (NS1,), (NS1, None),
                     id="one named resolver and the system's"),
        pytest.param("api.test", (NS1, NS2), (NS1, NS2),
                     id="a reserved name never goes to the system resolver"),
        pytest.param("api.test", (NS1,), (), id="a reserved name and one resolver: one answer"),
    ],
)  # fmt: skip
def test_whom_to_ask_again_about_a_failed_name(
    target: str, resolvers: tuple[Resolver, ...], asked: tuple[Resolver | None, ...]
) -> None:
    assert asking_resolvers(handshake(target=target, resolvers=resolvers)) == asked


ROUTER = IcmpError("admin-prohibited", "10.0.1.1", 3, 13)


@pytest.mark.parametrize(
    ("attempt", "line"),
    [
        pytest.param(at(Outcome.REFUSED, errno.ECONNREFUSED),
                     "connection refused by 127.0.0.2:8080 after 0.2 ms (ECONNREFUSED)",
                     id="refused"),
        pytest.param(at(Outcome.TIMEOUT, errno.ETIMEDOUT),
                     "no answer from 127.0.0.2:8080 within 2 s (ETIMEDOUT)", id="timeout"),
        pytest.param(at(Outcome.PROBE_ERROR, errno.EMFILE, detail="no socket: Too many"),
                     "the probe to 127.0.0.2:8080 could not run: no socket: Too many (EMFILE)",
                     id="a probe that could not run says why"),
        pytest.param(at(Outcome.ADMIN_PROHIBITED, errno.EHOSTUNREACH, icmp=ROUTER),
                     f"{Outcome.ADMIN_PROHIBITED.describes} for 127.0.0.2:8080 after 0.2 ms"
                     " (EHOSTUNREACH)",
                     id="any other outcome in its own words"),
    ],
)  # fmt: skip
def test_what_a_failed_handshake_says(attempt: Attempt, line: str) -> None:
    assert TCP.kind.explain(TCP, attempt) == line


def test_a_router_that_prohibits_fills_the_icmp_values() -> None:
    facts = TCP.kind.facts(TCP, at(Outcome.ADMIN_PROHIBITED, errno.EHOSTUNREACH, icmp=ROUTER))
    assert (facts.address, facts.port, facts.icmp, facts.icmp_from, facts.idle) == (
        "127.0.0.2", 8080, "admin-prohibited", "10.0.1.1", None,
    )  # fmt: skip


def test_a_tcp_check_is_compared_across_vantages_and_named_by_its_service() -> None:
    assert TCP.id == "api:local->127.0.0.2:8080"
    assert TCP.kind.describe(TCP) == "tcp local -> 127.0.0.2:8080, service api"
    assert TCP.kind.endpoint(TCP) is not None
    v6 = handshake(target="2001:db8::2")
    assert v6.id == "api:local->[2001:db8::2]:8080"
