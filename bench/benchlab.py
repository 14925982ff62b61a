"""The benchmark's lab: a client and a server network namespace joined by one veth pair.

    client ctbNNNN-c: c0 10.201.0.1/16  ──veth──  s0 10.201.1.1 … 10.201.1.A/16 :server ctbNNNN-s

The server namespace holds every endpoint: A addresses × P ports, where a port is
"open" (a real listener on 0.0.0.0, run by bench/inner_listen.py), "blackholed" (one
iptables DROP rule for a port range, in the server namespace only) or "refused" (nothing
listening: the server's kernel answers the SYN with a reset).

Safety (/work/shared/NETWORK-SAFETY.md): 10.x addresses exist only inside the two
namespaces made here; the veth pair is born inside the client namespace with its peer
moved straight into the server's, so no end is ever in the root namespace; there is no
default route anywhere (checked before use); every process is stopped by PID and both
namespaces are deleted (veth, addresses and firewall rule go with them) in `teardown()`,
which runs from `finally`, on SIGTERM/SIGHUP/SIGINT and at interpreter exit.

Why not tests/lab/netlab.py: that lab is three namespaces with a router, sshd and
dnsmasq, and its listener lives under tests/; the benchmark wants two namespaces, a few
thousand endpoints from one process and one firewall rule, and must run from a checkout
without the test tree on the path. The ~150 lines below copy its safety ideas, not code.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PREFIX = f"ctb{os.getpid() % 10000}-"
CLIENT_IP = "10.201.0.1"
SERVER_NET = "10.201.1"  # server addresses: 10.201.1.1 … 10.201.1.A
PREFIXLEN = 16
FIRST_PORT = 20000
STOP_GRACE_S = 2.0


class LabError(RuntimeError):
    pass


def sh(
    argv: Sequence[str], timeout: float = 20.0, check: bool = True, stdin: str | None = None
) -> str:
    done = subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise LabError(f"{shlex.join(argv)} → exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Layout:
    """Which endpoints exist and what each one is: A addresses × P ports, same mix per address.

    Ports FIRST_PORT … FIRST_PORT+P-1: the first `open` are listened on, the last
    `blackholed` are dropped by the firewall, the rest are refused. Every address has the
    same ports, so the endpoint set is a product and nmap gets it as `-iL` + `-p`.
    """

    addresses: int
    ports: int
    open: int
    blackholed: int

    @classmethod
    def for_size(cls, n: int, open_share: float = 0.05, blackholed_share: float = 0.05) -> Layout:
        # 100,000 and up: 100 addresses (a fleet's breadth); below, 10 (or 1 for a toy).
        addresses = 100 if n >= 100000 else 10 if n >= 100 else 1
        if n % addresses:
            raise LabError(f"{n} endpoints: must be a multiple of {addresses}")
        ports = n // addresses
        return cls(addresses, ports, round(ports * open_share), round(ports * blackholed_share))

    @property
    def n(self) -> int:
        return self.addresses * self.ports

    def address_list(self) -> list[str]:
        return [f"{SERVER_NET}.{i + 1}" for i in range(self.addresses)]

    def port_list(self) -> list[int]:
        return list(range(FIRST_PORT, FIRST_PORT + self.ports))

    def open_ports(self) -> list[int]:
        return self.port_list()[: self.open]

    def blackholed_range(self) -> tuple[int, int] | None:
        if not self.blackholed:
            return None
        ports = self.port_list()
        return ports[-self.blackholed], ports[-1]

    def kind(self, port: int) -> str:
        """ "open", "blackholed" or "refused": what a connect to any address at `port` meets."""
        index = port - FIRST_PORT
        if index < self.open:
            return "open"
        if index >= self.ports - self.blackholed:
            return "blackholed"
        return "refused"

    def endpoints(self) -> list[tuple[str, int]]:
        """Every (address, port), address-major: the order of the inventory."""
        return [(a, p) for a in self.address_list() for p in self.port_list()]

    def expected(self) -> dict[str, int]:
        return {
            "open": self.open * self.addresses,
            "refused": (self.ports - self.open - self.blackholed) * self.addresses,
            "blackholed": self.blackholed * self.addresses,
        }

    def sample(self, n: int) -> list[tuple[str, int]]:
        """`n` endpoints with the layout's mix (for the slow peer): spread over addresses."""
        share = {kind: count / self.n for kind, count in self.expected().items()}
        picked: list[tuple[str, int]] = []
        addresses = self.address_list()
        for kind in ("refused", "open", "blackholed"):
            ports = [p for p in self.port_list() if self.kind(p) == kind]
            want = round(n * share[kind])
            picked += [(addresses[i % len(addresses)], ports[i % len(ports)]) for i in range(want)]
        return picked


