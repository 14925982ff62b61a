"""The listening kind: something listens, on the service's host, where its clients connect."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..checks import host_port
from ..evidence import HostEvidence
from ..outcome import Outcome
from ..triage.findings import covers
from .on_host import HostCheck, HostKind

if TYPE_CHECKING:
    from .protocol import Kind


def read_listening(
    check: HostCheck, host: HostEvidence, addresses: tuple[str, ...]
) -> tuple[Outcome, str]:
    """Pure: whether the host's listening sockets take `check`'s port on every address
    its clients connect to (`addresses`), and on the inventory's `listen` address."""
    why = host.why_unavailable("listeners")
    if why is not None:
        return Outcome.PROBE_ERROR, f"listening sockets could not be read: {why}"
    on_port = host.listeners_on(check.port)
    h, port = check.host, check.port
    if not on_port:
        read_by = host.listeners_read_by
        return Outcome.NOT_LISTENING, f"nothing listens on port {port} on {h} ({read_by})"
    bound = ", ".join(host_port(x.address, port) for x in on_port)
    if check.listen and not any(x.address == check.listen or x.wildcard for x in on_port):
        return Outcome.WRONG_INTERFACE, (
            f"{h} listens on {bound}, not on {check.listen} as the inventory expects"
        )
    missed = [a for a in addresses if not any(covers(x, a) for x in on_port)]
    if missed:
        return Outcome.WRONG_INTERFACE, (
            f"{h} listens on {bound} only; clients connect to {', '.join(missed)}"
        )
    return Outcome.LISTENING, f"{h} listens on {bound}"


class ListeningKind(HostKind):
    name = "listening"
    # Nothing listening reads like a refused connect: is it down, elsewhere, starting?
    like_refused = frozenset({Outcome.NOT_LISTENING})

    def read(
        self, check: HostCheck, host: HostEvidence, addresses: tuple[str, ...]
    ) -> tuple[Outcome, str]:
        return read_listening(check, host, addresses)


KIND = ListeningKind()

if TYPE_CHECKING:
    _: Kind[HostCheck] = KIND
