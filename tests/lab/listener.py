"""A TCP listener the fault lab runs inside a namespace: open, full accept queue, or late.

Run as a separate process (not a thread of the test run) because it has to live in
another network namespace; it says it is ready by creating the `--ready` file, so the
lab can wait for it without a pipe that would break when `netlab up` exits.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

MODES = ("open", "full", "delayed")


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _bind(address: str, port: int, backlog: int) -> socket.socket:
    sock = socket.socket(_family(address), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(backlog)
    return sock


# Connections held open, as a real service holds them (an idle check needs a peer that
# keeps its end); the oldest is let go beyond this many.
HELD_CONNECTIONS = 256


def _serve_forever(sock: socket.socket) -> None:
    held: list[socket.socket] = []
    while True:
        conn, _ = sock.accept()
        held.append(conn)
        if len(held) > HELD_CONNECTIONS:
            held.pop(0).close()


def _fill_queue(sock: socket.socket, address: str, port: int) -> list[socket.socket]:
    """Connect to ourselves until a handshake no longer completes: the queue is full.

    Only then is a probe's SYN really dropped (Linux holds backlog + 1 connections).
    """
    fillers: list[socket.socket] = []
    for _ in range(16):
        filler = socket.socket(_family(address), socket.SOCK_STREAM)
        filler.settimeout(0.3)
        try:
            filler.connect((address, port))
        except (TimeoutError, OSError):
            filler.close()
            return fillers
        fillers.append(filler)
    raise RuntimeError(f"the accept queue of {address}:{port} did not fill")


# What sshd (LogLevel VERBOSE) writes when a session ends.
SESSION_ENDED = "Disconnected from user"
# Seconds to wait for it before coming up anyway (the scenario then fails visibly).
SESSION_WAIT_S = 120.0


def _out_resets() -> int:
    """This namespace's count of RSTs sent (/proc/net/snmp is per network namespace):
    each connect to a port nothing listens on adds one."""
    lines = Path("/proc/net/snmp").read_text().splitlines()
    names, values = (line.split() for line in lines if line.startswith("Tcp:"))
    return int(values[names.index("OutRsts")])


def _wait_for_a_refusal(before: int) -> None:
    """Until a client's connect was refused here: the plugin's first attempt found the
    service down, however long the plugin took to start on a loaded machine."""
    deadline = time.monotonic() + SESSION_WAIT_S
    while time.monotonic() < deadline and _out_resets() <= before:
        time.sleep(0.02)


def _wait_for_a_session(log: Path) -> None:
    """Until the sshd log says a session ended: the evidence read while the service was
    still down, whatever the machine's load, before the service comes up."""
    deadline = time.monotonic() + SESSION_WAIT_S
    while time.monotonic() < deadline:
        if SESSION_ENDED in log.read_text(errors="replace"):
            return
        time.sleep(0.05)


def _stop(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds through `finally`, so sockets close before the process ends.
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=MODES, default="open")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds, for --mode delayed")
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument(
        "--after-log",
        type=Path,
        help="for --mode delayed: if this sshd log exists once the delay is over, also "
        "wait until an ssh session has ended (the plugin's evidence batch has run)",
    )
    # Unused by the listener: puts the lab's prefix in the command line, so the lab's
    # leak check can find a listener that outlived its namespace.
    parser.add_argument("--lab", default="")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)

    if args.mode == "delayed":
        # Ready means "armed": the service comes up `delay` seconds from now.
        refused = _out_resets()
        args.ready.write_text("armed\n")
        _wait_for_a_refusal(refused)
        time.sleep(args.delay)
        if args.after_log is not None and args.after_log.exists():
            _wait_for_a_session(args.after_log)
        sock = _bind(args.address, args.port, 128)
        _serve_forever(sock)
    elif args.mode == "full":
        sock = _bind(args.address, args.port, 0)
        fillers = _fill_queue(sock, args.address, args.port)
        args.ready.write_text(f"full with {len(fillers)}\n")
        while True:
            time.sleep(3600)
    else:
        sock = _bind(args.address, args.port, 128)
        args.ready.write_text("open\n")
        _serve_forever(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
