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
    GROUP_PREFIX,
    LOCAL_VANTAGE,
    ClosedRule,
    Defaults,
    DnsSpec,
    Host,
    Inventory,
    Location,
    Policy,
    PolicyOverride,
    Service,
)


def merge(files: Sequence[FileSpec], overrides: Sequence[PolicyOverride] = ()) -> Inventory:
    """One Inventory from `files`, in order; raises the first conflict or bad reference.

    Services and hosts are merged by name (a name defined twice is an error naming both
    places), closed rules are concatenated, and a default set in several files must have
    the same value in each. `overrides` (the run's --conntriage-timeout and the like)
    replace `defaults:` values, not those a service or closed rule sets itself.
    """
    problems = Problems([f.path for f in files])
    defaults = _defaults([f.defaults for f in files], problems)
    groups: dict[str, tuple[str, ...]] = {}
    for file in files:
        for name, members, _ in file.groups:
            groups[name] = tuple(dict.fromkeys((*groups.get(name, ()), *members)))
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
        if ref.name.startswith(GROUP_PREFIX):
            group = ref.name[len(GROUP_PREFIX) :]
            if group not in groups:
                problems.add(_no_group(ref, group, sorted(groups)))
            elif not groups[group]:
                problems.add(
                    InventoryError.at(
                        ref.location, f"{ref.place}: the Ansible group '{group}' has no hosts"
                    )
                )
        elif ref.name not in hosts and not (vantage and ref.name == LOCAL_VANTAGE):
            problems.add(_undefined(ref, vantage, sorted(hosts)))
    problems.raise_first()
    expand = _Expansion(groups)
    base = _resolved(defaults, expand, overrides)
    inventory = Inventory(
        sources=tuple(f.path for f in files),
        defaults=base,
        hosts=hosts,
        services=tuple(_service(spec, base, expand) for spec in services.values()),
        closed=tuple(_closed(spec, base, expand) for spec in closed),
        digests=tuple(f.digest for f in files),
        ansible={path: read for f in files for path, read in f.ansible},
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


class _Expansion:
    """Host references with every `group:NAME` replaced by the group's hosts, in order."""

    def __init__(self, groups: dict[str, tuple[str, ...]]) -> None:
        self.groups = groups

    def __call__(self, refs: Iterable[Ref]) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for ref in refs:
            if ref.name.startswith(GROUP_PREFIX):
                names.update(dict.fromkeys(self.groups[ref.name[len(GROUP_PREFIX) :]]))
            else:
                names[ref.name] = None
        return tuple(names)


def _no_group(ref: Ref, group: str, groups: list[str]) -> InventoryError:
    close = difflib.get_close_matches(group, groups, n=3)
    if close:
        hint = f" (did you mean {' or '.join(f'{GROUP_PREFIX}{c}' for c in close)}?)"
    elif groups:
        hint = f"; its groups: {', '.join(groups)}"
    else:
        hint = "; groups come from an Ansible inventory (hosts_from: {ansible: FILE})"
    where = "the Ansible inventory" if groups else "any Ansible inventory"
    return InventoryError.at(ref.location, f"{ref.place}: no group '{group}' in {where}{hint}")


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


def _resolved(
    spec: DefaultsSpec, expand: _Expansion, overrides: Sequence[PolicyOverride] = ()
) -> Defaults:
    base = Defaults()
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for name in ("timeout", "retries", "wait"):
        written: Setting[Any] | None = getattr(spec, name)
        if written is not None:
            values[name], sources[name] = written.value, "inventory"
    for override in overrides:  # the last one given wins
        values[override.name], sources[override.name] = override.value, override.source
    return Defaults(
        policy=Policy(
            timeout=float(values.get("timeout", base.policy.timeout)),
            retries=int(values.get("retries", base.policy.retries)),
            wait=float(values.get("wait", base.policy.wait)),
        ),
        policy_sources=tuple(sources.items()),
        resolvers=base.resolvers if spec.resolvers is None else spec.resolvers.value,
        vantages=base.vantages if spec.vantages is None else expand(spec.vantages.value),
        evidence_timeout=(
            base.evidence_timeout if spec.evidence_timeout is None else spec.evidence_timeout.value
        ),
    )


def _service(spec: ServiceSpec, defaults: Defaults, expand: _Expansion) -> Service:
    hosts = () if spec.host is None else expand((spec.host,))
    return Service(
        name=spec.name,
        address=spec.address,
        ports=spec.ports,
        policy=spec.policy.over(defaults.policy),
        vantages=defaults.vantages if spec.vantages is None else expand(spec.vantages),
        location=spec.location,
        dns=DnsSpec(
            expect=spec.expect,
            resolvers=defaults.resolvers if spec.resolvers is None else spec.resolvers,
            match=spec.match,
        ),
        # One host: its evidence explains a failed connect. A group's hosts each get
        # their own host checks; a connect's failure is not pinned on one of them.
        host=hosts[0] if len(hosts) == 1 else None,
        hosts=hosts,
        unit=spec.unit,
        listen=spec.listen,
        tags=spec.tags,
        port_locations=spec.port_locations,
        idle=spec.idle,
        severity=spec.severity,
        sections=spec.sections,
    )


def _closed(spec: ClosedSpec, defaults: Defaults, expand: _Expansion) -> ClosedRule:
    return ClosedRule(
        address=spec.address,
        ports=spec.ports,
        vantages=defaults.vantages if spec.vantages is None else expand(spec.vantages),
        policy=spec.policy.over(defaults.policy),
        location=spec.location,
        resolvers=defaults.resolvers if spec.resolvers is None else spec.resolvers,
        tags=spec.tags,
    )
