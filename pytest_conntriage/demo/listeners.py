"""Loopback TCP listeners for tests and the demo: open, full-queue (drops SYNs), delayed."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import TypeVar

from ..outcome import address_family


def free_port(address: str) -> int:
    """A port nothing listens on right now (bound then released)."""
    with socket.socket(address_family(address), socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


closed_port = free_port


_L = TypeVar("_L", bound="_Listener")


class _Listener:
    def __init__(self, address: str, port: int = 0) -> None:
        self.address = address
        self.port = port
        self._sock: socket.socket | None = None

    def _bind(self, backlog: int) -> socket.socket:
        sock = socket.socket(address_family(self.address), socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.address, self.port))
        sock.listen(backlog)
        self.port = sock.getsockname()[1]
        self._sock = sock
        return sock

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self: _L) -> _L:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class OpenListener(_Listener):
    """Accepts and closes every connection, from a background thread."""

    def __init__(self, address: str, port: int = 0) -> None:
        super().__init__(address, port)
        self._thread: threading.Thread | None = None
        self.accepted = 0

    def start(self) -> None:
        sock = self._bind(128)
        sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
        self._thread.start()

    def _serve(self, sock: socket.socket) -> None:
        while self._sock is sock:
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def stop(self) -> None:
        super().stop()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None


class FullQueueListener(_Listener):
    """Never accepts, and fills its own accept queue: the kernel then drops new SYNs."""

    def __init__(self, address: str, port: int = 0) -> None:
        super().__init__(address, port)
        self._fillers: list[socket.socket] = []

    def start(self) -> None:
        self._bind(0)
        # Fill until a further handshake no longer completes: only then is a probe's
        # SYN really dropped. Linux holds backlog + 1 in the queue.
        for _ in range(16):
            filler = socket.socket(address_family(self.address), socket.SOCK_STREAM)
            filler.settimeout(0.2)
            try:
                filler.connect((self.address, self.port))
            except TimeoutError:
                filler.close()
                return
            self._fillers.append(filler)
        raise RuntimeError(f"the accept queue of {self.address}:{self.port} did not fill")

    def stop(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._fillers.clear()
        super().stop()


class DelayedListener(OpenListener):
    """Starts listening only `delay` seconds after start(): a service not ready yet."""

    def __init__(self, address: str, port: int, delay: float) -> None:
        super().__init__(address, port)
        self.delay = delay
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        self._timer = threading.Timer(self.delay, super().start)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join(timeout=1)
        time.sleep(0)
        super().stop()
