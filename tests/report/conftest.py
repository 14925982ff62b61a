"""The inventory the JUnit tests run the plugin on, every shape a check's testcase takes,
and what its refused check's `<failure>` says in either JUnit file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_conntriage.demo.dnsserver import LoopbackDnsServer
from pytest_conntriage.demo.listeners import OpenListener, closed_port

# Failed (refused, dns), passed (open, closed) and skipped (a closed check whose name
# does not resolve), in services and closed rules, some tagged.
INVENTORY = """\
version: 1
defaults:
  timeout: 500ms
  resolvers: ["127.0.0.1:{dns}"]
services:
  web:
    address: 127.0.0.2
    ports: [{open}]
    tags: [edge, prod]
  api:
    address: 127.0.0.3
    ports: [{refused}]
  legacy:
    address: gone.test
    ports: [80]
closed:
  - address: 127.0.0.3
    ports: [{closed}]
    tags: [gate]
  - address: gone.test
    ports: [81]
"""


@pytest.fixture
def inventory(pytester: pytest.Pytester, dns_server: LoopbackDnsServer) -> Iterator[Path]:
    refused = closed_port("127.0.0.3")
    # Another port: one that a service and a closed rule both name is an inventory error.
    closed = next(port for port in iter(lambda: closed_port("127.0.0.3"), 0) if port != refused)
    with OpenListener("127.0.0.2") as web:
        path = pytester.path / "inventory.yml"
        path.write_text(
            INVENTORY.format(dns=dns_server.port, open=web.port, refused=refused, closed=closed)
        )
        yield path


def assert_refused_failure(case: ET.Element) -> None:
    """The refused check's failure: its outcome as type, "<outcome>: ... — <top cause>"
    as message, the triage as body."""
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "refused"
    message = failure.get("message", "")
    assert message.startswith("refused: connection refused by 127.0.0.3:")
    assert message.endswith(" — likely: service-down")
    assert "Likely causes" in (failure.text or "")
