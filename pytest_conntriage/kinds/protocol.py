"""The check-kind protocol: what one module per kind provides, and what its probe may use.

A kind plans its checks from the inventory, probes them (I/O, through a ProbeContext),
and decides and words the rest as pure functions of the check and what the probe saw.
Nothing outside the kind's own module asks which kind a check is: it asks the check's
`kind` (this protocol) instead. Like xdist's scheduler protocol, every member is listed
here; KindDefaults gives the ones most kinds do not need to change.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..outcome import Outcome
from ..probe.result import Attempt, ProbeResult
from ..runbook.model import Platform

if TYPE_CHECKING:
    from ..connections import HostPool
    from ..evidence.collector import EvidenceCollector
    from ..inventory.model import Inventory, Location, Policy, Resolver
    from ..marked_yaml import DocPath
    from ..probe.engine import Engine
    from ..probe.vantages import VantageBatches
    from ..resolution import Resolution
    from ..result import CheckResult
    from ..triage import Finding
    from ..triage.model import Facts
    from ..triage.rules import CauseRules


class SectionReader(Protocol):
    """Where a kind reads its own section of a service (Kind.read_section): paths are
    relative to the section, and a mistake is told at its file:line:column."""

    @property
    def source(self) -> str:
        """The inventory file's path (a file the section names is relative to it)."""
        ...

    def location(self, path: DocPath) -> Location:
        """Where the value at `path` (() for the section itself) was written."""
        ...

    def fail(self, path: DocPath, message: str) -> None:
        """Record a mistake at `path`; the file's first one ends the load (exit 4)."""
        ...


class Check(Protocol):
    """One test: what every kind's check has, whatever else it holds."""

    @property
    def kind(self) -> Kind[Any]: ...
    @property
    def id(self) -> str: ...  # from the inventory alone: stable across runs
    @property
    def target(self) -> str: ...  # the name or address the check is about
    @property
    def service(self) -> str | None: ...  # None: a closed rule's check
    @property
    def policy(self) -> Policy: ...
    @property
    def location(self) -> Location: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    def __hash__(self) -> int: ...  # frozen: a run keys its probes and results by check


C = TypeVar("C", bound=Check)


class ProbeContext(Protocol):
    """The run a probe takes part in: its engine, names, hosts and evidence."""

    @property
    def engine(self) -> Engine: ...
    @property
    def hosts(self) -> HostPool: ...
    @property
    def collector(self) -> EvidenceCollector: ...
    @property
    def rules(self) -> Sequence[CauseRules]: ...  # the run's cause rules (hookspec)
    @property
    def remote(self) -> VantageBatches: ...  # connects from remote vantages, batched

    async def resolve(
        self, name: str, resolvers: tuple[Resolver, ...], timeout: float, fresh: bool = False
    ) -> Resolution:
        """What each of `resolvers` (() = the system's) answers for `name`, once per run
        (`fresh`: ask again)."""
        ...

    async def ask(self, name: str, resolver: Resolver | None, timeout: float) -> Attempt:
        """One lookup of `name` by `resolver` (None: as applications resolve), now."""
        ...

    def other_vantages(self, check: Check) -> Sequence[Check]:
        """The run's checks of the same endpoint from its other vantages (see
        Kind.endpoint), in the order the run met them."""
        ...


@dataclass(frozen=True, slots=True)
class Investigation:
    """What was gathered about a failed check, besides its probe: what the triage
    weighs, and what the report shows beside it."""

    findings: tuple[Finding, ...] = ()
    unavailable: tuple[str, ...] = ()  # evidence that could not be gathered: "host: what: why"
    systemd: bool | None = None  # the target runs systemd (None: not known)
    elsewhere: tuple[tuple[str, Outcome], ...] = ()  # the same probe from other vantages
    answers_now: Resolution | None = None  # what each resolver answers now for the name
    # Why gathering stopped part way ("evidence: OSError: ..."): what was gathered
    # before stands, the triage is not made.
    error: str = ""
    platform: Platform | None = None  # the target's: WINDOWS for a winrm host


