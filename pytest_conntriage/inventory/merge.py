"""Several inventory files → one Inventory: names unique, defaults agreeing, hosts defined."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from typing import Any

from .addresses import canonical_ip
from .build import ClosedSpec, DefaultsSpec, FileSpec, Ref, ServiceSpec, Setting
from .errors import InventoryError, Problems
from .model import (
    LOCAL_VANTAGE,
    ClosedRule,
    Defaults,
    DnsSpec,
    Host,
    Inventory,
    Location,
    Policy,
    Service,
)


def merge(files: Sequence[FileSpec]) -> Inventory:
    """One Inventory from `files`, in order; raises the first conflict or bad reference.

    Services and hosts are merged by name (a name defined twice is an error naming both
    places), closed rules are concatenated, and a default set in several files must have
    the same value in each.
    """
    problems = Problems([f.path for f in files])
    defaults = _defaults([f.defaults for f in files], problems)
    hosts: dict[str, Host] = {}
    services: dict[str, ServiceSpec] = {}
    for file in files:
        for host in file.hosts:
            if host.alias in hosts:
                problems.add(_twice(f"hosts.{host.alias}", host.location, hosts[host.alias]))
            else:
                hosts[host.alias] = host
        for service in file.services:
            if service.name in services:
                first = services[service.name]
                problems.add(_twice(f"services.{service.name}", service.location, first))
            else:
                services[service.name] = service
    closed = [rule for file in files for rule in file.closed]
    for ref, vantage in _references(defaults, services.values(), closed):
        if ref.name not in hosts and not (vantage and ref.name == LOCAL_VANTAGE):
            problems.add(_undefined(ref, vantage, sorted(hosts)))
    problems.raise_first()
    base = _resolved(defaults)
    inventory = Inventory(
        sources=tuple(f.path for f in files),
        defaults=base,
        hosts=hosts,
        services=tuple(_service(spec, base) for spec in services.values()),
        closed=tuple(_closed(spec, base) for spec in closed),
        digests=tuple(f.digest for f in files),
    )
    for problem in _open_and_closed(inventory):
        problems.add(problem)
    problems.raise_first()
    return inventory


def _open_and_closed(inventory: Inventory) -> Iterable[InventoryError]:
    """A port that a service says must be reachable and a closed rule says must not be.

    Only from a vantage both name: reachable from `local` and closed from a host inside
    the network is a segmentation rule, not a contradiction.
    """
    if not inventory.closed:
        return
    reachable: dict[tuple[str, int, str], tuple[Service, int]] = {}
    for service in inventory.services:
        address = _same_address(service.address)
        for index, port in enumerate(service.ports):
            for vantage in service.vantages:
                reachable.setdefault((address, port, vantage), (service, index))
    for rule in inventory.closed:
        address = _same_address(rule.address)
        for port in rule.ports:
            found = next(
                (reachable[k] for v in rule.vantages if (k := (address, port, v)) in reachable),
                None,
            )
            if found is not None:
                service, index = found
                where = (
                    service.port_locations[index]
                    if index < len(service.port_locations)
                    else service.location
                )
                yield InventoryError.at(
                    rule.location,
                    f"{rule.address}:{port} must be closed here, but services.{service.name}"
                    f" at {where} says it must be reachable, from the same vantage point",
                )
                break


def _same_address(address: str) -> str:
    """One spelling per address: canonical IP literals, DNS names in lower case."""
    return canonical_ip(address) or address.lower().removesuffix(".")


def _defaults(specs: Sequence[DefaultsSpec], problems: Problems) -> DefaultsSpec:
    merged = DefaultsSpec()
    for spec in specs:
        for name in (f.name for f in fields(DefaultsSpec)):
            new: Setting[Any] | None = getattr(spec, name)
            old: Setting[Any] | None = getattr(merged, name)
            if new is None:
                continue
            if old is None:
                merged = replace(merged, **{name: new})
            elif old.value != new.value:
                problems.add(
                    InventoryError.at(
                        new.location,
                        f"{new.place}: {new.written} here, but {old.written} at {old.location};"
                        " defaults set in several files must agree",
                    )
                )
    return merged


def _twice(name: str, location: Location, first: Host | ServiceSpec) -> InventoryError:
    kind = "host aliases" if isinstance(first, Host) else "service names"
    return InventoryError.at(
        location,
        f"{name}: already defined at {first.location} ({kind} must be unique across files)",
    )


def _references(
    defaults: DefaultsSpec, services: Iterable[ServiceSpec], closed: Iterable[ClosedSpec]
) -> Iterable[tuple[Ref, bool]]:
    """Every host alias named, with whether it names a vantage ('local' allowed)."""
    if defaults.vantages is not None:
        yield from ((ref, True) for ref in defaults.vantages.value)
    for service in services:
        if service.host is not None:
            yield service.host, False
        yield from ((ref, True) for ref in service.vantages or ())
    for rule in closed:
        yield from ((ref, True) for ref in rule.vantages or ())


def _undefined(ref: Ref, vantage: bool, aliases: list[str]) -> InventoryError:
    candidates = [LOCAL_VANTAGE, *aliases] if vantage else aliases
    close = difflib.get_close_matches(ref.name, candidates, n=1)
    if close:
        hint = f" (did you mean '{close[0]}'?)"
    elif aliases:
        hint = f"; defined: {', '.join(aliases)}"
    else:
        hint = "; no hosts are defined"
    what = "neither 'local' nor a host alias" if vantage else "not a host alias"
    return InventoryError.at(ref.location, f"{ref.place}: '{ref.name}' is {what} in hosts{hint}")


def _resolved(spec: DefaultsSpec) -> Defaults:
    base = Defaults()
    return Defaults(
        policy=Policy(
            timeout=base.policy.timeout if spec.timeout is None else spec.timeout.value,
            retries=base.policy.retries if spec.retries is None else spec.retries.value,
            wait=base.policy.wait if spec.wait is None else spec.wait.value,
        ),
        resolvers=base.resolvers if spec.resolvers is None else spec.resolvers.value,
        vantages=base.vantages if spec.vantages is None else _names(spec.vantages.value),
        evidence_timeout=(
            base.evidence_timeout if spec.evidence_timeout is None else spec.evidence_timeout.value
        ),
    )


def _names(refs: Iterable[Ref]) -> tuple[str, ...]:
    return tuple(ref.name for ref in refs)


def _service(spec: ServiceSpec, defaults: Defaults) -> Service:
    return Service(
        name=spec.name,
        address=spec.address,
        ports=spec.ports,
        policy=spec.policy.over(defaults.policy),
        vantages=defaults.vantages if spec.vantages is None else _names(spec.vantages),
        location=spec.location,
        dns=DnsSpec(
            expect=spec.expect,
            resolvers=defaults.resolvers if spec.resolvers is None else spec.resolvers,
            match=spec.match,
        ),
        host=None if spec.host is None else spec.host.name,
        unit=spec.unit,
        listen=spec.listen,
        tags=spec.tags,
        port_locations=spec.port_locations,
        idle=spec.idle,
        http=spec.http,
    )


def _closed(spec: ClosedSpec, defaults: Defaults) -> ClosedRule:
    return ClosedRule(
        address=spec.address,
        ports=spec.ports,
        vantages=defaults.vantages if spec.vantages is None else _names(spec.vantages),
        policy=spec.policy.over(defaults.policy),
        location=spec.location,
        resolvers=defaults.resolvers if spec.resolvers is None else spec.resolvers,
        tags=spec.tags,
    )
