"""Evidence for failed checks, gathered the way the run probes: concurrently and bounded.

One batch per target host (and unit) per run, however many of its checks fail, run on a
worker thread so a slow host holds up nobody else; the client's route once per
address. A host that cannot be reached costs at most its timeout, and comes back as
evidence marked unavailable, never as an error.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from .evidence import ClientEvidence, HostEvidence, Packet, RunResult, TestinfraRunner
from .evidence.client import gather_client
from .evidence.host import read_batch, run_batch
from .hosts import HostPool, HostUnavailable
from .probe.engine import Engine

# Seconds for one host's whole batch, transport included.
EVIDENCE_TIMEOUT_S = 10.0


class EvidenceCollector:
    """Gathers and caches evidence for the run's failed checks."""

    def __init__(self, engine: Engine, hosts: HostPool, timeout: float = EVIDENCE_TIMEOUT_S):
        self.engine = engine
        self.hosts = hosts
        self.timeout = timeout

    async def host(self, alias: str, unit: str | None, packet: Packet) -> HostEvidence:
        """The target host's evidence read for `packet` (port, client and target address)."""
        result = await self.engine.once(
            ("host-batch", alias, unit), lambda: asyncio.to_thread(self._batch, alias, unit)
        )
        evidence = read_batch(result, packet, unit)
        # Transport errors can quote the host spec: no password may reach a report.
        gaps = tuple((what, self.hosts.redact(why)) for what, why in evidence.unavailable)
        return replace(evidence, unavailable=gaps)

    async def client(self, address: str) -> ClientEvidence:
        """How this machine's routing table treats `address` (once per address)."""
        return await self.engine.once(
            ("client-route", address), lambda: asyncio.to_thread(gather_client, address)
        )

    def _batch(self, alias: str, unit: str | None) -> RunResult:
        try:
            shell = self.hosts.shell(alias)
        except HostUnavailable as exc:  # a host spec testinfra cannot even open (masked)
            return RunResult(255, "", str(exc))
        runner = TestinfraRunner(shell, self.timeout)
        return run_batch(runner, unit, self.hosts.sudo(alias), self.timeout)
