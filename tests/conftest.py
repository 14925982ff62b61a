"""Shared fixtures: real loopback services the plugin is run against."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

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
