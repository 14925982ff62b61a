"""The TCP probe run on a vantage host: one connect from there, classified like a local one.

"Reachable from the app server but not from CI" is the question; so the remote probe
must tell refused from timeout from unreachable exactly as the local one does. Where the
host has python3 the connect runs there and reports its errno; otherwise bash's
/dev/tcp runs it and its error text is classified.
"""

from __future__ import annotations

import asyncio
import errno
import math

from ..children import in_thread
from ..evidence.runner import GRACE_S, reason
from ..inventory.model import DEFAULT_EVIDENCE_TIMEOUT_S
from ..outcome import Outcome, classify_errno
from ..spawn import CommandHost, CommandResult
from ..spawn import run as spawn_safely
from ..transport import deadline
from .result import Attempt

# Prints "open MS" or "errno CODE MS" or "timeout MS"; argv: address port timeout.
# `python3 -c SCRIPT ARGS` and `bash -c SCRIPT ARGS` end option parsing at SCRIPT: an
# address beginning with '-' arrives as sys.argv[1] (or $0), never as an option.
_PYTHON_PROBE = """\
import socket, sys, time
address, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
family = socket.AF_INET6 if ":" in address else socket.AF_INET
sock = socket.socket(family, socket.SOCK_STREAM)
sock.settimeout(timeout)
started = time.monotonic()
try:
    sock.connect((address, port))
except socket.timeout:
    print("timeout", (time.monotonic() - started) * 1000)
except OSError as exc:
    print("errno", exc.errno, (time.monotonic() - started) * 1000)
else:
    print("open", (time.monotonic() - started) * 1000)
"""
# Without python3: bash's /dev/tcp, bounded by coreutils' timeout (exit 124).
_BASH_PROBE = 'exec 3<>"/dev/tcp/$0/$1"'

_BASH_ERRORS = (
    ("Connection refused", errno.ECONNREFUSED),
    ("No route to host", errno.EHOSTUNREACH),
    ("Network is unreachable", errno.ENETUNREACH),
    ("Permission denied", errno.EACCES),
    ("Operation not permitted", errno.EPERM),
    ("Connection timed out", errno.ETIMEDOUT),
    ("Connection reset", errno.ECONNRESET),
    ("Invalid argument", errno.EINVAL),
)


async def connect_from(
    shell: CommandHost,
    vantage: str,
    address: str,
    port: int,
    timeout: float,
    transport: float = DEFAULT_EVIDENCE_TIMEOUT_S,
) -> Attempt:
    """One TCP connect from the vantage host `shell` reaches; never raises.

    `transport` is the evidence timeout, the bound for reaching the vantage (connect,
    auth): the round trip is killed after it plus the probe's own bound.
    """
    limit = transport + _remote_bound(timeout)
    try:
        return await asyncio.wait_for(
            in_thread(_connect_blocking, shell, vantage, address, port, timeout, limit),
            limit + GRACE_S,
        )
    except (asyncio.TimeoutError, TimeoutError):
        detail = f"no word from vantage {vantage} within {limit:g} s"
        return Attempt(Outcome.PROBE_ERROR, 0.0, address, port, None, detail)


def _remote_bound(timeout: float) -> int:
    return math.ceil(timeout) + 2  # coreutils timeout: whole seconds are safest


def _connect_blocking(
    shell: CommandHost,
    vantage: str,
    address: str,
    port: int,
    timeout: float,
    limit: float = DEFAULT_EVIDENCE_TIMEOUT_S,
) -> Attempt:
    """The remote probe, run on this thread; a bounded host kills it after `limit`."""
    bound = str(_remote_bound(timeout))
    command = (
        "if command -v -- python3 >/dev/null 2>&1; then timeout -- %s python3 -c %s %s %s %s;"
        " else timeout -- %s bash -c %s %s %s; fi"
    )
    args: tuple[str, ...] = (bound, _PYTHON_PROBE, address, str(port), f"{timeout:g}")
    args += (f"{timeout:g}", _BASH_PROBE, address, str(port))
    try:
        with deadline(limit):
            result = spawn_safely(shell, command, *args)
    except Exception as exc:  # any transport failure (ssh refused, auth, ...) is reported
        detail = f"vantage {vantage} could not run the probe: {reason(exc)}"
        return Attempt(Outcome.PROBE_ERROR, 0.0, address, port, None, detail)
    return classify(result, vantage, address, port, timeout)


def classify(
    result: CommandResult, vantage: str, address: str, port: int, timeout: float
) -> Attempt:
    """The Attempt a remote probe's output stands for."""
    words = result.stdout.split()
    where = f"from {vantage}"
    if words and words[0] == "open" and len(words) == 2:
        return Attempt(Outcome.OPEN, _ms(words[1]), address, port, detail=where)
    if words and words[0] == "timeout":
        elapsed = _ms(words[1]) if len(words) > 1 else timeout * 1000
        return Attempt(Outcome.TIMEOUT, elapsed, address, port, errno.ETIMEDOUT, where)
    if words and words[0] == "errno" and len(words) == 3 and words[1].isdigit():
        code = int(words[1])
        return Attempt(classify_errno(code), _ms(words[2]), address, port, code, where)
    # The bash fallback: exit 0 is open, 124 is coreutils' timeout, else its error text.
    if result.rc == 0 and not words:
        return Attempt(Outcome.OPEN, 0.0, address, port, detail=f"{where} (bash)")
    if result.rc == 124:
        return Attempt(Outcome.TIMEOUT, timeout * 1000, address, port, errno.ETIMEDOUT, where)
    for text, code in _BASH_ERRORS:
        if text in result.stderr:
            return Attempt(classify_errno(code), 0.0, address, port, code, f"{where} (bash)")
    said = (result.stderr or result.stdout).strip().splitlines()[-1:] or [f"exit {result.rc}"]
    detail = f"the probe on {vantage} did not run: {said[0][:200]}"
    return Attempt(Outcome.PROBE_ERROR, 0.0, address, port, None, detail)


def _ms(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0
