"""The check kinds a run knows, in collection order: the built-in ones, then any a plugin
adds (hookspec `pytest_conntriage_add_kinds`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..checks import Plan
from ..inventory.model import Inventory
from . import closed, dns, firewall, http, idle, listening, service, tcp
from .protocol import Kind

# The order the built-in suite collects each inventory file's checks in.
BUILT_IN: tuple[Kind[Any], ...] = (
    dns.KIND,
    tcp.KIND,
    closed.KIND,
    idle.KIND,
    listening.KIND,
    firewall.KIND,
    service.KIND,
    http.KIND,
)


class KindRegistry:
    """The run's kinds by name, in order; each plans its checks and names its fixture."""

    def __init__(self, kinds: Iterable[Kind[Any]] = BUILT_IN) -> None:
        self._kinds: dict[str, Kind[Any]] = {}
        for kind in kinds:
            if kind.name in self._kinds and self._kinds[kind.name] is not kind:
                raise ValueError(f"two check kinds are named {kind.name!r}")
            self._kinds[kind.name] = kind

    @classmethod
    def with_added(cls, added: Iterable[Iterable[Kind[Any]]]) -> KindRegistry:
        """The built-in kinds, then those plugins add (one iterable per plugin)."""
        return cls((*BUILT_IN, *(kind for kinds in added for kind in kinds)))

    def __iter__(self) -> Iterator[Kind[Any]]:
        return iter(self._kinds.values())

    def __len__(self) -> int:
        return len(self._kinds)

    def __getitem__(self, name: str) -> Kind[Any]:
        return self._kinds[name]

    @property
    def by_fixture(self) -> Mapping[str, Kind[Any]]:
        """ "tcp_check": the tcp kind. A user's own test that requests one of these
        fixtures is parametrized with every check of that kind."""
        return {fixture_name(kind): kind for kind in self}

    def plan(self, inventory: Inventory) -> Plan:
        """Every check the inventory asks for, kind by kind; nothing is resolved here (ids
        come from the inventory alone, see checks.py)."""
        return Plan({kind.name: tuple(kind.plan(inventory)) for kind in self})


def fixture_name(kind: Kind[Any]) -> str:
    return f"{kind.name}_check"


def suite_test_name(kind: Kind[Any]) -> str:
    """ "test_tcp": the name the built-in suite collects a kind's checks under."""
    return f"test_{kind.name}"
