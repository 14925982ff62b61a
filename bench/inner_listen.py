"""Server side of the benchmark lab: accept-and-close listeners on 0.0.0.0 for some ports.

    inner_listen.py PORT,PORT,... READY_FILE LAB_PREFIX [MAX_SECONDS]

Runs inside the server namespace (bench/benchlab.py starts and stops it by PID). It
stops by itself after MAX_SECONDS (default 1800) in case nobody does.
"""

from __future__ import annotations

import selectors
import signal
import socket
import sys
import time
from pathlib import Path


def main() -> int:
    ports = [int(p) for p in sys.argv[1].split(",") if p]
    ready = Path(sys.argv[2])
    max_seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 1800.0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    selector = selectors.DefaultSelector()
    for port in ports:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", port))
        sock.listen(4096)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    ready.write_text("ready\n")
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1.0):
            listener = key.fileobj
            assert isinstance(listener, socket.socket)
            while True:
                try:
                    conn, _ = listener.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:  # out of fds for a moment: the next round takes it
                    break
                conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
