"""idle-drop: a connection that was established, then died while idle."""

from __future__ import annotations

from ..checked import dropped_while_idle
from ..rules import CauseRules, Rule, from_rules

IDLE_DROP = "idle-drop"

RULES = CauseRules(
    name="idle",
    causes=(IDLE_DROP,),
    from_check=from_rules(
        (
            Rule(
                name="dropped-while-idle",
                cause=IDLE_DROP,
                score=100,
                evidence="the connection to {address}:{port} was established, then died "
                "after {idle} idle: a device on the path (NAT, stateful firewall, load "
                "balancer) forgot it, or the service closes idle connections",
                applies=dropped_while_idle,
            ),
        )
    ),
)
