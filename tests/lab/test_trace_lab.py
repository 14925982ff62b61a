"""The path trace through the lab's real router, over IPv4 and IPv6: which hop answers,
and what happens after it. (The scenarios check the plugin's printed sentence over IPv4;
the lab has no IPv6 of its own, so this test adds documentation-range addresses
2001:db8:1::/64 and 2001:db8:2::/64 inside the lab's namespaces only, routes between
them and nowhere else.)"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

import pytest

from pytest_conntriage.evidence.path import HopKind, PathEnd
from tests.lab import netlab

pytestmark = pytest.mark.lab

# Run inside the client namespace: one trace, as JSON.
_TRACE = r"""
import asyncio, json, sys
from pytest_conntriage.probe.trace import trace_path
trace = asyncio.run(trace_path(sys.argv[1], int(sys.argv[2]), 4, 1.0))
print(json.dumps({
    "end": trace.end.value,
    "last": [trace.last_router.ttl, trace.last_router.sender] if trace.last_router else None,
    "end_hop": [trace.end_hop.ttl, trace.end_hop.kind.value, trace.end_hop.icmp]
    if trace.end_hop else None,
    "said": trace.describe(),
}))
"""

V6_CLIENT, V6_ROUTER_CLIENT, V6_ROUTER_SERVER, V6_SERVER = (
    "2001:db8:1::2",
    "2001:db8:1::1",
    "2001:db8:2::1",
    "2001:db8:2::2",
)


def _ipv6(lab: netlab.Lab) -> None:
    for role, address, dev in (
        (netlab.CLIENT, V6_CLIENT, "c0"),
        (netlab.ROUTER, V6_ROUTER_CLIENT, "r0"),
        (netlab.ROUTER, V6_ROUTER_SERVER, "r1"),
        (netlab.SERVER, V6_SERVER, "s0"),
    ):
        lab.ip("-6", role, "addr", "add", f"{address}/64", "dev", dev, "nodad")
    lab.ip("-6", netlab.CLIENT, "route", "add", "2001:db8:2::/64", "via", V6_ROUTER_CLIENT)
    lab.ip("-6", netlab.SERVER, "route", "add", "2001:db8:1::/64", "via", V6_ROUTER_SERVER)
    lab.sysctl(netlab.ROUTER, "net.ipv6.conf.all.forwarding", "1")
    # Neighbour discovery waits for the link-local addresses' duplicate detection.
    deadline = time.monotonic() + 10
    while any(lab.ip("-6", role, "addr", "show", "tentative").strip() for role in netlab.ROLES):
        if time.monotonic() > deadline:
            pytest.fail("IPv6 addresses in the lab still tentative after 10 s")
        time.sleep(0.1)


FAMILIES = {
    # family: (target, router's address towards the client, iptables, reject-with)
    "ipv4": (netlab.SERVER_IP, netlab.ROUTER_CLIENT_IP, "iptables", "icmp-admin-prohibited"),
    "ipv6": (V6_SERVER, V6_ROUTER_CLIENT, "ip6tables", "icmp6-adm-prohibited"),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_trace_names_the_router_and_what_happens_after_it(
    family: str, make_lab: Callable[[], netlab.Lab]
) -> None:
    lab = make_lab()
    target, router, tables, prohibited = FAMILIES[family]
    if family == "ipv6":
        _ipv6(lab)
    # Nothing listens on the server: 8081 is refused by it, 8080 dropped by the router,
    # 8082 rejected by the router with admin-prohibited.
    forward = (tables, "-w", "5", "-A", "FORWARD", "-p", "tcp", "--dport")
    lab.run(netlab.ROUTER, *forward, "8080", "-j", "DROP")
    lab.run(netlab.ROUTER, *forward, "8082", "-j", "REJECT", "--reject-with", prohibited)

    def trace(port: int) -> dict[str, object]:
        done = lab.run(netlab.CLIENT, sys.executable, "-c", _TRACE, target, str(port), timeout=30)
        found: dict[str, object] = json.loads(done.stdout)
        return found

    refused = trace(8081)
    assert refused["end"] == PathEnd.REACHED.value, refused
    assert refused["last"] == [1, router]
    assert refused["end_hop"] == [2, HopKind.ANSWERED.value, None]

    dropped = trace(8080)
    assert dropped["end"] == PathEnd.SILENT.value, dropped
    assert dropped["last"] == [1, router]
    assert str(dropped["said"]).startswith(
        f"the SYN passes hop 1 ({router}) and gets no answer after it (TTL 2 to 4"
    )

    rejected = trace(8082)
    assert rejected["end"] == PathEnd.REJECTED.value, rejected
    # The TTL whose error arrives first may vary: the router rate-limits its ICMP.
    end_hop = rejected["end_hop"]
    assert isinstance(end_hop, list)
    assert end_hop[1:] == [HopKind.UNREACHABLE.value, "admin-prohibited"]
    assert rejected["said"] == (
        f"the SYN passes hop 1 ({router}) and hop 1 rejects it on the way on "
        "(ICMP admin-prohibited)"
    )
