"""Findings from the check's own facts: what the failed check itself says about a cause."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..outcome import Outcome
from .model import Facts, template
from .rank import Finding

Applies = Callable[[Outcome, Facts], bool]


@dataclass(frozen=True)
class Rule:
    """When `applies(outcome, facts)`, the cause `cause` gets `score`; `evidence` says why."""

    name: str
    cause: str
    score: int
    evidence: str  # prose template, filled with the facts like the runbook's own lines
    applies: Applies


def findings_from_facts(
    rules: Iterable[Rule], outcome: Outcome, facts: Facts
) -> tuple[Finding, ...]:
    """The findings of every rule that applies, in rule order."""
    return tuple(
        Finding(rule.cause, rule.score, template(rule.evidence))
        for rule in rules
        if rule.applies(outcome, facts)
    )


def _connects_to_an_address(outcome: Outcome, facts: Facts) -> bool:
    # The inventory gave an IP literal: nothing was looked up, so DNS cannot have sent
    # the connection astray, whatever the outcome's weight for stale records says.
    return not outcome.is_dns and facts.name is None and facts.address is not None


def _icmp(kind_suffix: str, *, from_target: bool | None) -> Applies:
    """The connect ended with an ICMP error of that kind, sent by the target or not."""

    def applies(outcome: Outcome, facts: Facts) -> bool:
        if facts.icmp is None or not facts.icmp.endswith(kind_suffix):
            return False
        if from_target is None:
            return True
        return (facts.icmp_from == facts.address) is from_target

    return applies


def _icmp_from_target_except(*suffixes: str) -> Applies:
    """An ICMP error of any other kind than `suffixes`, sent by the target itself."""

    def applies(outcome: Outcome, facts: Facts) -> bool:
        if facts.icmp is None or facts.icmp.endswith(suffixes):
            return False
        return facts.icmp_from == facts.address

    return applies


def _prohibited_locally(outcome: Outcome, facts: Facts) -> bool:
    # EACCES/EPERM with no ICMP message: the client's own kernel refused to send, from a
    # `prohibit` route or its own firewall's OUTPUT chain. Nothing on the network did.
    return outcome is Outcome.ADMIN_PROHIBITED and facts.icmp is None


def _dropped_while_idle(outcome: Outcome, facts: Facts) -> bool:
    return facts.idle is not None and outcome in (Outcome.TIMEOUT, Outcome.RESET)


FACT_RULES: tuple[Rule, ...] = (
    Rule(
        name="no-lookup-for-an-address",
        cause="dns-wrong-host",
        score=0,
        evidence="the check connects to the address {address} itself: no DNS lookup was involved",
        applies=_connects_to_an_address,
    ),
    # A closed port answers a SYN with a TCP reset; an ICMP port-unreachable in its place
    # is what a firewall's REJECT rule sends.
    *(
        Rule(
            name=f"icmp-port-unreachable-from-target/{cause}",
            cause=cause,
            score=score,
            evidence="{address} answered with {icmp} from {icmp_from}, not a TCP reset: " + why,
            applies=_icmp("port-unreachable", from_target=True),
        )
        for cause, score, why in (
            ("host-firewall", 90, "a REJECT rule in its own firewall refused the connection"),
            ("service-down", 20, "the firewall answered before the service could"),
            ("wrong-port-or-interface", 20, "the firewall answered before the service could"),
        )
    ),
    Rule(
        name="icmp-port-unreachable-from-router",
        cause="network-acl",
        score=90,
        evidence="{icmp_from}, not {address}, answered with {icmp}: a filter on the way "
        "rejects the port",
        applies=_icmp("port-unreachable", from_target=False),
    ),
    Rule(
        name="icmp-prohibited-from-router",
        cause="network-acl",
        score=95,
        evidence="the router {icmp_from} answered with {icmp}: a filter on the network path "
        "(ACL, security group, firewall) rejects the connection",
        applies=_icmp("prohibited", from_target=False),
    ),
    Rule(
        name="icmp-prohibited-from-target",
        cause="host-firewall",
        score=95,
        evidence="{address} itself answered with {icmp}: its host firewall rejects the connection",
        applies=_icmp("prohibited", from_target=True),
    ),
    # A host does not call itself unreachable: from the target, these are a REJECT rule's.
    Rule(
        name="icmp-unreachable-from-target",
        cause="host-firewall",
        score=90,
        evidence="{address} itself answered with {icmp}: a REJECT rule in its own firewall "
        "sends that",
        applies=_icmp_from_target_except("port-unreachable", "prohibited"),
    ),
    # Whatever the kind, an ICMP error sent by the target itself means the SYN got there:
    # the path works, and no filter on the way stopped it.
    Rule(
        name="icmp-from-target/routing",
        cause="routing",
        score=0,
        evidence="the ICMP error came back from {address} itself, so the path to it works",
        applies=_icmp("", from_target=True),
    ),
    Rule(
        name="icmp-from-target/network-acl",
        cause="network-acl",
        score=10,
        evidence="the ICMP error came from {address} itself, not from a router or firewall "
        "on the way",
        applies=_icmp("", from_target=True),
    ),
    *(
        Rule(
            name=f"prohibited-on-the-client/{cause}",
            cause=cause,
            score=score,
            evidence=evidence,
            applies=_prohibited_locally,
        )
        for cause, score, evidence in (
            (
                "routing",
                90,
                "connect() failed on the client itself with no ICMP message: a `prohibit` "
                "route or the client's own firewall (OUTPUT chain) refuses traffic to "
                "{address}; see `ip route get {address}`",
            ),
            ("network-acl", 20, "nothing on the network answered: the refusal is local"),
        )
    ),
    # An idle check's connection was established and then died while idle: everything
    # that would have stopped the handshake is ruled out by the handshake itself.
    Rule(
        name="dropped-while-idle",
        cause="idle-drop",
        score=100,
        evidence="the connection to {address}:{port} was established, then died after "
        "{idle} idle: a device on the path (NAT, stateful firewall, load balancer) forgot "
        "it, or the service closes idle connections",
        applies=_dropped_while_idle,
    ),
    *(
        Rule(
            name=f"dropped-while-idle/{cause}",
            cause=cause,
            score=0,
            evidence="the handshake with {address}:{port} completed before the idle period",
            applies=_dropped_while_idle,
        )
        for cause in (
            "service-down",
            "wrong-port-or-interface",
            "host-firewall",
            "network-acl",
            "dns-wrong-host",
            "routing",
            "backlog-full",
            "not-ready",
        )
    ),
)
