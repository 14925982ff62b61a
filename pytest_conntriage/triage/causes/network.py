"""network-acl and routing: the network between the client and the target host stops
the connection (a filter on the way, or no way at all)."""

from __future__ import annotations

from collections.abc import Iterator

from ...evidence.model import ClientEvidence, RouteKind
from ...evidence.path import PathTrace
from ...outcome import Outcome
from ..checked import icmp, prohibited_locally, ruled_out_by_idle_drop
from ..known import Fact, Knowledge
from ..model import CONFIRMED
from ..path import trace_end
from ..rank import Finding
from ..rules import CauseRules, Rule, from_rules
from ..seen import CONNECT_OUTCOMES, Seen, Target, covers

NETWORK_ACL = "network-acl"
ROUTING = "routing"

# A router's own ICMP error seen by the trace, though the check itself saw none.
ROUTER_REJECTS = 90  # network-acl: admin-prohibited from a router on the way
ROUTER_CANNOT_REACH = 80  # routing: host/net-unreachable from a router on the way

# The client's own routing table fails a connect at once, each kind with its own error.
_FAILING_ROUTES = {
    RouteKind.UNREACHABLE: ("an `unreachable` route", Outcome.HOST_UNREACHABLE),
    RouteKind.BLACKHOLE: ("a `blackhole` route", Outcome.NO_ROUTE),
    RouteKind.PROHIBIT: ("a `prohibit` route", Outcome.ADMIN_PROHIBITED),
    RouteKind.NO_ROUTE: ("no route at all", Outcome.NET_UNREACHABLE),
}
# With no usable address the client sends to another machine, or to none.
_PATH_OUTCOMES = CONNECT_OUTCOMES - {Outcome.REFUSED, Outcome.RESET}


def from_trace(outcome: Outcome, trace: PathTrace) -> Iterator[Finding]:
    end = trace_end(trace)
    if end is None:
        return
    if not end.rejected:
        yield Finding(NETWORK_ACL, None, end.said)
        yield Finding(ROUTING, None, end.said)
    elif end.from_target:
        # The target answered the SYN itself: the path to it works, for now.
        yield Finding(ROUTING, None, end.said)
    elif end.prohibited:
        yield Finding(NETWORK_ACL, ROUTER_REJECTS if outcome is Outcome.TIMEOUT else None, end.said)
    else:
        score = ROUTER_CANNOT_REACH if outcome is Outcome.TIMEOUT else None
        yield Finding(ROUTING, score, end.said)


def from_evidence(seen: Seen) -> Iterator[Finding]:
    outcome, target = seen.outcome, seen.target
    if outcome not in CONNECT_OUTCOMES:
        return
    if seen.client is not None:
        yield from _route(outcome, target, seen.client)
    if seen.wrong_address:
        return  # the client went to the wrong machine: its host says nothing
    if seen.elsewhere:
        if not target.name and outcome in _PATH_OUTCOMES:
            yield Finding(
                ROUTING,
                90,
                f"{seen.not_mine}: the client's packets go to another machine, or to none",
            )
        return
    if seen.host_speaks:
        yield from _path(seen)


def _path(seen: Seen) -> Iterator[Finding]:
    """Listening, admitted by the host, and still no answer: the path is to blame."""
    if seen.outcome is not Outcome.TIMEOUT or seen.state(Fact.LISTENERS) is Knowledge.UNKNOWN:
        return
    target, host = seen.target, seen.host
    assert host is not None  # host_speaks
    serving = [x for x in host.listeners_on(target.port) if covers(x, target.address)]
    if not serving or any(x.accept_queue_full for x in serving):
        return
    if seen.state(Fact.FIREWALL) is not Knowledge.ABSENT:
        return  # blocked, or not known to admit it
    yield Finding(
        NETWORK_ACL,
        90,
        f"{target.host} listens on port {target.port} and its own firewall admits it, yet "
        "the client's SYN got no answer: something on the path (security group, network "
        "ACL, a firewall between) drops it",
    )


def _route(outcome: Outcome, target: Target, client: ClientEvidence) -> Iterator[Finding]:
    route = client.route
    if route is None or route.kind not in _FAILING_ROUTES:
        return  # a usable first hop says nothing about the hops after it
    if target.icmp_from is not None:
        return  # an ICMP error came from the network: the local route did not end it
    kind, gives = _FAILING_ROUTES[route.kind]
    if outcome is not gives:
        return  # not the error this route gives: it changed since the probe
    yield Finding(
        ROUTING,
        CONFIRMED,
        f"client: `ip route get {client.address}` finds {kind}"
        + (f" ({route.matched})" if route.matched else ""),
        first=True,  # the connect failed on the client: nothing else was reached
    )


RULES = CauseRules(
    name="network",
    causes=(NETWORK_ACL, ROUTING),
    # In the order the checks' facts were read before the rules were split by cause:
    # for one cause, the later of two equally certain findings wins.
    from_check=from_rules(
        (
            Rule(
                name="icmp-port-unreachable-from-router",
                cause=NETWORK_ACL,
                score=90,
                evidence="{icmp_from}, not {address}, answered with {icmp}: a filter on the "
                "way rejects the port",
                applies=icmp("port-unreachable", from_target=False),
            ),
            Rule(
                name="icmp-prohibited-from-router",
                cause=NETWORK_ACL,
                score=95,
                evidence="the router {icmp_from} answered with {icmp}: a filter on the "
                "network path (ACL, security group, firewall) rejects the connection",
                applies=icmp("prohibited", from_target=False),
            ),
            # Whatever the kind, an ICMP error sent by the target itself means the SYN
            # got there: the path works, and no filter on the way stopped it.
            Rule(
                name=f"icmp-from-target/{ROUTING}",
                cause=ROUTING,
                score=0,
                evidence="the ICMP error came back from {address} itself, so the path to it works",
                applies=icmp("", from_target=True),
            ),
            Rule(
                name=f"icmp-from-target/{NETWORK_ACL}",
                cause=NETWORK_ACL,
                score=10,
                evidence="the ICMP error came from {address} itself, not from a router or "
                "firewall on the way",
                applies=icmp("", from_target=True),
            ),
            Rule(
                name=f"prohibited-on-the-client/{ROUTING}",
                cause=ROUTING,
                score=90,
                evidence="connect() failed on the client itself with no ICMP message: a "
                "`prohibit` route or the client's own firewall (OUTPUT chain) refuses "
                "traffic to {address}; see `ip route get {address}`",
                applies=prohibited_locally,
            ),
            Rule(
                name=f"prohibited-on-the-client/{NETWORK_ACL}",
                cause=NETWORK_ACL,
                score=20,
                evidence="nothing on the network answered: the refusal is local",
                applies=prohibited_locally,
            ),
            *map(ruled_out_by_idle_drop, (NETWORK_ACL, ROUTING)),
        )
    ),
    from_trace=from_trace,
    from_evidence=from_evidence,
)
