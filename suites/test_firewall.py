"""On the service's host, its own firewall admits TCP to the port."""

from __future__ import annotations

from pytest_conntriage.fixture import Conntriage
from pytest_conntriage.kinds.on_host import HostCheck


def test_firewall(firewall_check: HostCheck, conntriage: Conntriage) -> None:
    conntriage.verify(firewall_check)