class Kind(Protocol[C]):
    """One kind of check (dns, tcp, ...): the only place that knows what it means."""

    @property
    def name(self) -> str:
        """ "tcp": the test's name (`test_tcp`), its fixture (`tcp_check`), its JUnit
        `conntriage.check` property."""
        ...

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        """The kind's own outcomes (`Outcome.declare`d in its module), beyond the core
        taxonomy of outcome.py: the names a runbook may then weigh causes by."""
        ...

    @property
    def inventory_schema(self) -> Mapping[str, Any]:
        """The kind's part of the inventory JSON Schema: `properties`, the service keys
        it owns (no core key, no other kind's), and the `$defs` they use. The loader
        validates against the core schema with every kind's part joined in."""
        ...

    def read_section(
        self, key: str, raw: Any, service: Mapping[str, Any], reader: SectionReader
    ) -> Hashable:
        """Pure: the service's `key` section (one of the keys the kind owns), validated
        by its schema, as the kind's own frozen value (Service.section(key)); `service`
        is the whole validated service mapping. Mistakes a schema cannot say go to
        `reader.fail`."""
        ...

    @property
    def placeholders(self) -> Mapping[str, str]:
        """The kind's own runbook placeholders (beyond runbook.template's core ones),
        each with the words prose says when its value is not known: {"status":
        "another status"}. Its facts' `own` part (triage.model.KindFacts) fills them."""
        ...

    def plan(self, inventory: Inventory) -> Iterable[C]:
        """The checks of this kind the inventory asks for, in inventory order. Nothing is
        resolved or connected to: ids come from the inventory alone."""
        ...

    async def probe(self, check: C, context: ProbeContext) -> ProbeResult:
        """Run the check's attempts (retries and wait included); I/O only."""
        ...

    def announce(self, check: C, context: ProbeContext) -> None:
        """The check was queued: tell `context` what its probe will ask for, so that it
        can be batched (a remote vantage's connects); most kinds have nothing to say."""
        ...

    def judge(self, check: C, attempt: Attempt) -> bool:
        """Pure: whether `attempt` passes the check (also what retries wait for)."""
        ...

    async def investigate(
        self, check: C, result: ProbeResult, context: ProbeContext
    ) -> Investigation:
        """On failure only: the evidence triage weighs. Never changes the verdict."""
        ...

    def facts(self, check: C, attempt: Attempt) -> Facts:
        """Pure: the real values the runbook's templates are filled with."""
        ...

    def describe(self, check: C) -> str:
        """Pure: the check in one line, "tcp local -> api.example.com:443, service api"."""
        ...

    def explain(self, check: C, attempt: Attempt) -> str:
        """Pure: what happened, in one line, "connection refused by 10.0.0.2:443 after 0.2 ms"."""
        ...

    def properties(self, check: C, attempt: Attempt) -> list[tuple[str, str]]:
        """Pure: the check's own report key-values ("address", "port"), unprefixed."""
        ...

    def endpoint(self, check: C) -> tuple[str, Hashable] | None:
        """(vantage, what is probed from it) when the same probe from the run's other
        vantages tells something about a failure; None otherwise."""
        ...

    def attempt_budget(self, check: C) -> float:
        """The most seconds one attempt may take (a test waits for all of them)."""
        ...

    def unverified(self, check: C, result: CheckResult) -> str | None:
        """Why a passed result proves nothing and the test is skipped; None: it counts."""
        ...

    def unexplained(self, check: C, outcome: Outcome) -> str:
        """What a failure says when no runbook entry explains `outcome`."""
        ...


class KindDefaults:
    """The members most kinds share; a kind overrides what it means differently.

    A kind is a module-level singleton: checks hold it, compare it by identity, and
    carry it across processes (pickle) by its module and name (`__reduce__`).
    """

    name: str
    # The kind's module-level variable holding this instance, for pickle.
    instance_name: str = "KIND"
    outcomes: tuple[Outcome, ...] = ()  # only the core taxonomy's
    placeholders: Mapping[str, str] = MappingProxyType({})  # only the core ones
    inventory_schema: Mapping[str, Any] = MappingProxyType({})  # owns no service key

    def __reduce__(self) -> str:
        return self.instance_name

    def __repr__(self) -> str:
        return f"<kind {self.name}>"

    async def investigate(
        self, check: Any, result: ProbeResult, context: ProbeContext
    ) -> Investigation:
        return Investigation()

    def endpoint(self, check: Any) -> tuple[str, Hashable] | None:
        return None

    def announce(self, check: Any, context: ProbeContext) -> None:
        pass

    def read_section(
        self, key: str, raw: Any, service: Mapping[str, Any], reader: SectionReader
    ) -> Hashable:
        raise NotImplementedError(f"the {self.name} kind owns no service key {key!r}")

    def attempt_budget(self, check: Any) -> float:
        return float(check.policy.timeout)

    def unverified(self, check: Any, result: CheckResult) -> str | None:
        return None

    def unexplained(self, check: Any, outcome: Outcome) -> str:
        return f"No runbook entry explains outcome '{outcome.value}'."
