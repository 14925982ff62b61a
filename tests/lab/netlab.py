"""The fault lab's harness: a client, a router and a server in network namespaces.

Plain Python (no pytest), so the same code builds the lab for the tests and for a
developer reproducing a scenario by hand, from the repository root:

    python -m tests.lab.netlab up <scenario-id>    # build it, print how to probe it
    python -m tests.lab.netlab down <prefix>       # tear down everything with that prefix
    python -m tests.lab.netlab list                # scenario ids

Safety (see docs/lab.md): every address outside 127.0.0.0/8 lives only inside
namespaces made here; veth pairs are created directly inside them (never in the root
namespace); no namespace has a default route; teardown kills every process by PID,
then deletes the namespaces (their veths, routes and firewall rules go with them).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_conntriage.report.properties import junit_properties

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# The hand-run command line, run from REPO.
CLI = "tests.lab.netlab"
LISTENER = HERE / "listener.py"
PLUGINS = HERE.parent / "plugins"  # team plugins the scenarios load with -p

# One prefix per process: everything this run creates carries it, so a leak check (or
# `netlab.py down`) finds exactly this run's leftovers and nobody else's.
RUN_PREFIX = f"ctl{os.getpid() % 10000}-"

# Roles: the namespace suffixes.
CLIENT, ROUTER, SERVER = "client", "router", "server"
ROLES = (CLIENT, ROUTER, SERVER)
_SUFFIX = {CLIENT: "c", ROUTER: "r", SERVER: "s"}

# Addressing, identical in every lab (each lab is its own set of namespaces):
#   client c0 10.200.1.2/24 ── r0 10.200.1.1/24 router r1 10.200.2.1/24 ── s0 10.200.2.2/24 server
#                                                      r2 10.200.3.1/24 ── mgmt0 10.200.3.2/24
CLIENT_IP = "10.200.1.2"
ROUTER_CLIENT_IP = "10.200.1.1"
ROUTER_SERVER_IP = "10.200.2.1"
SERVER_IP = "10.200.2.2"
ROUTER_MGMT_IP = "10.200.3.1"
SERVER_MGMT_IP = "10.200.3.2"  # the server's second interface: the wrong-interface case
CLIENT_NET = "10.200.1.0/24"
SERVER_NET = "10.200.2.0/24"
MGMT_NET = "10.200.3.0/24"

# Tools the lab runs; missing ones make it unable to run (one clear reason).
TOOLS = ("ip", "ss", "sysctl", "iptables", "nft", "dnsmasq", "sshd", "ssh", "ssh-keygen")
SSHD = "/usr/sbin/sshd"

STOP_GRACE_S = 2.0

# One connect() from inside a namespace, as the kernel reports it: "open", "timeout", or
# the errno name, plus the ICMP error that caused it when there was one. IP_RECVERR
# makes Linux queue that ICMP (type, code, sender) on a TCP socket in SYN_SENT too,
# which tells a router's admin-prohibited from a plain host-unreachable.
_CONNECT = r"""
import errno, socket, struct, sys
address, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
sock = socket.socket()
sock.setsockopt(socket.SOL_IP, 11, 1)  # IP_RECVERR
sock.settimeout(timeout)
try:
    sock.connect((address, port))
    said = "open"
except TimeoutError:
    said = "timeout"
except OSError as exc:
    said = errno.errorcode.get(exc.errno or 0, str(exc.errno))
try:
    _, ancillary, _, _ = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
except OSError:
    ancillary = []
for _, _, data in ancillary:
    _, origin, icmp_type, icmp_code = struct.unpack_from("=IBBB", data)
    if origin == 2 and len(data) >= 24:  # SO_EE_ORIGIN_ICMP, then the sender's sockaddr_in
        said += f" icmp {icmp_type}/{icmp_code} from {socket.inet_ntoa(data[20:24])}"
