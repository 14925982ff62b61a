"""`nft -j list ruleset`, parsed and evaluated for the probe's packet.

Every base chain of a table of the packet's family (ip or ip6, and inet) at the
prerouting and input hooks sees the packet, lower priority first. An accept ends only
its own base chain: the packet must be accepted by all of them, and a drop or reject in
any one wins. Within a chain, rules run in order; jump returns at `return` or the chain's
end, goto does not come back. The rule text is taken from `nft -a list ruleset` (matched
by handle) when that listing is at hand.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

from .firewall import (
    HOOK_ORDER,
    Decision,
    IpAddress,
    Packet,
    Question,
    Test,
    Trail,
    conclude,
    explore,
    interface_test,
    telling_accept,
)
from .model import Action, Backend, FirewallVerdict, RuleStep

CONNTRACK_PRIORITY = -200  # before it a packet has no conntrack state yet
MAX_DEPTH = 32
PRIORITY_NAMES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50}
# Statements that act on the packet (or count it) and let it go on.
CONTINUING = frozenset(
    {"counter", "log", "mangle", "notrack", "set", "ct helper", "ct timeout", "meta"}
    | {"xt-log", "flow", "tproxy", "synproxy", "dup", "fwd", "secmark", "ct expectation"}
)
# Headers a TCP packet does not have: any match on them fails (nft adds the protocol
# dependency itself, so `udp dport != 53` does not match a TCP packet either).
OTHER_HEADERS = frozenset({"udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "esp", "ah"})
_HANDLE = re.compile(r"\s+# handle (\d+)$")

Json = Any  # a fragment of nft's JSON, as json.loads gives it


@dataclass(frozen=True)
class NftRule:
    family: str
    table: str
    chain: str
    position: int  # 1-based within its chain
    handle: int | None
    expr: tuple[Json, ...]
    text: str


@dataclass(frozen=True)
class NftChain:
    family: str
    table: str
    name: str
    type: str | None  # "filter", "nat", "route"; None for regular chains
    hook: str | None  # "input", "prerouting", ...; None for regular chains
    priority: int
    policy: str | None
    rules: tuple[NftRule, ...]


@dataclass(frozen=True)
class NftSet:
    family: str
    table: str
    name: str
    elements: tuple[Json, ...]  # for a map, [key, value] pairs


@dataclass(frozen=True)
class NftRuleset:
    version: str | None
    tables: tuple[tuple[str, str], ...]  # (family, name)
    chains: tuple[NftChain, ...]
    sets: tuple[NftSet, ...]

    def chain(self, family: str, table: str, name: str) -> NftChain | None:
        return next(
            (c for c in self.chains if (c.family, c.table, c.name) == (family, table, name)),
            None,
        )

    def set(self, family: str, table: str, name: str) -> NftSet | None:
        return next(
            (s for s in self.sets if (s.family, s.table, s.name) == (family, table, name)),
            None,
        )


def parse_ruleset(text: str, listing: str | None = None) -> NftRuleset:
    """The ruleset from `nft -j list ruleset`; raises ValueError when it is not that."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    items = data.get("nftables") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError('no "nftables" list in the JSON')
    texts = rule_texts(listing or "")
    version: str | None = None
    tables: list[tuple[str, str]] = []
    chains: list[dict[str, Json]] = []
    rules: dict[tuple[str, str, str], list[NftRule]] = {}
    sets: list[NftSet] = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            continue
        (kind, body), *_ = item.items()
        if not isinstance(body, dict):
            continue
        if kind == "metainfo":
            version = str(body.get("version")) if body.get("version") else None
        elif kind == "table":
            tables.append((str(body.get("family")), str(body.get("name"))))
        elif kind == "chain":
            chains.append(body)
        elif kind == "rule":
            key = (str(body.get("family")), str(body.get("table")), str(body.get("chain")))
            handle = body.get("handle") if isinstance(body.get("handle"), int) else None
            expr = tuple(body.get("expr") or ())
            text_ = texts.get((*key, handle)) if handle is not None else None
            position = len(rules.get(key, ())) + 1
            rule = NftRule(*key, position, handle, expr, text_ or _fallback_text(body))
            rules.setdefault(key, []).append(rule)
        elif kind in ("set", "map"):
            elements = body.get("elem") or ()
            sets.append(
                NftSet(
                    str(body.get("family")),
                    str(body.get("table")),
                    str(body.get("name")),
                    tuple(elements) if isinstance(elements, list) else (),
                )
            )
    built = tuple(
        NftChain(
            family=str(c.get("family")),
            table=str(c.get("table")),
            name=str(c.get("name")),
            type=c.get("type"),
            hook=c.get("hook"),
            priority=_priority(c.get("prio")),
            policy=c.get("policy"),
            rules=tuple(
                rules.get((str(c.get("family")), str(c.get("table")), str(c.get("name"))), ())
            ),
        )
        for c in chains
    )
    return NftRuleset(version, tuple(tables), built, tuple(sets))


