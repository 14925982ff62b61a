"""The summary `--conntriage-validate` prints: per service and closed rule, where it is
defined, what it checks and how many checks of each kind were collected for it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from ..checks import Check
from ..inventory.hostspec import masked
from ..inventory.model import Inventory


def summary_lines(inventory: Inventory, checks: Iterable[Check], kinds: Sequence[str]) -> list[str]:
    """One line per service, closed rule and host, then the total. `checks` are the
    collected ones (after -k and -m): a service that selection left out shows 0.
    `kinds`: the run's kind names, in the order the counts are listed."""
    by_service: dict[str, Counter[str]] = {s.name: Counter() for s in inventory.services}
    by_rule: list[Counter[str]] = [Counter() for _ in inventory.closed]
    total = 0
    for check in checks:
        total += 1
        if check.service is not None and check.service in by_service:
            by_service[check.service][check.kind.name] += 1
            continue
        port = getattr(check, "port", None)  # a check of no service: a closed rule's
        for rule, counts in zip(inventory.closed, by_rule, strict=True):
            if check.target == rule.address and port in rule.ports:
                counts[check.kind.name] += 1
                break
    lines = []
    for service in inventory.services:
        where = f"{service.address} port {_ports(service.ports)} from {', '.join(service.vantages)}"
        if service.on_hosts:
            where += f"; on {', '.join(service.on_hosts)}"
            where += f" (unit {service.unit})" if service.unit else ""
        counted = _counts(by_service[service.name], kinds)
        lines.append(f"{service.name} ({service.location}): {where}: {counted}")
    for rule, counts in zip(inventory.closed, by_rule, strict=True):
        where = f"{rule.address} port {_ports(rule.ports)} from {', '.join(rule.vantages)}"
        lines.append(f"closed ({rule.location}): {where} must not answer: {_counts(counts, kinds)}")
    for alias, host in inventory.hosts.items():
        lines.append(f"host {alias} ({host.location}): {masked(host.connection)}")
    lines.append(
        f"{total} checks from {len(inventory.services)} services, {len(inventory.closed)}"
        f" closed rules and {len(inventory.hosts)} hosts; nothing was resolved or connected to"
    )
    return lines


def _ports(ports: tuple[int, ...]) -> str:
    return ", ".join(map(str, ports))


def _counts(counts: Counter[str], kinds: Sequence[str]) -> str:
    total = sum(counts.values())
    order = [*kinds, *(kind for kind in counts if kind not in kinds)]
    parts = [f"{counts[kind]} {kind}" for kind in order if counts[kind]]
    noun = "check" if total == 1 else "checks"
    return f"{total} {noun}" + (f" ({', '.join(parts)})" if parts else "")
