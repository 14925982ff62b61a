"""The endpoint does not accept a TCP connection: a port meant to stay shut is shut."""

from __future__ import annotations

from pytest_conntriage.fixture import Conntriage
from pytest_conntriage.kinds.tcp import TcpCheck


def test_closed(closed_check: TcpCheck, conntriage: Conntriage) -> None:
    conntriage.verify(closed_check)
