"""The idle probe on loopback: a connection that lives through its idle period, and one
the server closes. (A middlebox forgetting the connection is the fault lab's idle-drop.)"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.idle import hold_idle
from pytest_conntriage.probe.tcp import open_connection


class Server:
    """Accepts connections and holds them open, or closes them after `close_after` s."""

    def __init__(self, close_after: float | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port: int = self.sock.getsockname()[1]
        self.close_after = close_after
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.held.append(conn)
        if self.close_after is not None:
            threading.Timer(self.close_after, conn.close).start()

    def stop(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    running = Server(request.param)
    yield running
    running.stop()


def probe(port: int, idle: float) -> tuple[Outcome, str]:
    async def run() -> tuple[Outcome, str]:
        connected, sock = await open_connection("127.0.0.1", port, 1.0)
        assert sock is not None, connected
        try:
            attempt = await hold_idle(sock, idle, connected.elapsed_ms)
        finally:
            sock.close()
        return attempt.outcome, attempt.detail

    return asyncio.run(run())


@pytest.mark.parametrize("server", [None], indirect=True)
def test_a_held_connection_is_open_after_idling(server: Server) -> None:
    outcome, detail = probe(server.port, 1)
    assert outcome is Outcome.OPEN
    assert detail == "established, and still answering after 1 s idle"


@pytest.mark.parametrize("server", [0.3], indirect=True)
def test_a_connection_the_server_closes_while_idle_is_reset(server: Server) -> None:
    outcome, detail = probe(server.port, 1)
    assert outcome is Outcome.RESET
    assert detail.startswith("established in ")
    assert detail.endswith("then closed by the peer (FIN) after 1 s idle")
