"""A connection stays usable after sitting idle for the inventory's `idle:` time."""

from __future__ import annotations

from pytest_conntriage.fixture import Conntriage
from pytest_conntriage.kinds.tcp import TcpCheck


def test_idle(idle_check: TcpCheck, conntriage: Conntriage) -> None:
    conntriage.verify(idle_check)