def rule_texts(listing: str) -> dict[tuple[str, str, str, int], str]:
    """Each rule's line in `nft -a list ruleset`, by (family, table, chain, handle)."""
    found: dict[tuple[str, str, str, int], str] = {}
    blocks: list[tuple[str, ...]] = []  # ("table", family, name), ("chain", name), ("set",)
    for line in listing.splitlines():
        handle = _HANDLE.search(line)
        content = (line[: handle.start()] if handle else line).strip()
        words = content.split()
        if content.endswith("{"):
            if words[0] == "table" and len(words) >= 3:
                blocks.append(("table", words[1], words[2].strip('"')))
            elif words[0] == "chain" and len(words) >= 2:
                blocks.append(("chain", words[1].strip('"')))
            else:
                blocks.append((words[0] if words else "",))
        elif content.startswith("}"):
            if blocks:
                blocks.pop()
        elif handle and len(blocks) >= 2 and blocks[-1][0] == "chain" and blocks[-2][0] == "table":
            _, family, table = blocks[-2]
            found[(family, table, blocks[-1][1], int(handle.group(1)))] = content
    return found


def _fallback_text(body: dict[str, Json]) -> str:
    expr = json.dumps(body.get("expr"), separators=(",", ":"))
    return f"handle {body.get('handle')}: {expr}"


def _priority(value: Json) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value in PRIORITY_NAMES:
        return PRIORITY_NAMES[value]
    return 0


# -- evaluation ---------------------------------------------------------------------------


def evaluate(
    ruleset: NftRuleset,
    packet: Packet,
    skip_tables: frozenset[tuple[str, str]] = frozenset(),
) -> FirewallVerdict:
    """The verdict for `packet`. `skip_tables` are (family, name) tables evaluated
    elsewhere: iptables-nft's own, which iptables-save shows with their real rule text."""
    families = ("ip", "inet") if packet.version == 4 else ("ip6", "inet")
    own = [t for t in ruleset.tables if t not in skip_tables]
    base = sorted(
        (
            c
            for c in ruleset.chains
            if c.family in families
            and (c.family, c.table) not in skip_tables
            and c.hook in ("prerouting", "input")
            and c.type in ("filter", None)
        ),
        key=lambda c: (HOOK_ORDER.get(c.hook or "", 9), c.priority),
    )
    if not own:
        return FirewallVerdict(
            Backend.NFTABLES, Action.ACCEPT, "no rules loaded", "", "", None, loaded=False
        )
    return explore(lambda trail: _walk(ruleset, base, packet, trail), Backend.NFTABLES)


def _walk(ruleset: NftRuleset, base: list[NftChain], packet: Packet, trail: Trail) -> Decision:
    _notes(ruleset, packet, trail)
    accepted: list[Decision] = []
    for chain in base:
        walker = _Walker(ruleset, chain, packet, trail)
        decision = walker.base()
        if decision.action is not Action.ACCEPT:
            return decision
        accepted.append(decision)
    return telling_accept(accepted) or Decision(
        Action.ACCEPT, "no base chain at the input hook", "", "", None, hook="input"
    )


def _notes(ruleset: NftRuleset, packet: Packet, trail: Trail) -> None:
    """What is seen but not followed: destination NAT, and ingress hooks per device."""
    for chain in ruleset.chains:
        if chain.type == "nat" and chain.hook == "prerouting":
            for rule in chain.rules:
                if any(isinstance(e, dict) and ("dnat" in e or "redirect" in e) for e in rule.expr):
                    trail.assume(
                        f"{chain.family} {chain.table} {chain.name} may rewrite the destination "
                        f"({rule.text}): the verdict is for the address and port as probed"
                    )
                    break
        if chain.hook == "ingress":
            trail.assume(
                f"ingress chain {chain.family} {chain.table} {chain.name} is not evaluated"
            )


class _Return:
    """The chain returns to its caller."""


