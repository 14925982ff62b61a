"""The built-in connectivity suite: one test per check the inventory asks for."""

from __future__ import annotations

from pytest_conntriage.api import Conntriage
from pytest_conntriage.checks import DnsCheck, HostCheck, TcpCheck


def test_dns(dns_check: DnsCheck, conntriage: Conntriage) -> None:
    conntriage.verify(dns_check)


def test_tcp(tcp_check: TcpCheck, conntriage: Conntriage) -> None:
    conntriage.verify(tcp_check)


def test_closed(closed_check: TcpCheck, conntriage: Conntriage) -> None:
    conntriage.verify(closed_check)


def test_idle(idle_check: TcpCheck, conntriage: Conntriage) -> None:
    conntriage.verify(idle_check)


def test_listening(listening_check: HostCheck, conntriage: Conntriage) -> None:
    conntriage.verify(listening_check)


def test_firewall(firewall_check: HostCheck, conntriage: Conntriage) -> None:
    conntriage.verify(firewall_check)


def test_service(service_check: HostCheck, conntriage: Conntriage) -> None:
    conntriage.verify(service_check)
