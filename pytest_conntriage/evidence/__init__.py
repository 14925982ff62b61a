"""Evidence from both ends of a failed check: what a person would look at next on the
target host (one batch over any `Runner`) and on the client, as frozen values."""

from __future__ import annotations

from .client import gather_client
from .firewall import Packet, decisive
from .model import (
    Action,
    Backend,
    ClientEvidence,
    Counters,
    FirewallVerdict,
    FrontendStatus,
    HostEvidence,
    Listener,
    ProcessAge,
    ProcessRef,
    Route,
    RouteKind,
    UnitState,
)
from .runner import LocalRunner, Runner, RunResult, TestinfraRunner
from .target_host import gather_host, parse_batch, read_batch, run_batch

__all__ = [
    "Action",
    "Backend",
    "ClientEvidence",
    "Counters",
    "FirewallVerdict",
    "FrontendStatus",
    "HostEvidence",
    "Listener",
    "LocalRunner",
    "Packet",
    "ProcessAge",
    "ProcessRef",
    "Route",
    "RouteKind",
    "RunResult",
    "Runner",
    "TestinfraRunner",
    "UnitState",
    "decisive",
    "gather_client",
    "gather_host",
    "parse_batch",
    "read_batch",
    "run_batch",
]
