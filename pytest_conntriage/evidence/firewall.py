"""What the iptables and nftables evaluators share: the probe's packet, the exploration of
rules they cannot decide, and how the verdicts of several backends combine.

An evaluator walks the chains as the kernel would for one packet: TCP, from the client
to the target's port, conntrack state NEW, input interface unknown. Where a rule's match
cannot be evaluated (an unknown module, a source port, an ipset), the evaluator does not
guess: it asks its `Trail`, and `explore` runs the walk once for every answer, so the
verdict is only as certain as the rules allow. A rule that could go either way but
cannot change the outcome leaves it decided; one that can makes it UNDECIDABLE.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .model import Action, Backend, FirewallVerdict, RuleStep

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Walks explored per verdict before giving up (each undecidable rule doubles them).
MAX_PATHS = 256
HOOK_ORDER = {"ingress": 0, "prerouting": 1, "input": 2}


@dataclass(frozen=True)
class Packet:
    """The probe's SYN as the target sees it. An address that is None or not an IP
    literal is unknown: rules that match on it become undecidable."""

    port: int
    source: str | None  # the client's address (what `ip route get` gives as src)
    destination: str | None  # the target address probed

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError(f"port {self.port!r} is not a TCP port")

    @property
    def source_ip(self) -> IpAddress | None:
        return _ip(self.source)

    @property
    def destination_ip(self) -> IpAddress | None:
        return _ip(self.destination)

    @property
    def version(self) -> int:
        """4 or 6: the destination's family, else the source's, else 4."""
        for address in (self.destination_ip, self.source_ip):
            if address is not None:
                return address.version
        return 4

    @property
    def from_loopback(self) -> bool | None:
        """The packet arrives on `lo` (a loopback client, or the host's own address);
        None when the source is unknown."""
        source = self.source_ip
        if source is None:
            return None
        return source.is_loopback or source == self.destination_ip


def _ip(text: str | None) -> IpAddress | None:
    if text is None:
        return None
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Test:
    """One condition of a rule, for the packet: True, False, or None (cannot tell)."""

    value: bool | None
    why: str = ""  # for None: what could not be evaluated
    assumption: str | None = None  # the value holds only under this assumption

    def negated(self) -> Test:
        return self if self.value is None else Test(not self.value, self.why, self.assumption)


def interface_test(pattern: str, packet: Packet, wildcard: str, negated: bool = False) -> Test:
    """An input-interface match (`-i eth+`, `! iifname "docker0"`). The interface is
    unknown, but a loopback client's packet arrives on lo and any other's does not. For
    other interfaces a rule is assumed to match, negated or not: a remote client's
    packet comes in on the external interface `-i eth0` names and that `! -i docker0`
    excludes. The verdict lists the assumption."""
    loopback = packet.from_loopback
    if loopback is None:
        return Test(None, "the input interface is unknown (so is the client's address)")
    if pattern.endswith(wildcard):
        stem = pattern[: -len(wildcard)]
        names_lo, names_only_lo, names_all = "lo".startswith(stem), False, stem == ""
    else:
        names_lo = names_only_lo = pattern == "lo"
        names_all = False
    if loopback:
        return Test(names_lo != negated)
    if names_only_lo or names_all:
        return Test(names_all != negated)
    if negated:
        return Test(True, assumption=f"the input interface is assumed not to be {pattern}")
    return Test(True, assumption=f"the input interface is assumed to be {pattern}")


def conclude(tests: list[Test], question: Question, trail: Trail) -> bool:
    """Whether a rule with these conditions matches: any certain False ends it; one
    that cannot be told is asked of the trail; assumptions that carried it are noted."""
    if any(t.value is False and t.assumption is None for t in tests):
        return False
    assumed_false = [t for t in tests if t.value is False]
    if assumed_false:
        for test in assumed_false:
            trail.assume(test.assumption or "")
        return False
    unknown = [t for t in tests if t.value is None]
    if unknown:
        asked = replace(question, why=unknown[0].why)
        if not trail.matches(asked):
            return False
    for test in tests:
        if test.assumption:
            trail.assume(test.assumption)
    return True


@dataclass(frozen=True)
class Question:
    """A rule the evaluator could not decide, and why."""

    rule: str
    why: str
    table: str
    chain: str
    position: int | None
    handle: int | None = None
    path: tuple[RuleStep, ...] = ()  # the jumps and gotos that led to the rule

    def text(self) -> str:
        return f"{self.rule} ({self.why})"


@dataclass
class Trail:
    """One walk through the rules: replays scripted answers to the undecidable questions,
    answers 0 (the first option: "does not match") past the script, and keeps what was
    asked and assumed on the way."""

    script: tuple[int, ...] = ()
    asked: list[tuple[Question, int]] = field(default_factory=list)
    options: list[int] = field(default_factory=list)  # how many answers each question had
    assumptions: list[str] = field(default_factory=list)

    def choose(self, question: Question, options: int) -> int:
        """The answer (0 .. options-1) for this walk."""
        index = len(self.asked)
        answer = self.script[index] if index < len(self.script) else 0
        self.asked.append((question, answer))
        self.options.append(options)
        return answer

    def matches(self, question: Question) -> bool:
        return self.choose(question, 2) == 1

    def assume(self, text: str) -> None:
        if text not in self.assumptions:
            self.assumptions.append(text)


@dataclass(frozen=True)
class Decision:
    """Where one walk ended."""

    action: Action
    rule: str
    table: str
    chain: str
    position: int | None
    reject_with: str | None = None
    handle: int | None = None
    hook: str = "input"
    priority: int = 0
    path: tuple[RuleStep, ...] = ()  # the jumps and gotos in force when it decided
    matched: str = ""  # the deciding rule's match in a named set or map, if any


def telling_accept(accepts: list[Decision]) -> Decision | None:
    """Of the accepts of every chain the packet passed, the one worth showing: the first
    made by a rule (a policy accept only says nothing stopped it), else the last."""
    by_rule = [d for d in accepts if d.position is not None]
    if by_rule:
        return by_rule[0]
    return accepts[-1] if accepts else None


# What an evaluator gives explore(): one walk through its chains along a trail.
Walk = Callable[[Trail], Decision]


@dataclass(frozen=True)
class _Path:
    decision: Decision
    asked: tuple[tuple[Question, int], ...]
    assumptions: tuple[str, ...]


def explore(walk: Walk, backend: Backend, loaded: bool = True) -> FirewallVerdict:
    """Run `walk` for every combination of answers to the questions it asks (depth
    first, at most MAX_PATHS walks) and sum them up in one verdict."""
    pending: list[tuple[int, ...]] = [()]
    paths: list[_Path] = []
    truncated = False
    while pending:
        if len(paths) >= MAX_PATHS:
            truncated = True
            break
        script = pending.pop()
        trail = Trail(script)
        decision = walk(trail)
        paths.append(_Path(decision, tuple(trail.asked), tuple(trail.assumptions)))
        # Questions past the script were answered 0; every other answer is a new walk.
        for index in range(len(trail.asked) - 1, len(script) - 1, -1):
            prefix = tuple(answer for _, answer in trail.asked[:index])
            for answer in range(trail.options[index] - 1, 0, -1):
                pending.append((*prefix, answer))
    return _verdict(paths, backend, loaded, truncated)


def _verdict(
    paths: list[_Path], backend: Backend, loaded: bool, truncated: bool
) -> FirewallVerdict:
    first = paths[0]  # every undecidable rule taken as not matching
    decided = first.decision
    questions = list(dict.fromkeys(q.text() for p in paths for q, _ in p.asked))
    assumptions = tuple(dict.fromkeys(a for p in paths for a in p.assumptions))
    outcomes = {(p.decision.action, p.decision.reject_with) for p in paths}
    if not truncated and len(outcomes) == 1 and decided.action is not Action.UNDECIDABLE:
        return _from_decision(decided, backend, loaded, assumptions, tuple(questions))
    # Open: name the first rule where the walks part, and what they end in.
    possible = tuple(dict.fromkeys(p.decision.action for p in paths))
    if truncated:
        questions.append(f"more than {MAX_PATHS} combinations of undecidable rules")
    if first.asked:
        question = _deciding_question(paths)
        return FirewallVerdict(
            backend=backend,
            action=Action.UNDECIDABLE,
            rule=question.rule,
            table=question.table,
            chain=question.chain,
            position=question.position,
            handle=question.handle,
            hook=decided.hook,
            priority=decided.priority,
            loaded=loaded,
            assumptions=assumptions,
            undecidable=tuple(questions),
            possible=tuple(a for a in possible if a is not Action.UNDECIDABLE),
            path=question.path,
        )
    # No rule was in doubt, yet the walk could not finish (a QUEUE target, a loop).
    verdict = _from_decision(decided, backend, loaded, assumptions, tuple(questions))
    return replace(verdict, possible=tuple(a for a in possible if a is not Action.UNDECIDABLE))


def _deciding_question(paths: list[_Path]) -> Question:
    """The first rule in doubt whose answer changes the outcome (a rule in doubt that
    leads to the same place either way is not what keeps the verdict open)."""
    for question, _ in paths[0].asked:
        by_answer: dict[int, set[tuple[Action, str | None]]] = {}
        for path in paths:
            for asked, answer in path.asked:
                if asked == question:
                    outcome = (path.decision.action, path.decision.reject_with)
                    by_answer.setdefault(answer, set()).add(outcome)
        if len({frozenset(outcomes) for outcomes in by_answer.values()}) > 1:
            return question
    return paths[0].asked[0][0]


def _from_decision(
    decision: Decision,
    backend: Backend,
    loaded: bool,
    assumptions: tuple[str, ...],
    undecidable: tuple[str, ...],
) -> FirewallVerdict:
    return FirewallVerdict(
        backend=backend,
        action=decision.action,
        rule=decision.rule,
        table=decision.table,
        chain=decision.chain,
        position=decision.position,
        reject_with=decision.reject_with,
        handle=decision.handle,
        hook=decision.hook,
        priority=decision.priority,
        loaded=loaded,
        assumptions=assumptions,
        undecidable=undecidable,
        path=decision.path,
        matched=decision.matched,
    )


def decisive(verdicts: tuple[FirewallVerdict, ...]) -> FirewallVerdict | None:
    """All backends together: every one sees the packet at its hook and priority, and the
    first that does not accept decides. When all accept, the loaded backend's accept
    (the first verdict when none is loaded); None without any verdict."""
    if not verdicts:
        return None
    blocking = [v for v in verdicts if v.action is not Action.ACCEPT]
    if blocking:
        return min(blocking, key=lambda v: (HOOK_ORDER.get(v.hook, 9), v.priority))
    return next((v for v in verdicts if v.loaded), verdicts[0])
