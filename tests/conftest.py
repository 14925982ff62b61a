"""Shared fixtures: real loopback services the plugin is run against."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

# Imported here, before any in-process pytester run: such a run drops from sys.modules
# what was first imported inside it, and PyYAML imported anew beside its C extension
# (which stays) yields nodes without tags. Run alone, a file whose first inner run
# loaded the inventory broke every later one.
import yaml  # noqa: F401

from pytest_conntriage import children
from pytest_conntriage.demo.dnsserver import Behaviour, LoopbackDnsServer

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _children_may_start() -> Iterator[None]:
    """An in-process pytester run ends by stopping every command of "the run", and then
    refuses new ones: this process's next test is a new run."""
    yield
    children.reset()


@pytest.fixture(autouse=True)
def _heap_collectable() -> Iterator[None]:
    """An in-process run with an inventory ends by freezing the heap (the plugin spares
    the interpreter's exit a final sweep); this process goes on, so it unfreezes."""
    yield
    gc.unfreeze()


# The hypothesis plugin (a dev dependency, for this suite's own property tests) costs
# every pytest process that loads it about 0.8 s of CPU, as much as the rest of a small
# inventory run; no run a test starts uses it.
INNER_RUNS_ADDOPTS = "-p no:hypothesispytest"


@pytest.fixture(autouse=True)
def _inner_runs_without_hypothesis(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest runs a test starts (pytester's, in process or not, and subprocesses that
    inherit the environment) skip the hypothesis plugin. pytester clears PYTEST_ADDOPTS
    as it is set up, so it is set after."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")
    monkeypatch.setenv("PYTEST_ADDOPTS", INNER_RUNS_ADDOPTS)


@pytest.fixture(scope="session")
def dns_server() -> Iterator[LoopbackDnsServer]:
    """A DNS server on 127.0.0.1 knowing a few *.test names, one per DNS outcome."""
    with LoopbackDnsServer(
        "127.0.0.1",
        records={
            "api.test": ["127.0.0.2"],
            "stale.test": ["127.0.0.9"],
            "dual.test": ["127.0.0.2", "::1"],
        },
        behaviours={
            "broken.test": Behaviour.SERVFAIL,
            "refused.test": Behaviour.REFUSED,
            "silent.test": Behaviour.DROP,
            "empty.test": Behaviour.NODATA,
        },
    ) as server:
        yield server
