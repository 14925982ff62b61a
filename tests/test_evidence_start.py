"""A failed check's host evidence starts when its probe fails, not when its test is
reached, and a host's batch runs once per run however many of its checks fail, under
xdist too (the scheduler keeps a host's checks on one worker): counted
through the real `local://` connection, by a collector in the batch that writes a line
to a file each time the batch runs."""

from __future__ import annotations

from pathlib import Path

import pytest

# (The run is imported here, not first inside an in-process pytester run: that run
# unloads the modules it imported, and the next one's inventory loader would find yaml
# half gone.)
from pytest_conntriage.demo.listeners import closed_port
from pytest_conntriage.run import RUN_PLUGIN, ConntriageRun
from pytest_conntriage.xdist_support import hosts_by_test

CONFTEST = """
from pytest_conntriage.evidence.batch import Collector

def pytest_conntriage_add_collectors(config):
    # $1 is the unit, $2 the file: one line each time a host's batch runs.
    return [Collector("batch-count", 'echo ran >> "$2"', parse=str, args=({marker!r},))]
"""

# Collected before the inventory's checks (named first on the command line): it waits
# for the batch to have run while every check's test is still ahead. Bounded, so a
# batch that never starts fails the test instead of hanging it.
WAITER = """
import time
from pathlib import Path

def test_evidence_runs_before_its_test_is_reached():
    marker = Path({marker!r})
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.exists(), "the host's batch did not start before its test was reached"
"""

INVENTORY = """
version: 1
defaults:
  timeout: 2s
hosts:
  box:
    connection: local://
services:
  api:
    address: 127.0.0.3
    ports: [{one}, {two}]
    host: box
  queue:
    address: 127.0.0.4
    ports: [{three}]
    host: box
  web:
    address: 127.0.0.5
    ports: [{four}]
"""


@pytest.fixture
def marker(pytester: pytest.Pytester) -> Path:
    path = pytester.path / "batches.txt"
    pytester.makeconftest(CONFTEST.format(marker=str(path)))
    pytester.makepyfile(test_first=WAITER.format(marker=str(path)))
    pytester.makefile(
        ".yml",
        inventory=INVENTORY.format(
            one=closed_port("127.0.0.3"),
            two=closed_port("127.0.0.3"),
            three=closed_port("127.0.0.4"),
            four=closed_port("127.0.0.5"),
        ),
    )
    return path


def test_a_hosts_batch_starts_as_its_checks_fail_and_runs_once(
    pytester: pytest.Pytester, marker: Path
) -> None:
    # Only the tcp checks: the host checks would read the same batch as their probe.
    result = pytester.runpytest(
        "--inventory", "inventory.yml", "test_first.py", "inventory.yml", "-k", "first or tcp"
    )
    result.assert_outcomes(passed=1, failed=4)
    result.stdout.fnmatch_lines(["test_first.py .*", "inventory.yml FFFF*"])
    # Three failed checks on box, one batch; the check without a host asks for none.
    assert marker.read_text().splitlines() == ["ran"]


def test_a_deselected_check_starts_no_evidence(pytester: pytest.Pytester, marker: Path) -> None:
    result = pytester.runpytest("--inventory", "inventory.yml", "-k", "web")
    result.assert_outcomes(failed=1, deselected=9)
    assert not marker.exists()


def test_under_xdist_a_hosts_checks_share_a_worker_so_its_batch_runs_once(
    pytester: pytest.Pytester, marker: Path
) -> None:
    # Contiguous shares would give each of the two workers some of box's checks, and
    # each worker its own batch. xdist's controller in process: its tally is read.
    result = pytester.runpytest_inprocess(
        "--inventory", "inventory.yml", "-k", "tcp or listening", "-n", "2"
    )
    result.assert_outcomes(failed=7)
    assert marker.read_text().splitlines() == ["ran"]


def test_the_controller_knows_each_checks_host_by_its_test_name(
    pytester: pytest.Pytester, marker: Path
) -> None:
    items, _ = pytester.inline_genitems("--inventory", "inventory.yml", "inventory.yml")
    run = items[0].config.pluginmanager.get_plugin(RUN_PLUGIN)
    assert isinstance(run, ConntriageRun)
    hosts = hosts_by_test(run)
    names = [item.nodeid.partition("::")[2] for item in items]
    assert {name: hosts.get(name) for name in names if "web" not in name} == dict.fromkeys(
        [name for name in names if "web" not in name], "box"
    )
    assert not any(name in hosts for name in names if "web" in name)
