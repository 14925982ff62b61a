"""The DNS probe against a real DNS server on loopback: every DNS outcome."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_conntriage.demo.dnsserver import Behaviour, LoopbackDnsServer
from pytest_conntriage.demo.listeners import closed_port
from pytest_conntriage.inventory.model import Resolver
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.dns import _ask_configured, ask_resolver, resolve_system
from pytest_conntriage.probe.result import Attempt


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackDnsServer]:
    with LoopbackDnsServer(
        "127.0.0.1",
        records={
            "api.test": ["127.0.0.2"],
            "dual.test": ["127.0.0.2", "::1"],
            "many.test": ["127.0.0.9", "127.0.0.5", "127.0.0.7"],
        },
        behaviours={
            "broken.test": Behaviour.SERVFAIL,
            "refused.test": Behaviour.REFUSED,
            "silent.test": Behaviour.DROP,
            "empty.test": Behaviour.NODATA,
        },
    ) as running:
        yield running


def ask(server: LoopbackDnsServer, name: str, timeout: float = 0.5) -> Attempt:
    return asyncio.run(ask_resolver(name, Resolver("127.0.0.1", server.port), timeout))


def test_resolves_a_record(server: LoopbackDnsServer) -> None:
    attempt = ask(server, "api.test")
    assert attempt.outcome is Outcome.RESOLVED
    assert attempt.answers == ("127.0.0.2",)
    assert attempt.address == f"127.0.0.1:{server.port}"


def test_a_and_aaaa_are_both_asked_and_sorted(server: LoopbackDnsServer) -> None:
    assert ask(server, "dual.test").answers == ("127.0.0.2", "::1")
    assert ask(server, "many.test").answers == ("127.0.0.5", "127.0.0.7", "127.0.0.9")


@pytest.mark.parametrize(
    ("name", "outcome", "detail"),
    [
        ("missing.test", Outcome.DNS_NXDOMAIN, "rcode NXDOMAIN"),
        ("broken.test", Outcome.DNS_SERVFAIL, "rcode SERVFAIL"),
        ("refused.test", Outcome.DNS_REFUSED, "rcode REFUSED"),
        ("empty.test", Outcome.DNS_NODATA, "NOERROR with no"),
        ("silent.test", Outcome.DNS_TIMEOUT, "no answer to"),
    ],
)
def test_failures_are_classified(
    server: LoopbackDnsServer, name: str, outcome: Outcome, detail: str
) -> None:
    attempt = ask(server, name, timeout=0.3)
    assert attempt.outcome is outcome
    assert detail in attempt.detail
    assert attempt.answers == ()


def test_resolver_with_nothing_listening_is_a_timeout() -> None:
    # Over UDP a closed port looks like silence: ICMP errors do not reach the socket.
    port = closed_port("127.0.0.1")
    attempt = asyncio.run(ask_resolver("api.test", Resolver("127.0.0.1", port), 0.3))
    assert attempt.outcome is Outcome.DNS_TIMEOUT


def test_system_resolution_uses_etc_hosts() -> None:
    attempt = asyncio.run(resolve_system("localhost", 2.0))
    assert attempt.outcome is Outcome.RESOLVED
    assert "127.0.0.1" in attempt.answers
    assert attempt.address == "system"


@pytest.mark.skipif(os.geteuid() != 0, reason="binds a DNS server to port 53 (needs root)")
def test_configured_nameserver_gives_the_rcode(tmp_path: Path) -> None:
    # When getaddrinfo fails, the nameservers of resolv.conf are asked for the rcode.
    # The machine's own resolver must not be queried in tests, so this asks the
    # fallback directly with a resolv.conf naming a loopback server on port 53
    # (resolv.conf has no way to name another port).
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.77\n")
    with LoopbackDnsServer("127.0.0.77", port=53, behaviours={"broken.test": Behaviour.SERVFAIL}):
        missing = asyncio.run(_ask_configured("missing.test", 0.5, str(conf)))
        broken = asyncio.run(_ask_configured("broken.test", 0.5, str(conf)))
    assert missing is not None
    assert missing.outcome is Outcome.DNS_NXDOMAIN
    assert broken is not None
    assert broken.outcome is Outcome.DNS_SERVFAIL


def test_no_configured_nameserver_gives_nothing_to_ask(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("# no nameserver lines\n")
    assert asyncio.run(_ask_configured("missing.test", 0.5, str(conf))) is None
