"""The firewall kind's judgment, from hand-made evidence: an accept counts only when
every ruleset that could hold a block was read."""

from __future__ import annotations

import pytest

from pytest_conntriage.evidence.model import Action, Backend, FirewallVerdict, HostEvidence
from pytest_conntriage.kinds.firewall import read_firewall
from pytest_conntriage.kinds.on_host import HostReading, judge_reading
from pytest_conntriage.outcome import Outcome

from .hostmade import FIREWALL

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
NFT_UNDECIDABLE = FirewallVerdict(
    Backend.NFTABLES, Action.UNDECIDABLE, "meta mark 0x1 accept", "inet filter", "input", 4
)


def host(verdict: FirewallVerdict | None, *gaps: tuple[str, str]) -> HostEvidence:
    return HostEvidence(
        firewall=(verdict,) if verdict else (), firewall_effective=verdict, unavailable=gaps
    )


CASES = [
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
    pytest.param(
        host(NFT_UNDECIDABLE), Outcome.PROBE_ERROR, id="a rule it cannot evaluate decides nothing"
    ),
    pytest.param(
        host(None, ("nftables", "needs root: Permission denied")),
        Outcome.PROBE_ERROR,
        id="no ruleset read at all is no verdict",
    ),
]


@pytest.mark.parametrize(("evidence", "expected"), CASES)
def test_an_accept_counts_only_when_every_ruleset_was_read(
    evidence: HostEvidence, expected: Outcome
) -> None:
    outcome, detail = read_firewall(FIREWALL, evidence)
    assert outcome is expected
    assert detail


def test_a_host_whose_batch_never_ran_is_a_probe_error_never_a_pass() -> None:
    evidence = HostEvidence(unavailable=(("batch", "ssh: connection refused"),), ran=False)
    reading = HostReading(("127.0.0.2",), None, evidence, 3.0)
    attempt = judge_reading(FIREWALL.kind, FIREWALL, reading)
    assert (attempt.outcome, attempt.detail) == (
        Outcome.PROBE_ERROR,
        "no evidence: ssh: connection refused",
    )
    assert not FIREWALL.kind.judge(FIREWALL, attempt)
