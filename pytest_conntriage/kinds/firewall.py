"""The firewall kind: the host's own firewall admits tcp to the port from this machine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..evidence import Action, HostEvidence
from ..outcome import Outcome
from ..triage.known import Fact, HostFacts
from .on_host import HostCheck, HostKind

if TYPE_CHECKING:
    from .protocol import Kind


def read_firewall(check: HostCheck, host: HostEvidence) -> tuple[Outcome, str]:
    """Pure: what the host's rulesets do with this machine's packet to the port; an
    accept counts only when every ruleset that could hold a block was read."""
    verdict = host.firewall_effective
    if verdict is None:
        gaps = "; ".join(f"{what}: {why}" for what, why in host.unavailable) or "none loaded"
        return Outcome.PROBE_ERROR, f"the firewall rules of {check.host} could not be read: {gaps}"
    if verdict.blocks:
        return Outcome.BLOCKED, verdict.describe()
    if verdict.action is Action.UNDECIDABLE:
        return Outcome.PROBE_ERROR, f"cannot decide: {verdict.describe()}"
    # An accept proves nothing while a backend that may hold the blocking rule went
    # unread (iptables-legacy "accepts" with no rules when nft could not be read).
    unread = HostFacts(host).why(Fact.FIREWALL)
    if unread is not None:
        return Outcome.PROBE_ERROR, (
            f"{verdict.describe()}, but not every ruleset of {check.host} could be read: {unread}"
        )
    return Outcome.ADMITTED, verdict.describe()


class FirewallKind(HostKind):
    name = "firewall"

    def read(
        self, check: HostCheck, host: HostEvidence, addresses: tuple[str, ...]
    ) -> tuple[Outcome, str]:
        return read_firewall(check, host)


KIND = FirewallKind()

if TYPE_CHECKING:
    _: Kind[HostCheck] = KIND
