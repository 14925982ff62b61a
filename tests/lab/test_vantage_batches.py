"""A vantage runs all its checks in one round trip, over a real sshd, and each outcome is
what probing from this machine gives: the vantage here is the client namespace itself,
logged into over ssh, so `local` and `v1` see the very same network."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.lab import netlab
from tests.lab.netlab import CLIENT, CLIENT_IP, ROUTER, SERVER, SERVER_IP
from tests.lab.scenarios import PORT, Listen

pytestmark = pytest.mark.lab

DROPPED, HOST_UNREACHABLE, PROHIBITED = 8090, 8091, 8092
REFUSED = tuple(range(8100, 8112))  # nothing listens there


def _inventory(
    ssh: netlab.Ssh, ports: list[int], vantages: str, extra: str = "", backend: str = "ssh"
) -> str:
    lines = ["version: 1", "defaults:", "  timeout: 1s", extra, "hosts:", "  v1:"]
    lines.append(f"    connection: {backend}://{ssh.host_alias}?ssh_config={ssh.config}")
    lines.append("services:")
    for port in ports:
        lines += [f"  p{port}:", f"    address: {SERVER_IP}", f"    ports: [{port}]"]
        lines.append(f"    from: [{vantages}]")
    return "\n".join(line for line in lines if line) + "\n"


def _outcomes(run: netlab.PluginRun, vantage: str) -> dict[int, str]:
    found = {}
    for name, case in run.cases.items():
        if f":{vantage}->" in name:
            found[int(name.rsplit(":", 1)[1].rstrip("]"))] = case.prop("outcome")
    return found


def _sessions(ssh: netlab.Ssh) -> int:
    """Commands the vantage's sshd ran: the round trips."""
    return ssh.process.log.read_text(errors="replace").count("Starting session: ")


@pytest.mark.parametrize("backend", ["ssh", "paramiko"])
def test_a_vantage_runs_its_checks_in_one_round_trip_with_local_outcomes(
    make_lab: Callable[[], netlab.Lab], backend: str
) -> None:
    # ssh hands the batch its stdin through the ssh client; paramiko over the channel.
    lab = make_lab()
    Listen().apply(lab)
    lab.iptables(SERVER, "-A", "INPUT", "-p", "tcp", "--dport", str(DROPPED), "-j", "DROP")
    for port, icmp in ((HOST_UNREACHABLE, "icmp-host-unreachable"),
                       (PROHIBITED, "icmp-admin-prohibited")):  # fmt: skip
        rule = ["-A", "FORWARD", "-p", "tcp", "--dport", str(port), "-j", "REJECT"]
        lab.iptables(ROUTER, *rule, "--reject-with", icmp)
    ssh = lab.sshd(CLIENT, CLIENT_IP)
    ports = [PORT, DROPPED, HOST_UNREACHABLE, PROHIBITED, *REFUSED]
    run = lab.run_plugin(_inventory(ssh, ports, "local, v1", backend=backend), timeout=180)
    assert run.returncode == 1, run.stdout[-4000:] + run.stderr[-2000:]

    local, remote = _outcomes(run, "local"), _outcomes(run, "v1")
    assert local == {
        PORT: "open",
        DROPPED: "timeout",
        HOST_UNREACHABLE: "host-unreachable",
        PROHIBITED: "admin-prohibited",
        **dict.fromkeys(REFUSED, "refused"),
    }, local
    assert remote == local
    # Sixteen checks from v1, one command there.
    assert _sessions(ssh) == 1, ssh.process.log.read_text()[-3000:]


def test_a_batch_killed_at_its_bound_keeps_what_it_printed(
    make_lab: Callable[[], netlab.Lab],
) -> None:
    # The vantage's transport hands back the batch's first three lines (its header and
    # two results), then holds the session open: the plugin kills it at the batch's
    # bound. Every other check is a probe-error saying so, never a timeout of the target.
    lab = make_lab()
    Listen().apply(lab)
    hold = "ForceCommand sh -c 'eval \"$SSH_ORIGINAL_COMMAND\" | head -n 3; exec sleep 60'"
    ssh = lab.sshd(CLIENT, CLIENT_IP, extra=[hold])
    ports = [PORT, *REFUSED]
    text = _inventory(ssh, ports, "v1", extra="  evidence_timeout: 3s")
    run = lab.run_plugin(text, timeout=180)
    assert run.returncode == 1, run.stdout[-4000:] + run.stderr[-2000:]

    remote = _outcomes(run, "v1")
    assert sorted(remote) == sorted(ports)
    reported = {p: o for p, o in remote.items() if o != "probe-error"}
    assert len(reported) == 2
    for port, outcome in reported.items():
        assert outcome == ("open" if port == PORT else "refused"), remote
    assert "timeout" not in remote.values()
    for name, case in run.cases.items():
        if case.prop("outcome") == "probe-error":
            said = "did not report this probe: the batch was cut off at its bound"
            assert said in case.message, (name, case.message)
    assert _sessions(ssh) == 1
