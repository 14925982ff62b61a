"""The lab harness itself: isolation, services, faults, teardown, the hand-run helper."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests.lab import netlab
from tests.lab.netlab import CLIENT, ROLES, ROUTER, SERVER, SERVER_IP, Lab
from tests.lab.scenarios import DNS2_IP, DNS_IP, NAME, PORT

pytestmark = pytest.mark.lab

_DIG = r"""
import sys
import dns.message, dns.query, dns.rcode
server, name = sys.argv[1], sys.argv[2]
try:
    reply = dns.query.udp(dns.message.make_query(name, "A"), server, timeout=1)
except dns.exception.Timeout:
    print("timeout")
else:
    print(dns.rcode.to_text(reply.rcode()), *(r.to_text() for a in reply.answer for r in a))
"""


def test_topology_has_no_way_out(lab: Lab) -> None:
    for role in ROLES:
        assert lab.ip(role, "route", "show", "default").strip() == ""
        forward = lab.run(role, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip()
        assert forward == ("1" if role == ROUTER else "0"), role
    # No route beyond the lab: an outside address fails locally, nothing is sent.
    assert lab.connect(CLIENT, "192.0.2.1", 80) == "ENETUNREACH"
    assert lab.connect(SERVER, "192.0.2.1", 80) == "ENETUNREACH"
    # No veth end in the root namespace.
    root = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    assert not re.search(r"^\d+: (c0|r0|r1|r2|s0|mgmt0)[@:]", root.stdout, re.MULTILINE)


def test_listener_modes(lab: Lab) -> None:
    armed = time.monotonic()
    lab.listen(SERVER, SERVER_IP, PORT + 2, mode="delayed", delay=2.0)
    assert lab.connect(CLIENT, SERVER_IP, PORT + 2) == "ECONNREFUSED"
    lab.listen(SERVER, SERVER_IP, PORT)
    lab.listen(SERVER, SERVER_IP, PORT + 1, mode="full")
    assert lab.connect(CLIENT, SERVER_IP, PORT) == "open"
    assert lab.connect(CLIENT, SERVER_IP, PORT + 1, timeout=0.5) == "timeout"
    time.sleep(max(0.0, armed + 2.3 - time.monotonic()))
    assert lab.connect(CLIENT, SERVER_IP, PORT + 2) == "open"


def test_dnsmasq_answers_refuses_and_stays_silent(lab: Lab) -> None:
    for address in (DNS_IP, DNS2_IP):
        lab.add_address(SERVER, f"{address}/24", "s0")
    lab.dnsmasq(SERVER, DNS_IP, {NAME: [SERVER_IP]})
    lab.dnsmasq(SERVER, DNS2_IP, zone=None)

    def dig(server: str, name: str) -> str:
        return lab.run(CLIENT, sys.executable, "-c", _DIG, server, name).stdout.strip()

    assert dig(DNS_IP, NAME) == f"NOERROR {SERVER_IP}"
    assert dig(DNS_IP, "gone.lab.test") == "NXDOMAIN"
    assert dig(DNS2_IP, NAME) == "REFUSED"
    assert dig(SERVER_IP, NAME) == "timeout"


def test_sshd_accepts_a_key_login_from_the_client(lab: Lab) -> None:
    ssh = lab.sshd(SERVER, SERVER_IP)
    done = lab.run(
        CLIENT, "ssh", "-F", str(ssh.config), ssh.host_alias, "ip -br addr show s0", timeout=20
    )
    # The command ran on the server: its interface, its address.
    assert SERVER_IP in done.stdout
    assert "Accepted publickey for root" in ssh.process.log.read_text()
    # Key only: another key (and no config, so no password prompt either) is refused.
    stranger = ssh.config.parent / "stranger_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    denied = lab.run(
        CLIENT,
        "ssh",
        "-F",
        "/dev/null",
        "-i",
        str(stranger),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        f"UserKnownHostsFile={ssh.config.parent / 'known_hosts'}",
        "-o",
        "StrictHostKeyChecking=accept-new",
        f"root@{ssh.address}",
        "true",
        check=False,
        timeout=20,
    )
    assert denied.returncode == 255
    assert "Permission denied (publickey)" in denied.stderr


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (lambda lab: lab.iptables(SERVER, "-A", "INPUT", "-p", "tcp", "-j", "DROP"), "timeout"),
        (lambda lab: lab.nft(SERVER, _nft_reject), f"ECONNREFUSED icmp 3/3 from {SERVER_IP}"),
        (lambda lab: lab.route(CLIENT, "blackhole", f"{SERVER_IP}/32"), "EINVAL"),
        (lambda lab: lab.route(CLIENT, "prohibit", f"{SERVER_IP}/32"), "EACCES"),
        (lambda lab: lab.route(CLIENT, "unreachable", f"{SERVER_IP}/32"), "EHOSTUNREACH"),
    ],
    ids=["iptables", "nft", "blackhole", "prohibit", "unreachable"],
)
def test_faults_are_applied_inside_the_lab_only(
    lab: Lab, fault: Callable[[Lab], None], said: str
) -> None:
    lab.listen(SERVER, SERVER_IP, PORT)
    assert lab.connect(CLIENT, SERVER_IP, PORT) == "open"
    before = _root_firewall()
    fault(lab)
    assert lab.connect(CLIENT, SERVER_IP, PORT, timeout=0.5) == said
    assert _root_firewall() == before


_nft_reject = (
    "table inet t {\n  chain input {\n    type filter hook input priority filter;\n"
    "    tcp dport 8080 reject with icmpx type port-unreachable\n  }\n}\n"
)


def _root_firewall() -> str:
    done = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True)
    return done.stdout


def test_teardown_removes_everything_even_after_a_failure(
    make_lab: Callable[[], Lab],
) -> None:
    lab = make_lab()
    lab.listen(SERVER, SERVER_IP, PORT)
    lab.add_address(SERVER, f"{DNS_IP}/24", "s0")
    lab.dnsmasq(SERVER, DNS_IP, {NAME: [SERVER_IP]})
    lab.sshd(SERVER, SERVER_IP)
    pids = [p.pid for p in lab.processes]

    def failing_scenario() -> None:
        try:
            raise RuntimeError("a scenario failed half-way")
        finally:
            lab.teardown()

    with pytest.raises(RuntimeError, match="half-way"):
        failing_scenario()
    assert netlab.leftovers(lab.prefix) == []
    assert not any(netlab._pid_alive(pid) for pid in pids)
    lab.teardown()  # idempotent: the fixture's finalizer calls it again


def test_hand_run_helper_up_and_down() -> None:
    cli = [sys.executable, "-m", netlab.CLI]
    up = subprocess.run(
        [*cli, "up", "iptables-drop"],
        cwd=netlab.REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"(ctl\d+-\d+-)", up.stdout)
    prefix = found.group(1) if found else None
    try:
        assert up.returncode == 0, up.stderr
        assert prefix is not None, up.stdout
        assert "--inventory inventory.yml" in up.stdout
        assert f"-m {netlab.CLI} down {prefix}" in up.stdout
        assert {f"{prefix}{s}" for s in "crs"} <= set(netlab.namespaces())
        listener = re.search(r"running: listen-open\S+ \(pid (\d+)", up.stdout)
        assert listener is not None
        assert netlab._pid_alive(int(listener.group(1)))  # outlived `up`, as intended
    finally:
        if prefix is not None:
            down = subprocess.run(
                [*cli, "down", prefix],
                cwd=netlab.REPO,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert down.returncode == 0, down.stderr
            assert "nothing left" in down.stdout
    assert prefix is None or netlab.leftovers(prefix) == []
