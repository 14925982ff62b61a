"""On the service's host, something listens on the port clients connect to."""

from __future__ import annotations

from pytest_conntriage.fixture import Conntriage
from pytest_conntriage.kinds.on_host import HostCheck


def test_listening(listening_check: HostCheck, conntriage: Conntriage) -> None:
    conntriage.verify(listening_check)
