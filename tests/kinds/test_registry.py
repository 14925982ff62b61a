"""The registry of check kinds: their order, their fixtures, the plan they make from an
inventory (ids from the inventory alone), and a check that keeps its kind across xdist."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from pytest_conntriage.inventory import load_inventories
from pytest_conntriage.kinds import dns, tcp
from pytest_conntriage.kinds.protocol import Kind
from pytest_conntriage.kinds.registry import BUILT_IN, KindRegistry

INVENTORY = """\
version: 1
hosts:
  web-1:
    connection: local://
services:
  api:
    address: api.example.com
    ports: [443, 8443]
    from: [local, web-1]
    idle: 30s
    host: web-1
    unit: nginx
    dns:
      resolvers: [192.0.2.53]
      expect: [192.0.2.10]
    http: {path: /healthz, port: 443, tls: true}
  db:
    address: 192.0.2.20
    ports: [5432]
closed:
  - address: 192.0.2.20
    ports: [22]
    from: [local]
"""


def test_the_built_in_kinds_in_the_order_the_suite_collects_them() -> None:
    registry = KindRegistry()
    assert [k.name for k in registry] == [
        "dns", "tcp", "closed", "idle", "listening", "firewall", "service", "http",
    ]  # fmt: skip
    assert list(registry.by_fixture) == [f"{k.name}_check" for k in BUILT_IN]


def test_every_check_is_planned_from_the_inventory_alone(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY)
    plan = KindRegistry().plan(load_inventories([str(path)], {}))
    ids = {kind: [c.id for c in checks] for kind, checks in plan.by_kind.items()}
    assert ids == {
        "dns": ["api:api.example.com@192.0.2.53"],
        "tcp": [
            "api:local->api.example.com:443", "api:local->api.example.com:8443",
            "api:web-1->api.example.com:443", "api:web-1->api.example.com:8443",
            "db:local->192.0.2.20:5432",
        ],
        "closed": ["local->192.0.2.20:22"],
        "idle": [
            "api:local->api.example.com:443", "api:local->api.example.com:8443",
            "api:web-1->api.example.com:443", "api:web-1->api.example.com:8443",
        ],
        "listening": ["api@web-1:443", "api@web-1:8443"],
        "firewall": ["api@web-1:443", "api@web-1:8443"],
        "service": ["api@web-1:nginx"],
        "http": [
            "api:local->api.example.com:443/healthz", "api:web-1->api.example.com:443/healthz",
        ],
    }  # fmt: skip
    assert len(plan) == 18
    assert plan.vantages == ("local", "web-1")
    assert all(check.kind.name == kind for kind, checks in plan.by_kind.items() for check in checks)


def test_a_check_sent_to_another_process_keeps_its_very_kind(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY)
    for check in KindRegistry().plan(load_inventories([str(path)], {})):
        copy = pickle.loads(pickle.dumps(check))
        assert copy == check
        assert copy.kind is check.kind


class Added:
    """A plugin's own kind, as the hook hands it in (only its name matters here)."""

    name = "smtp"


def test_a_plugin_adds_its_kinds_after_the_built_in_ones() -> None:
    added: Any = Added()
    registry = KindRegistry.with_added([[added]])
    assert [k.name for k in registry][-2:] == ["http", "smtp"]
    assert registry["smtp"] is added
    assert registry.by_fixture["smtp_check"] is added


def test_two_kinds_of_one_name_are_refused() -> None:
    twin: Any = type(tcp.KIND)()
    with pytest.raises(ValueError, match="two check kinds are named 'tcp'"):
        KindRegistry.with_added([[twin]])
    same: Kind[Any] = dns.KIND
    assert len(KindRegistry.with_added([[same]])) == len(BUILT_IN)