class _Next:
    """The rule did not decide: on to the next one."""


RETURN, NEXT = _Return(), _Next()
Outcome = Decision | _Return | _Next


@dataclass(frozen=True)
class _Value:
    """What the packet holds for one expression: `value` (None when unknown), or `absent`
    when the packet has no such field at all (every match on it fails)."""

    kind: str  # port, addr, proto, flags, state, iface, text, tuple
    value: Any = None
    absent: bool = False
    why: str = ""


class _Walker:
    """Walks from one base chain for one trail."""

    def __init__(self, ruleset: NftRuleset, base: NftChain, packet: Packet, trail: Trail) -> None:
        self.ruleset, self.base_chain, self.packet, self.trail = ruleset, base, packet, trail
        self.ct_known = base.hook == "input" or base.priority >= CONNTRACK_PRIORITY
        self.path: list[RuleStep] = []  # the jumps and gotos in force, outermost first
        self.matched: list[str] = []  # the current rule's hits in named sets and maps

    @property
    def label(self) -> str:
        return f"{self.base_chain.family} {self.base_chain.table}"

    def decision(
        self, action: Action, rule: NftRule | None, chain: NftChain, reject_with: str | None = None
    ) -> Decision:
        if rule is None:
            text = (
                f"type {chain.type} hook {chain.hook} priority {chain.priority}; "
                f"policy {chain.policy or 'accept'};"
            )
        else:
            text = rule.text
        return Decision(
            action,
            text,
            self.label,
            chain.name,
            rule.position if rule else None,
            reject_with,
            handle=rule.handle if rule else None,
            hook=self.base_chain.hook or "input",
            priority=self.base_chain.priority,
            path=tuple(self.path),
            matched="; ".join(self.matched) if rule else "",
        )

    def base(self) -> Decision:
        decided = self.chain(self.base_chain, 0)
        if decided is not None:
            return decided
        policy = self.base_chain.policy or "accept"
        action = {"accept": Action.ACCEPT, "drop": Action.DROP}.get(policy, Action.UNDECIDABLE)
        return self.decision(action, None, self.base_chain)

    def chain(self, chain: NftChain, depth: int) -> Decision | None:
        for rule in chain.rules:
            outcome = self.rule(rule, chain, depth)
            if isinstance(outcome, _Return):
                return None
            if isinstance(outcome, Decision):
                return outcome
        return None

    def rule(self, rule: NftRule, chain: NftChain, depth: int) -> Outcome:
        tests: list[Test] = []
        self.matched = []
        question = Question(
            rule.text, "", self.label, chain.name, rule.position, rule.handle, tuple(self.path)
        )
        for statement in rule.expr:
            if not isinstance(statement, dict) or len(statement) != 1:
                tests.append(Test(None, "an unreadable statement"))
                continue
            (key, body), *_ = statement.items()
            if key == "match":
                test = self.match(body)
                if test.value is False and test.assumption is None:
                    return NEXT  # later statements never run
                tests.append(test)
            elif key in ("accept", "drop", "reject", "jump", "goto", "return", "continue"):
                if not conclude(tests, question, self.trail):
                    return NEXT
                return self.verdict(key, body, rule, chain, depth)
            elif key == "vmap":
                if not conclude(tests, question, self.trail):
                    return NEXT
                return self.vmap(body, rule, chain, depth, question)
            elif key == "queue":
                if not conclude(tests, question, self.trail):
                    return NEXT
                return self.decision(Action.UNDECIDABLE, rule, chain)  # a program decides
            elif key == "xt":
                outcome = self.xt(body, tests, rule, chain, question)
                if outcome is not None:
                    return outcome
            elif key in CONTINUING:
                continue
            else:  # limit, quota, ct count, ...: they may stop the rule; we cannot tell
                tests.append(Test(None, f"{key} is not evaluated"))
        return NEXT

    def xt(
        self, body: Json, tests: list[Test], rule: NftRule, chain: NftChain, question: Question
    ) -> Outcome | None:
        # iptables-nft compat expressions nft cannot show; their arguments are not in JSON.
        name = body.get("name") if isinstance(body, dict) else None
        if isinstance(body, dict) and body.get("type") == "target":
            if name in ("LOG", "NFLOG", "MARK", "CONNMARK", "CT", "TCPMSS"):
                return None
            if not conclude(tests, question, self.trail):
                return NEXT
            if name == "REJECT":
                return self.decision(Action.REJECT, rule, chain, "xt REJECT (type not shown)")
            return self.decision(Action.UNDECIDABLE, rule, chain)
        tests.append(Test(None, f"xt match {name} is not shown by nft"))
        return None

    def verdict(self, key: str, body: Json, rule: NftRule, chain: NftChain, depth: int) -> Outcome:
        if key == "accept":
            return self.decision(Action.ACCEPT, rule, chain)
        if key == "drop":
            return self.decision(Action.DROP, rule, chain)
        if key == "reject":
            return self.decision(Action.REJECT, rule, chain, self.reject_with(body, chain))
        if key == "return":
            return RETURN
        if key == "continue":
            return NEXT
        target = body.get("target") if isinstance(body, dict) else None
        called = self.ruleset.chain(chain.family, chain.table, str(target))
        if called is None or depth >= MAX_DEPTH:
            return self.decision(Action.UNDECIDABLE, rule, chain)
        self.path.append(RuleStep(chain.name, rule.position, rule.text, "; ".join(self.matched)))
        decided = self.chain(called, depth + 1)
        self.path.pop()
        if decided is not None:
            return decided
        return RETURN if key == "goto" else NEXT

    def reject_with(self, body: Json, chain: NftChain) -> str:
        kind = body.get("type") if isinstance(body, dict) else None
        code = body.get("expr") if isinstance(body, dict) else None
        if kind == "tcp reset":
            return "tcp reset"
        if kind is None:
            kind = {"inet": "icmpx", "ip6": "icmpv6"}.get(chain.family, "icmp")
        return f"{kind} {code or 'port-unreachable'}"

    def vmap(
        self, body: Json, rule: NftRule, chain: NftChain, depth: int, question: Question
    ) -> Outcome:
        key = self.value(body.get("key") if isinstance(body, dict) else None)
        data = body.get("data") if isinstance(body, dict) else None
        pairs = [p for p in self.elements(data, chain) if isinstance(p, list) and len(p) == 2]
        if key.absent:
            return NEXT
        if key.value is None:
            # One walk per entry of the map, and one where none applies.
            asked = Question(question.rule, key.why, *_where(question))
            choice = self.trail.choose(asked, len(pairs) + 1)
            if choice == 0:
                return NEXT
            chosen = pairs[choice - 1][1]
        else:
            found = [(k, v) for k, v in pairs if self.element(key, k, chain) is True]
            if not found:
                return NEXT
            chosen = found[0][1]
            if isinstance(data, str) and data.startswith("@"):
                self.matched.append(f"{_shown(key)} : {_verdict_text(chosen)} in {data}")
        if isinstance(chosen, dict) and len(chosen) == 1:
            (verdict, verdict_body), *_ = chosen.items()
            return self.verdict(verdict, verdict_body, rule, chain, depth)
        return self.decision(Action.UNDECIDABLE, rule, chain)

    # -- matching ---------------------------------------------------------------------

    def match(self, body: Json) -> Test:
        if not isinstance(body, dict):
            return Test(None, "an unreadable match")
        op = body.get("op", "==")
        left = self.value(body.get("left"))
        if left.absent:
            return Test(False)
        if left.kind == "iface":
            return self.interfaces(body.get("right"), negated=op == "!=")
        if left.value is None:
            return Test(None, left.why)
        if op in ("<", ">", "<=", ">="):
            right = body.get("right")
            if left.kind != "port" or not isinstance(right, int):
                return Test(None, f"{op} on {left.kind} is not evaluated")
            return Test(
                {"<": left.value < right, ">": left.value > right}.get(
                    op, left.value <= right if op == "<=" else left.value >= right
                )
            )
        right = body.get("right")
        hit = self.element(left, right, None, op)
        if hit is None:
            return Test(None, f"cannot compare {left.kind} with {_short(right)}")
        matches = not hit if op == "!=" else hit
        if matches and isinstance(right, str) and right.startswith("@"):
            self.matched.append(f"{_shown(left)} {'not in' if op == '!=' else 'in'} {right}")
        return Test(matches)

    def value(self, expr: Json) -> _Value:
        """The packet's value for a left-hand expression."""
        packet = self.packet
        if isinstance(expr, dict) and "payload" in expr:
            return self.payload(expr["payload"])
        if isinstance(expr, dict) and "meta" in expr:
            key = expr["meta"].get("key") if isinstance(expr["meta"], dict) else None
            if key == "l4proto":
                return _Value("proto", "tcp")
            if key == "nfproto":
                return _Value("text", f"ipv{packet.version}")
            if key == "protocol":
                return _Value("text", "ip" if packet.version == 4 else "ip6")
            if key in ("iif", "iifname"):
                return _Value("iface")
            if key in ("oif", "oifname", "oiftype"):
                return _Value("text", absent=True)  # no output device on the way in
            if key == "pkttype":
                return _Value("text", "host")
            return _Value("text", why=f"meta {key} is not evaluated")
        if isinstance(expr, dict) and "ct" in expr:
            key = expr["ct"].get("key") if isinstance(expr["ct"], dict) else None
            if key == "state":
                if not self.ct_known:
                    return _Value("state", why="conntrack state is not known yet here")
                return _Value("state", frozenset({"new"}))
            if key == "direction":
                return _Value("text", "original")
            return _Value("text", why=f"ct {key} is not evaluated")
        if isinstance(expr, dict) and "fib" in expr:
            fib = expr["fib"] if isinstance(expr["fib"], dict) else {}
            if fib.get("result") == "type" and fib.get("flags") in (["daddr"], "daddr"):
                return _Value("text", "local")  # the probed address is the target's own
            return _Value("text", why="fib lookups other than `fib daddr type` are not evaluated")
        if isinstance(expr, dict) and "&" in expr and isinstance(expr["&"], list):
            inner, mask = self.value(expr["&"][0]), expr["&"][1]
            if inner.kind == "flags" and inner.value is not None:
                return _Value("flags", inner.value & _flag_set(mask))
            return _Value(inner.kind, absent=inner.absent, why=inner.why or "a bitmask")
        if isinstance(expr, dict) and "concat" in expr and isinstance(expr["concat"], list):
            parts = [self.value(part) for part in expr["concat"]]
            if any(p.absent for p in parts):
                return _Value("tuple", absent=True)
            unknown = next((p for p in parts if p.value is None), None)
            if unknown is not None:
                return _Value("tuple", why=unknown.why or "part of a concatenation")
            return _Value("tuple", tuple(parts))
        return _Value("text", why=f"{_short(expr)} is not evaluated")

    def payload(self, body: Json) -> _Value:
        packet = self.packet
        if not isinstance(body, dict):
            return _Value("text", why="an unreadable payload")
        protocol, field = body.get("protocol"), body.get("field")
        if protocol is None and body.get("base") == "th":
            if (body.get("offset"), body.get("len")) == (16, 16):
                return _Value("port", packet.port)
            return _Value("text", why="a raw transport header payload")
        if protocol in OTHER_HEADERS:
            return _Value("text", absent=True)
        if protocol in ("tcp", "th"):
            if field == "dport":
                return _Value("port", packet.port)
            if field == "sport":
                return _Value("port", why="the client's source port is unknown")
            if field == "flags" and protocol == "tcp":
                return _Value("flags", frozenset({"syn"}))
            return _Value("text", why=f"{protocol} {field} is not evaluated")
        if protocol in ("ip", "ip6"):
            if (protocol == "ip") != (packet.version == 4):
                return _Value("addr", absent=True)
            if field in ("saddr", "daddr"):
                address = packet.source_ip if field == "saddr" else packet.destination_ip
                if address is None:
                    who = "client's" if field == "saddr" else "target's"
                    return _Value("addr", why=f"the {who} address is unknown")
                return _Value("addr", address)
            if field in ("protocol", "nexthdr"):
                return _Value("proto", "tcp")
            return _Value("text", why=f"{protocol} {field} is not evaluated")
        return _Value("text", why=f"{protocol} {field} is not evaluated")

    def interfaces(self, right: Json, negated: bool) -> Test:
        names: list[Json] = [right]
        if isinstance(right, dict) and isinstance(right.get("set"), list):
            names = right["set"]
        if not all(isinstance(n, str) for n in names):
            return Test(None, "an interface given by index")
        if negated:  # not any of them: every one must not match
            tests = [interface_test(n, self.packet, "*", negated=True) for n in names]
            if any(t.value is False for t in tests):
                return Test(False)
        else:
            tests = [interface_test(n, self.packet, "*") for n in names]
            certain = [t for t in tests if t.value is True and t.assumption is None]
            if certain:
                return certain[0]
            if all(t.value is False for t in tests):
                return Test(False)
        if any(t.value is None for t in tests):
            return Test(None, "the input interface is unknown")
        assumed = [t.assumption for t in tests if t.assumption]
        return Test(True, assumption="; ".join(assumed) or None)

    def elements(self, right: Json, chain: NftChain | None) -> list[Json]:
        """The elements `right` stands for: an anonymous set, a named one, or itself."""
        if isinstance(right, str) and right.startswith("@"):
            family, table = (chain.family, chain.table) if chain else self._table()
            named = self.ruleset.set(family, table, right[1:])
            return list(named.elements) if named is not None else []
        if isinstance(right, dict) and "set" in right and isinstance(right["set"], list):
            return list(right["set"])
        return [right]

    def _table(self) -> tuple[str, str]:
        return self.base_chain.family, self.base_chain.table

    def element(
        self, left: _Value, right: Json, chain: NftChain | None, op: str = "=="
    ) -> bool | None:
        """Whether the packet's value is (in) `right`; None when it cannot be told."""
        if isinstance(right, str) and right.startswith("@"):
            family, table = (chain.family, chain.table) if chain else self._table()
            if self.ruleset.set(family, table, right[1:]) is None:
                return None
        if left.kind in ("state", "flags") and not (isinstance(right, dict) and "set" in right):
            wanted = _flag_set(right)
            if left.kind == "flags" and op == "==":
                return bool(left.value == wanted)
            return bool(left.value & wanted)
        answers = [self.one(left, e) for e in self.elements(right, chain)]
        if any(a is True for a in answers):
            return True
        if any(a is None for a in answers):
            return None
        return False

    def one(self, left: _Value, element: Json) -> bool | None:
        if isinstance(element, dict) and "elem" in element:
            element = element["elem"].get("val") if isinstance(element["elem"], dict) else None
        value = left.value
        if left.kind == "tuple":
            parts = element.get("concat") if isinstance(element, dict) else None
            if not isinstance(parts, list) or len(parts) != len(value):
                return None
            answers = [self.one(v, p) for v, p in zip(value, parts, strict=True)]
            if any(a is False for a in answers):
                return False
            return None if any(a is None for a in answers) else True
        if left.kind == "port":
            return _port_in(value, element)
        if left.kind == "addr":
            return _address_in(value, element)
        if left.kind == "proto":
            return element in ("tcp", 6)
        if left.kind in ("state", "flags"):
            return bool(value & _flag_set(element))
        if isinstance(element, str | int):
            return str(element) == str(value)
        return None


