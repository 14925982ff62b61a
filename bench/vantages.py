"""Remote vantages: 1,000 checks from each of 5 vantage namespaces, sshd in each.

    python bench/run.py --vantages            # or: python bench/vantages.py [--vantages 5]

The lab is benchlab's client and server (one server address, 1,000 ports: 90% refused,
5% open, 5% dropped by the firewall; timeout 1 s) plus a namespace per vantage, each
with a real sshd (key-only) on a veth of its own to the client and another veth to the
server:

    client ──veth── v1 … v5 (sshd)        v1 … v5 ──veth── server ── (c0) client

The real plugin runs in the client namespace on an inventory of one service per port,
`from: [v1, …, v5]`: 5,000 checks over ssh. Measured (bench/inner_vantages.py, a -p
plugin): the seconds from queueing after collection to the last vantage batch's results
(the goal: timeout + 3 s) and to the last check's verdict (the triage of every failure
included); the pytest process's wall time; the round trips (sshd sessions) per vantage.
Checked: every vantage's outcome per port equals what a run
`from: [local]` of the same ports gives, and what the port is (open, refused, dropped).
Everything is torn down at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlab
from benchlab import Lab, LabError, Layout, sh

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 1.0
GOAL_S = TIMEOUT_S + 3.0
PORTS = 1000
SSHD = "/usr/sbin/sshd"
SERVER_ADDRESS = f"{benchlab.SERVER_NET}.1"
EXPECTED = {"open": "open", "refused": "refused", "blackholed": "timeout"}


def to_server(i: int) -> tuple[str, str]:
    """The vantage's address on its veth to the server, and the server's end."""
    return f"10.202.{i}.2", f"10.202.{i}.1"


def to_client(i: int) -> tuple[str, str]:
    """The vantage's address on its veth to the client (sshd listens there), the client's."""
    return f"10.203.{i}.2", f"10.203.{i}.1"


class VantageLab:
    """benchlab's client and server, and `count` vantage namespaces with sshd."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.layout = Layout(addresses=1, ports=PORTS, open=PORTS // 20, blackholed=PORTS // 20)
        self.lab = Lab(self.layout)
        self.sshd_logs: dict[str, Path] = {}

    def vantage(self, i: int) -> str:
        return f"{self.lab.prefix}v{i}"

    def build(self) -> VantageLab:
        self.lab.build()  # client, server, listeners, the DROP rule; registered for teardown
        tmp = self.lab.tmp
        host_key, client_key = tmp / "host_ed25519", tmp / "client_ed25519"
        for key in (host_key, client_key):
            keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.lab.prefix]
            sh([*keygen, "-f", str(key)])
        authorized = tmp / "authorized_keys"
        authorized.write_text(client_key.with_suffix(".pub").read_text())
        authorized.chmod(0o600)
        known, config = [], []
        for i in range(1, self.count + 1):
            ns = self.vantage(i)
            sh(["ip", "netns", "add", ns])
            self.lab.built.append(ns)
            mine, server_end = to_server(i)
            ssh_address, client_end = to_client(i)
            # Each veth is born inside the vantage, its peer moved straight into the other
            # namespace: no end is ever in the root namespace.
            sh(["ip", "-n", ns, "link", "add", "t0", "type", "veth", "peer", "name", f"w{i}",
                "netns", self.lab.server])  # fmt: skip
            sh(["ip", "-n", ns, "link", "add", "m0", "type", "veth", "peer", "name", f"u{i}",
                "netns", self.lab.client])  # fmt: skip
            batch = [f"addr add {mine}/24 dev t0", f"addr add {ssh_address}/24 dev m0"]
            batch += ["link set lo up", "link set t0 up", "link set m0 up"]
            batch += [f"route add {benchlab.SERVER_NET}.0/24 via {server_end}"]
            sh(["ip", "-n", ns, "-batch", "-"], stdin="\n".join(batch) + "\n")
            sh(["ip", "-n", self.lab.server, "-batch", "-"],
               stdin=f"addr add {server_end}/24 dev w{i}\nlink set w{i} up\n")  # fmt: skip
            sh(["ip", "-n", self.lab.client, "-batch", "-"],
               stdin=f"addr add {client_end}/24 dev u{i}\nlink set u{i} up\n")  # fmt: skip
            sh(self.lab.exec_argv(ns, ["sysctl", "-qw", "net.ipv4.ip_forward=0"]))
            self._sshd(i, host_key, authorized)
            known.append(ssh_address)
            config += [
                f"Host v{i}", f"  HostName {ssh_address}", "  User root",
                f"  IdentityFile {client_key}", "  IdentitiesOnly yes",
                f"  UserKnownHostsFile {tmp / 'known_hosts'}", "  GlobalKnownHostsFile /dev/null",
                "  StrictHostKeyChecking yes", "  BatchMode yes", "  LogLevel ERROR",
            ]  # fmt: skip
        public = host_key.with_suffix(".pub").read_text().split()
        (tmp / "known_hosts").write_text(f"{','.join(known)} {public[0]} {public[1]}\n")
        (tmp / "ssh_config").write_text("\n".join(config) + "\n")
        self._verify_isolation()
        for i in range(1, self.count + 1):
            self._wait_listening(self.vantage(i), ":22")
        return self

    def _sshd(self, i: int, host_key: Path, authorized: Path) -> None:
        ns, tmp = self.vantage(i), self.lab.tmp
        config = tmp / f"sshd_config_v{i}"
        config.write_text(
            "\n".join([
                f"ListenAddress {to_client(i)[0]}:22", f"HostKey {host_key}",
                f"PidFile {tmp / f'sshd_v{i}.pid'}", f"AuthorizedKeysFile {authorized}",
                "PubkeyAuthentication yes", "PasswordAuthentication no",
                "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
                "UsePAM no", "StrictModes no", "LogLevel VERBOSE", "MaxStartups 100:30:200", "",
            ])
        )  # fmt: skip
        # A private /run (`ip netns exec` gives each command its own mount namespace)
        # holds sshd's privilege-separation directory; the machine's /run is untouched.
        script = f"mount -t tmpfs tmpfs /run && mkdir /run/sshd && exec {SSHD} -D -e -f {config}"
        log_path = tmp / f"sshd_v{i}.log"
        self.sshd_logs[f"v{i}"] = log_path
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                self.lab.exec_argv(ns, ["sh", "-c", script]),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.lab.pids.append(popen)

    def _wait_listening(self, ns: str, port: str) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            out = sh(self.lab.exec_argv(ns, ["ss", "-Hltn"]), check=False)
            if re.search(rf"{re.escape(port)}\s", out):
                return
            time.sleep(0.05)
        raise LabError(f"sshd in {ns} not listening within 15 s")

    def _verify_isolation(self) -> None:
        for ns in self.lab.built:
            for family in ("-4", "-6"):
                default = sh(["ip", family, "-n", ns, "route", "show", "default"]).strip()
                if default:
                    raise LabError(f"{ns} has a default route: {default}")
        root_links = sh(["ip", "-o", "link", "show"])
        for i in range(1, self.count + 1):
            for name in ("t0", "m0", f"w{i}", f"u{i}"):
                if re.search(rf"^\d+: {name}[@:]", root_links, re.MULTILINE):
                    raise LabError(f"veth end {name} appeared in the root namespace")

    def sessions(self) -> dict[str, int]:
        """Commands each vantage's sshd ran so far: its round trips."""
        return {
            name: log.read_text(errors="replace").count("Starting session: command")
            for name, log in self.sshd_logs.items()
        }

    def teardown(self) -> list[str]:
        return self.lab.teardown()


