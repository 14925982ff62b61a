"""A vantage's batch of connects: the script run there, and what its output means (pure).

One `python3 -c SCRIPT` per batch. The endpoints arrive on its standard input as JSON,
never on a command line: no value becomes an option or shell text, and no length limit
applies. There an asyncio connect per endpoint runs, at most `width` at once, each
bounded by its own timeout, and each result is printed (and flushed) as one JSON line the
moment it is known: a batch cut off at its bound still gives every result it printed.

The far side only reports what its kernel said (errno, elapsed ms, the queued ICMP
error); `attempts()` here decides what that means with the local probe's own
`tcp.classify`, so a vantage tells refused from timeout from unreachable exactly as this
machine does.
"""

from __future__ import annotations

import errno
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..outcome import Outcome
from . import icmp
from .result import Attempt
from .tcp import ConnectFailure, classify

# address, port, timeout (seconds): one connect of a batch.
Endpoint = tuple[str, int, float]

# Printed by the command when the vantage has no python3: its probes go one by one.
NO_PYTHON = "conntriage:no-python3"

# Written for the oldest python3 still around (3.5: no f-strings, no asyncio.run).
SCRIPT = """\
import asyncio, errno, json, os, socket, struct, sys, time
try:
    import resource
    FILES = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
except Exception:
    FILES = 1024
if FILES <= 0:
    FILES = 1 << 20
INPUT_WAIT = 5.0
def say(line):
    sys.stdout.write(json.dumps(line) + "\\n")
    sys.stdout.flush()
def ms(started):
    return (time.monotonic() - started) * 1000.0
def queued_icmp(sock):
    try:
        _, ancillary, _, _ = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
    except (OSError, AttributeError):
        return None
    for level, kind, data in ancillary:
        if (level, kind) not in ((socket.IPPROTO_IP, 11), (socket.IPPROTO_IPV6, 25)):
            continue
        if len(data) < 16:
            continue
        _, origin, icmp_type, code, _, _, _ = struct.unpack_from("=IBBBBII", data)
        if origin not in (2, 3):
            continue
        peer = data[16:]
        family = struct.unpack_from("=H", peer)[0] if len(peer) >= 2 else 0
        if family == socket.AF_INET and len(peer) >= 8:
            sender = socket.inet_ntop(socket.AF_INET, peer[4:8])
        elif family == socket.AF_INET6 and len(peer) >= 24:
            sender = socket.inet_ntop(socket.AF_INET6, peer[8:24])
        else:
            sender = "?"
        return [4 if origin == 2 else 6, icmp_type, code, sender]
    return None
async def handshake(loop, sock, address, port, timeout):
    # As the plugin's own probe (probe/tcp.py handshake): the deadline counts from the
    # connect(), and at the deadline the socket says how the handshake stands, so a
    # loop that woke late does not turn an answer into a timeout.
    code = sock.connect_ex((address, port))
    if code != errno.EINPROGRESS:
        return code
    fd = sock.fileno()
    woken = loop.create_future()
    def wake():
        if not woken.done():
            woken.set_result(None)
    loop.add_writer(fd, wake)
    timer = loop.call_later(timeout, wake)
    try:
        await woken
    finally:
        timer.cancel()
        loop.remove_writer(fd)
    pending = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if pending:
        return pending
    try:
        sock.getpeername()
    except OSError:
        return None
    return 0
async def probe(i, address, port, timeout, slots):
    loop = asyncio.get_event_loop()
    async with slots:
        six = ":" in address
        try:
            sock = socket.socket(socket.AF_INET6 if six else socket.AF_INET, socket.SOCK_STREAM)
        except OSError as exc:
            say({"i": i, "r": "nosock", "e": exc.errno, "s": str(exc.strerror or exc)})
            return
        try:
            sock.setblocking(False)
            try:
                if six:
                    sock.setsockopt(socket.IPPROTO_IPV6, 25, 1)
                else:
                    sock.setsockopt(socket.IPPROTO_IP, 11, 1)
            except OSError:
                pass
            started = time.monotonic()
            try:
                ended = await handshake(loop, sock, address, port, timeout)
            except OSError as exc:
                ended = exc.errno or errno.EIO
            if ended is None:
                say({"i": i, "r": "timeout", "ms": ms(started)})
            elif ended:
                elapsed = ms(started)
                say({"i": i, "r": "errno", "ms": elapsed, "e": ended, "s": os.strerror(ended),
                     "icmp": queued_icmp(sock)})
            else:
                say({"i": i, "r": "open", "ms": ms(started)})
        finally:
            sock.close()
def main():
    # A transport that attaches no input may leave stdin open and empty: say so (the
    # near side then probes one by one) instead of waiting for the far bound.
    try:
        import select
        if not select.select([sys.stdin], [], [], INPUT_WAIT)[0]:
            say({"n": 0, "bad": "no input"})
            return
    except Exception:
        pass
    try:
        batch = json.loads(sys.stdin.read())
        probes = [(str(a), int(p), float(t)) for a, p, t in batch["p"]]
        width = max(1, min(int(batch["c"]), FILES - 32))
    except Exception as exc:
        say({"n": 0, "bad": str(exc)[:200]})
        return
    say({"n": len(probes), "c": width})
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    async def run_all():
        slots = asyncio.Semaphore(width)
        await asyncio.gather(*[probe(i, a, p, t, slots) for i, (a, p, t) in enumerate(probes)])
    loop.run_until_complete(run_all())
    say({"end": len(probes)})
main()
"""

