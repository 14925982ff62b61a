"""Inventory → checks: one frozen Check per test, with the stable id pytest shows.

Ids are made from the inventory alone (kind, service, vantage, name, port), never from
what a name resolves to: a record that changes, or a resolver that is down, must not
rename a test (GitLab keeps a test's history by its name). A name is resolved when
its check runs, and a name with several addresses is one check that tries them all.

Each kind (kinds/) defines its own check and plans it; this module holds what every
check is (Check) and the plan of a run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from ipaddress import ip_address

from .kinds.protocol import Check

__all__ = ["Check", "Plan", "host_port", "is_ip_literal"]


def is_ip_literal(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


def host_port(host: str, port: int) -> str:
    """ "api.example.com:443", "[2001:db8::1]:443"."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Plan:
    """Every check the inventory asks for, by kind name, kinds in collection order and
    each kind's checks in inventory order."""

    def __init__(self, by_kind: Mapping[str, tuple[Check, ...]] | None = None) -> None:
        self.by_kind: dict[str, tuple[Check, ...]] = dict(by_kind or {})

    def __iter__(self) -> Iterator[Check]:
        for checks in self.by_kind.values():
            yield from checks

    def __len__(self) -> int:
        return sum(len(checks) for checks in self.by_kind.values())

    def of(self, kind: str) -> tuple[Check, ...]:
        """The checks of kind `kind` ("tcp"), in inventory order."""
        return self.by_kind.get(kind, ())

    @property
    def vantages(self) -> tuple[str, ...]:
        """Where the run's checks probe from, in the order they first appear."""
        return tuple(dict.fromkeys(v for check in self if (v := getattr(check, "vantage", None))))