def _where(question: Question) -> tuple[str, str, int | None, int | None]:
    return question.table, question.chain, question.position, question.handle


def _flag_set(value: Json) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    return frozenset()


def _port_in(port: int, element: Json) -> bool | None:
    if isinstance(element, int):
        return port == element
    if isinstance(element, dict) and isinstance(element.get("range"), list):
        low, high = element["range"]
        if isinstance(low, int) and isinstance(high, int):
            return low <= port <= high
    return None


def _address_in(address: IpAddress, element: Json) -> bool | None:
    try:
        if isinstance(element, str):
            if "/" in element:
                return address in ipaddress.ip_network(element, strict=False)
            return address == ipaddress.ip_address(element)
        if isinstance(element, dict) and isinstance(element.get("prefix"), dict):
            prefix = element["prefix"]
            network = ipaddress.ip_network(f"{prefix['addr']}/{prefix['len']}", strict=False)
            return address.version == network.version and address in network
        if isinstance(element, dict) and isinstance(element.get("range"), list):
            low, high = (ipaddress.ip_address(a) for a in element["range"])
            if low.version != address.version:
                return False
            return int(low) <= int(address) <= int(high)
    except (ValueError, KeyError, TypeError):
        return None
    return None


def _shown(value: _Value) -> str:
    """The packet's value as nft would write it: `8080`, `10.0.0.5`, `10.0.0.5 . 8080`."""
    if value.kind == "tuple" and isinstance(value.value, tuple):
        return " . ".join(_shown(part) for part in value.value)
    if isinstance(value.value, frozenset):
        return ",".join(sorted(value.value))
    return str(value.value)


def _verdict_text(verdict: Json) -> str:
    """A map's verdict as nft writes it: `drop`, `jump svc`."""
    if isinstance(verdict, dict) and len(verdict) == 1:
        (key, body), *_ = verdict.items()
        target = body.get("target") if isinstance(body, dict) else None
        return f"{key} {target}" if target else str(key)
    return _short(verdict)


def _short(value: Json) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 60 else text[:57] + "..."
