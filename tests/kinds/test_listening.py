"""The listening kind's judgment, from hand-made sockets: something must listen on the
port on every address clients connect to, and where the inventory says."""

from __future__ import annotations

import pytest

from pytest_conntriage.evidence.model import HostEvidence, Listener
from pytest_conntriage.kinds import listening
from pytest_conntriage.kinds.listening import read_listening
from pytest_conntriage.outcome import Outcome

from .hostmade import LISTENING, on_host


def bound(*addresses: str, port: int = 8080) -> HostEvidence:
    return HostEvidence(listeners=tuple(Listener(a, port, 0, 128) for a in addresses))


ON_LOOPBACK_2 = ("127.0.0.2",)
CASES = [
    pytest.param(
        bound("0.0.0.0"), None, ON_LOOPBACK_2, Outcome.LISTENING,
        "web-1 listens on 0.0.0.0:8080", id="a wildcard socket takes every IPv4 address",
    ),
    pytest.param(
        bound("127.0.0.2"), None, ON_LOOPBACK_2, Outcome.LISTENING,
        "web-1 listens on 127.0.0.2:8080", id="bound to the very address clients use",
    ),
    pytest.param(
        HostEvidence(), None, ON_LOOPBACK_2, Outcome.NOT_LISTENING,
        "nothing listens on port 8080 on web-1 (ss -ltn)", id="nothing on the port",
    ),
    pytest.param(
        bound("0.0.0.0", port=9090), None, ON_LOOPBACK_2, Outcome.NOT_LISTENING,
        "nothing listens on port 8080 on web-1 (ss -ltn)", id="a socket on another port",
    ),
    pytest.param(
        bound("127.0.0.1"), None, ON_LOOPBACK_2, Outcome.WRONG_INTERFACE,
        "web-1 listens on 127.0.0.1:8080 only; clients connect to 127.0.0.2",
        id="bound to another address than clients use",
    ),
    pytest.param(
        bound("127.0.0.2"), None, ("127.0.0.2", "127.0.0.3"), Outcome.WRONG_INTERFACE,
        "web-1 listens on 127.0.0.2:8080 only; clients connect to 127.0.0.3",
        id="a name with two addresses, one of them not listened on",
    ),
    pytest.param(
        bound("127.0.0.2"), "127.0.0.5", ON_LOOPBACK_2, Outcome.WRONG_INTERFACE,
        "web-1 listens on 127.0.0.2:8080, not on 127.0.0.5 as the inventory expects",
        id="not on the listen address the inventory names",
    ),
    pytest.param(
        bound("0.0.0.0"), "127.0.0.5", ON_LOOPBACK_2, Outcome.LISTENING,
        "web-1 listens on 0.0.0.0:8080", id="a wildcard socket covers the listen address",
    ),
    pytest.param(
        bound("0.0.0.0"), None, ("2001:db8::2",), Outcome.WRONG_INTERFACE,
        "web-1 listens on 0.0.0.0:8080 only; clients connect to 2001:db8::2",
        id="an IPv4 wildcard does not take IPv6 clients",
    ),
    pytest.param(
        HostEvidence(unavailable=(("listeners", "ss: not installed"),)), None, ON_LOOPBACK_2,
        Outcome.PROBE_ERROR, "listening sockets could not be read: ss: not installed",
        id="sockets that could not be read are no verdict",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("evidence", "listen", "addresses", "outcome", "detail"), CASES)
def test_listening_is_judged_where_clients_connect(
    evidence: HostEvidence,
    listen: str | None,
    addresses: tuple[str, ...],
    outcome: Outcome,
    detail: str,
) -> None:
    check = on_host(listening.KIND, listen=listen)
    assert read_listening(check, evidence, addresses) == (outcome, detail)


def test_nothing_listening_is_triaged_like_a_refused_connect() -> None:
    assert Outcome.NOT_LISTENING in LISTENING.kind.like_refused
    assert LISTENING.id == "api@web-1:8080"