print(said)
"""


class LabError(RuntimeError):
    """The lab could not be built, used or torn down; the message says what failed."""


def _check_output(argv: Sequence[str], timeout: float = 10.0, check: bool = True) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise LabError(f"{shlex.join(argv)} → exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def namespaces() -> list[str]:
    """Names of every network namespace on the machine (`ip netns list`)."""
    out = _check_output(["ip", "netns", "list"])
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def lab_unavailable() -> str | None:
    """Why the lab cannot run here, or None when it can (root, tools, `ip netns` works)."""
    if os.geteuid() != 0:
        return "the fault lab needs root (network namespaces, iptables, sshd)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"the fault lab needs {', '.join(missing)}: apt-get install -y iproute2 "
            "iptables nftables openssh-server dnsmasq-base conntrack"
        )
    probe = f"{RUN_PREFIX}probe"
    try:
        _check_output(["ip", "netns", "add", probe])
    except (LabError, OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip netns add` does not work here: {exc}"
    try:
        _check_output(["ip", "netns", "del", probe])
    except (LabError, OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip netns del` does not work here: {exc}"
    return None


@dataclass
class LabProcess:
    """A process the lab started inside a namespace, known by its PID."""

    name: str
    role: str
    pid: int
    argv: list[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None  # None when adopted from a state file

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return _pid_alive(self.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; by PID, never by name."""
        if not self.alive():
            return
        _signal(self.pid, signal.SIGTERM)
        if not self._wait(STOP_GRACE_S):
            _signal(self.pid, signal.SIGKILL)
            if not self._wait(STOP_GRACE_S):
                raise LabError(f"{self.name} (pid {self.pid}) survived SIGKILL")

    def _wait(self, seconds: float) -> bool:
        if self.popen is not None:
            try:
                self.popen.wait(seconds)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + seconds
        while _pid_alive(self.pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "role": self.role, "pid": self.pid, "argv": self.argv}


def _pid_alive(pid: int) -> bool:
    # A zombie has exited; only our own children can be zombies and Popen reaps those.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


@dataclass(frozen=True)
class Ssh:
    """A running sshd and the client-side config that logs into it with a key."""

    process: LabProcess
    config: Path  # ssh_config for the client: `ssh -F config lab-server ...`
    host_alias: str
    address: str
    port: int
    identity: Path


