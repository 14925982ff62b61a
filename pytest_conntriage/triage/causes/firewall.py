"""host-firewall: the target host's own firewall drops or rejects the connection."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from ...evidence.model import Action
from ...evidence.path import PathTrace
from ...outcome import Outcome
from ..checked import icmp, icmp_from_target_except, ruled_out_by_idle_drop
from ..known import Fact, Knowledge
from ..model import CONFIRMED
from ..path import trace_end
from ..rank import Finding
from ..rules import CauseRules, Rule, from_rules
from ..seen import CONNECT_OUTCOMES, Seen

HOST_FIREWALL = "host-firewall"

# A blackhole route fails the connect on the client (EINVAL): no firewall is involved.
_FIREWALL_OUTCOMES = CONNECT_OUTCOMES - {Outcome.NO_ROUTE}


def from_trace(outcome: Outcome, trace: PathTrace) -> Iterator[Finding]:
    end = trace_end(trace)
    if end is not None and end.from_target:
        # The target answered the SYN itself: its own firewall is where to look.
        yield Finding(HOST_FIREWALL, None, end.said)


def from_evidence(seen: Seen) -> Iterator[Finding]:
    if seen.outcome not in _FIREWALL_OUTCOMES or not seen.host_speaks:
        return
    assert seen.host is not None  # host_speaks
    state = seen.state(Fact.FIREWALL)
    verdict = seen.host.firewall_effective
    if state is Knowledge.UNKNOWN or verdict is None:
        return
    h = seen.target.host
    if verdict.blocks:
        sees = verdict.client_sees
        fits = sees is None or sees is seen.outcome or seen.outcome is Outcome.TIMEOUT
        found = seen.finding(
            HOST_FIREWALL, CONFIRMED if fits else 70, f"{h}: {verdict.describe()}", ()
        )
        # The firewall decides before any socket sees the SYN: with a dead service
        # behind it, the firewall is what the client met (two faults, this one first).
        yield dataclasses.replace(found, first=fits)
    elif verdict.action is Action.ACCEPT:
        yield seen.finding(
            HOST_FIREWALL,
            0,
            f"{h}: the firewall admits tcp/{seen.target.port}: {verdict.describe()}",
            (Fact.FIREWALL,),
        )


RULES = CauseRules(
    name="firewall",
    causes=(HOST_FIREWALL,),
    from_check=from_rules(
        (
            # A closed port answers a SYN with a TCP reset; an ICMP port-unreachable in
            # its place is what a firewall's REJECT rule sends.
            Rule(
                name=f"icmp-port-unreachable-from-target/{HOST_FIREWALL}",
                cause=HOST_FIREWALL,
                score=90,
                evidence="{address} answered with {icmp} from {icmp_from}, not a TCP reset: "
                "a REJECT rule in its own firewall refused the connection",
                applies=icmp("port-unreachable", from_target=True),
            ),
            Rule(
                name="icmp-prohibited-from-target",
                cause=HOST_FIREWALL,
                score=95,
                evidence="{address} itself answered with {icmp}: its host firewall rejects "
                "the connection",
                applies=icmp("prohibited", from_target=True),
            ),
            # A host does not call itself unreachable: from the target, these are a
            # REJECT rule's.
            Rule(
                name="icmp-unreachable-from-target",
                cause=HOST_FIREWALL,
                score=90,
                evidence="{address} itself answered with {icmp}: a REJECT rule in its own "
                "firewall sends that",
                applies=icmp_from_target_except("port-unreachable", "prohibited"),
            ),
            ruled_out_by_idle_drop(HOST_FIREWALL),
        )
    ),
    from_trace=from_trace,
    from_evidence=from_evidence,
)
