"""The client's own evidence: how its routing table treats the target address."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from .model import ClientEvidence, RouteKind
from .route import matching_route, parse_route_get
from .runner import TIMED_OUT, LocalRunner, Runner, first_line

_REFUSING = (RouteKind.UNREACHABLE, RouteKind.BLACKHOLE, RouteKind.PROHIBIT, RouteKind.NO_ROUTE)


def gather_client(
    address: str, timeout: float = 5.0, runner: Runner | None = None
) -> ClientEvidence:
    """`ip route get ADDRESS` here (or through `runner`: the lab's client namespace), and
    for a route that refuses, the route that does it. Never raises."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        # Only an IP literal is asked about: a name would need resolving, which is not
        # this module's business, and anything else is not worth a command.
        return ClientEvidence(address, None, (("route", f"not an IP address: {address!r}"),))
    runner = runner or LocalRunner(timeout)
    got = runner.run("ip route get %s", address)
    if got.rc == 127:
        return ClientEvidence(address, None, (("route", "ip (iproute2) is not installed"),))
    if got.rc == TIMED_OUT:
        return ClientEvidence(address, None, (("route", first_line(got.stderr) or "timed out"),))
    route = parse_route_get(address, got.rc, got.stdout, got.stderr)
    gaps: tuple[tuple[str, str], ...] = ()
    if route.kind in _REFUSING:
        shown = runner.run("ip route show match %s", address)
        if shown.rc == 0:
            route = replace(route, matched=matching_route(shown.stdout))
    elif route.kind is RouteKind.UNKNOWN:
        gaps = (("route", f"ip route get: {route.error or 'unreadable output'}"),)
    return ClientEvidence(address, route, gaps)