@dataclass(frozen=True)
class PluginRun:
    """What `pytest --inventory` said, run inside the client namespace."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    elapsed_s: float
    cases: Mapping[str, Case]


@dataclass(frozen=True)
class Case:
    """One JUnit testcase: "passed" / "failed" / "skipped" / "error", and its properties."""

    name: str
    status: str
    properties: Mapping[str, str]
    message: str = ""

    def prop(self, key: str) -> str:
        return self.properties.get(f"conntriage.{key}", "")


def read_junit(path: Path) -> dict[str, Case]:
    """Testcase name → Case, from a JUnit XML file pytest wrote."""
    cases: dict[str, Case] = {}
    root = ET.parse(path).getroot()
    # Wherever the run put them (on the suite by default, see pytest_conntriage.junit).
    by_testcase = junit_properties(root)
    for node in root.iter("testcase"):
        key = f"{node.get('classname', '')}::{node.get('name', '')}"
        props = {f"conntriage.{k}": v for k, v in by_testcase.get(key, {}).items()}
        status, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = node.find(tag)
            if found is not None:
                status = {"failure": "failed"}.get(tag, tag)
                message = found.get("message", "")
                break
        name = node.get("name", "")
        cases[name] = Case(name, status, props, message)
    return cases


@dataclass
class Lab:
    """One topology: client ── router ── server, each its own network namespace.

    Build with `Lab.build(prefix)`; always `teardown()` (idempotent). The lab also tears
    itself down at interpreter exit unless `detach()`ed for `netlab.py up`.
    """

    prefix: str
    tmp: Path
    processes: list[LabProcess] = field(default_factory=list)
    built: list[str] = field(default_factory=list)  # namespaces actually created
    detached: bool = False
    _torn_down: bool = False

    # -- building --------------------------------------------------------------

    @classmethod
    def build(cls, prefix: str) -> Lab:
        """Create the three namespaces, both veth pairs, addresses and routes."""
        if not prefix.startswith("ctl") or len(prefix) > 40:
            raise LabError(f"lab prefix {prefix!r}: must start with 'ctl' (what `down` looks for)")
        clash = [ns for ns in namespaces() if ns.startswith(prefix)]
        if clash:
            raise LabError(
                f"namespaces {clash} already exist: a leftover? `python -m {CLI} down {prefix}`"
            )
        tmp = Path(tempfile.gettempdir()) / prefix
        tmp.mkdir(mode=0o700)
        lab = cls(prefix, tmp)
        _LIVE[prefix] = lab
        try:
            lab._create()
            lab._verify_isolation()
        except BaseException:
            lab.teardown()
            raise
        lab._save()
        return lab

    @property
    def unit(self) -> str:
        """The name this lab's services go by (`listener-ctl1234-07`): unique, so the
        process table, which all namespaces share, shows no other lab's under it."""
        return f"listener-{self.prefix.rstrip('-')}"

    def ns(self, role: str) -> str:
        """The namespace name of a role: ctl1234-07-c."""
        return f"{self.prefix}{_SUFFIX[role]}"

    def _create(self) -> None:
        c, r, s = (self.ns(role) for role in ROLES)
        for name in (c, r, s):
            _check_output(["ip", "netns", "add", name])
            self.built.append(name)
        # Each veth pair is born inside the client/server namespace with its peer placed
        # straight into the router: no end ever exists in the root namespace, so the
        # names need not be unique machine-wide and a crash cannot leave one there.
        self.ip(CLIENT, "link", "add", "c0", "type", "veth", "peer", "name", "r0", "netns", r)
        self.ip(SERVER, "link", "add", "s0", "type", "veth", "peer", "name", "r1", "netns", r)
        self.ip(SERVER, "link", "add", "mgmt0", "type", "veth", "peer", "name", "r2", "netns", r)
        self.ip(CLIENT, "addr", "add", f"{CLIENT_IP}/24", "dev", "c0")
        self.ip(ROUTER, "addr", "add", f"{ROUTER_CLIENT_IP}/24", "dev", "r0")
        self.ip(ROUTER, "addr", "add", f"{ROUTER_SERVER_IP}/24", "dev", "r1")
        self.ip(ROUTER, "addr", "add", f"{ROUTER_MGMT_IP}/24", "dev", "r2")
        self.ip(SERVER, "addr", "add", f"{SERVER_IP}/24", "dev", "s0")
        self.ip(SERVER, "addr", "add", f"{SERVER_MGMT_IP}/24", "dev", "mgmt0")
        for role, links in ((CLIENT, ("lo", "c0")), (ROUTER, ("lo", "r0", "r1", "r2"))):
            for link in links:
                self.ip(role, "link", "set", link, "up")
        for link in ("lo", "s0", "mgmt0"):
            self.ip(SERVER, "link", "set", link, "up")
        # Routes between lab namespaces only; deliberately no default route anywhere.
        self.ip(CLIENT, "route", "add", SERVER_NET, "via", ROUTER_CLIENT_IP)
        self.ip(CLIENT, "route", "add", MGMT_NET, "via", ROUTER_CLIENT_IP)
        self.ip(SERVER, "route", "add", CLIENT_NET, "via", ROUTER_SERVER_IP)
        # New namespaces may inherit the root's ip_forward=1: only the router forwards.
        for role in ROLES:
            value = "1" if role == ROUTER else "0"
            self.sysctl(role, "net.ipv4.ip_forward", value)

    def _verify_isolation(self) -> None:
        """Refuse to hand out a lab that could reach beyond itself."""
        for role in ROLES:
            routes = self.ip(role, "route", "show", "default") + self.ip(
                "-6", role, "route", "show", "default"
            )
            if routes.strip():
                raise LabError(f"{self.ns(role)} has a default route: {routes.strip()}")
        root_links = _check_output(["ip", "-o", "link", "show"])
        for name in ("c0", "r0", "r1", "r2", "s0", "mgmt0"):
            if re.search(rf"^\d+: {name}[@:]", root_links, re.MULTILINE):
                raise LabError(f"veth end {name} appeared in the root namespace")

    # -- running things inside -------------------------------------------------

    def ip(self, *args: str) -> str:
        """`ip -n <ns of role> ARGS`; a leading "-6"/"-4" is passed before -n."""
        family: list[str] = []
        if args and args[0] in ("-4", "-6"):
            family, args = [args[0]], args[1:]
        role, rest = args[0], args[1:]
        return _check_output(["ip", *family, "-n", self.ns(role), *rest])

    def exec_argv(self, role: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns(role), *argv]

    def run(
        self, role: str, *argv: str, timeout: float = 10.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside a namespace and wait for it (at most `timeout` seconds)."""
        full = self.exec_argv(role, argv)
        try:
            done = subprocess.run(
                full, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            # subprocess.run kills the child on timeout; say which command hung.
            raise LabError(f"{shlex.join(full)} did not finish within {timeout:g} s") from exc
        if check and done.returncode != 0:
            raise LabError(
                f"{shlex.join(full)} → exit {done.returncode}: {done.stderr.strip()}"
                f"{done.stdout.strip()}"
            )
        return done

    def sysctl(self, role: str, key: str, value: str) -> None:
        self.run(role, "sysctl", "-qw", f"{key}={value}")

    def connect(self, role: str, address: str, port: int, timeout: float = 1.0) -> str:
        """What the kernel says to one connect() from `role`: "open", "ECONNREFUSED", ..."""
        argv = (sys.executable, "-c", _CONNECT, address, str(port), str(timeout))
        return self.run(role, *argv, timeout=timeout + 10).stdout.strip()

    def spawn(self, role: str, name: str, argv: Sequence[str]) -> LabProcess:
        """Start a long-running process inside a namespace; it is stopped at teardown.

        `ip netns exec` execs the command itself, so the PID we hold is the process's.
        Its own session keeps a developer's Ctrl-C (or `netlab.py up` exiting) away from
        it: only teardown stops it.
        """
        log = self.tmp / f"{name}.log"
        full = self.exec_argv(role, argv)
        with log.open("wb") as out:
            popen = subprocess.Popen(
                full,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = LabProcess(name, role, popen.pid, full, log, popen)
        self.processes.append(process)
        self._save()
        return process

    def wait_for(self, process: LabProcess, ready: Path | None, what: str, timeout: float) -> None:
        """Wait until `ready` exists (or `what` listens, if ready is None); fail early if dead."""
        deadline = time.monotonic() + timeout
        while True:
            if ready is not None and ready.exists():
                return
            if ready is None and self._listening(process.role, what):
                return
            if not process.alive():
                raise LabError(f"{process.name} exited: {_tail(process.log)}")
            if time.monotonic() > deadline:
                raise LabError(
                    f"{process.name} not ready within {timeout:g} s: {_tail(process.log)}"
                )
            time.sleep(0.02)

    def _listening(self, role: str, what: str) -> bool:
        proto, _, where = what.partition(" ")  # "tcp 10.200.2.2:22"
        flag = "-Hltn" if proto == "tcp" else "-Hlun"
        out = self.run(role, "ss", flag, timeout=5).stdout
        return any(where in line.split() for line in out.splitlines())

    # -- the services a scenario needs ----------------------------------------

    def listen(
        self,
        role: str,
        address: str,
        port: int,
        mode: str = "open",
        delay: float = 0.0,
    ) -> LabProcess:
        """A Python TCP listener: "open", "full" (accept queue full) or "delayed".

        It runs as `python3 <tmp>/<unit>.py` (a link to listener.py), so the plugin
        finds it by `self.unit` and never another lab's listener: network namespaces
        share the process table. A delayed one comes up `delay` seconds after the first
        connect it refused, and if this lab's sshd runs by then, only once an ssh
        session (the evidence batch) has ended: no timing of the machine decides.
        """
        name = f"listen-{mode}-{address}-{port}"
        ready = self.tmp / f"{name}.ready"
        script = self.tmp / f"{self.unit}.py"
        if not script.exists():
            script.symlink_to(LISTENER)
        argv = [
            sys.executable,
            str(script),
            f"--address={address}",
            f"--port={port}",
            f"--mode={mode}",
            f"--delay={delay}",
            f"--ready={ready}",
            f"--after-log={self.tmp / 'sshd.log'}",
            f"--lab={self.prefix}",
        ]
        process = self.spawn(role, name, argv)
        self.wait_for(process, ready, name, timeout=5)
        return process

    def add_address(self, role: str, cidr: str, dev: str) -> None:
        self.ip(role, "addr", "add", cidr, "dev", dev)

    def dnsmasq(
        self,
        role: str,
        address: str,
        records: Mapping[str, Iterable[str]] | None = None,
        zone: str | None = "lab.test",
        port: int = 53,
    ) -> LabProcess:
        """dnsmasq answering for `zone` from `records` only (NXDOMAIN for other names).

        With zone=None it knows no zone and has no upstream: it answers REFUSED, like a
        resolver that will not serve this client.
        """
        name = f"dnsmasq-{address}-{port}"
        argv = [
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",  # never the machine's config
            "--no-resolv",  # never forward: no upstream exists in the lab
            "--no-hosts",
            "--bind-interfaces",
            f"--listen-address={address}",
            f"--port={port}",
            f"--pid-file={self.tmp / name}.pid",
            "--log-facility=-",
            "--log-queries",
            "--user=root",  # the pid file and log live in our 0700 tmp dir
        ]
        if zone is not None:
            argv.append(f"--local=/{zone}/")
        for host, addresses in (records or {}).items():
            argv.append(f"--host-record={host},{','.join(addresses)}")
        process = self.spawn(role, name, argv)
        self.wait_for(process, None, f"udp {address}:{port}", timeout=5)
        return process

    def sshd(self, role: str, address: str, port: int = 22, extra: Sequence[str] = ()) -> Ssh:
        """A real sshd (key-only) and a client ssh_config; see NETWORK-SAFETY.md.
        `extra`: more sshd_config lines (`ForceCommand sleep 600`: a session that hangs)."""
        d = self.tmp / "ssh"
        d.mkdir(mode=0o700, exist_ok=True)
        host_key, client_key = d / "host_ed25519", d / "client_ed25519"
        for key in (host_key, client_key):
            keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.prefix]
            _check_output([*keygen, "-f", str(key)])
        authorized = d / "authorized_keys"
        authorized.write_text(client_key.with_suffix(".pub").read_text())
        authorized.chmod(0o600)
        config = d / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"ListenAddress {address}:{port}",
                    f"HostKey {host_key}",
                    f"PidFile {d / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "UsePAM no",
                    # Our files are in a tmp dir whose parents it would otherwise judge.
                    "StrictModes no",
                    "LogLevel VERBOSE",
                    *extra,
                    "",
                ]
            )
        )
        # A private /run (tmpfs in the mount namespace `ip netns exec` makes) gives sshd
        # its privilege-separation dir without touching the machine's /run.
        script = f"mount -t tmpfs tmpfs /run && mkdir /run/sshd && exec {SSHD} -D -e -f {config}"
        process = self.spawn(role, "sshd", ["sh", "-c", script])
        self.wait_for(process, None, f"tcp {address}:{port}", timeout=5)
        alias = "lab-server"
        client_config = d / "ssh_config"
        client_config.write_text(
            "\n".join(
                [
                    f"Host {alias}",
                    f"  HostName {address}",
                    f"  Port {port}",
                    "  User root",
                    f"  IdentityFile {client_key}",
                    "  IdentitiesOnly yes",
                    f"  UserKnownHostsFile {d / 'known_hosts'}",
                    "  GlobalKnownHostsFile /dev/null",
                    "  StrictHostKeyChecking accept-new",
                    "  BatchMode yes",
                    "  PasswordAuthentication no",
                    "  ConnectTimeout 5",
                    "  LogLevel ERROR",
                    "",
                ]
            )
        )
        return Ssh(process, client_config, alias, address, port, client_key)

    # -- faults ------------------------------------------------------------------

    def iptables(self, role: str, *rule: str) -> None:
        """One iptables command inside a namespace (its tables die with it)."""
        self.run(role, "iptables", "-w", "5", *rule)

    def nft(self, role: str, ruleset: str) -> None:
        """Load an nft ruleset inside a namespace."""
        path = self.tmp / f"nft-{role}-{len(list(self.tmp.glob('nft-*')))}.nft"
        path.write_text(ruleset)
        self.run(role, "nft", "-f", str(path))

    def route(self, role: str, kind: str, prefix: str) -> None:
        """A route of type unreachable / blackhole / prohibit, or "delete" one."""
        if kind == "delete":
            self.ip(role, "route", "del", prefix)
        elif kind in ("unreachable", "blackhole", "prohibit"):
            self.ip(role, "route", "replace", kind, prefix)
        else:
            raise LabError(f"route kind {kind!r}: unreachable, blackhole, prohibit or delete")

    # -- the plugin --------------------------------------------------------------

    def plugin_argv(self, inventory: Path, junit: Path, *extra: str) -> list[str]:
        """The real plugin, run as a user runs it, from inside the client namespace."""
        return self.exec_argv(
            CLIENT,
            [
                sys.executable,
                "-m",
                "pytest",
                "--inventory",
                str(inventory),
                f"--junitxml={junit}",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:hypothesispytest",  # ~0.8 s of CPU per run, and no run uses it
                "-q",
                *extra,
            ],
        )

    def run_plugin(
        self, inventory_text: str, timeout: float = 60.0, extra: Sequence[str] = ()
    ) -> PluginRun:
        """Write the inventory, run pytest on it in the client namespace, read the JUnit.
        `extra`: more pytest arguments (`-p` a team plugin of tests/plugins/)."""
        work = self.tmp / "plugin"
        work.mkdir(exist_ok=True)
        inventory, junit = work / "inventory.yml", work / "junit.xml"
        inventory.write_text(inventory_text)
        argv = self.plugin_argv(inventory, junit, *extra)
        # The outer pytest's variables (PYTEST_CURRENT_TEST, xdist's, PYTEST_ADDOPTS)
        # must not steer the inner run.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        # A team's plugin is importable as an installed one would be.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(PLUGINS), env.get("PYTHONPATH"))))
        started = time.monotonic()
        popen = subprocess.Popen(
            argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            stdout, stderr = popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            stdout, stderr = popen.communicate()
            raise LabError(f"the plugin did not finish within {timeout:g} s:\n{stdout}") from None
        elapsed = time.monotonic() - started
        cases = read_junit(junit) if junit.exists() else {}
        return PluginRun(argv, popen.returncode, stdout, stderr, elapsed, cases)

    # -- teardown ------------------------------------------------------------------

    def detach(self) -> None:
        """Leave the lab running after this process exits (`netlab.py up`)."""
        self.detached = True
        _LIVE.pop(self.prefix, None)

    def teardown(self) -> None:
        """Stop every process by PID, delete the namespaces, remove the tmp dir.

        Every step is attempted even when one fails; the failures are raised together.
        """
        if self._torn_down:
            return
        self._torn_down = True
        _LIVE.pop(self.prefix, None)
        interrupted: KeyboardInterrupt | None = None
        for _ in range(3):
            try:
                problems = _teardown(self.prefix, self.processes, self.built, self.tmp)
                break
            except KeyboardInterrupt as exc:
                # A Ctrl-C (or SIGTERM) during teardown must not leave half a lab: every
                # step is safe to repeat, so start over and re-raise once it is gone.
                interrupted = exc
        else:
            problems = [f"teardown of {self.prefix} interrupted three times"]
        if interrupted is not None:
            raise interrupted
        if problems:
            raise LabError("lab teardown: " + "; ".join(problems))

    def _save(self) -> None:
        """The state `netlab.py down` needs when the lab outlives the process that built it."""
        state = {
            "prefix": self.prefix,
            "namespaces": self.built,
            "processes": [p.to_json() for p in self.processes],
        }
        (self.tmp / "lab.json").write_text(json.dumps(state, indent=2))


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _teardown(
    prefix: str, processes: Sequence[LabProcess], names: Sequence[str], tmp: Path | None
) -> list[str]:
    problems: list[str] = []
    for process in reversed(processes):
        try:
            process.stop()
        except (LabError, OSError) as exc:
            problems.append(str(exc))
    for name in names:
        # Anything still inside (a child a service forked) is found by the namespace
        # and killed by PID before the namespace goes.
        try:
            pids = _check_output(["ip", "netns", "pids", name], check=False).split()
        except (OSError, subprocess.TimeoutExpired):
            pids = []
        for pid in pids:
            straggler = LabProcess(f"pid {pid} in {name}", "", int(pid), [], Path("/dev/null"))
            try:
                straggler.stop()
            except LabError as exc:
                problems.append(str(exc))
        try:
            _check_output(["ip", "netns", "del", name])
        except (LabError, OSError, subprocess.TimeoutExpired) as exc:
            if name in namespaces():
                problems.append(str(exc))
    if tmp is not None and tmp.name.startswith(prefix):
        shutil.rmtree(tmp, ignore_errors=True)
        if tmp.exists():
            problems.append(f"could not remove {tmp}")
    return problems


# Labs alive in this process: torn down at exit and by `teardown_all` (on interrupt).
_LIVE: dict[str, Lab] = {}


def teardown_all() -> list[str]:
    """Tear down every lab this process still holds; the problems, if any."""
    problems: list[str] = []
    for lab in list(_LIVE.values()):
        try:
            lab.teardown()
        except LabError as exc:
            problems.append(str(exc))
    return problems


atexit.register(teardown_all)


def leftovers(prefix: str = RUN_PREFIX) -> list[str]:
    """Namespaces and processes carrying `prefix` that still exist: should be none."""
    found = [f"namespace {ns}" for ns in namespaces() if ns.startswith(prefix)]
    me = os.getpid()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == me:
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # Every lab process has the prefix in its command line: a path in the lab's
        # tmp dir or the listener's --lab argument.
        if prefix in cmdline and _pid_alive(int(proc.name)):
            found.append(f"process {proc.name}: {cmdline.strip()}")
    tmp_dirs = Path(tempfile.gettempdir()).glob(f"{prefix}*")
    found += [f"directory {d}" for d in tmp_dirs]
    return found


def down(prefix: str) -> list[str]:
    """Tear down every lab whose name starts with `prefix` (from its state file if any)."""
    # A run's prefix at least ("ctl1234-"): a bare "ctl" would take other runs' labs too.
    if not re.fullmatch(r"ctl\d+-(\d+-)?", prefix):
        raise LabError(f"prefix {prefix!r}: expected a run's (ctl1234-) or a lab's (ctl1234-07-)")
    problems: list[str] = []
    tmp_root = Path(tempfile.gettempdir())
    states = sorted(tmp_root.glob(f"{prefix}*/lab.json"))
    for state_file in states:
        state = json.loads(state_file.read_text())
        processes = []
        for p in state["processes"]:
            # A PID is only trusted while it still runs the command we recorded: after
            # a reboot or PID reuse it may be somebody else's process.
            if _cmdline(int(p["pid"])) == p["argv"]:
                processes.append(
                    LabProcess(p["name"], p["role"], int(p["pid"]), p["argv"], Path("/dev/null"))
                )
        problems += _teardown(state["prefix"], processes, state["namespaces"], state_file.parent)
    orphans = [ns for ns in namespaces() if ns.startswith(prefix)]
    problems += _teardown(prefix, [], orphans, None)
    for tmp in tmp_root.glob(f"{prefix}*"):
        shutil.rmtree(tmp, ignore_errors=True)
    return problems


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


# -- command line -----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`up <scenario>`, `down <prefix>`, `list`: reproduce a lab scenario by hand."""
    import argparse

    from tests.lab import scenarios

    parser = argparse.ArgumentParser(
        prog="python -m tests.lab.netlab", description="the conntriage fault lab"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up_cmd = sub.add_parser("up", help="build a scenario's lab and leave it running")
    up_cmd.add_argument("scenario", choices=[s.id for s in scenarios.SCENARIOS])
    down_cmd = sub.add_parser("down", help="tear down every lab whose name starts with PREFIX")
    down_cmd.add_argument("prefix")
    sub.add_parser("list", help="the scenario ids")
    args = parser.parse_args(argv)

    if args.command == "list":
        for scenario in scenarios.SCENARIOS:
            print(f"{scenario.id:28} {scenario.summary}")
        return 0
    if args.command == "down":
        try:
            problems = down(args.prefix)
        except LabError as exc:
            parser.error(str(exc))
        for problem in problems:
            print(f"problem: {problem}", file=sys.stderr)
        print(f"down {args.prefix}: {'incomplete' if problems else 'nothing left'}")
        return 1 if problems else 0

    reason = lab_unavailable()
    if reason:
        print(f"cannot build the lab: {reason}", file=sys.stderr)
        return 1
    scenario = scenarios.by_id(args.scenario)
    lab = Lab.build(f"{RUN_PREFIX}{scenario.index:02d}-")
    try:
        inventory = scenarios.apply(scenario, lab)
    except BaseException:
        lab.teardown()
        raise
    work = lab.tmp / "plugin"
    work.mkdir(exist_ok=True)
    (work / "inventory.yml").write_text(inventory)
    lab.detach()
    lab._save()
    plugin = lab.plugin_argv(Path("inventory.yml"), Path("junit.xml"))
    print(f"scenario {scenario.id}: {scenario.summary}")
    print(f"namespaces: {', '.join(lab.built)}  (tmp: {lab.tmp})")
    for step in scenario.steps:
        print(f"  fault/setup: {step.describe()}")
    for process in lab.processes:
        print(f"  running: {process.name} (pid {process.pid}, log {process.log})")
    print(f"\ninventory ({work / 'inventory.yml'}):")
    print("  " + inventory.rstrip().replace("\n", "\n  "))
    print("expected:")
    for expect in scenario.expects:
        print(f"  {expect.case}: {expect.expected_text}")
    if scenario.pending:
        print(f"  (pending: {scenario.pending})")
    print("\nrun the plugin in the client namespace:")
    print(f"  cd {shlex.quote(str(work))} && {shlex.join(plugin)}")
    print("a shell there:")
    print(f"  ip netns exec {lab.ns(CLIENT)} bash")
    print("tear it all down:")
    python = shlex.quote(sys.executable)
    print(f"  cd {shlex.quote(str(REPO))} && {python} -m {CLI} down {lab.prefix}")
    return 0


if __name__ == "__main__":
    # Run the command line from the imported module, not this __main__ copy, so
    # scenarios.py (which imports tests.lab.netlab) and the CLI share one lab registry.
    from tests.lab import netlab

    sys.exit(netlab.main())
