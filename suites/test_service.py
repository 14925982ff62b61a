"""On the service's host, the service's unit is active."""

from __future__ import annotations

from pytest_conntriage.fixture import Conntriage
from pytest_conntriage.kinds.on_host import HostCheck


def test_service(service_check: HostCheck, conntriage: Conntriage) -> None:
    conntriage.verify(service_check)
