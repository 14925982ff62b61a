"""The TCP probe: one connect() to one address, classified by what the kernel said.

The connect only gathers what the kernel said (ConnectFailure); `classify` alone
decides what that means, so the decision is tested from hand-made data.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import time
from dataclasses import dataclass

from ..outcome import Outcome, address_family, classify_errno
from . import icmp
from .icmp import IcmpError
from .result import Attempt


@dataclass(frozen=True, slots=True)
class ConnectFailure:
    """A connect() that failed with an errno, as the kernel reported it, undigested."""

    address: str
    port: int
    elapsed_ms: float
    errno: int | None
    strerror: str  # the OS's words for the errno ("" when it gave none)
    icmp: IcmpError | None = None  # the ICMP error queued on the socket, if any


def classify(failure: ConnectFailure) -> Attempt:
    """What a failed connect means: the errno's outcome, unless the ICMP error says more.

    The errno alone cannot tell a router's "administratively prohibited" from a plain
    "host unreachable" (both are EHOSTUNREACH), nor a firewall's ICMP port-unreachable
    from a closed port's reset: the ICMP message itself can.
    """
    outcome = classify_errno(failure.errno)
    detail = failure.strerror if outcome is Outcome.PROBE_ERROR else ""
    error = failure.icmp
    if error is not None:
        if error.prohibited:
            outcome = Outcome.ADMIN_PROHIBITED
        detail = str(error)
    return Attempt(
        outcome, failure.elapsed_ms, failure.address, failure.port, failure.errno, detail,
        icmp=error,
    )  # fmt: skip


async def connect_once(address: str, port: int, timeout: float) -> Attempt:
    """Try one TCP handshake with `address`:`port`, giving up after `timeout` seconds.

    Never raises: every failure becomes an Attempt. A failure to get a socket at all
    (EMFILE, ENOBUFS) or a local address (EADDRNOTAVAIL) is PROBE_ERROR, because it
    says nothing about the target.
    """
    attempt, sock = await open_connection(address, port, timeout)
    if sock is not None:
        sock.close()
    return attempt


async def open_connection(
    address: str, port: int, timeout: float
) -> tuple[Attempt, socket.socket | None]:
    """Like connect_once, but an OPEN attempt comes with its connected socket (the
    caller closes it); every other outcome with None."""
    try:
        sock = socket.socket(address_family(address), socket.SOCK_STREAM)
    except OSError as exc:
        detail = f"no socket: {exc.strerror}"
        return Attempt(Outcome.PROBE_ERROR, 0.0, address, port, exc.errno, detail), None
    started = time.perf_counter()
    try:
        sock.setblocking(False)
        icmp.enable(sock)
        ended = await handshake(sock, address, port, timeout)
    except OSError as exc:  # no handshake started at all (a local error)
        ended = exc.errno or errno.EIO
    except BaseException:  # cancelled: the socket must not leak
        sock.close()
        raise
    if ended == 0:
        return Attempt(Outcome.OPEN, _ms_since(started), address, port), sock
    elapsed = _ms_since(started)
    if ended is None:
        sock.close()
        return Attempt(Outcome.TIMEOUT, elapsed, address, port, errno.ETIMEDOUT), None
    error = icmp.read(sock)
    sock.close()
    failure = ConnectFailure(address, port, elapsed, ended, os.strerror(ended), error)
    return classify(failure), None


async def handshake(sock: socket.socket, address: str, port: int, timeout: float) -> int | None:
    """Start a TCP handshake on the non-blocking `sock` and wait for its end, at most
    `timeout` seconds after the SYN left: 0 when it connected, the errno it failed with,
    None when nothing had answered by then.

    The deadline counts from the connect() itself, and at the deadline the socket is
    asked how the handshake stands: an event loop kept busy (thousands of probes, a
    loaded machine) may wake late, and a reset or an accept that arrived meanwhile is
    what the target said, not a timeout. Reading only the timer, a busy loop made
    refused ports "timeout" and open ones too, which a `closed` check takes for a pass.
    """
    loop = asyncio.get_running_loop()
    code = sock.connect_ex((address, port))
    if code != errno.EINPROGRESS:
        return code  # 0: connected at once (loopback), else failed at once
    fd = sock.fileno()
    woken = loop.create_future()

    def wake() -> None:
        if not woken.done():
            woken.set_result(None)

    loop.add_writer(fd, wake)
    timer = loop.call_later(timeout, wake)
    try:
        await woken
    finally:
        timer.cancel()
        loop.remove_writer(fd)
    return handshake_state(sock)


def handshake_state(sock: socket.socket) -> int | None:
    """Where the handshake on `sock` stands: 0 connected, an errno, None still waiting."""
    pending = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if pending:
        return pending
    try:
        sock.getpeername()
    except OSError:  # ENOTCONN: the SYN is still unanswered
        return None
    return 0


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
