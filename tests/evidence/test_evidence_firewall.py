"""What both evaluators share: the packet, exploring rules in doubt, combining backends."""

from __future__ import annotations

import pytest

from pytest_conntriage.evidence.firewall import (
    MAX_PATHS,
    Decision,
    Packet,
    Question,
    Trail,
    decisive,
    explore,
)
from pytest_conntriage.evidence.model import Action, Backend, FirewallVerdict


def q(rule: str) -> Question:
    return Question(rule, "not evaluated", "filter", "INPUT", 1)


def end(action: Action, rule: str = "r", reject_with: str | None = None) -> Decision:
    return Decision(action, rule, "filter", "INPUT", 1, reject_with)


def test_a_walk_without_doubt_is_its_decision() -> None:
    verdict = explore(lambda trail: end(Action.DROP, "-A INPUT -j DROP"), Backend.IPTABLES_NFT)
    assert (verdict.action, verdict.rule, verdict.undecidable) == (
        Action.DROP,
        "-A INPUT -j DROP",
        (),
    )


def test_every_combination_is_walked_once() -> None:
    seen: list[tuple[bool, bool]] = []

    def walk(trail: Trail) -> Decision:
        first, second = trail.matches(q("a")), trail.matches(q("b"))
        seen.append((first, second))
        return end(Action.DROP if first and second else Action.ACCEPT)

    verdict = explore(walk, Backend.NFTABLES)
    assert sorted(seen) == [(False, False), (False, True), (True, False), (True, True)]
    assert verdict.action is Action.UNDECIDABLE
    assert set(verdict.possible) == {Action.ACCEPT, Action.DROP}


def test_doubt_that_changes_nothing_leaves_the_verdict_decided() -> None:
    def walk(trail: Trail) -> Decision:
        if trail.matches(q("-A INPUT -m recent --rcheck -j DROP")):
            return end(Action.DROP, "-A INPUT -m recent --rcheck -j DROP")
        return end(Action.DROP, "-P INPUT DROP")

    verdict = explore(walk, Backend.IPTABLES_NFT)
    assert verdict.action is Action.DROP
    assert verdict.rule == "-P INPUT DROP"  # the walk where the rule in doubt does not match
    assert verdict.undecidable == ("-A INPUT -m recent --rcheck -j DROP (not evaluated)",)


def test_a_reject_of_another_kind_is_another_outcome() -> None:
    def walk(trail: Trail) -> Decision:
        kind = "tcp-reset" if trail.matches(q("x")) else "icmp-port-unreachable"
        return end(Action.REJECT, reject_with=kind)

    assert explore(walk, Backend.IPTABLES_NFT).action is Action.UNDECIDABLE


def test_multiway_choices() -> None:
    outcomes = (Action.ACCEPT, Action.DROP, Action.REJECT)

    def walk(trail: Trail) -> Decision:
        return end(outcomes[trail.choose(q("vmap"), 3)])

    verdict = explore(walk, Backend.NFTABLES)
    assert set(verdict.possible) == set(outcomes)


def test_exploration_is_bounded() -> None:
    def walk(trail: Trail) -> Decision:
        answers = [trail.matches(q(f"r{i}")) for i in range(12)]
        return end(Action.DROP if all(answers) else Action.ACCEPT)

    verdict = explore(walk, Backend.NFTABLES)
    assert verdict.action is Action.UNDECIDABLE
    assert verdict.undecidable[-1] == f"more than {MAX_PATHS} combinations of undecidable rules"


def verdict(
    backend: Backend, action: Action, hook: str = "input", priority: int = 0
) -> FirewallVerdict:
    return FirewallVerdict(
        backend, action, f"{backend} {action}", "t", "c", 1, hook=hook, priority=priority
    )


def test_the_first_backend_that_does_not_accept_decides() -> None:
    legacy = verdict(Backend.IPTABLES_LEGACY, Action.DROP, priority=0)
    nft = verdict(Backend.NFTABLES, Action.REJECT, priority=-10)
    accept = verdict(Backend.IPTABLES_NFT, Action.ACCEPT)
    assert decisive((accept, legacy, nft)) is nft
    early = verdict(Backend.NFTABLES, Action.DROP, hook="prerouting", priority=100)
    assert decisive((legacy, early)) is early
    assert decisive((accept,)) is accept
    assert decisive(()) is None


def test_all_accept_shows_the_loaded_one() -> None:
    empty = FirewallVerdict(Backend.IPTABLES_NFT, Action.ACCEPT, "", "", "", None, loaded=False)
    loaded = verdict(Backend.NFTABLES, Action.ACCEPT)
    assert decisive((empty, loaded)) is loaded


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_a_packet_needs_a_port(port: int) -> None:
    with pytest.raises(ValueError, match="not a TCP port"):
        Packet(port, None, None)


def test_packet_addresses() -> None:
    assert Packet(80, "10.0.0.1", "not an address").destination_ip is None
    assert Packet(80, None, "2001:db8::1").version == 6
    assert Packet(80, "10.0.0.1", None).version == 4
    assert Packet(80, None, None).from_loopback is None
    assert Packet(80, "127.0.0.1", "10.0.0.1").from_loopback
    assert Packet(80, "10.0.0.1", "10.0.0.1").from_loopback  # its own address: via lo
    assert not Packet(80, "10.0.0.2", "10.0.0.1").from_loopback
