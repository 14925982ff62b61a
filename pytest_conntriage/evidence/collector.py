"""Evidence for failed checks, gathered the way the run probes: concurrently and bounded.

One batch per target host (and unit) per run, however many of its checks fail, run on a
worker thread so a slow host holds up nobody else; the client's route once per
address. A host that cannot be reached costs at most its timeout, and comes back as
evidence marked unavailable, never as an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable, Sequence
from dataclasses import replace
from typing import Any

from ..children import in_thread
from ..connections import HostPool, HostUnavailable
from ..probe.engine import Engine
from ..probe.trace import trace_path
from . import ClientEvidence, HostEvidence, Packet, RunResult, TestinfraRunner
from .batch import Collector
from .client import gather_client
from .model import Collected
from .path import PathTrace
from .runner import WinRMRunner, first_line
from .target_host import read_batch, run_batch
from .windows_batch import read_windows_batch, run_windows_batch

# The plugins' collectors are shell code: a Windows host does not run them.
NOT_ON_WINDOWS = "not run: a Windows host (collectors are shell code)"

# The path trace (docs/evidence.md): SYNs with TTL 1 to at most TRACE_MAX_HOPS, a few at
# once (probe/trace.py's WAVE), each waited for TRACE_HOP_TIMEOUT_S; at most
# TRACES_PER_RUN traces per run (per process).
TRACE_MAX_HOPS = 16
TRACE_HOP_TIMEOUT_S = 1.0
TRACES_PER_RUN = 8
# Traces at once: routers rate-limit the ICMP they send one client (Linux: a burst of 6,
# then 1 a second), and a time-exceeded dropped by that would move the last hop that
# answered closer. Two at a time stay within it for the whole run's 8.
TRACES_AT_ONCE = 2


class EvidenceCollector:
    """Gathers and caches evidence for the run's failed checks."""

    def __init__(
        self,
        engine: Engine,
        hosts: HostPool,
        timeout: float | None = None,
        collectors: Sequence[Collector] = (),
    ):
        self.engine = engine
        self.hosts = hosts
        self.collectors = tuple(collectors)  # the plugins' own, run in every host's batch
        # One host's whole batch, connect and auth included: the inventory's
        # defaults.evidence_timeout, which the host pool bounds its hosts by.
        self.timeout = hosts.timeout if timeout is None else timeout
        self.traces_left = TRACES_PER_RUN  # touched only on the engine's loop: no lock
        self.tracing = asyncio.Semaphore(TRACES_AT_ONCE)  # binds to the loop on first use

    async def host(self, alias: str, unit: str | None, packet: Packet) -> HostEvidence:
        """The target host's evidence read for `packet` (port, client and target address)."""
        result = await self.engine.once(*self._host_batch(alias, unit))
        if self.hosts.windows(alias):
            evidence = read_windows_batch(result, packet, unit)
            skipped = tuple(Collected(c.name, None, NOT_ON_WINDOWS) for c in self.collectors)
            gaps = tuple((c.name, NOT_ON_WINDOWS) for c in self.collectors)
            evidence = replace(
                evidence, collected=skipped, unavailable=(*evidence.unavailable, *gaps)
            )
        else:
            evidence = read_batch(result, packet, unit, self.collectors)
        # Transport errors can quote the host spec: no password may reach a report.
        gaps = tuple((what, self.hosts.redact(why)) for what, why in evidence.unavailable)
        collected = tuple(
            c if c.why is None else replace(c, why=self.hosts.redact(c.why))
            for c in evidence.collected
        )
        return replace(evidence, unavailable=gaps, collected=collected)

    async def client(self, address: str) -> ClientEvidence:
        """How this machine's routing table treats `address` (once per address)."""
        return await self.engine.once(*self._client_route(address))

    def start(self, alias: str | None, unit: str | None, address: str | None) -> None:
        """On the loop, as a check fails: begin the host's batch (`alias`) and the
        client's route to `address` now, once per run, without waiting for them, so
        they run while the rest of the investigation does (`host` and `client` then
        read the same runs)."""
        if address is not None:
            self.engine.begin(*self._client_route(address))
        if alias is not None:
            self.engine.begin(*self._host_batch(alias, unit))

    def _host_batch(
        self, alias: str, unit: str | None
    ) -> tuple[Hashable, Callable[[], Coroutine[Any, Any, RunResult]]]:
        return ("host-batch", alias, unit), lambda: in_thread(self._batch, alias, unit)

    def _client_route(
        self, address: str
    ) -> tuple[Hashable, Callable[[], Coroutine[Any, Any, ClientEvidence]]]:
        return ("client-route", address), lambda: in_thread(gather_client, address)

    async def trace(self, address: str, port: int) -> PathTrace:
        """Where on the way to `address`:`port` the SYN dies (once per address and port,
        at most TRACES_PER_RUN per run; past that, a trace that says why it was not run)."""

        async def run() -> PathTrace:
            if self.traces_left <= 0:
                why = f"the run's limit of {TRACES_PER_RUN} path traces is reached"
                return PathTrace(address, port, unavailable=why)
            self.traces_left -= 1
            async with self.tracing:
                return await trace_path(
                    address, port, TRACE_MAX_HOPS, TRACE_HOP_TIMEOUT_S, self.engine.bounded
                )

        return await self.engine.once(("path-trace", address, port), run)

    def _batch(self, alias: str, unit: str | None) -> RunResult:
        try:
            shell = self.hosts.shell(alias)
        except HostUnavailable as exc:  # a host spec testinfra cannot even open (masked)
            return RunResult(255, "", first_line(str(exc)) or "cannot open the host")
        if self.hosts.windows(alias):
            return run_windows_batch(WinRMRunner(shell, self.timeout), unit)
        runner = TestinfraRunner(shell, self.timeout)
        return run_batch(runner, unit, self.hosts.sudo(alias), self.timeout, self.collectors)
