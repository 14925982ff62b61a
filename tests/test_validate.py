"""`--conntriage-validate` (and plain `--collect-only`) load, validate and collect an
inventory without touching the network: no DNS query reaches the resolvers it names, no
connection reaches its targets or its hosts."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

INVENTORIES = Path(__file__).resolve().parent.parent / "inventories"


class Sink:
    """A UDP and a TCP socket on one loopback port that never answer: a datagram or a
    queued connection on either is a query or a connection that should not have been."""

    def __init__(self, address: str) -> None:
        # The UDP port the kernel picks may be taken for TCP (by another test's socket):
        # then try another, as the port only has to be free for both.
        for _ in range(100):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind((address, 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                self.tcp.bind((address, self.port))
                break
            except OSError:
                self.tcp.close()
                self.udp.close()
        else:
            raise OSError(f"no port on {address} free for both UDP and TCP in 100 tries")
        self.tcp.listen(64)
        self.udp.setblocking(False)
        self.tcp.setblocking(False)

    def touched(self) -> list[str]:
        """What reached it (and takes it off the queues)."""
        seen = []
        while True:
            try:
                data, peer = self.udp.recvfrom(4096)
            except BlockingIOError:
                break
            seen.append(f"udp datagram of {len(data)} bytes from {peer}")
        while True:
            try:
                conn, peer = self.tcp.accept()
            except BlockingIOError:
                break
            conn.close()
            seen.append(f"tcp connection from {peer}")
        return seen

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def sinks() -> Iterator[dict[str, Sink]]:
    made = {"resolver": Sink("127.0.0.1"), "target": Sink("127.0.0.2"), "host": Sink("127.0.0.3")}
    try:
        yield made
    finally:
        for sink in made.values():
            sink.close()


def _inventory(sinks: dict[str, Sink]) -> str:
    resolver, target, host = (sinks[k].port for k in ("resolver", "target", "host"))
    return f"""\
version: 1
defaults:
  resolvers: [127.0.0.1:{resolver}]
  from: [local, jump]
hosts:
  jump:
    connection: paramiko://deploy@127.0.0.3:{host}
  web:
    connection: ssh://deploy@127.0.0.3:{host}?controlpersist=0
services:
  api:
    address: api.validate.test
    ports: [{target}, 443]
    host: web
    unit: nginx
    idle: 5s
    dns:
      expect: [127.0.0.2]
    tags: [edge]
  db:
    address: 127.0.0.2
    ports: [{target}]
    from: [local]
closed:
  - address: db.validate.test
    ports: [{target}]
"""


# Imported, this would connect: validate mode must not even import other test files.
USER_TEST = """
import os, socket
socket.create_connection(("127.0.0.2", int(os.environ["TARGET_PORT"])), timeout=2).close()

def test_mine():
    pass
