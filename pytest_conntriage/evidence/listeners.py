"""Listening TCP sockets from `ss -ltn[p]` output, or from /proc/net/tcp where ss is missing."""

from __future__ import annotations

import ipaddress
import re

from .model import Listener, ProcessRef

# users:(("sshd",pid=612,fd=3),("sshd",pid=700,fd=3))
_USER = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+)(?:,fd=(\d+))?\)')


def parse_ss(text: str) -> tuple[Listener, ...]:
    """Listeners from `ss -Hltnp` / `ss -ltn` (header optional, process column optional).

    Lines that are not LISTEN sockets, or that cannot be read, are skipped: one odd line
    must not cost the rest.
    """
    found: list[Listener] = []
    for line in text.splitlines():
        words = line.split()
        # State Recv-Q Send-Q Local:Port Peer:Port [Process]
        if len(words) < 5 or words[0] != "LISTEN":
            continue
        if not (words[1].isdigit() and words[2].isdigit()):
            continue
        local = _split_endpoint(words[3])
        if local is None:
            continue
        address, interface, port = local
        processes = tuple(
            ProcessRef(name, int(pid), int(fd) if fd else None)
            for name, pid, fd in _USER.findall(" ".join(words[5:]))
        )
        found.append(Listener(address, port, int(words[1]), int(words[2]), interface, processes))
    return tuple(found)


def _split_endpoint(text: str) -> tuple[str, str | None, int] | None:
    """ "0.0.0.0:22", "[::]:22", "*:22", "127.0.0.1%lo:53", "[fe80::1]%eth0:22"."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    interface = None
    if "%" in host:
        host, _, interface = host.partition("%")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host != "*":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return None
    return host, interface, int(port)


def parse_proc_net_tcp(text: str) -> tuple[Listener, ...]:
    """Listeners from /proc/net/tcp and /proc/net/tcp6 (concatenated).

    For a LISTEN socket the kernel prints its accept queue length as rx_queue; the
    backlog it may reach is not shown there, so send_q stays None.
    """
    found: list[Listener] = []
    for line in text.splitlines():
        words = line.split()
        # sl local rem st tx_queue:rx_queue ...
        if len(words) < 5 or not words[0].endswith(":") or words[3] != "0A":
            continue
        local = _hex_endpoint(words[1])
        queues = words[4].split(":")
        if local is None or len(queues) != 2:
            continue
        try:
            recv_q = int(queues[1], 16)
        except ValueError:
            continue
        found.append(Listener(local[0], local[1], recv_q, None))
    return tuple(found)


def _hex_endpoint(text: str) -> tuple[str, int] | None:
    address_hex, _, port_hex = text.partition(":")
    try:
        raw = bytes.fromhex(address_hex)
        port = int(port_hex, 16)
    except ValueError:
        return None
    if len(raw) not in (4, 16):
        return None
    # The kernel prints each 32-bit word in host (little-endian) order.
    packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(packed)
    return str(address), port
