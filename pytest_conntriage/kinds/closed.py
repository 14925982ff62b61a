"""The closed kind: an exposure gate, a port that must NOT accept a connection from a vantage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..checks import host_port
from ..inventory.model import Inventory
from ..outcome import Outcome
from ..probe.result import Attempt
from .dns import ms
from .tcp import HandshakeKind, TcpCheck

if TYPE_CHECKING:
    from ..result import CheckResult
    from .protocol import Kind


class ClosedKind(HandshakeKind):
    name = "closed"

    def plan(self, inventory: Inventory) -> Iterator[TcpCheck]:
        for rule in inventory.closed:
            for vantage in rule.vantages:
                for port in rule.ports:
                    yield TcpCheck(
                        kind=self,
                        target=rule.address,
                        port=port,
                        vantage=vantage,
                        resolvers=rule.resolvers,
                        policy=rule.policy,
                        location=rule.location,
                        tags=rule.tags,
                    )

    def judge(self, check: TcpCheck, attempt: Attempt) -> bool:
        # A probe that could not run (a vantage that cannot be reached, no socket) saw
        # nothing: it cannot prove the port closed.
        return attempt.outcome not in (Outcome.OPEN, Outcome.PROBE_ERROR)

    def explain(self, check: TcpCheck, attempt: Attempt) -> str:
        if attempt.outcome is Outcome.OPEN:
            peer = host_port(attempt.address or "?", attempt.port or check.port)
            took = ms(attempt.elapsed_ms)
            return f"{peer} accepted a connection from {check.vantage} in {took}, " + (
                "but must be closed"
            )
        return super().explain(check, attempt)

    def unverified(self, check: TcpCheck, result: CheckResult) -> str | None:
        if not result.outcome.is_dns:
            return None
        return (
            f"cannot verify that {check.target} is closed: the name does not resolve "
            f"({result.outcome.value})"
        )

    def unexplained(self, check: TcpCheck, outcome: Outcome) -> str:
        return (
            "Exposure: the port must not be reachable from this vantage. Find the rule that "
            "admits it (host firewall, security group, network ACL) and remove or narrow it."
        )


KIND = ClosedKind()

if TYPE_CHECKING:
    _: Kind[TcpCheck] = KIND
