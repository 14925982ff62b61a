"""The host checks' pass or fail, judged from hand-made evidence."""

from __future__ import annotations

import pytest

from pytest_conntriage.checks import CheckKind, HostCheck
from pytest_conntriage.evidence.model import Action, Backend, FirewallVerdict, HostEvidence
from pytest_conntriage.hostcheck import judge
from pytest_conntriage.inventory.model import Location, Policy
from pytest_conntriage.outcome import Outcome

FIREWALL = HostCheck(
    kind=CheckKind.FIREWALL,
    host="web-1",
    service="api",
    port=8080,
    target="127.0.0.2",
    resolvers=(),
    unit=None,
    listen=None,
    policy=Policy(),
    location=Location("inventory.yml", 1, 1),
)
LEGACY_EMPTY = FirewallVerdict(
    Backend.IPTABLES_LEGACY, Action.ACCEPT, "-P INPUT ACCEPT", "filter", "INPUT", None,
    loaded=False,
)  # fmt: skip
NFT_ACCEPT = FirewallVerdict(
    Backend.NFTABLES, Action.ACCEPT, "policy accept", "inet filter", "input", None
)
NFT_DROP = FirewallVerdict(
    Backend.NFTABLES, Action.DROP, "tcp dport 8080 drop", "inet filter", "input", 2
)


def host(verdict: FirewallVerdict, *gaps: tuple[str, str]) -> HostEvidence:
    return HostEvidence(firewall=(verdict,), firewall_effective=verdict, unavailable=gaps)


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        pytest.param(host(NFT_ACCEPT), Outcome.ADMITTED, id="every ruleset read, accept"),
        pytest.param(
            host(NFT_ACCEPT, ("iptables-legacy", "not installed")),
            Outcome.ADMITTED,
            id="no legacy tool is no legacy rules",
        ),
        pytest.param(
            host(LEGACY_EMPTY, ("iptables", "not installed"), ("nftables", "not installed")),
            Outcome.PROBE_ERROR,
            id="only an empty legacy table read: the nft rules are unknown",
        ),
        pytest.param(
            host(NFT_ACCEPT, ("iptables", "needs root: Permission denied")),
            Outcome.PROBE_ERROR,
            id="an accept beside a ruleset that needs root proves nothing",
        ),
        pytest.param(
            host(NFT_DROP, ("iptables", "needs root: Permission denied")),
            Outcome.BLOCKED,
            id="a drop read is a drop whatever was not read",
        ),
    ],
)
def test_an_accept_counts_only_when_every_ruleset_was_read(
    evidence: HostEvidence, expected: Outcome
) -> None:
    assert judge(FIREWALL, evidence, 1.0, ("127.0.0.2",)).outcome is expected
