"""hosts_from over a real ssh connection: the host an Ansible inventory describes (address,
port, user, key file from group vars) is the one the evidence is read on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_conntriage.inventory import ansible
from tests.lab import netlab
from tests.lab.netlab import SERVER, SERVER_IP, SERVER_MGMT_IP
from tests.lab.scenarios import PORT

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(not ansible.installed(), reason="ansible-core is not installed"),
]


def test_an_ansible_groups_host_is_logged_into_for_its_evidence(
    make_lab: Callable[[], netlab.Lab],
) -> None:
    lab = make_lab()
    lab.listen(SERVER, SERVER_IP, PORT)
    ssh = lab.sshd(SERVER, SERVER_MGMT_IP)
    work = lab.tmp / "ansible"
    (work / "group_vars").mkdir(parents=True)
    # paramiko: it accepts the lab sshd's new host key (ssh would ask, and fail).
    (work / "hosts.ini").write_text(
        f"[servers]\nserver ansible_host={SERVER_MGMT_IP} ansible_connection=paramiko\n"
    )
    (work / "group_vars" / "servers.yml").write_text(
        f"ansible_user: root\nansible_port: {ssh.port}\n"
        f"ansible_ssh_private_key_file: {ssh.identity}\n"
    )
    missing = PORT + 1
    inventory = f"""\
version: 1
defaults: {{timeout: 1s}}
hosts_from: {{ansible: {work / "hosts.ini"}}}
services:
  svc:
    address: {SERVER_IP}
    ports: [{PORT}, {missing}]
    host: group:servers
    unit: {lab.unit}
"""
    run = lab.run_plugin(inventory, timeout=120)
    output = run.stdout + run.stderr
    assert run.cases[f"test_tcp[svc:local->{SERVER_IP}:{PORT}]"].status == "passed", output
    # Read over ssh on the Ansible host: the listener is there, the other port is not.
    assert run.cases[f"test_listening[svc@server:{PORT}]"].status == "passed", output
    listening = run.cases[f"test_listening[svc@server:{missing}]"]
    assert listening.status == "failed", output
    assert listening.prop("outcome") == "not-listening", output
    refused = run.cases[f"test_tcp[svc:local->{SERVER_IP}:{missing}]"]
    assert refused.prop("outcome") == "refused"
    # Only the host's evidence can say this: the unit runs, and listens on the other port.
    assert refused.prop("top_cause") == "wrong-port-or-interface"
    assert "Evidence unavailable" not in run.stdout, run.stdout[-3000:]
