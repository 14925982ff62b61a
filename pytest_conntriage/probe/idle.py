"""The idle probe: hold an established connection idle, then see whether it still lives.

Middleboxes (NAT gateways, stateful firewalls, load balancers) forget connections that
stay idle longer than their timeout and then drop their packets silently. The probe
detects that without sending application data: it arms TCP keepalive to fire once the
connection has been idle for the asked time, and watches whether the peer acknowledges
the keepalive probe (alive), the kernel gives up on it (dropped), or the peer closed or
reset the connection meanwhile.
"""

from __future__ import annotations

import asyncio
import errno
import math
import socket
import struct
import time

from ..outcome import Outcome, classify_errno
from .result import Attempt

# Keepalive probes after the idle period, one a second: the connection is declared dead
# after KEEPALIVE_PROBES unanswered ones.
KEEPALIVE_PROBES = 3
KEEPALIVE_INTERVAL_S = 1
POLL_S = 0.05
# struct tcp_info: 8 single bytes, then u32 fields; tcpi_last_ack_recv (ms since the last
# ACK arrived) is the 13th u32.
_LAST_ACK_RECV = struct.Struct("=I")
_LAST_ACK_RECV_OFFSET = 8 + 12 * 4
_TCP_INFO_SIZE = 104


def idle_seconds(idle: float) -> int:
    """Keepalive counts whole seconds: the idle period actually held."""
    return max(1, math.ceil(idle))


async def hold_idle(sock: socket.socket, idle: float, connect_ms: float) -> Attempt:
    """Keep `sock` (connected, non-blocking) idle for `idle` s and judge whether it lives.

    Returns OPEN if the peer acknowledged a keepalive sent after the idle period,
    TIMEOUT if the kernel gave up on it (something on the path dropped the connection),
    RESET if the peer reset or closed it. The socket is the caller's to close.
    """
    address, port = sock.getpeername()[:2]
    held = idle_seconds(idle)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, held)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_PROBES)
    except (OSError, AttributeError) as exc:  # no keepalive knobs off Linux
        detail = f"cannot arm TCP keepalive: {exc}"
        return Attempt(Outcome.PROBE_ERROR, connect_ms, address, port, None, detail)
    idle_from = time.monotonic()
    await asyncio.sleep(held)
    deadline = idle_from + held + KEEPALIVE_PROBES * KEEPALIVE_INTERVAL_S + 1.0
    while True:
        now = time.monotonic()
        closed = _closed(sock)
        if closed is not None:
            outcome, code, how = closed
            detail = f"established in {connect_ms:.1f} ms, then {how} after {held} s idle"
            return Attempt(outcome, connect_ms, address, port, code, detail)
        if _acked_since(sock, now - (idle_from + held)):
            detail = f"established, and still answering after {held} s idle"
            return Attempt(Outcome.OPEN, connect_ms, address, port, detail=detail)
        if now >= deadline:
            detail = f"established, then no answer to keepalive after {held} s idle"
            return Attempt(Outcome.TIMEOUT, connect_ms, address, port, errno.ETIMEDOUT, detail)
        await asyncio.sleep(POLL_S)


def _acked_since(sock: socket.socket, seconds_ago: float) -> bool:
    """Whether an ACK arrived within the last `seconds_ago` s (after the idle period)."""
    if seconds_ago <= 0:
        return False
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
    except OSError:
        return False
    if len(info) < _LAST_ACK_RECV_OFFSET + 4:
        return False
    (last_ack_ms,) = _LAST_ACK_RECV.unpack_from(info, _LAST_ACK_RECV_OFFSET)
    return bool(last_ack_ms / 1000.0 < seconds_ago)


def _closed(sock: socket.socket) -> tuple[Outcome, int | None, str] | None:
    """(outcome, errno, how) once the connection is over; None while it lives."""
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        how = "no answer to keepalive" if code == errno.ETIMEDOUT else errno.errorcode[code]
        return classify_errno(code), code, how
    while True:  # drain whatever the peer sent (a banner), looking for its FIN
        try:
            data = sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as exc:
            return classify_errno(exc.errno), exc.errno, f"reset ({errno_text(exc)})"
        if not data:
            return Outcome.RESET, None, "closed by the peer (FIN)"


def errno_text(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, str(exc))
