"""The built-in rule modules, one per cause or group of causes that are decided
together; each declares the cause ids it decides, and no cause id is written anywhere
else. They reach triage through the `pytest_conntriage_add_rules` hook like a team's."""

from __future__ import annotations

from ..rules import CauseRules
from . import dns, firewall, http, idle, network, service

# In the order their findings were gathered before they were split by cause.
BUILTIN: tuple[CauseRules, ...] = (
    dns.RULES,
    firewall.RULES,
    service.RULES,
    network.RULES,
    idle.RULES,
    http.RULES,
)
