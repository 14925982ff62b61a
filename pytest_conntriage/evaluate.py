"""Run a check's probes on the engine and decide pass or fail, with the diagnosis on failure.

What a check means is its kind's business (kinds/): here every kind is run the same way,
probe, judge and, on failure, investigate and diagnose.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Hashable, Sequence
from dataclasses import replace

from .checks import Check
from .connections import HostPool
from .evidence.collector import EvidenceCollector
from .extensions import Extensions, builtin
from .inventory.model import Resolver
from .kinds.protocol import Investigation
from .probe.dns import RESOLV_CONF, ask_resolver, resolve_system
from .probe.engine import Engine
from .probe.progress import WATCH, WaitBoard, Watch
from .probe.result import Attempt
from .probe.vantages import VantageBatches
from .resolution import Resolution
from .result import CheckResult, crash_reason
from .runbook.model import Runbook
from .triage import diagnose


class Evaluator:
    """Turns checks into probes on one engine and their results into verdicts; the
    context (kinds.protocol.ProbeContext) every kind's probe runs in."""

    def __init__(
        self,
        engine: Engine,
        runbook: Runbook,
        hosts: HostPool | None = None,
        resolv_conf: str = RESOLV_CONF,
        extensions: Extensions | None = None,
    ):
        self.engine = engine
        self.runbook = runbook
        self.hosts = hosts or HostPool({})
        # The cause rules and collectors of every plugin (the built-in ones first).
        extensions = extensions or builtin()
        self.rules = extensions.rules
        self.collector = EvidenceCollector(engine, self.hosts, collectors=extensions.collectors)
        # Remote vantages' connects: one round trip per vantage per batch.
        self.remote = VantageBatches(engine, self.hosts)
        self.resolv_conf = resolv_conf
        # The gates waiting now (wait:), for the line that shows them waiting.
        self.waits = WaitBoard()
        # The vantages each endpoint is probed from in this run (this process's share
        # under xdist), so a failure can say where the same target is reachable from
        # without probing from a vantage nobody selected.
        self._vantages: dict[Hashable, list[tuple[str, Check]]] = {}
        self.compare_vantages = True  # False: the run has one vantage, nothing to record
        self._vantages_lock = threading.Lock()

    # -- names: resolved when a check runs, each resolver's answer kept ---------------

    async def resolve(
        self, name: str, resolvers: tuple[Resolver, ...], timeout: float, fresh: bool = False
    ) -> Resolution:
        """What each of `resolvers` (() = the system resolver) answers for `name`.

        Once per run for every check that asks (`fresh`: ask again, for a retry or a
        gate that waits for the record to appear).
        """
        if fresh:
            return await self._lookup(name, resolvers, timeout)
        return await self.engine.once(
            ("lookup", name, resolvers, timeout), lambda: self._lookup(name, resolvers, timeout)
        )

    async def _lookup(
        self, name: str, resolvers: tuple[Resolver, ...], timeout: float
    ) -> Resolution:
        answers = await asyncio.gather(*(self.ask(name, r, timeout) for r in resolvers or (None,)))
        return Resolution(name, tuple(answers))

    async def ask(self, name: str, resolver: Resolver | None, timeout: float) -> Attempt:
        if resolver is None:
            return await self.engine.bounded(resolve_system(name, timeout, self.resolv_conf))
        return await self.engine.bounded(ask_resolver(name, resolver, timeout))

    def other_vantages(self, check: Check) -> Sequence[Check]:
        placed = check.kind.endpoint(check)
        if placed is None:
            return ()
        vantage, endpoint = placed
        with self._vantages_lock:
            seen = self._vantages.get((check.kind, endpoint), ())
            return [other for where, other in seen if where != vantage]

    # -- running checks ----------------------------------------------------------

    def submit(self, check: Check, urgent: bool = False) -> concurrent.futures.Future[CheckResult]:
        """Start `check` (once per run) and return its future result; `urgent`: now,
        ahead of checks submitted earlier that nothing waits for yet."""
        self._note_vantage(check)
        return self.engine.submit(check, lambda: self._evaluate(check), urgent=urgent)

    def prefetch(self, check: Check) -> None:
        """Queue `check` to run as soon as the engine has room; `submit` fetches it.

        Its kind announces what its probe will ask for first, so a remote vantage's
        batch has it (sent when `gathering()` ends, around a round of prefetches).
        """
        self._note_vantage(check)
        check.kind.announce(check, self)
        self.engine.prefetch(check, lambda: self._evaluate(check))

    def gathering(self) -> contextlib.AbstractContextManager[None]:
        """Around a round of `prefetch`: the vantages' batches go when it ends."""
        return self.remote.gathering()

    def _note_vantage(self, check: Check) -> None:
        if not self.compare_vantages:
            return
        placed = check.kind.endpoint(check)
        if placed is None:
            return
        vantage, endpoint = placed
        with self._vantages_lock:
            seen = self._vantages.setdefault((check.kind, endpoint), [])
            if all(where != vantage for where, _ in seen):
                seen.append((vantage, check))

    async def _evaluate(self, check: Check) -> CheckResult:
        kind = check.kind
        # A gate's wait is recorded under this check's id (a task's own context: the
        # probe's task, started from here, inherits it).
        WATCH.set(Watch(self.waits, check.id))
        result = await kind.probe(check, self)
        passed = kind.judge(check, result.final)
        if passed:
            return CheckResult(check, passed, result)
        # From here on the verdict is decided: a bug in triage must not turn a failed
        # check into an error without its outcome (or worse, lose it).
        try:
            found = await kind.investigate(check, result, self)
        except Exception as exc:
            found = Investigation(error=self._crash("evidence", exc))
        if found.error:
            return CheckResult(
                check,
                passed,
                result,
                elsewhere=found.elsewhere,
                triage_error=found.error,
                answers_now=found.answers_now,
            )
        try:
            facts = replace(
                kind.facts(check, result.final), systemd=found.systemd, platform=found.platform
            )
            diagnosis = diagnose(result.outcome, facts, self.runbook, found.findings, self.rules)
        except Exception as exc:
            crash = self._crash("ranking", exc)
            return CheckResult(
                check,
                passed,
                result,
                None,
                found.unavailable,
                found.elsewhere,
                crash,
                answers_now=found.answers_now,
            )
        return CheckResult(
            check,
            passed,
            result,
            diagnosis,
            found.unavailable,
            found.elsewhere,
            answers_now=found.answers_now,
        )

    def _crash(self, stage: str, exc: Exception) -> str:
        # Transport errors can quote a host spec: no password may reach a report.
        return self.hosts.redact(crash_reason(stage, exc))
