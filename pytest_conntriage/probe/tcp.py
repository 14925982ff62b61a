"""The TCP probe: one connect() to one address, classified by what the kernel said."""

from __future__ import annotations

import asyncio
import errno
import socket
import time

from ..outcome import Outcome, address_family, classify_errno
from . import icmp
from .result import Attempt


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
    loop = asyncio.get_running_loop()
    try:
        sock = socket.socket(address_family(address), socket.SOCK_STREAM)
    except OSError as exc:
        detail = f"no socket: {exc.strerror}"
        return Attempt(Outcome.PROBE_ERROR, 0.0, address, port, exc.errno, detail), None
    started = time.perf_counter()
    try:
        sock.setblocking(False)
        icmp.enable(sock)
        await asyncio.wait_for(loop.sock_connect(sock, (address, port)), timeout)
    except (asyncio.TimeoutError, TimeoutError):
        sock.close()
        return Attempt(Outcome.TIMEOUT, _ms_since(started), address, port, errno.ETIMEDOUT), None
    except OSError as exc:
        elapsed = _ms_since(started)
        outcome = classify_errno(exc.errno)
        detail = "" if outcome is not Outcome.PROBE_ERROR else str(exc.strerror or exc)
        # The errno alone cannot tell a router's "administratively prohibited" from a
        # plain "host unreachable" (both are EHOSTUNREACH), nor a firewall's ICMP
        # port-unreachable from a closed port's reset: the ICMP message itself can.
        error = icmp.read(sock)
        sock.close()
        if error is not None:
            if error.prohibited:
                outcome = Outcome.ADMIN_PROHIBITED
            detail = str(error)
        return Attempt(outcome, elapsed, address, port, exc.errno, detail, icmp=error), None
    except BaseException:  # cancelled: the socket must not leak
        sock.close()
        raise
    return Attempt(Outcome.OPEN, _ms_since(started), address, port), sock


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
