"""Conditions on a failed check's own facts that several cause modules read, each
deciding its own causes from them (triage/causes/)."""

from __future__ import annotations

from ..outcome import Outcome
from .model import Facts
from .rules import Applies, Rule


def connects_to_an_address(outcome: Outcome, facts: Facts) -> bool:
    """The inventory gave an IP literal: nothing was looked up."""
    return not outcome.is_dns and facts.name is None and facts.address is not None


def icmp(kind_suffix: str, *, from_target: bool | None) -> Applies:
    """The connect ended with an ICMP error of that kind, sent by the target or not."""

    def applies(outcome: Outcome, facts: Facts) -> bool:
        if facts.icmp is None or not facts.icmp.endswith(kind_suffix):
            return False
        if from_target is None:
            return True
        return (facts.icmp_from == facts.address) is from_target

    return applies


def icmp_from_target_except(*suffixes: str) -> Applies:
    """An ICMP error of any other kind than `suffixes`, sent by the target itself."""

    def applies(outcome: Outcome, facts: Facts) -> bool:
        if facts.icmp is None or facts.icmp.endswith(suffixes):
            return False
        return facts.icmp_from == facts.address

    return applies


def prohibited_locally(outcome: Outcome, facts: Facts) -> bool:
    """EACCES/EPERM with no ICMP message: the client's own kernel refused to send, from
    a `prohibit` route or its own firewall's OUTPUT chain. Nothing on the network did."""
    return outcome is Outcome.ADMIN_PROHIBITED and facts.icmp is None


def dropped_while_idle(outcome: Outcome, facts: Facts) -> bool:
    """An idle check's connection was established, then died while idle: whatever would
    have stopped the handshake is ruled out by the handshake itself."""
    return facts.idle is not None and outcome in (Outcome.TIMEOUT, Outcome.RESET)


def ruled_out_by_idle_drop(cause: str) -> Rule:
    """The rule by which an idle drop rules out `cause`, one that stops a handshake."""
    return Rule(
        name=f"dropped-while-idle/{cause}",
        cause=cause,
        score=0,
        evidence="the handshake with {address}:{port} completed before the idle period",
        applies=dropped_while_idle,
    )
