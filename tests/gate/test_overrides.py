"""Per-run overrides of the inventory's defaults, and `severity:` in the inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_conntriage.inventory import InventoryError, load_inventories
from pytest_conntriage.inventory.model import Policy, PolicyOverride, Severity
from pytest_conntriage.overrides import overrides, parse, policy_line

TEXT = """\
version: 1
defaults:
  timeout: 3s
  retries: 2
services:
  plain:
    address: 127.0.0.1
    ports: [80]
  own:
    address: 127.0.0.1
    ports: [81]
    timeout: 500ms
    wait: 1m
    severity: warn
closed:
  - address: 127.0.0.1
    ports: [22]
    retries: 0
"""


def test_overrides_replace_the_defaults_not_what_an_entry_sets_itself(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(TEXT)
    given = (
        PolicyOverride("timeout", 1.5, "--conntriage-timeout"),
        PolicyOverride("retries", 5, "ini conntriage_retries"),
        PolicyOverride("wait", 10.0, "--conntriage-wait"),
    )
    inventory = load_inventories([str(path)], {}, overrides=given)
    plain, own = inventory.services
    assert plain.policy == Policy(timeout=1.5, retries=5, wait=10.0)
    assert own.policy == Policy(timeout=0.5, retries=5, wait=60.0)
    assert inventory.closed[0].policy == Policy(timeout=1.5, retries=0, wait=10.0)
    assert policy_line(inventory.defaults) == (
        "timeout 1.5s (--conntriage-timeout), retries 5 (ini conntriage_retries),"
        " wait 10s (--conntriage-wait)"
    )


def test_without_overrides_the_header_names_the_inventory_or_the_default(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(TEXT)
    inventory = load_inventories([str(path)], {})
    assert inventory.services[0].policy == Policy(timeout=3.0, retries=2, wait=0.0)
    assert policy_line(inventory.defaults) == (
        "timeout 3s (inventory), retries 2 (inventory), wait none (default)"
    )


def test_the_command_line_wins_over_the_ini() -> None:
    given = {"timeout": "5s", "retries": None, "wait": None}
    ini = {"timeout": "1s", "retries": "3", "wait": ""}
    found = overrides(given.__getitem__, ini.__getitem__)
    assert found == (
        PolicyOverride("timeout", 5.0, "--conntriage-timeout"),
        PolicyOverride("retries", 3, "ini conntriage_retries"),
    )


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [("timeout", "5s", 5.0), ("timeout", "1.5", 1.5), ("timeout", "250ms", 0.25),
     ("wait", "0", 0.0), ("wait", "2m", 120.0), ("retries", "0", 0), ("retries", " 3 ", 3)],
)  # fmt: skip
def test_values_are_read_as_the_inventory_writes_them(name: str, text: str, value: float) -> None:
    assert parse(name, text) == value


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("timeout", "0s", "a timeout must be longer than 0"),
        ("timeout", "11m", "longer than 10m"),
        ("timeout", "fast", "not a duration"),
        ("wait", "-1", "not a duration"),
        ("wait", "inf", "not a duration"),
        ("retries", "1.5", "not a number of retries"),
        ("retries", "101", "not a number of retries (0 to 100)"),
        ("retries", "", "not a number of retries"),
    ],
)
def test_bad_values_say_what_is_wrong(name: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^--conntriage-{name}: ") as excinfo:
        overrides(lambda n: text if n == name else None, lambda n: "")
    assert message in str(excinfo.value)


def test_severity_is_fail_unless_a_service_says_warn(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(TEXT)
    plain, own = load_inventories([str(path)], {}).services
    assert plain.severity is Severity.FAIL
    assert own.severity is Severity.WARN


def test_an_unknown_severity_is_an_inventory_error(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(TEXT.replace("severity: warn", "severity: maybe"))
    with pytest.raises(InventoryError) as excinfo:
        load_inventories([str(path)], {})
    assert f"{path}:14:15: services.own.severity" in str(excinfo.value)
    assert "warn" in str(excinfo.value)
