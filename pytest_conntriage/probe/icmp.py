"""Read the ICMP error behind a failed connect() from the socket's error queue (Linux)."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

# From <linux/in.h>, <linux/in6.h> and <linux/errqueue.h>; Python's socket module does
# not export them.
IP_RECVERR = 11
IPV6_RECVERR = 25
_ORIGIN_ICMP = 2
_ORIGIN_ICMP6 = 3
# struct sock_extended_err: ee_errno, ee_origin, ee_type, ee_code, ee_pad, ee_info,
# ee_data; the offender's sockaddr follows it.
_EXTENDED_ERR = struct.Struct("=IBBBBII")

# Destination-unreachable codes that mean "a filter said no" rather than "no way there".
_V4_ADMIN_CODES = {9: "net-prohibited", 10: "host-prohibited", 13: "admin-prohibited"}
_V4_NAMES = {0: "net-unreachable", 1: "host-unreachable", 3: "port-unreachable"}
_V6_NAMES = {0: "no-route", 1: "admin-prohibited", 3: "address-unreachable", 4: "port-unreachable"}


@dataclass(frozen=True)
class IcmpError:
    """An ICMP destination-unreachable that ended a connect, and who sent it."""

    kind: str  # "admin-prohibited", "port-unreachable", "host-unreachable", ...
    sender: str  # the router or host that sent it
    type: int
    code: int

    @property
    def prohibited(self) -> bool:
        """A filter (firewall, ACL) rejected the packet, as opposed to a missing route."""
        return self.kind.endswith("prohibited")

    def __str__(self) -> str:
        return f"ICMP {self.kind} (type {self.type} code {self.code}) from {self.sender}"


def enable(sock: socket.socket) -> None:
    """Ask the kernel to queue ICMP errors for `sock` (best effort: Linux only)."""
    try:
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    except OSError:
        pass


def read(sock: socket.socket) -> IcmpError | None:
    """The queued ICMP error of a failed connect, if the kernel kept one."""
    queued = read_queued(sock)
    return read_unreachable(*queued) if queued is not None else None


def read_unreachable(version: int, icmp_type: int, code: int, sender: str) -> IcmpError | None:
    """The destination-unreachable this ICMP message is, or None for any other type."""
    if version == 4 and icmp_type == 3:
        name = _V4_ADMIN_CODES.get(code) or _V4_NAMES.get(code, f"unreachable-{code}")
    elif version == 6 and icmp_type == 1:
        name = _V6_NAMES.get(code, f"unreachable-{code}")
    else:
        return None
    return IcmpError(name, sender, icmp_type, code)


def read_queued(sock: socket.socket) -> tuple[int, int, int, str] | None:
    """Any ICMP message queued on `sock`'s error queue: (4 or 6, type, code, sender).

    Destination-unreachable and time-exceeded alike (the path trace needs both); None
    when nothing is queued, or what is queued did not come from ICMP.
    """
    try:
        _, ancillary, _, _ = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
    except (OSError, AttributeError):  # nothing queued; or no MSG_ERRQUEUE off Linux
        return None
    for level, kind, data in ancillary:
        if (level, kind) not in (
            (socket.IPPROTO_IP, IP_RECVERR),
            (socket.IPPROTO_IPV6, IPV6_RECVERR),
        ):
            continue
        if len(data) < _EXTENDED_ERR.size:
            continue
        _, origin, icmp_type, code, _, _, _ = _EXTENDED_ERR.unpack_from(data)
        if origin not in (_ORIGIN_ICMP, _ORIGIN_ICMP6):
            continue
        version = 4 if origin == _ORIGIN_ICMP else 6
        return version, icmp_type, code, _sender(data[_EXTENDED_ERR.size :])
    return None


def _sender(sockaddr: bytes) -> str:
    if len(sockaddr) >= 8 and struct.unpack_from("=H", sockaddr)[0] == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, sockaddr[4:8])
    if len(sockaddr) >= 24 and struct.unpack_from("=H", sockaddr)[0] == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, sockaddr[8:24])
    return "?"
