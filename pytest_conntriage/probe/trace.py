"""The path trace's I/O: the probe's SYN sent once per TTL, and what came back for each.

No root and no raw socket: each hop is an ordinary non-blocking TCP connect with IP_TTL
(IPv6: IPV6_UNICAST_HOPS) set and IP_RECVERR (IPV6_RECVERR) on. A router that lets the
TTL expire sends ICMP time-exceeded; Linux ends the connect with EHOSTUNREACH and queues
the ICMP message, with its sender, on the socket's error queue (MSG_ERRQUEUE). The
target's SYN-ACK or reset ends it as a connect always ends. Linux only: elsewhere the
error queue is missing, and every hop reads as silent or failed.

What the replies mean is evidence.path's business; this module only collects them.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections.abc import Awaitable, Callable

from ..evidence.path import HopKind, HopReply, PathTrace, wants_more
from ..outcome import address_family
from . import icmp
from .tcp import handshake

Bounded = Callable[[Awaitable[HopReply]], Awaitable[HopReply]]

# TTLs sent at once: few enough that a path ending early (a router rejecting every SYN
# past it, or queueing them for an ARP that fails) gets at most 3 more of them, which
# keeps the ICMP it sends back within a router's rate limit.
WAVE = 4
# ICMP "time exceeded in transit": IPv4 type 11, IPv6 type 3.
_TIME_EXCEEDED = {4: 11, 6: 3}
_DESTINATION_UNREACHABLE = {4: 3, 6: 1}


async def trace_path(
    address: str,
    port: int,
    max_hops: int,
    hop_timeout: float,
    bounded: Bounded | None = None,
    wave: int = WAVE,
) -> PathTrace:
    """Send the SYN to `address`:`port` with TTL 1, 2, ... up to `max_hops`, `wave` TTLs
    at once, each waited for at most `hop_timeout`; the next wave only while the last
    TTL sent still came back from a router (evidence.path.wants_more). `bounded` runs
    each hop under the engine's slots. With free slots a trace takes one hop timeout
    per wave, and sends at most `wave - 1` SYNs past where the path ends. Never raises
    (a cancellation excepted)."""

    async def hop(ttl: int) -> HopReply:
        work = probe_hop(address, port, ttl, hop_timeout)
        return await (bounded(work) if bounded is not None else work)

    replies: list[HopReply] = []
    for first in range(1, max_hops + 1, wave):
        ttls = range(first, min(first + wave, max_hops + 1))
        sent = await asyncio.gather(*(hop(ttl) for ttl in ttls))
        replies += sent
        if not wants_more(sent):
            break
    return PathTrace(address, port, tuple(replies), len(replies), hop_timeout)


async def probe_hop(address: str, port: int, ttl: int, timeout: float) -> HopReply:
    """One SYN with this TTL; what came back within `timeout` seconds."""
    try:
        sock = socket.socket(address_family(address), socket.SOCK_STREAM)
    except OSError as exc:
        return HopReply(ttl, HopKind.FAILED, detail=f"no socket: {exc.strerror or exc}")
    try:
        sock.setblocking(False)
        _limit_hops(sock, ttl)
        icmp.enable(sock)
        try:
            ended = await handshake(sock, address, port, timeout)
        except OSError as exc:  # no SYN sent at all
            return HopReply(ttl, HopKind.FAILED, detail=f"{exc.strerror or exc} (local)")
        if ended is None:
            # An ICMP message may have been queued without ending the connect.
            return _from_queue(sock, ttl) or HopReply(ttl, HopKind.SILENT)
        if ended:
            queued = _from_queue(sock, ttl)
            if queued is not None:
                return queued
            if ended == errno.ECONNREFUSED:
                return HopReply(ttl, HopKind.ANSWERED, address, detail="refused")
            return HopReply(ttl, HopKind.FAILED, detail=f"{os.strerror(ended)} (local)")
        return HopReply(ttl, HopKind.ANSWERED, address, detail="open")
    finally:
        sock.close()


def _limit_hops(sock: socket.socket, ttl: int) -> None:
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)


def _from_queue(sock: socket.socket, ttl: int) -> HopReply | None:
    queued = icmp.read_queued(sock)
    if queued is None:
        return None
    version, icmp_type, code, sender = queued
    if icmp_type == _TIME_EXCEEDED[version]:
        return HopReply(ttl, HopKind.TIME_EXCEEDED, sender, "time-exceeded")
    if icmp_type == _DESTINATION_UNREACHABLE[version]:
        error = icmp.read_unreachable(version, icmp_type, code, sender)
        return HopReply(ttl, HopKind.UNREACHABLE, sender, error.kind if error else None)
    return HopReply(ttl, HopKind.UNREACHABLE, sender, f"type {icmp_type} code {code}")
