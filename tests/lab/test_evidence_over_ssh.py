"""Host evidence over a real ssh connection: hostile inventory values stay inert, and an
evidence host that refuses or hangs costs no more than its timeout."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lab import netlab
from tests.lab.netlab import SERVER, SERVER_IP, SERVER_MGMT_IP
from tests.lab.scenarios import PORT

pytestmark = pytest.mark.lab

# Unit names an attacker who can edit an inventory might try; each would create its
# marker file if any layer put it into a shell unquoted.
HOSTILE_UNITS = (
    "x; touch {marker}-semicolon",
    "$(touch {marker}-dollar)",
    "`touch {marker}-backtick`",
    "x\ntouch {marker}-newline",
    "x' ; touch {marker}-quote ; echo '",
    "x && touch {marker}-and",
)


def _inventory(services: list[tuple[str, str]], connection: str) -> str:
    lines = ["version: 1", "defaults:", "  timeout: 1s", "hosts:", "  server:"]
    lines += [f"    connection: {json.dumps(connection)}", "services:"]
    for name, unit in services:
        lines += [
            f"  {name}:",
            f"    address: {SERVER_IP}",
            f"    ports: [{PORT}]",
            "    host: server",
            f"    unit: {json.dumps(unit)}",
        ]
    return "\n".join(lines) + "\n"


def test_hostile_unit_names_are_refused_by_the_inventory(
    make_lab: Callable[[], netlab.Lab], tmp_path: Path
) -> None:
    # The first line of defence: a unit name must be a systemd unit name.
    lab = make_lab()
    units = [unit.format(marker=tmp_path / "pwned") for unit in HOSTILE_UNITS]
    for unit in units:
        run = lab.run_plugin(_inventory([("svc", unit)], "ssh://nobody@127.0.0.1"))
        assert run.returncode == 4, run.stdout + run.stderr
        assert "is not a systemd unit name" in run.stderr, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# Run in the client namespace: the evidence batch over the real ssh connection, with a
# unit name no inventory would let through, to prove the layer below quotes it too.
_GATHER = """
import sys, testinfra
from pytest_conntriage.evidence import TestinfraRunner, gather_host
host = testinfra.get_host(sys.argv[1])
evidence = gather_host(TestinfraRunner(host, 10), int(sys.argv[2]), None, sys.argv[3], sys.argv[4])
print("listeners", len(evidence.listeners), "gaps", evidence.unavailable)
"""


def test_hostile_unit_names_stay_inert_in_the_remote_batch(
    make_lab: Callable[[], netlab.Lab], tmp_path: Path
) -> None:
    lab = make_lab()
    ssh = lab.sshd(SERVER, SERVER_MGMT_IP)
    spec = f"ssh://{ssh.host_alias}?ssh_config={ssh.config}"
    marker = tmp_path / "pwned"
    for unit in (u.format(marker=marker) for u in HOSTILE_UNITS):
        argv = [sys.executable, "-c", _GATHER, spec, str(PORT), SERVER_IP, unit]
        done = lab.run(netlab.CLIENT, *argv, timeout=60)
        # The batch ran on the server (it saw sshd's listener) ...
        assert done.stdout.startswith("listeners "), done.stdout + done.stderr
        assert not done.stdout.startswith("listeners 0 "), done.stdout
    # ... and no name was ever executed there (the server shares this filesystem).
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("server", "unavailable"),
    [
        ("refused", "*Connection refused*"),
        ("hung", "*timed out*"),
    ],
)
def test_an_unreachable_evidence_host_costs_at_most_its_timeout(
    make_lab: Callable[[], netlab.Lab], server: str, unavailable: str
) -> None:
    lab = make_lab()
    ssh = lab.sshd(SERVER, SERVER_MGMT_IP)
    if server == "refused":
        lab.iptables(
            SERVER,
            "-A",
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            "22",
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        )
    else:
        lab.iptables(SERVER, "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP")
    run = lab.run_plugin(
        # The lab's own unit name: another lab's listener must not count as this one.
        _inventory([("svc", lab.unit)], f"ssh://{ssh.host_alias}?ssh_config={ssh.config}"),
        timeout=120,
    )
    case = run.cases[f"test_tcp[svc:local->{SERVER_IP}:{PORT}]"]
    # Pass or fail is the probe's alone; the ranking falls back to the client's view.
    assert case.status == "failed"
    assert case.prop("outcome") == "refused"
    assert case.prop("top_cause") == "service-down"
    assert "Evidence unavailable (ranked on what the client saw):" in run.stdout
    import fnmatch

    lines = run.stdout.splitlines()
    assert any(fnmatch.fnmatch(line, f"  server: batch: {unavailable}") for line in lines), (
        run.stdout[-3000:]
    )
    # The ssh config's ConnectTimeout is 5 s; the evidence runner gives up at its own
    # timeout (10 s) plus slack: the whole run stays well under a minute.
    assert run.elapsed_s < 30, run.elapsed_s