# The far side's own bound (coreutils' timeout, whole seconds), then the script; without
# python3 one line says so and the near side probes that vantage check by check.
COMMAND = (
    "if command -v -- python3 >/dev/null 2>&1; then timeout -- %s python3 -c %s;"
    f" else echo {NO_PYTHON}; fi"
)


def request(endpoints: Sequence[Endpoint], width: int) -> bytes:
    """The batch's standard input."""
    return json.dumps({"c": width, "p": [list(e) for e in endpoints]}).encode()


def far_bound(endpoints: Sequence[Endpoint], width: int) -> int:
    """Whole seconds the far side may take: every wave of `width` connects at its
    slowest timeout, and 2 s for python to start."""
    waves = math.ceil(len(endpoints) / max(1, width))
    slowest = max((timeout for _, _, timeout in endpoints), default=0.0)
    return math.ceil(waves * slowest) + 2


@dataclass(frozen=True)
class Output:
    """What a batch printed: the count it read (None: the script never started), each
    endpoint's line by index, whether it got to the end, and whether python3 is absent."""

    count: int | None
    lines: dict[int, dict[str, Any]]
    ended: bool
    no_python: bool


def read_output(stdout: str) -> Output:
    """Pure: the batch's stdout, line by line; a line cut short or not JSON is skipped."""
    count: int | None = None
    lines: dict[int, dict[str, Any]] = {}
    ended = no_python = False
    for text in stdout.splitlines():
        text = text.strip()
        if text == NO_PYTHON:
            no_python = True
            continue
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if not isinstance(line, dict):
            continue
        if count is None and isinstance(line.get("n"), int):
            count = line["n"]
        elif isinstance(line.get("i"), int) and isinstance(line.get("r"), str):
            lines[line["i"]] = line
        elif "end" in line:
            ended = True
    return Output(count, lines, ended, no_python)


def attempt(line: dict[str, Any], vantage: str, endpoint: Endpoint) -> Attempt:
    """Pure: the Attempt one result line stands for, decided as a local connect is."""
    address, port, _ = endpoint
    where = f"from {vantage}"
    result = line.get("r")
    elapsed = _ms(line.get("ms"))
    code = line.get("e") if isinstance(line.get("e"), int) else None
    said = str(line.get("s") or "")
    if result == "open":
        return Attempt(Outcome.OPEN, elapsed, address, port, detail=where)
    if result == "timeout":
        return Attempt(Outcome.TIMEOUT, elapsed, address, port, errno.ETIMEDOUT, where)
    if result == "nosock":
        detail = f"no socket on {vantage}: {said}"
        return Attempt(Outcome.PROBE_ERROR, 0.0, address, port, code, detail)
    if result == "errno":
        error = _icmp(line.get("icmp"))
        decided = classify(ConnectFailure(address, port, elapsed, code, said, error))
        detail = f"{decided.detail}, {where}" if decided.detail else where
        return Attempt(
            decided.outcome, elapsed, address, port, code, detail, icmp=decided.icmp
        )  # fmt: skip
    detail = f"vantage {vantage} sent an unreadable result: {json.dumps(line)[:200]}"
    return Attempt(Outcome.PROBE_ERROR, 0.0, address, port, None, detail)


def attempts(
    output: Output, vantage: str, endpoints: Sequence[Endpoint], cut: str
) -> list[Attempt]:
    """Pure: each endpoint's Attempt from a batch that started; one it never reported is
    a PROBE_ERROR saying why (`cut`: the batch was cut off, the transport's words), never
    a timeout of the target."""
    found = []
    for index, endpoint in enumerate(endpoints):
        line = output.lines.get(index)
        if line is not None:
            found.append(attempt(line, vantage, endpoint))
            continue
        address, port, _ = endpoint
        detail = f"vantage {vantage} did not report this probe: {cut}"
        found.append(Attempt(Outcome.PROBE_ERROR, 0.0, address, port, None, detail))
    return found


def _icmp(data: object) -> icmp.IcmpError | None:
    if not isinstance(data, list) or len(data) != 4:
        return None
    version, icmp_type, code, sender = data
    if not all(isinstance(x, int) for x in (version, icmp_type, code)):
        return None
    return icmp.read_unreachable(version, icmp_type, code, str(sender))


def _ms(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
