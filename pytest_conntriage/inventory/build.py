"""One validated inventory document → the parts of the model it defines, value-checked."""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..marked_yaml import DocPath, Document, place
from . import hostspec
from .addresses import (
    address_problem,
    canonical_ip,
    destination_problem,
    ip_problem,
    parse_resolver,
)
from .durations import MAX_SECONDS, parse_duration
from .errors import InventoryWarning, Problems, printable
from .model import GROUP_PREFIX, DnsMatch, Host, Location, Policy, Resolver, Severity
from .schema import built_in_kinds, owned_keys

if TYPE_CHECKING:
    from ..kinds.protocol import Kind

T = TypeVar("T")

# Tags become pytest markers: these would skip, xfail or parametrize the checks, or break
# `-m` expressions, instead of labelling them.
_RESERVED_TAGS = frozenset(
    {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings", "and", "or", "not"}
)
# testinfra's connection backends (testinfra.backend.BACKENDS).
_CONNECTIONS = [
    *("local", "ssh", "safe-ssh", "paramiko", "salt", "docker", "podman", "ansible"),
    *("kubectl", "winrm", "lxc", "openshift", "chroot"),
]


@dataclass(frozen=True)
class Ref:
    """A host alias named somewhere, looked up once every file is merged."""

    name: str
    place: str = field(compare=False)
    location: Location = field(compare=False)


@dataclass(frozen=True)
class Setting(Generic[T]):
    """A value set under `defaults`, with how and where it was written (for conflicts)."""

    value: T
    place: str
    written: str
    location: Location


@dataclass(frozen=True)
class PolicySpec:
    """The policy fields an entry sets itself; None = take the default."""

    timeout: float | None = None
    retries: int | None = None
    wait: float | None = None

    def over(self, base: Policy) -> Policy:
        """`base` with the fields this entry sets replaced."""
        return Policy(
            timeout=base.timeout if self.timeout is None else self.timeout,
            retries=base.retries if self.retries is None else self.retries,
            wait=base.wait if self.wait is None else self.wait,
        )


@dataclass(frozen=True)
class DefaultsSpec:
    """The `defaults` one file sets; None = not set in this file."""

    timeout: Setting[float] | None = None
    retries: Setting[int] | None = None
    wait: Setting[float] | None = None
    resolvers: Setting[tuple[Resolver, ...]] | None = None
    vantages: Setting[tuple[Ref, ...]] | None = None
    evidence_timeout: Setting[float] | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """A service as one file writes it: defaults not applied, references not checked."""

    name: str
    location: Location
    address: str
    ports: tuple[int, ...]
    port_locations: tuple[Location, ...]
    policy: PolicySpec
    vantages: tuple[Ref, ...] | None
    host: Ref | None
    unit: str | None
    listen: str | None
    expect: tuple[str, ...]
    resolvers: tuple[Resolver, ...] | None
    match: DnsMatch
    tags: tuple[str, ...]
    idle: float
    severity: Severity = Severity.FAIL
    sections: tuple[tuple[str, Hashable], ...] = ()  # each kind's own (Service.sections)


@dataclass(frozen=True)
class ClosedSpec:
    """A closed rule as one file writes it: defaults not applied, references not checked."""

    location: Location
    address: str
    ports: tuple[int, ...]
    policy: PolicySpec
    vantages: tuple[Ref, ...] | None
    resolvers: tuple[Resolver, ...] | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class FileSpec:
    """Everything one inventory file defines."""

    path: str
    defaults: DefaultsSpec
    hosts: tuple[Host, ...]
    services: tuple[ServiceSpec, ...]
    closed: tuple[ClosedSpec, ...]
    digest: str = ""  # of the validated document (inventory.load)
    # Ansible groups (hosts_from) → their hosts' aliases; `group:NAME` expands to them.
    groups: tuple[tuple[str, tuple[str, ...], Location], ...] = ()
    # What hosts_from read, by the Ansible file's absolute path (ansible.to_data).
    ansible: tuple[tuple[str, Any], ...] = ()


def build(
    document: Document,
    ansible_read: Mapping[str, Any] | None = None,
    kinds: Iterable[Kind[Any]] | None = None,
) -> FileSpec:
    """The parts of the model `document` defines; raises the first value error in the file.

    `document` must have passed schema validation (for `kinds`; None: the built-in
    ones): types and shapes are trusted here, and only what a schema cannot say is
    checked (IP syntax, resolvers, reserved names). A service key a kind owns is read
    by that kind. `ansible_read`: what hosts_from files were already read as in this
    run (an xdist worker's controller's Inventory.ansible), by absolute path; others are
    read now.
    """
    owners = owned_keys(built_in_kinds() if kinds is None else kinds)
    return _Builder(document, ansible_read or {}, owners).build()


class _Builder:
    def __init__(
        self, document: Document, ansible_read: Mapping[str, Any], owners: Mapping[str, Kind[Any]]
    ) -> None:
        self.doc = document
        self.problems = Problems()
        self.ansible_read = ansible_read
        self.ansible: list[tuple[str, Any]] = []
        self.owners = owners

    def build(self) -> FileSpec:
        # Schema-validated: the shapes below are guaranteed, so plain indexing is safe.
        data: dict[str, Any] = self.doc.data  # type: ignore[assignment]
        hosts = tuple(self.host(a, h) for a, h in (data.get("hosts") or {}).items())
        groups: tuple[tuple[str, tuple[str, ...], Location], ...] = ()
        if "hosts_from" in data:
            ansible_hosts, groups = self.hosts_from(("hosts_from", "ansible"), data)
            hosts += ansible_hosts
        spec = FileSpec(
            path=self.doc.path,
            defaults=self.defaults(data.get("defaults") or {}),
            hosts=hosts,
            services=tuple(self.service(n, s) for n, s in (data.get("services") or {}).items()),
            closed=tuple(self.closed(i, c) for i, c in enumerate(data.get("closed") or [])),
            groups=groups,
            ansible=tuple(self.ansible),
        )
        self.problems.raise_first()
        return spec

    def defaults(self, raw: dict[str, Any]) -> DefaultsSpec:
        path: DocPath = ("defaults",)

        def setting(key: str, parse: Callable[[DocPath, Any], T]) -> Setting[T] | None:
            if key not in raw:
                return None
            where = (*path, key)
            shown = ", ".join(map(str, raw[key])) if isinstance(raw[key], list) else raw[key]
            written = f"[{shown}]" if isinstance(raw[key], list) else str(shown)
            value = parse(where, raw[key])
            return Setting(value, place(where), written, self.doc.value_location(where))

        return DefaultsSpec(
            timeout=setting("timeout", self.duration),
            retries=setting("retries", lambda _, value: int(value)),
            wait=setting("wait", self.duration),
            resolvers=setting("resolvers", self.resolvers),
            vantages=setting("from", self.refs),
            evidence_timeout=setting("evidence_timeout", self.duration),
        )

    def host(self, alias: str, raw: dict[str, Any]) -> Host:
        path: DocPath = ("hosts", alias)
        self.printable_name(path, "host alias", alias)
        if alias == "local":
            self.fail(
                path,
                "'local' means the machine running pytest; give this host another alias",
                at_key=True,
            )
        if alias.startswith(GROUP_PREFIX):
            self.fail(
                path,
                f"'{GROUP_PREFIX}' begins a group reference (group:NAME); give this host"
                " another alias",
                at_key=True,
            )
        connection: str = raw["connection"]
        scheme, separator, _ = connection.partition("://")
        if separator and scheme not in _CONNECTIONS:
            close = difflib.get_close_matches(scheme, _CONNECTIONS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(_CONNECTIONS)}"
            self.fail((*path, "connection"), f"unknown connection type '{scheme}' ({hint})")
        else:
            self.host_spec((*path, "connection"), connection)
        return Host(
            alias=alias,
            connection=connection,
            sudo=bool(raw.get("sudo", False)),
            location=self.doc.key_location(path),
        )

    def hosts_from(
        self, path: DocPath, data: dict[str, Any]
    ) -> tuple[tuple[Host, ...], tuple[tuple[str, tuple[str, ...], Location], ...]]:
        """The hosts and groups of the Ansible inventory `hosts_from.ansible` names,
        read by ansible-core (inventory.ansible); its path is relative to this file."""
        from . import ansible  # only an inventory with hosts_from pays for it

        written: str = data["hosts_from"]["ansible"]
        where = self.doc.value_location(path)
        file = os.path.abspath(Path(self.doc.path).parent / os.path.expanduser(written))
        try:
            given = self.ansible_read.get(file)
            read = ansible.read(file) if given is None else ansible.from_data(given)
        except ansible.AnsibleError as exc:
            self.fail(path, f"{written}: {exc}")
            return (), ()
        self.ansible.append((file, ansible.to_data(read)))
        for note in read.notes:
            warnings.warn(InventoryWarning(printable(f"{where}: {written}: {note}")), stacklevel=1)
        hosts = []
        for found in read.hosts:
            problem = None
            if found.name == "local":
                problem = "an Ansible host named 'local': 'local' means the machine running pytest"
            elif not found.name.isprintable():
                problem = f"the Ansible host {found.name!r} has a name that is not printable"
            if problem:
                self.fail(path, f"{written}: {problem}")
            hosts.append(Host(found.name, found.connection, found.sudo, where))
        groups = tuple((name, members, where) for name, members in read.groups.items())
        return tuple(hosts), groups

    def host_spec(self, path: DocPath, spec: str) -> None:
        """What testinfra would make of `spec`: no host or user that a program could read
        as an option, no parameter that crashes it later; the message masks passwords."""
        problem = hostspec.problem(spec)
        if problem:
            self.fail(path, f"{problem} (in '{hostspec.masked(spec)}')")

    def service(self, name: str, raw: dict[str, Any]) -> ServiceSpec:
        path: DocPath = ("services", name)
        self.printable_name(path, "service name", name)
        dns: dict[str, Any] = raw.get("dns") or {}
        listen = raw.get("listen")
        if "host" not in raw:
            # Both are checked on the service's host; without one nothing checks them. A
            # warning, not an error: one inventory may serve environments where no host
            # is reachable, and a unit still names the service in the printed fixes.
            for key in ("unit", "listen"):
                if key in raw:
                    where = self.doc.key_location((*path, key))
                    warnings.warn(
                        InventoryWarning(
                            printable(
                                f"{where}: {place((*path, key))}: not checked, because this"
                                " service has no 'host:' (evidence is gathered on the host)"
                            )
                        ),
                        stacklevel=1,
                    )
        return ServiceSpec(
            name=name,
            location=self.doc.key_location(path),
            address=self.address((*path, "address"), raw["address"]),
            ports=tuple(int(port) for port in raw["ports"]),
            port_locations=tuple(
                self.doc.value_location((*path, "ports", i)) for i in range(len(raw["ports"]))
            ),
            policy=self.policy(path, raw),
            vantages=self.refs((*path, "from"), raw["from"]) if "from" in raw else None,
            host=self.ref((*path, "host"), raw["host"]) if "host" in raw else None,
            unit=raw.get("unit"),
            listen=None if listen is None else self.listen((*path, "listen"), listen),
            expect=tuple(
                self.ip((*path, "dns", "expect", i), ip)
                for i, ip in enumerate(dns.get("expect", []))
            ),
            resolvers=(
                self.resolvers((*path, "dns", "resolvers"), dns["resolvers"])
                if "resolvers" in dns
                else None
            ),
            match=DnsMatch(dns.get("match", DnsMatch.EXACT.value)),
            tags=self.tags((*path, "tags"), raw.get("tags", [])),
            idle=self.idle((*path, "idle"), raw["idle"]) if "idle" in raw else 0.0,
            severity=Severity(raw.get("severity", Severity.FAIL.value)),
            sections=tuple(
                (key, self.section((*path, key), key, raw)) for key in raw if key in self.owners
            ),
        )

    def section(self, path: DocPath, key: str, service: dict[str, Any]) -> Hashable:
        """The service's `key` section, read by the kind that owns it."""
        return self.owners[key].read_section(key, service[key], service, _Section(self, path))

    def closed(self, index: int, raw: dict[str, Any]) -> ClosedSpec:
        path: DocPath = ("closed", index)
        return ClosedSpec(
            location=self.doc.value_location(path),
            address=self.address((*path, "address"), raw["address"]),
            ports=tuple(int(port) for port in raw["ports"]),
            policy=self.policy(path, raw),
            vantages=self.refs((*path, "from"), raw["from"]) if "from" in raw else None,
            resolvers=(
                self.resolvers((*path, "resolvers"), raw["resolvers"])
                if "resolvers" in raw
                else None
            ),
            tags=self.tags((*path, "tags"), raw.get("tags", [])),
        )

    def policy(self, path: DocPath, raw: dict[str, Any]) -> PolicySpec:
        return PolicySpec(
            timeout=self.duration((*path, "timeout"), raw["timeout"]) if "timeout" in raw else None,
            retries=int(raw["retries"]) if "retries" in raw else None,
            wait=self.duration((*path, "wait"), raw["wait"]) if "wait" in raw else None,
        )

    def duration(self, path: DocPath, value: float | str) -> float:
        """Seconds, within the cap for this key (durations.MAX_SECONDS)."""
        try:
            return parse_duration(value, MAX_SECONDS[str(path[-1])])
        except ValueError as exc:
            self.fail(path, str(exc))
            return 0.0

    def idle(self, path: DocPath, value: float | str) -> float:
        seconds = self.duration(path, value)
        if not seconds.is_integer():
            self.fail(path, f"'{value}': idle counts whole seconds (e.g. 30s, 2m)")
        return seconds

    def printable_name(self, path: DocPath, what: str, name: str) -> None:
        # The schema rejects control characters; this catches the rest a terminal or a
        # test id would not show as written (line separators, bidi overrides, U+200B).
        if not name.isprintable():
            self.fail(
                path,
                f"the {what} '{name}' contains a character that is not printable; names"
                " appear in test ids and reports, so write them in printable text",
                at_key=True,
            )

    def address(self, path: DocPath, text: str) -> str:
        problem = address_problem(text)
        if problem:
            self.fail(path, problem)
        return text

    def ip(self, path: DocPath, text: str) -> str:
        canonical = canonical_ip(text)
        if canonical is None:
            self.fail(path, ip_problem(text))
            return text
        return canonical

    def listen(self, path: DocPath, text: str) -> str:
        """A bind address: the unspecified one (all addresses) is fine, multicast is not."""
        canonical = self.ip(path, text)
        problem = destination_problem(canonical) if canonical_ip(text) else None
        if problem and "unspecified" not in problem:
            self.fail(path, problem)
        return canonical

    def resolvers(self, path: DocPath, texts: list[str]) -> tuple[Resolver, ...]:
        found: list[Resolver] = []
        for i, text in enumerate(texts):
            try:
                found.append(parse_resolver(text))
            except ValueError as exc:
                self.fail((*path, i), str(exc))
        return tuple(found)

    def ref(self, path: DocPath, name: str) -> Ref:
        return Ref(name, place(path), self.doc.value_location(path))

    def refs(self, path: DocPath, names: list[str]) -> tuple[Ref, ...]:
        return tuple(self.ref((*path, i), name) for i, name in enumerate(names))

    def tags(self, path: DocPath, tags: list[str]) -> tuple[str, ...]:
        for i, tag in enumerate(tags):
            if tag in _RESERVED_TAGS:
                self.fail((*path, i), f"'{tag}' is reserved by pytest; tags need another name")
        return tuple(tags)

    def fail(self, path: DocPath, message: str, *, at_key: bool = False) -> None:
        self.problems.add(self.doc.error(path, message, at_key=at_key))


class _Section:
    """A kind's section of a service, as the kind reads it (kinds.protocol.SectionReader)."""

    def __init__(self, builder: _Builder, path: DocPath) -> None:
        self._builder = builder
        self._path = path

    @property
    def source(self) -> str:
        return self._builder.doc.path

    def location(self, path: DocPath) -> Location:
        return self._builder.doc.value_location((*self._path, *path))

    def fail(self, path: DocPath, message: str) -> None:
        self._builder.fail((*self._path, *path), message)