@dataclass
class Lab:
    layout: Layout
    prefix: str = PREFIX
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix=PREFIX)))
    built: list[str] = field(default_factory=list)
    pids: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # The listener's own safety net (inner_listen.py stops itself after this long); the
    # lab stops it at teardown. Longer than any run the lab serves: at 100,000 checks a
    # run.py size outlasted inner_listen's 1800 s default, and every "open" endpoint
    # probed after that was refused.
    listen_seconds: float = 4 * 3600.0
    _down: bool = False

    @property
    def client(self) -> str:
        return f"{self.prefix}c"

    @property
    def server(self) -> str:
        return f"{self.prefix}s"

    def exec_argv(self, ns: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    # -- building ---------------------------------------------------------------

    def build(self) -> Lab:
        _LIVE.append(self)
        clash = [ns for ns in namespaces() if ns.startswith(self.prefix)]
        if clash:
            raise LabError(f"namespaces {clash} exist already (a leftover of pid {self.prefix})")
        c, s = self.client, self.server
        for ns in (c, s):
            sh(["ip", "netns", "add", ns])
            self.built.append(ns)
        sh(["ip", "-n", c, "link", "add", "c0", "type", "veth", "peer", "name", "s0", "netns", s])
        batch = [f"addr add {CLIENT_IP}/{PREFIXLEN} dev c0", "link set lo up", "link set c0 up"]
        sh(["ip", "-n", c, "-batch", "-"], stdin="\n".join(batch) + "\n")
        batch = [f"addr add {a}/{PREFIXLEN} dev s0" for a in self.layout.address_list()]
        batch += ["link set lo up", "link set s0 up"]
        sh(["ip", "-n", s, "-batch", "-"], stdin="\n".join(batch) + "\n")
        for ns in (c, s):
            sh(self.exec_argv(ns, ["sysctl", "-qw", "net.ipv4.ip_forward=0"]))
        dropped = self.layout.blackholed_range()
        if dropped:
            rule = ["iptables", "-w", "5", "-A", "INPUT", "-p", "tcp", "-d", f"{SERVER_NET}.0/24"]
            rule += ["--dport", f"{dropped[0]}:{dropped[1]}", "-j", "DROP"]
            sh(self.exec_argv(s, rule))
        self._verify_isolation()
        if self.layout.open:
            self._start_listeners()
        return self

    def _verify_isolation(self) -> None:
        for ns in self.built:
            for family in ("-4", "-6"):
                default = sh(["ip", family, "-n", ns, "route", "show", "default"]).strip()
                if default:
                    raise LabError(f"{ns} has a default route: {default}")
        root_links = sh(["ip", "-o", "link", "show"])
        for name in ("c0", "s0"):
            if re.search(rf"^\d+: {name}[@:]", root_links, re.MULTILINE):
                raise LabError(f"veth end {name} appeared in the root namespace")

    def _start_listeners(self) -> None:
        ready = self.tmp / "listen.ready"
        ports = ",".join(str(p) for p in self.layout.open_ports())
        argv = [
            sys.executable, str(HERE / "inner_listen.py"), ports, str(ready), self.prefix,
            f"{self.listen_seconds:g}",
        ]  # fmt: skip
        log = (self.tmp / "listen.log").open("wb")
        popen = subprocess.Popen(
            self.exec_argv(self.server, argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C reaches us, and teardown stops it
        )
        log.close()
        self.pids.append(popen)
        deadline = time.monotonic() + 10
        while not ready.exists():
            if popen.poll() is not None:
                raise LabError(f"listener exited: {(self.tmp / 'listen.log').read_text()[-500:]}")
            if time.monotonic() > deadline:
                raise LabError("listener not ready within 10 s")
            time.sleep(0.02)

    def sanity(self) -> dict[str, str]:
        """One connect per endpoint kind from the client: refused / open / timeout."""
        script = (
            "import socket,sys\n"
            "for a in sys.argv[1:]:\n"
            "  h,p=a.rsplit(':',1); s=socket.socket(); s.settimeout(1)\n"
            "  try: s.connect((h,int(p))); r='open'\n"
            "  except socket.timeout: r='timeout'\n"
            "  except ConnectionRefusedError: r='refused'\n"
            "  except OSError as e: r=str(e)\n"
            "  print(r); s.close()\n"
        )
        address = self.layout.address_list()[-1]
        probe: dict[str, str] = {}
        for port in self.layout.port_list():
            probe.setdefault(self.layout.kind(port), f"{address}:{port}")
        kinds = list(probe)
        out = sh(self.exec_argv(self.client, [sys.executable, "-c", script, *probe.values()]))
        return dict(zip(kinds, out.split(), strict=True))

    # -- teardown ---------------------------------------------------------------

    def teardown(self) -> list[str]:
        """Stop our processes by PID, delete the namespaces, remove the tmp dir. Idempotent."""
        if self._down:
            return []
        # A second Ctrl-C must not leave half a lab: signals wait until it is gone.
        blocked = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            return self._teardown()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def _teardown(self) -> list[str]:
        problems: list[str] = []
        for popen in self.pids:
            _stop(popen.pid, popen, problems)
        for ns in self.built:
            # Anything else still inside (an interrupted measurement) goes by its PID.
            for pid in sh(["ip", "netns", "pids", ns], check=False).split():
                _stop(int(pid), None, problems)
            with contextlib.suppress(LabError, subprocess.TimeoutExpired):
                sh(["ip", "netns", "del", ns])
            if ns in namespaces():
                problems.append(f"namespace {ns} still exists")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._down = True
        if self in _LIVE:
            _LIVE.remove(self)
        return problems


def _stop(pid: int, popen: subprocess.Popen[bytes] | None, problems: list[str]) -> None:
    def alive() -> bool:
        if popen is not None:
            return popen.poll() is None
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state != "Z"

    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + STOP_GRACE_S
        while alive() and time.monotonic() < deadline:
            time.sleep(0.02)
    if alive():
        problems.append(f"pid {pid} survived SIGKILL")


def namespaces() -> list[str]:
    return [line.split()[0] for line in sh(["ip", "netns", "list"]).splitlines() if line.strip()]


_LIVE: list[Lab] = []


def teardown_all() -> None:
    for lab in list(_LIVE):
        for problem in lab.teardown():
            print(f"teardown problem: {problem}", file=sys.stderr)


def install_signal_handlers() -> None:
    """SIGTERM and SIGHUP end the run like Ctrl-C does: through `finally`, lab torn down."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


atexit.register(teardown_all)


def unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, iptables)"
    missing = [t for t in ("ip", "iptables") if shutil.which(t) is None]
    if missing:
        return f"needs {', '.join(missing)}: apt-get install -y iproute2 iptables"
    return None


def bench_python() -> str:
    """A Python that can import pytest_conntriage: this one, or the checkout's venv."""
    probe = [sys.executable, "-c", "import pytest_conntriage, pytest, testinfra"]
    if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return sys.executable
    venv = HERE.parent / ".venv" / "bin" / "python"
    if venv.exists():
        return str(venv)
    raise LabError("no Python with pytest_conntriage installed: run with .venv/bin/python")
