"""The name resolves, through the inventory's resolvers, to what the inventory expects."""

from __future__ import annotations

from pytest_conntriage.fixture import Conntriage
from pytest_conntriage.kinds.dns import DnsCheck


def test_dns(dns_check: DnsCheck, conntriage: Conntriage) -> None:
    conntriage.verify(dns_check)