"""


def test_validate_collects_every_check_and_touches_no_network(
    pytester: pytest.Pytester, sinks: dict[str, Sink], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TARGET_PORT", str(sinks["target"].port))
    (pytester.path / "inv.yml").write_text(_inventory(sinks))
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_inprocess("--inventory", "inv.yml", "--conntriage-validate")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    target = sinks["target"].port
    result.stdout.fnmatch_lines(
        [
            "*= conntriage: the inventory is valid =*",
            f"api (inv.yml:11:3): api.validate.test port {target}, 443 from local, jump;"
            " on web (unit nginx): 14 checks (1 dns, 4 tcp, 4 idle, 2 listening,"
            " 2 firewall, 1 service)",
            f"db (inv.yml:20:3): 127.0.0.2 port {target} from local: 1 check (1 tcp)",
            f"closed (inv.yml:25:5): db.validate.test port {target} from local, jump must not"
            " answer: 2 checks (2 closed)",
            f"host jump (inv.yml:6:3): paramiko://deploy@127.0.0.3:{sinks['host'].port}",
            "host web (inv.yml:8:3): *",
            "17 checks from 2 services, 1 closed rules and 2 hosts;"
            " nothing was resolved or connected to",
        ]
    )
    assert "test_user.py" not in result.stdout.str()
    assert {name: sink.touched() for name, sink in sinks.items()} == {
        "resolver": [],
        "target": [],
        "host": [],
    }


def test_collect_only_touches_no_network(pytester: pytest.Pytester, sinks: dict[str, Sink]) -> None:
    (pytester.path / "inv.yml").write_text(_inventory(sinks))
    result = pytester.runpytest_inprocess("--inventory", "inv.yml", "--collect-only", "-q")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["17 tests collected*"])
    assert {name: sink.touched() for name, sink in sinks.items()} == {
        "resolver": [],
        "target": [],
        "host": [],
    }


def test_validate_counts_what_is_selected(
    pytester: pytest.Pytester, sinks: dict[str, Sink]
) -> None:
    (pytester.path / "inv.yml").write_text(_inventory(sinks))
    result = pytester.runpytest_inprocess(
        "--inventory", "inv.yml", "--conntriage-validate", "-m", "not edge", "-q"
    )
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["api (inv.yml:11:3): * 0 checks", "3 checks from *"])


def test_validate_reports_a_mistake_with_exit_4(pytester: pytest.Pytester) -> None:
    (pytester.path / "inv.yml").write_text(
        "version: 1\nservices:\n  api:\n    address: api.example.com\n    ports: [70000]\n"
    )
    result = pytester.runpytest_inprocess("--inventory", "inv.yml", "--conntriage-validate")
    assert result.ret == 4
    errors = [line for line in result.stderr.lines if line.startswith("ERROR: inv.yml:5:")]
    assert len(errors) == 1, result.stderr.str()


def test_validate_needs_an_inventory(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--conntriage-validate")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: --conntriage-validate needs an inventory*"])


# Inside a network namespace of its own with only loopback, and a private mount of
# /etc/resolv.conf naming a sink there: the system resolver's queries (getaddrinfo)
# would land in the sink. The production-like example inventory (example.com names, no
# resolvers of its own) is validated in it.
_IN_NAMESPACE = """
import socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.53", 53))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.bind(("127.0.0.53", 53))
tcp.listen(16)
run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *sys.argv[1:]])
udp.setblocking(False)
tcp.setblocking(False)
seen = 0
for receive in (udp.recv, tcp.accept):
    while True:
        try:
            receive(4096) if receive == udp.recv else receive()
        except BlockingIOError:
            break
        seen += 1
print("queries reaching the resolver:", seen)
sys.exit(run.returncode)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: a network and mount namespace")
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
@pytest.mark.parametrize(
    ("mode", "name"),
    [
        ("--conntriage-validate", "prod.yml"),
        ("--collect-only", "prod.yml"),
        # The other example inventories of the fleet: valid, and parsed without a query.
        ("--conntriage-validate", "staging.yml"),
        ("--conntriage-validate", "gate.yml"),
    ],
)
def test_an_inventory_of_real_names_is_collected_with_no_query(
    tmp_path: Path, mode: str, name: str
) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.53\noptions timeout:1 attempts:1\n")
    inventory = INVENTORIES / name
    script = 'mount --make-rprivate / && mount --bind "$1" /etc/resolv.conf && shift && exec "$@"'
    argv = ["unshare", "--net", "--mount", "sh", "-c", script, "sh", str(resolv)]
    argv += [sys.executable, "-c", _IN_NAMESPACE, "--inventory", str(inventory)]
    argv += [mode, "--rootdir", str(tmp_path)]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    shown = done.stdout + done.stderr
    assert done.returncode == 0, shown
    if mode == "--conntriage-validate":
        assert "= conntriage: the inventory is valid =" in shown
        assert "nothing was resolved or connected to" in shown
    else:
        assert "tests collected" in shown
    assert "queries reaching the resolver: 0" in shown
    # The sink works: a lookup made there does reach it.
    probe = [
        sys.executable,
        "-c",
        "import socket\ntry: socket.getaddrinfo('x.example.com', 80)\nexcept OSError: pass",
    ]
    check = _IN_NAMESPACE.replace(
        '[sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *sys.argv[1:]]',
        json.dumps(probe),
    )
    argv = ["unshare", "--net", "--mount", "sh", "-c", script, "sh", str(resolv)]
    argv += [sys.executable, "-c", check]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "queries reaching the resolver: 0" not in done.stdout, done.stdout + done.stderr