def inventory(layout: Layout, vantages: Sequence[str], ssh_config: Path) -> str:
    lines = ["version: 1", "defaults:", f"  timeout: {TIMEOUT_S:g}s"]
    names = [v for v in vantages if v != "local"]
    if names:
        lines.append("hosts:")
        for name in names:
            lines += [f"  {name}:", f"    connection: ssh://{name}?ssh_config={ssh_config}"]
    lines.append("services:")
    for port in layout.port_list():
        lines += [
            f"  p{port}:",
            f"    address: {SERVER_ADDRESS}",
            f"    ports: [{port}]",
            f"    from: [{', '.join(vantages)}]",
        ]
    return "\n".join(lines) + "\n"


def outcomes(junit: Path) -> dict[tuple[str, int], str]:
    """(vantage, port) → outcome, from the JUnit file (`conntriage.outcome` on each case)."""
    from pytest_conntriage.report.properties import junit_properties

    root = ET.parse(junit).getroot()
    by_case = junit_properties(root)
    found: dict[tuple[str, int], str] = {}
    for node in root.iter("testcase"):
        name = node.get("name", "")
        match = re.search(r"\[p\d+:([^-\]]+)->[^\]]*:(\d+)\]$", name)
        if not match:
            continue
        props = by_case.get(f"{node.get('classname', '')}::{name}", {})
        found[match.group(1), int(match.group(2))] = props.get("outcome", "?")
    return found


