"""Vantages probe on their own: a router that blocks one vantage's path fails only that
vantage's check, and a vantage that cannot be reached never makes a check pass."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.lab import netlab
from tests.lab.netlab import ROUTER, SERVER, SERVER_IP, SERVER_MGMT_IP
from tests.lab.scenarios import OTHER_PORT, PORT, Listen

pytestmark = pytest.mark.lab

# Nothing listens there: ssh to it is refused at once.
BAD_SSH_PORT = 2222


def _case(run: netlab.PluginRun, kind: str, vantage: str) -> netlab.Case:
    found = [
        c
        for name, c in run.cases.items()
        if name.startswith(f"test_{kind}[") and f"{vantage}->" in name
    ]
    assert len(found) == 1, (kind, vantage, sorted(run.cases))
    return found[0]


def test_a_router_blocking_one_vantage_fails_only_that_vantage(
    make_lab: Callable[[], netlab.Lab],
) -> None:
    lab = make_lab()
    Listen().apply(lab)
    # The router drops the port on the way from the client; the server itself (v1,
    # reached over ssh on its management address) connects without crossing it.
    lab.iptables(ROUTER, "-A", "FORWARD", "-p", "tcp", "--dport", str(PORT), "-j", "DROP")
    ssh = lab.sshd(SERVER, SERVER_MGMT_IP)
    inventory = "\n".join(
        [
            "version: 1",
            "defaults:",
            "  timeout: 1s",
            "hosts:",
            "  v1:",
            f"    connection: ssh://{ssh.host_alias}?ssh_config={ssh.config}",
            "  bad:",
            f"    connection: ssh://root@{SERVER_MGMT_IP}:{BAD_SSH_PORT}?ssh_config={ssh.config}",
            "services:",
            "  svc:",
            f"    address: {SERVER_IP}",
            f"    ports: [{PORT}]",
            "    from: [v1, local, bad]",
            "closed:",
            f"  - address: {SERVER_IP}",
            f"    ports: [{OTHER_PORT}]",
            "    from: [bad]",
            "",
        ]
    )
    run = lab.run_plugin(inventory, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr

    v1 = _case(run, "tcp", "v1")
    assert (v1.status, v1.prop("outcome")) == ("passed", "open")

    local = _case(run, "tcp", "local")
    assert (local.status, local.prop("outcome")) == ("failed", "timeout")
    assert local.prop("reachable_from") == "v1"
    assert "  vantages: reachable from v1, not from local; not reachable from bad either" in (
        run.stdout
    ), run.stdout[-4000:]

    # A vantage that cannot be reached saw nothing: neither open nor closed.
    bad = _case(run, "tcp", "bad")
    assert (bad.status, bad.prop("outcome")) == ("failed", "probe-error")
    closed = _case(run, "closed", "bad")
    assert (closed.status, closed.prop("outcome")) == ("failed", "probe-error")
