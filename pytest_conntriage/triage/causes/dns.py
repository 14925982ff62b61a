"""dns-wrong-host: the name led the client to an address that is not the service's."""

from __future__ import annotations

from collections.abc import Iterator

from ..checked import connects_to_an_address, ruled_out_by_idle_drop
from ..model import CONFIRMED
from ..rank import Finding
from ..rules import CauseRules, Rule, from_rules
from ..seen import CONNECT_OUTCOMES, Seen

WRONG_HOST = "dns-wrong-host"
# Resolvers that disagree, where only some addresses fail: above any outcome's own
# weight (a refusal's 90 for service-down), short of confirmed: a second replica that
# is down would look the same from here.
DISAGREEMENT_SCORE = 95


def from_evidence(seen: Seen) -> Iterator[Finding]:
    target = seen.target
    if target.disagreement:
        yield Finding(WRONG_HOST, DISAGREEMENT_SCORE, target.disagreement)
    if seen.outcome not in CONNECT_OUTCOMES:
        return
    if seen.wrong_address:
        yield Finding(
            WRONG_HOST,
            CONFIRMED,
            f"{target.name} resolved to {target.address}, but the inventory expects "
            f"{', '.join(target.expected)}: the record is stale or wrong",
        )
    elif seen.elsewhere and target.name and seen.host is not None:
        mine = ", ".join(seen.host.addresses[:6])
        yield Finding(
            WRONG_HOST,
            CONFIRMED,
            f"{target.name} resolved to {target.address}, which is not an address of "
            f"{target.host} ({mine}): the record points elsewhere",
        )


RULES = CauseRules(
    name="dns",
    causes=(WRONG_HOST,),
    from_check=from_rules(
        (
            # The inventory gave an IP literal: DNS cannot have sent the connection
            # astray, whatever the outcome's weight for stale records says.
            Rule(
                name="no-lookup-for-an-address",
                cause=WRONG_HOST,
                score=0,
                evidence="the check connects to the address {address} itself: no DNS "
                "lookup was involved",
                applies=connects_to_an_address,
            ),
            ruled_out_by_idle_drop(WRONG_HOST),
        )
    ),
    from_evidence=from_evidence,
)
