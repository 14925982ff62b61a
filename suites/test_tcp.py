"""The endpoint accepts a TCP connection from its vantage."""

from __future__ import annotations

from pytest_conntriage.fixture import Conntriage
from pytest_conntriage.kinds.tcp import TcpCheck


def test_tcp(tcp_check: TcpCheck, conntriage: Conntriage) -> None:
    conntriage.verify(tcp_check)