def run_plugin(
    vlab: VantageLab, python: str, work: Path, label: str, vantages: Sequence[str]
) -> dict[str, Any]:
    inv, junit, out = work / f"{label}.yml", work / f"{label}.xml", work / f"{label}.json"
    inv.write_text(inventory(vlab.layout, vantages, vlab.lab.tmp / "ssh_config"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["CONNTRIAGE_BENCH_OUT"] = str(out)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(HERE), env.get("PYTHONPATH"))))
    argv = vlab.lab.exec_argv(vlab.lab.client, [
        python, "-m", "pytest", "--inventory", str(inv), f"--junitxml={junit}",
        "-p", "no:cacheprovider", "-p", "inner_vantages", "-q", "--tb=no",
    ])  # fmt: skip
    before = vlab.sessions()
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1) or not junit.exists() or not out.exists():
        raise LabError(f"{label}: pytest exit {done.returncode}: {done.stdout[-1500:]}")
    after = vlab.sessions()
    measured = json.loads(out.read_text())
    return {
        "probed": measured["probed"],
        "decided": measured["decided"],
        "batches": measured["batches"],
        "checks": measured["checks"],
        "wall": wall,
        "outcomes": outcomes(junit),
        "round_trips": {v: after[v] - before.get(v, 0) for v in after if v in vantages},
    }


def bench(count: int) -> dict[str, Any]:
    python = benchlab.bench_python()
    vlab = VantageLab(count)
    try:
        vlab.build()
        work = vlab.lab.tmp / "work"
        work.mkdir()
        names = [f"v{i}" for i in range(1, count + 1)]
        print(f"  {count} vantages × {PORTS:,} checks over ssh", flush=True)
        remote = run_plugin(vlab, python, work, "vantages", names)
        print(f"  the same {PORTS:,} ports from local", flush=True)
        local = run_plugin(vlab, python, work, "local", ["local"])
    finally:
        problems = vlab.teardown()
        if problems:
            raise LabError("teardown: " + "; ".join(problems))
    by_port = {port: outcome for (_, port), outcome in local["outcomes"].items()}
    layout = vlab.layout
    wrong_layout = sum(
        1 for port, got in by_port.items() if got != EXPECTED[layout.kind(port)]
    )  # fmt: skip
    differ = [
        (v, port, got, by_port.get(port))
        for (v, port), got in remote["outcomes"].items()
        if got != by_port.get(port)
    ]
    return {
        "vantages": count,
        "checks": remote["checks"],
        "timeout_s": TIMEOUT_S,
        "goal_s": GOAL_S,
        "probed_s": remote["probed"],
        "met": remote["probed"] is not None and remote["probed"] <= GOAL_S,
        "decided_s": remote["decided"],
        "pytest_wall_s": remote["wall"],
        "local_decided_s": local["decided"],
        "batches": remote["batches"],
        "round_trips": remote["round_trips"],
        "counts": dict(Counter(remote["outcomes"].values())),
        "local_counts": dict(Counter(by_port.values())),
        "local_vs_layout_wrong": wrong_layout,
        "differ_from_local": len(differ),
        "differ_sample": differ[:5],
        "outcomes_match": not differ and len(remote["outcomes"]) == count * PORTS,
    }


def show(r: dict[str, Any]) -> str:
    verdict = "met" if r["met"] else "MISSED"
    match = "match" if r["outcomes_match"] else "DIFFER"
    return "\n".join([
        f"vantages: {r['vantages']} × {PORTS:,} checks ({r['checks']:,} in all),"
        f" timeout {r['timeout_s']:g} s",
        f"  queued → probed        {r['probed_s'] or 0:7.2f} s   goal ≤ {r['goal_s']:g} s:"
        f" {verdict}",
        f"  queued → decided       {r['decided_s']:7.2f} s   (triage of every failure too)",
        f"  pytest wall time       {r['pytest_wall_s']:7.2f} s",
        f"  the same ports, local  {r['local_decided_s']:7.2f} s   (queued → decided)",
        f"  round trips (sshd sessions) per vantage {r['round_trips']}, batches {r['batches']}",
        f"  outcomes {r['counts']} vs local {r['local_counts']}: {match}"
        f" ({r['differ_from_local']} differ; local vs layout: {r['local_vs_layout_wrong']} wrong)",
    ])  # fmt: skip


def unavailable() -> str | None:
    reason = benchlab.unavailable()
    if reason:
        return reason
    missing = [t for t in ("ssh", "ssh-keygen", "ss") if shutil.which(t) is None]
    if missing or not Path(SSHD).exists():
        return f"needs {', '.join(missing or [SSHD])}: apt-get install -y openssh-server"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--vantages", type=int, default=5, help="vantage namespaces (default 5)")
    parser.add_argument("--json", type=Path, default=None, help="write the result here too")
    args = parser.parse_args(argv)
    return run(args.vantages, args.json)


def run(count: int, path: Path | None) -> int:
    reason = unavailable()
    if reason:
        print(f"bench/vantages.py {reason}", file=sys.stderr)
        return 2
    benchlab.install_signal_handlers()
    try:
        result = bench(count)
    except KeyboardInterrupt:
        print("interrupted: lab torn down", file=sys.stderr)
        return 130
    finally:
        benchlab.teardown_all()
    print(show(result))
    if path is not None:
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written: {path}")
    return 0 if result["outcomes_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
