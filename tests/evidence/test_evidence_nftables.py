"""The nftables evaluator on `nft -j list ruleset` output captured from a real ruleset
(data/nft-ruleset.json, with data/nft-ruleset.txt from `nft -a list ruleset`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_conntriage.evidence.firewall import Packet
from pytest_conntriage.evidence.model import Action, Backend
from pytest_conntriage.evidence.nftables import evaluate, parse_ruleset, rule_texts

DATA = Path(__file__).parent / "data"
JSON_TEXT = (DATA / "nft-ruleset.json").read_text()
LISTING = (DATA / "nft-ruleset.txt").read_text()
RULESET = parse_ruleset(JSON_TEXT, LISTING)
CLIENT, TARGET = "10.200.1.2", "10.200.2.2"


@dataclass(frozen=True)
class Case:
    id: str
    port: int
    action: Action
    handle: int | None  # the deciding rule's handle; None for a policy
    reject_with: str | None = None
    source: str | None = CLIENT
    destination: str = TARGET
    table: str = "inet filter"
    chain: str = "input"


CASES = [
    Case("set-of-ports", 80, Action.ACCEPT, 11),
    Case("interface-named", 22, Action.ACCEPT, 10),
    Case("anonymous-sets-reject", 8080, Action.REJECT, 15, "tcp reset"),
    Case("named-address-set", 8080, Action.ACCEPT, 12, source="10.1.5.5"),
    Case(
        "address-excluded",
        8080,
        Action.ACCEPT,
        None,
        source="192.168.1.1",
        table="ip late",
        chain="in",
    ),
    Case("reject-default-inet", 7000, Action.REJECT, 16, "icmpx port-unreachable"),
    Case("reject-admin", 7001, Action.REJECT, 17, "icmp admin-prohibited"),
    Case("reject-host-unreachable", 7002, Action.REJECT, 18, "icmpx host-unreachable"),
    Case("transport-header-and-log", 7003, Action.DROP, 19),
    Case("vmap-drop", 7004, Action.DROP, 21),
    Case("vmap-accept", 7005, Action.ACCEPT, 21),
    Case("tcp-flags", 7006, Action.DROP, 23),
    Case("nfproto", 7008, Action.DROP, 25),
    Case("ip-protocol", 7009, Action.DROP, 26),
    Case("port-range", 7015, Action.DROP, 27),
    Case("negated-port", 6000, Action.DROP, 28, source="1.2.3.4"),
    Case("ct-state-set", 7022, Action.DROP, 30),
    Case("fib-local", 7023, Action.DROP, 31),
    Case("concatenation", 7024, Action.DROP, 34),
    Case(
        "concatenation-other-source",
        7024,
        Action.ACCEPT,
        None,
        source="10.200.1.3",
        table="ip late",
        chain="in",
    ),
    Case("named-verdict-map", 7030, Action.DROP, 35),
    Case("named-verdict-map-accept", 7031, Action.ACCEPT, 35),
    Case("jump-then-goto", 7040, Action.DROP, 39, destination="10.0.0.1", chain="sub2"),
    Case("no-jump", 7040, Action.ACCEPT, None, table="ip late", chain="in"),
    Case("second-base-chain", 7060, Action.DROP, 2, table="ip late", chain="in"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_evaluate(case: Case) -> None:
    verdict = evaluate(RULESET, Packet(case.port, case.source, case.destination))
    assert verdict.action is case.action, verdict
    assert verdict.handle == case.handle
    assert verdict.reject_with == case.reject_with
    assert (verdict.table, verdict.chain) == (case.table, case.chain)
    assert verdict.backend is Backend.NFTABLES


def test_the_rule_text_is_the_listings_line() -> None:
    verdict = evaluate(RULESET, Packet(8080, CLIENT, TARGET))
    assert verdict.rule == (
        "ip saddr != { 172.16.0.0/12, 192.168.0.0/16 } tcp dport { 8000-8100, 9000 } "
        "reject with tcp reset"
    )
    assert verdict.position == 6  # sixth rule of inet filter input
    assert "by rule 6 of inet filter input" in verdict.describe()


def test_policy_text() -> None:
    verdict = evaluate(RULESET, Packet(7060, "2001:db8::1", "2001:db8::2"))
    assert (verdict.action, verdict.table, verdict.chain) == (Action.DROP, "ip6 f6", "in")
    assert verdict.rule == "type filter hook input priority 10; policy drop;"
    assert verdict.position is None


def test_ipv6_loopback_passes_both_families_chains() -> None:
    verdict = evaluate(RULESET, Packet(7060, "::1", "::1"))
    assert verdict.action is Action.ACCEPT
    assert verdict.handle == 9  # iif "lo" accept, the first accept by a rule


def test_a_negated_interface_is_assumed_to_match() -> None:
    verdict = evaluate(RULESET, Packet(7032, CLIENT, TARGET))
    assert (verdict.action, verdict.handle) == (Action.DROP, 36)
    assert "the input interface is assumed not to be docker0" in verdict.assumptions


def test_a_limit_that_cannot_change_the_outcome() -> None:
    verdict = evaluate(RULESET, Packet(7007, CLIENT, TARGET))
    assert verdict.action is Action.ACCEPT
    assert verdict.undecidable == (
        "ct state new tcp dport 7007 limit rate 5/second accept (limit is not evaluated)",
    )


def test_destination_nat_is_noted() -> None:
    verdict = evaluate(RULESET, Packet(7050, CLIENT, TARGET))
    assert any("ip nat pre may rewrite the destination" in a for a in verdict.assumptions)


def test_rule_texts_from_the_listing() -> None:
    texts = rule_texts(LISTING)
    assert texts[("inet", "filter", "input", 9)] == 'iif "lo" accept'
    assert texts[("inet", "filter", "sub2", 39)] == "tcp dport 7040 drop"
    assert texts[("ip", "late", "in", 2)] == "tcp dport 7060 drop"
    assert all(key[2] not in ("allowed", "ports", "portverdict") for key in texts)


def test_without_the_listing_the_rule_is_shown_from_json() -> None:
    verdict = evaluate(parse_ruleset(JSON_TEXT), Packet(7060, CLIENT, TARGET))
    assert verdict.rule.startswith('handle 2: [{"match":')


def limited(rule: str, policy: str = "accept") -> str:
    return json.dumps(
        {
            "nftables": [
                {"table": {"family": "inet", "name": "t"}},
                {
                    "chain": {
                        "family": "inet",
                        "table": "t",
                        "name": "in",
                        "type": "filter",
                        "hook": "input",
                        "prio": 0,
                        "policy": policy,
                    }
                },
                {
                    "rule": {
                        "family": "inet",
                        "table": "t",
                        "chain": "in",
                        "handle": 2,
                        "expr": json.loads(rule),
                    }
                },
            ]
        }
    )


def test_an_unknown_statement_that_matters_is_undecidable() -> None:
    rule = '[{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}}, {"quota": {"val": 10, "val_unit": "mbytes"}}, {"accept": null}]'  # noqa: E501
    verdict = evaluate(parse_ruleset(limited(rule, "drop")), Packet(8080, CLIENT, TARGET))
    assert verdict.action is Action.UNDECIDABLE
    assert set(verdict.possible) == {Action.ACCEPT, Action.DROP}
    assert verdict.handle == 2


def test_iptables_nft_compat_expressions() -> None:
    # What `nft -j` shows of `iptables -A INPUT ! -s 192.168.1.0/24 -p tcp --dport 22 -j REJECT`.
    rule = '[{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"counter": {"packets": 0, "bytes": 0}}, {"xt": {"type": "target", "name": "REJECT"}}]'  # noqa: E501
    verdict = evaluate(parse_ruleset(limited(rule)), Packet(22, CLIENT, TARGET))
    assert (verdict.action, verdict.reject_with) == (Action.REJECT, "xt REJECT (type not shown)")
    match = '[{"xt": {"type": "match", "name": "conntrack"}}, {"accept": null}]'
    undecided = evaluate(parse_ruleset(limited(match, "drop")), Packet(22, CLIENT, TARGET))
    assert undecided.action is Action.UNDECIDABLE


def test_tables_evaluated_elsewhere_are_skipped() -> None:
    skipped = evaluate(RULESET, Packet(7060, CLIENT, TARGET), frozenset({("ip", "late")}))
    assert skipped.action is Action.ACCEPT
    everything = frozenset({("inet", "filter"), ("ip6", "f6"), ("ip", "nat"), ("ip", "late")})
    nothing = evaluate(RULESET, Packet(7060, CLIENT, TARGET), everything)
    assert not nothing.loaded


def test_an_empty_ruleset_is_not_loaded() -> None:
    empty = parse_ruleset('{"nftables": [{"metainfo": {"version": "1.0.6"}}]}')
    assert empty.version == "1.0.6"
    verdict = evaluate(empty, Packet(80, CLIENT, TARGET))
    assert not verdict.loaded
    assert verdict.action is Action.ACCEPT


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"nft": []}'])
def test_garbage_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"JSON|nftables"):
        parse_ruleset(text)


# -- the path through the chains: data/nft-chains.{json,txt}, made by `nft -f
# data/nft-chains.nft` in an empty network namespace, then `nft -j list ruleset` and
# `nft -a list ruleset`.

CHAINS = parse_ruleset(
    (DATA / "nft-chains.json").read_text(), (DATA / "nft-chains.txt").read_text()
)


@pytest.mark.parametrize(
    ("port", "source", "action", "described"),
    [
        pytest.param(
            8080,
            CLIENT,
            Action.DROP,
            "drop by rule 1 of inet fw deny: input rule 3 tcp dport @svcports jump svc (8080 in"
            " @svcports) → svc rule 2 ip saddr @blocked jump deny (10.200.1.2 in @blocked) →"
            " deny rule 1 tcp dport { 8080, 9000 } drop",
            id="nested-jumps-through-named-sets",
        ),
        pytest.param(
            8443,
            CLIENT,
            Action.ACCEPT,
            "accept by the policy of inet fw input: type filter hook input priority 0; policy"
            " accept;",
            id="return-leaves-no-path",
        ),
        pytest.param(
            9000,
            CLIENT,
            Action.DROP,
            "drop by rule 1 of inet fw deny: input rule 4 tcp dport vmap @dispatch (9000 : jump"
            " svc in @dispatch) → svc rule 2 ip saddr @blocked jump deny (10.200.1.2 in @blocked)"
            " → deny rule 1 tcp dport { 8080, 9000 } drop",
            id="jump-from-a-named-verdict-map",
        ),
        pytest.param(
            9001,
            CLIENT,
            Action.ACCEPT,
            "accept by rule 3 of inet fw svc: input rule 4 tcp dport vmap @dispatch (9001 : goto"
            " svc in @dispatch) → svc rule 3 tcp dport 9001 accept",
            id="goto-from-a-named-verdict-map",
        ),
        pytest.param(
            7100,
            CLIENT,
            Action.ACCEPT,
            "accept by rule 4 of inet fw svc: input rule 5 tcp dport 7100 goto svc → svc rule 4"
            " tcp dport 7100 accept",
            id="goto-and-a-returned-jump-left-out",
        ),
        pytest.param(
            7200,
            CLIENT,
            Action.REJECT,
            "reject with tcp reset by rule 2 of inet fw outer: input rule 6 tcp dport 7200 jump"
            " outer → outer rule 2 tcp dport 7200 reject with tcp reset",
            id="return-from-a-nested-chain",
        ),
        pytest.param(
            7300,
            "10.9.1.1",
            Action.DROP,
            "drop by rule 2 of inet fw early: input rule 2 ip saddr 10.9.0.0/16 jump early →"
            " early rule 2 drop",
            id="jump-by-source",
        ),
        pytest.param(
            7300,
            None,
            Action.UNDECIDABLE,
            "undecidable (accept/drop) at inet fw input: ip saddr 10.9.0.0/16 jump early",
            id="a-jump-in-doubt",
        ),
    ],
)
def test_the_path_through_the_chains(
    port: int, source: str | None, action: Action, described: str
) -> None:
    verdict = evaluate(CHAINS, Packet(port, source, TARGET))
    assert verdict.action is action
    assert verdict.describe() == f"nftables: {described}"


def test_a_named_set_in_the_deciding_rule_is_shown() -> None:
    verdict = evaluate(RULESET, Packet(80, CLIENT, TARGET))
    assert (verdict.handle, verdict.path, verdict.matched) == (11, (), "80 in @ports")
    assert verdict.describe().endswith(": tcp dport @ports accept (80 in @ports)")
    mapped = evaluate(RULESET, Packet(7030, CLIENT, TARGET))
    assert mapped.matched == "7030 : drop in @portverdict"


def test_the_captured_jump_then_goto_path() -> None:
    verdict = evaluate(RULESET, Packet(7040, CLIENT, "10.0.0.1"))
    assert [str(step) for step in verdict.path] == [
        "input rule 12 ip daddr 10.0.0.1 jump sub",
        "sub rule 2 goto sub2",
    ]
