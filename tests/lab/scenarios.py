"""The fault lab's scenarios as data: fault → inventory → what the plugin must say.

Each scenario is built in its own fresh namespaces (so no fault can leak into the next),
then the real plugin runs in the client namespace and its JUnit properties are judged
against `expects`. Plain Python: `python -m tests.lab.netlab up <id>` uses the same table.

Expectations have two levels, because today the plugin only sees the client side:
- `top` (+ `alternates`): the top cause acceptable from client-side evidence alone, as
  the runbook ranks outcomes (refused → service-down, wrong-port-or-interface; timeout →
  host-firewall / network-acl, then backlog-full; unreachable kinds → routing;
  admin-prohibited → network-acl; dns-* → dns-wrong-host).
- `with_host_evidence`: the true cause, which host evidence (ss, iptables, counters over
  ssh) should make the top one later. It must already be *listed* (not ruled out).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tests.lab.netlab import (
    CLIENT,
    ROUTER,
    ROUTER_CLIENT_IP,
    SERVER,
    SERVER_IP,
    SERVER_MGMT_IP,
    SERVER_NET,
    Case,
    Lab,
    PluginRun,
)

PORT = 8080
OTHER_PORT = 8081
DNS_IP = "10.200.2.53"  # a resolver that knows lab.test
DNS2_IP = "10.200.2.54"  # a second resolver: disagrees, or refuses
STALE_IP = "10.200.2.9"  # a host that exists, where the service is not (stale record)
MISSING_IP = "10.200.2.99"  # on the server's subnet, but no host answers ARP for it
ZONE = "lab.test"
MAINTENANCE_FLAG = "maintenance"  # the flag file's name in the lab's directory
NAME = f"api.{ZONE}"


# -- setup steps -------------------------------------------------------------------------


@dataclass(frozen=True)
class Listen:
    """A TCP listener in the server namespace: open, full accept queue, or delayed."""

    address: str = SERVER_IP
    port: int = PORT
    mode: str = "open"
    delay: float = 0.0

    def apply(self, lab: Lab) -> None:
        lab.listen(SERVER, self.address, self.port, self.mode, self.delay)

    def describe(self) -> str:
        late = f" starting {self.delay:g} s later" if self.mode == "delayed" else ""
        kind = "listener with a full accept queue" if self.mode == "full" else "listener"
        return f"server: {kind} on {self.address}:{self.port}{late}"


@dataclass(frozen=True)
class Address:
    """An extra address on the server's lab interface (a stale host, a resolver)."""

    address: str

    def apply(self, lab: Lab) -> None:
        lab.add_address(SERVER, f"{self.address}/24", "s0")

    def describe(self) -> str:
        return f"server: address {self.address} (nothing listens on it)"


@dataclass(frozen=True)
class Dns:
    """dnsmasq on its own server address; zone=None makes it answer REFUSED."""

    address: str
    records: tuple[tuple[str, str], ...] = ()
    zone: str | None = ZONE

    def apply(self, lab: Lab) -> None:
        lab.add_address(SERVER, f"{self.address}/24", "s0")
        records: dict[str, list[str]] = {}
        for name, ip in self.records:
            records.setdefault(name, []).append(ip)
        lab.dnsmasq(SERVER, self.address, records, self.zone)

    def describe(self) -> str:
        if self.zone is None:
            return f"server: dnsmasq on {self.address} without the zone (answers REFUSED)"
        known = ", ".join(f"{n} → {ip}" for n, ip in self.records) or "no names"
        return f"server: dnsmasq on {self.address} for {self.zone}: {known}"


@dataclass(frozen=True)
class Iptables:
    role: str
    rule: tuple[str, ...]

    def apply(self, lab: Lab) -> None:
        lab.iptables(self.role, *self.rule)

    def describe(self) -> str:
        return f"{self.role}: iptables {' '.join(self.rule)}"


@dataclass(frozen=True)
class Nft:
    role: str
    rule: str  # one rule in an input/forward chain of a fresh table

    def apply(self, lab: Lab) -> None:
        hook = "forward" if self.role == ROUTER else "input"
        lab.nft(
            self.role,
            "table inet conntriage_lab {\n"
            f"  chain {hook} {{\n"
            f"    type filter hook {hook} priority filter; policy accept;\n"
            f"    {self.rule}\n"
            "  }\n"
            "}\n",
        )

    def describe(self) -> str:
        return f"{self.role}: nft {self.rule}"


@dataclass(frozen=True)
class Route:
    role: str
    kind: str  # unreachable / blackhole / prohibit / delete
    prefix: str

    def apply(self, lab: Lab) -> None:
        lab.route(self.role, self.kind, self.prefix)

    def describe(self) -> str:
        if self.kind == "delete":
            return f"{self.role}: no route to {self.prefix}"
        return f"{self.role}: ip route add {self.kind} {self.prefix}"


@dataclass(frozen=True)
class Sysctl:
    role: str
    key: str
    value: str

    def apply(self, lab: Lab) -> None:
        lab.sysctl(self.role, self.key, self.value)

    def describe(self) -> str:
        return f"{self.role}: sysctl {self.key}={self.value}"


@dataclass(frozen=True)
class NftRuleset:
    """A whole nft ruleset, for what one rule in a fresh chain cannot show (user chains)."""

    role: str
    ruleset: str
    summary: str

    def apply(self, lab: Lab) -> None:
        lab.nft(self.role, self.ruleset)

    def describe(self) -> str:
        return f"{self.role}: nft {self.summary}"


@dataclass(frozen=True)
class MaintenanceFlag:
    """The flag file of the team plugin tests/plugins/maintenance_flag.py, in the lab's
    own directory (the server namespace shares the file system: its sshd sees it)."""

    reason: str = "kernel upgrade by ops"

    def apply(self, lab: Lab) -> None:
        (lab.tmp / MAINTENANCE_FLAG).write_text(self.reason + "\n")

    def describe(self) -> str:
        return f"server: maintenance flag set ({self.reason})"


Step = Listen | Address | Dns | Iptables | Nft | NftRuleset | Route | Sysctl | MaintenanceFlag


# -- expectations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What one JUnit testcase (matched by `case`, `*` a wildcard) must say."""

    case: str
    outcome: str  # conntriage.outcome; "a|b" accepts either
    passes: bool = False
    top: str | None = None  # the top cause from client-side evidence; None: no cause
    alternates: tuple[str, ...] = ()  # also acceptable as top, client-side only
    with_host_evidence: str | None = None  # the true cause; must be listed already

    @property
    def host_text(self) -> str:
        """What is expected once the plugin can log into the server."""
        if self.passes or self.with_host_evidence is None:
            return self.expected_text
        return f"{self.outcome} → {self.with_host_evidence}"

    @property
    def expected_text(self) -> str:
        if self.passes:
            return f"pass ({self.outcome})"
        top = self.top or "no cause"
        alts = f" (or {', '.join(self.alternates)})" if self.alternates else ""
        truth = f"; host: {self.with_host_evidence}" if self.with_host_evidence else ""
        return f"{self.outcome} → {top}{alts}{truth}"


def passes(case: str, outcome: str) -> Expect:
    return Expect(case, outcome, passes=True)


def fails(
    case: str,
    outcome: str,
    top: str | None,
    *alternates: str,
    host: str | None = None,
) -> Expect:
    return Expect(case, outcome, False, top, alternates, host)


@dataclass(frozen=True)
class Scenario:
    id: str
    summary: str
    steps: tuple[Step, ...]
    inventory: str
    expects: tuple[Expect, ...]
    # What one raw connect() to `probe` says once the fault is in place (netlab's
    # Lab.connect; `*` a wildcard): proves the lab built the fault, so a ✗ is the
    # plugin's, not the lab's.
    kernel: str | None = None
    probe: tuple[str, int] = (SERVER_IP, PORT)
    pending: str | None = None  # why it cannot be judged yet (it runs as a strict xfail)
    # Text the plugin's terminal output must contain, always and also with host access
    # (the hop where a SYN dies, a firewall rule's path): what a person reads, not only
    # the JUnit properties.
    says: tuple[str, ...] = ()
    host_says: tuple[str, ...] = ()
    note: str = ""
    index: int = 0  # position in the table: part of the lab's namespace prefix
    # pytest arguments that load a team's plugin from tests/plugins/ ("{tmp}": the
    # lab's own directory): the scenario judges a cause the plugin adds.
    plugin_args: tuple[str, ...] = ()

    def plugin_argv(self, lab: Lab) -> tuple[str, ...]:
        return tuple(arg.replace("{tmp}", str(lab.tmp)) for arg in self.plugin_args)

    @property
    def host_checks(self) -> Mapping[str, str]:
        """With host access: what test_listening / test_firewall / test_service report."""
        return {**HOST_CHECKS_HEALTHY, **HOST_CHECKS.get(self.id, {})}

    @property
    def probe_timeout(self) -> float:
        """The inventory's own timeout, so the raw probe sees what the plugin saw."""
        found = re.search(r"timeout: (\d+)s", self.inventory)
        return float(found.group(1)) if found else 1.0


# -- inventories -------------------------------------------------------------------------


def inventory(
    services: str = "",
    closed: str = "",
    resolvers: Iterable[str] = (),
    timeout: str = "1s",
) -> str:
    lines = ["version: 1", "defaults:", f"  timeout: {timeout}"]
    found = list(resolvers)
    if found:
        lines.append(f"  resolvers: [{', '.join(found)}]")
    text = "\n".join(lines) + "\n"
    if services:
        text += "services:\n" + services
    if closed:
        text += "closed:\n" + closed
    return text


def service(address: str = SERVER_IP, port: int = PORT, *extra: str) -> str:
    """One service "svc"; `extra` are further YAML lines, indented under it."""
    lines = ["  svc:", f"    address: {address}", f"    ports: [{port}]"]
    lines += [f"    {line}" for line in extra]
    return "\n".join(lines) + "\n"


def expect_dns(*addresses: str) -> tuple[str, ...]:
    return ("dns:", f"  expect: [{', '.join(addresses)}]")


TCP = f"test_tcp[svc:local->{SERVER_IP}:{PORT}]"
UP = Listen()  # the service itself, healthy, on its published address
REFUSED = ("service-down", "wrong-port-or-interface")  # client-side ranking of refused
TIMEOUT = ("host-firewall", "network-acl")  # client-side ranking of timeout (either first)
ZONE_DNS = Dns(DNS_IP, ((NAME, SERVER_IP),))
# The path trace of a SYN dropped by the router's FORWARD or the server's INPUT.
TRACED_SILENT_AFTER_ROUTER = (
    f"path trace: the SYN passes hop 1 ({ROUTER_CLIENT_IP}) and gets no answer after it"
)


def _firewall(role: str, target: str, stem: str, *rule: str) -> Iptables:
    return Iptables(role, ("-A", target, "-p", "tcp", "--dport", str(PORT), "-j", stem, *rule))


# -- the table ---------------------------------------------------------------------------

_TABLE: tuple[Scenario, ...] = (
    Scenario(
        "healthy",
        "baseline: the name resolves as expected and the service accepts",
        (UP, ZONE_DNS),
        inventory(service(NAME, PORT, *expect_dns(SERVER_IP)), resolvers=[DNS_IP]),
        (
            passes(f"test_dns[svc:{NAME}@{DNS_IP}]", "resolved"),
            passes(f"test_tcp[svc:local->{NAME}:{PORT}]", "open"),
        ),
        kernel="open",
    ),
    Scenario(
        "service-down",
        "nothing listens on the port",
        (),
        inventory(service()),
        (fails(TCP, "refused", *REFUSED, host="service-down"),),
        kernel="ECONNREFUSED",
    ),
    Scenario(
        "wrong-port",
        f"the service listens on {OTHER_PORT}, the inventory says {PORT}",
        (Listen(port=OTHER_PORT),),
        inventory(service()),
        (fails(TCP, "refused", *REFUSED, host="wrong-port-or-interface"),),
        kernel="ECONNREFUSED",
    ),
    Scenario(
        "loopback-only",
        "the service listens on 127.0.0.1 only (inside the server)",
        (Listen(address="127.0.0.1"),),
        inventory(service()),
        (fails(TCP, "refused", *REFUSED, host="wrong-port-or-interface"),),
        kernel="ECONNREFUSED",
    ),
    Scenario(
        "other-interface",
        f"the service listens on the server's other interface ({SERVER_MGMT_IP})",
        (Listen(address=SERVER_MGMT_IP),),
        inventory(service()),
        (fails(TCP, "refused", *REFUSED, host="wrong-port-or-interface"),),
        kernel="ECONNREFUSED",
    ),
    Scenario(
        "iptables-drop",
        "host firewall (iptables) drops the port",
        (UP, _firewall(SERVER, "INPUT", "DROP")),
        inventory(service()),
        (fails(TCP, "timeout", *TIMEOUT, host="host-firewall"),),
        kernel="timeout",
        # The trace cannot tell this from router-drop: the router answers, nothing after.
        says=(TRACED_SILENT_AFTER_ROUTER,),
    ),
    Scenario(
        "iptables-reject-reset",
        "host firewall (iptables) rejects with a TCP reset",
        (UP, _firewall(SERVER, "INPUT", "REJECT", "--reject-with", "tcp-reset")),
        inventory(service()),
        (fails(TCP, "refused", *REFUSED, host="host-firewall"),),
        kernel="ECONNREFUSED",
    ),
    Scenario(
        "iptables-reject-icmp",
        "host firewall (iptables) rejects with ICMP port-unreachable",
        (UP, _firewall(SERVER, "INPUT", "REJECT", "--reject-with", "icmp-port-unreachable")),
        inventory(service()),
        (fails(TCP, "refused", "host-firewall", host="host-firewall"),),
        note="client-side tell: a TCP stack answers a SYN with RST, only a firewall with "
        "ICMP port-unreachable (visible with IP_RECVERR: type 3 code 3 from the host)",
        kernel=f"ECONNREFUSED icmp 3/3 from {SERVER_IP}",
    ),
    Scenario(
        "iptables-reject-host-prohibited",
        "host firewall (iptables) rejects with ICMP host-prohibited (a distribution default)",
        (UP, _firewall(SERVER, "INPUT", "REJECT", "--reject-with", "icmp-host-prohibited")),
        inventory(service()),
        # The ICMP comes from the target itself: its own firewall, not the client's
        # (EPERM) nor a network policy, and the path to it works.
        (fails(TCP, "admin-prohibited", "host-firewall", host="host-firewall"),),
        note="connect() gives EHOSTUNREACH; the error queue has ICMP 3/10 from the server",
        kernel=f"EHOSTUNREACH icmp 3/10 from {SERVER_IP}",
    ),
    Scenario(
        "nft-drop",
        "host firewall (nftables) drops the port",
        (UP, Nft(SERVER, f"tcp dport {PORT} drop")),
        inventory(service()),
        (fails(TCP, "timeout", *TIMEOUT, host="host-firewall"),),
        kernel="timeout",
    ),
    Scenario(
        "nft-reject-reset",
        "host firewall (nftables) rejects with a TCP reset",
        (UP, Nft(SERVER, f"tcp dport {PORT} reject with tcp reset")),
        inventory(service()),
        (fails(TCP, "refused", *REFUSED, host="host-firewall"),),
        kernel="ECONNREFUSED",
    ),
    Scenario(
        "nft-reject-icmp",
        "host firewall (nftables) rejects with ICMP port-unreachable",
        (UP, Nft(SERVER, f"tcp dport {PORT} reject with icmpx type port-unreachable")),
        inventory(service()),
        (fails(TCP, "refused", "host-firewall", host="host-firewall"),),
        kernel=f"ECONNREFUSED icmp 3/3 from {SERVER_IP}",
    ),
    Scenario(
        "iptables-user-chain-drop",
        "host firewall (iptables) drops the port in a user chain that INPUT jumps to",
        (
            UP,
            Iptables(SERVER, ("-N", "SVC_CHAIN")),
            Iptables(SERVER, ("-A", "INPUT", "-p", "icmp", "-j", "ACCEPT")),
            Iptables(SERVER, ("-A", "INPUT", "-p", "tcp", "-j", "SVC_CHAIN")),
            Iptables(SERVER, ("-A", "SVC_CHAIN", "-p", "tcp", "--dport", "22", "-j", "RETURN")),
            _firewall(SERVER, "SVC_CHAIN", "DROP"),
        ),
        inventory(service()),
        (fails(TCP, "timeout", *TIMEOUT, host="host-firewall"),),
        kernel="timeout",
        host_says=(
            "drop by rule 2 of filter SVC_CHAIN: INPUT rule 2 -p tcp -j SVC_CHAIN → "
            f"SVC_CHAIN rule 2 -p tcp -m tcp --dport {PORT} -j DROP",
        ),
    ),
    Scenario(
        "nft-user-chain-drop",
        "host firewall (nftables) drops the port in a chain reached through a named set",
        (
            UP,
            NftRuleset(
                SERVER,
                "table inet conntriage_lab {\n"
                f"  set guarded {{ type inet_service; elements = {{ {PORT}, 9090 }}; }}\n"
                "  chain input {\n"
                "    type filter hook input priority filter; policy accept;\n"
                "    tcp dport 22 accept\n"
                "    tcp dport @guarded jump svc\n"
                "  }\n"
                "  chain svc {\n"
                "    tcp dport 9090 return\n"
                "    goto deny\n"
                "  }\n"
                "  chain deny {\n"
                "    drop\n"
                "  }\n"
                "}\n",
                "input: tcp dport @guarded jump svc; svc: goto deny; deny: drop",
            ),
        ),
        inventory(service()),
        (fails(TCP, "timeout", *TIMEOUT, host="host-firewall"),),
        kernel="timeout",
        host_says=(
            f"drop by rule 1 of inet conntriage_lab deny: input rule 2 tcp dport @guarded jump "
            f"svc ({PORT} in @guarded) → svc rule 2 goto deny → deny rule 1 drop",
        ),
    ),
    Scenario(
        "router-drop",
        "a router between client and server drops the port (network ACL)",
        (UP, _firewall(ROUTER, "FORWARD", "DROP")),
        inventory(service()),
        (fails(TCP, "timeout", "network-acl", "host-firewall", host="network-acl"),),
        kernel="timeout",
        says=(TRACED_SILENT_AFTER_ROUTER,),
    ),
    Scenario(
        "router-reject-admin",
        "a router rejects the port with ICMP admin-prohibited (network ACL)",
        (UP, _firewall(ROUTER, "FORWARD", "REJECT", "--reject-with", "icmp-admin-prohibited")),
        inventory(service()),
        # connect() only says EHOSTUNREACH; the ICMP type 3 code 13 from the router is
        # readable client-side (IP_RECVERR + MSG_ERRQUEUE), so routing is not acceptable.
        (fails(TCP, "admin-prohibited", "network-acl", host="network-acl"),),
        note="connect() gives EHOSTUNREACH; the error queue (IP_RECVERR) has ICMP 3/13 "
        "from the router, which names the ACL",
        kernel=f"EHOSTUNREACH icmp 3/13 from {ROUTER_CLIENT_IP}",
        says=(
            f"path trace: the SYN passes hop 1 ({ROUTER_CLIENT_IP}) and hop 1 rejects it on "
            "the way on (ICMP admin-prohibited)",
        ),
    ),
    Scenario(
        "dns-nxdomain",
        "the name does not exist in the zone",
        (UP, ZONE_DNS),
        inventory(service(f"gone.{ZONE}"), resolvers=[DNS_IP]),
        (
            fails(f"test_dns[svc:gone.{ZONE}@{DNS_IP}]", "dns-nxdomain", "dns-wrong-host"),
            fails(f"test_tcp[svc:local->gone.{ZONE}:{PORT}]", "dns-nxdomain", "dns-wrong-host"),
        ),
    ),
    Scenario(
        "dns-stale",
        f"a stale record: the name resolves to {STALE_IP}, where nothing listens",
        (UP, Address(STALE_IP), Dns(DNS_IP, ((NAME, STALE_IP),))),
        inventory(service(NAME, PORT, *expect_dns(SERVER_IP)), resolvers=[DNS_IP]),
        (
            fails(f"test_dns[svc:{NAME}@{DNS_IP}]", "dns-mismatch", "dns-wrong-host"),
            fails(
                f"test_tcp[svc:local->{NAME}:{PORT}]",
                "refused",
                # dns.expect names the right address: the client can tell on its own.
                "dns-wrong-host",
                host="dns-wrong-host",
            ),
        ),
        kernel="ECONNREFUSED",
        probe=(STALE_IP, PORT),
    ),
    Scenario(
        "dns-resolver-down",
        f"the resolver does not answer (nothing on {SERVER_IP}:53)",
        (UP,),
        inventory(service(NAME), resolvers=[SERVER_IP]),
        (
            fails(f"test_dns[svc:{NAME}@{SERVER_IP}]", "dns-timeout", "dns-wrong-host"),
            fails(f"test_tcp[svc:local->{NAME}:{PORT}]", "dns-timeout", "dns-wrong-host"),
        ),
        note="no runbook cause names a dead resolver; dns-wrong-host is the DNS cause",
    ),
    Scenario(
        "dns-refused",
        "the resolver refuses the query (it does not serve the zone)",
        (UP, Dns(DNS2_IP, zone=None)),
        inventory(service(NAME), resolvers=[DNS2_IP]),
        (
            fails(f"test_dns[svc:{NAME}@{DNS2_IP}]", "dns-refused", "dns-wrong-host"),
            fails(f"test_tcp[svc:local->{NAME}:{PORT}]", "dns-refused", "dns-wrong-host"),
        ),
    ),
    Scenario(
        "dns-disagree",
        f"two resolvers disagree: {DNS_IP} is right, {DNS2_IP} has a stale record",
        (UP, Address(STALE_IP), ZONE_DNS, Dns(DNS2_IP, ((NAME, STALE_IP),))),
        inventory(service(NAME, PORT, *expect_dns(SERVER_IP)), resolvers=[DNS_IP, DNS2_IP]),
        (
            passes(f"test_dns[svc:{NAME}@{DNS_IP}]", "resolved"),
            fails(f"test_dns[svc:{NAME}@{DNS2_IP}]", "dns-mismatch", "dns-wrong-host"),
            # One check tries both addresses: SERVER_IP accepts, STALE_IP refuses.
            fails(
                f"test_tcp[svc:local->{NAME}:{PORT}]",
                "refused",
                # dns.expect names the right address: the client can tell on its own.
                "dns-wrong-host",
                host="dns-wrong-host",
            ),
        ),
        kernel="ECONNREFUSED",
        probe=(STALE_IP, PORT),
    ),
    Scenario(
        "route-unreachable",
        f"the client has an `unreachable` route to {SERVER_IP}",
        (UP, Route(CLIENT, "unreachable", f"{SERVER_IP}/32")),
        inventory(service()),
        (fails(TCP, "host-unreachable", "routing", host="routing"),),
        kernel="EHOSTUNREACH",
    ),
    Scenario(
        "route-blackhole",
        f"the client has a `blackhole` route to {SERVER_IP}",
        (UP, Route(CLIENT, "blackhole", f"{SERVER_IP}/32")),
        inventory(service()),
        (fails(TCP, "no-route", "routing", host="routing"),),
        kernel="EINVAL",
    ),
    Scenario(
        "route-prohibit",
        f"the client has a `prohibit` route to {SERVER_IP}",
        (UP, Route(CLIENT, "prohibit", f"{SERVER_IP}/32")),
        inventory(service()),
        # EACCES with no ICMP message: the client's own kernel refused, so routing.
        (fails(TCP, "admin-prohibited", "routing", host="routing"),),
        kernel="EACCES",
    ),
    Scenario(
        "no-route",
        f"the client has no route to {SERVER_NET} at all",
        (UP, Route(CLIENT, "delete", SERVER_NET)),
        inventory(service()),
        (fails(TCP, "net-unreachable", "routing", host="routing"),),
        kernel="ENETUNREACH",
    ),
    Scenario(
        "host-missing",
        f"no host answers for {MISSING_IP} behind the router (ARP fails after ~3 s)",
        (UP,),
        inventory(service(MISSING_IP)),
        # Measured: with timeout 1s the connect times out before the router's ARP gives
        # up (~3 s), so the client sees a plain timeout.
        (
            fails(
                f"test_tcp[svc:local->{MISSING_IP}:{PORT}]",
                "timeout",
                *TIMEOUT,
                "backlog-full",
                host="routing",
            ),
        ),
        note="host evidence: the router's neighbour entry is FAILED; no host to log into",
        # The router's ICMP host-unreachable may land on the socket just after the
        # timeout (its ARP for the address may have started with the plugin's probe).
        kernel="timeout*",
        probe=(MISSING_IP, PORT),
    ),
    Scenario(
        "host-missing-patient",
        "as host-missing, with timeout 4s: the router's ICMP host-unreachable arrives",
        (UP,),
        # The one inventory with more than 1s: the router gives up ARP after ~3 s.
        inventory(service(MISSING_IP), timeout="4s"),
        (
            fails(
                f"test_tcp[svc:local->{MISSING_IP}:{PORT}]",
                "host-unreachable",
                "routing",
                host="routing",
            ),
        ),
        kernel=f"EHOSTUNREACH icmp 3/1 from {ROUTER_CLIENT_IP}",
        probe=(MISSING_IP, PORT),
    ),
    Scenario(
        "backlog-full",
        "the service's accept queue is full: the kernel drops new SYNs",
        (Listen(mode="full"),),
        inventory(service()),
        (fails(TCP, "timeout", *TIMEOUT, "backlog-full", host="backlog-full"),),
        note="host evidence: ss shows Recv-Q > backlog, TcpExtListenOverflows grows",
        kernel="timeout",
    ),
    Scenario(
        "not-ready-wait",
        "the service starts 2 s after the first refused attempt (with host access: once "
        "the evidence batch has run too); `wait: 20s` waits for it",
        # 20 s: the check passes as soon as the service is up, so a long wait costs
        # nothing, and a loaded machine's slow ssh login cannot make it run out.
        (Listen(mode="delayed", delay=2.0),),
        inventory(service(SERVER_IP, PORT, "wait: 20s")),
        (passes(TCP, "open"),),
    ),
    Scenario(
        "not-ready",
        "the service starts 5 s after the first refused attempt; without `wait` the check "
        "is too early",
        # Counted from the refusal, not from the lab's start: a slow start-up of the
        # plugin on a loaded machine cannot let the check pass by accident.
        (Listen(mode="delayed", delay=5.0),),
        inventory(service()),
        (fails(TCP, "refused", *REFUSED, host="not-ready"),),
        note="client side cannot tell not-ready from down; host evidence (unit activating, "
        "recent start in the journal) can",
    ),
    Scenario(
        "exposure",
        f"exposure gate: {PORT} must be closed but is open; {OTHER_PORT} is closed",
        (UP,),
        inventory(closed=f"  - address: {SERVER_IP}\n    ports: [{PORT}, {OTHER_PORT}]\n"),
        (
            fails(f"test_closed[local->{SERVER_IP}:{PORT}]", "open", None),
            passes(f"test_closed[local->{SERVER_IP}:{OTHER_PORT}]", "refused"),
        ),
        kernel="open",
    ),
    Scenario(
        "idle-drop",
        "a router forgets idle connections after 2 s (conntrack) and drops their packets",
        (
            UP,
            Iptables(
                ROUTER,
                (
                    "-A",
                    "FORWARD",
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "ESTABLISHED,RELATED",
                    "-j",
                    "ACCEPT",
                ),
            ),
            Iptables(ROUTER, ("-A", "FORWARD", "-p", "tcp", "--syn", "-j", "ACCEPT")),
            Iptables(ROUTER, ("-P", "FORWARD", "DROP")),
            Sysctl(ROUTER, "net.netfilter.nf_conntrack_tcp_timeout_established", "2"),
        ),
        inventory(service(SERVER_IP, PORT, "idle: 4s")),
        (
            passes(TCP, "open"),
            fails(
                f"test_idle[svc:local->{SERVER_IP}:{PORT}]",
                "timeout",
                "idle-drop",
                host="idle-drop",
            ),
        ),
        kernel="open",
    ),
    Scenario(
        "idle-survives",
        "the same stateful router keeps idle connections (default conntrack timeout)",
        (
            UP,
            Iptables(
                ROUTER,
                (
                    "-A",
                    "FORWARD",
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "ESTABLISHED,RELATED",
                    "-j",
                    "ACCEPT",
                ),
            ),
            Iptables(ROUTER, ("-A", "FORWARD", "-p", "tcp", "--syn", "-j", "ACCEPT")),
            Iptables(ROUTER, ("-P", "FORWARD", "DROP")),
        ),
        inventory(service(SERVER_IP, PORT, "idle: 4s")),
        (
            passes(TCP, "open"),
            passes(f"test_idle[svc:local->{SERVER_IP}:{PORT}]", "open"),
        ),
        kernel="open",
    ),
    Scenario(
        "team-maintenance",
        "a team's plugin: the host is flagged for maintenance and its service is stopped",
        (MaintenanceFlag(),),
        inventory(service()),
        # Client-side, its collector never runs: the cause is listed, as its weight says.
        (fails(TCP, "refused", *REFUSED, host="host-in-maintenance"),),
        kernel="ECONNREFUSED",
        plugin_args=("-p", "maintenance_flag", f"--maintenance-flag={{tmp}}/{MAINTENANCE_FLAG}"),
        host_says=("the maintenance flag is set: kernel upgrade by ops",),
    ),
)

SCENARIOS: tuple[Scenario, ...] = tuple(
    dataclasses.replace(s, index=i + 1) for i, s in enumerate(_TABLE)
)


def by_id(scenario_id: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.id == scenario_id:
            return scenario
    raise KeyError(scenario_id)


# What the host checks find on the server, where a scenario's fault shows there. The
# rest find the healthy state. Host checks are read once, as the run starts: a `wait`
# does not apply to them (not-ready-wait).
HOST_CHECKS_HEALTHY = {"listening": "listening", "firewall": "admitted", "service": "active"}
HOST_CHECKS: dict[str, dict[str, str]] = {
    "service-down": {"listening": "not-listening", "service": "inactive"},
    "wrong-port": {"listening": "not-listening"},
    "loopback-only": {"listening": "wrong-interface"},
    "other-interface": {"listening": "wrong-interface"},
    **{
        f"{tool}-{fault}": {"firewall": "blocked"}
        for tool in ("iptables", "nft")
        for fault in ("drop", "reject-reset", "reject-icmp", "user-chain-drop")
    },
    "iptables-reject-host-prohibited": {"firewall": "blocked"},
    # The address clients are sent to is on the server, but the service is not bound there.
    "dns-stale": {"listening": "wrong-interface"},
    "dns-disagree": {"listening": "wrong-interface"},
    "host-missing": {"listening": "wrong-interface"},
    "host-missing-patient": {"listening": "wrong-interface"},
    "not-ready": {"listening": "not-listening"},
    "not-ready-wait": {"listening": "not-listening"},
    "team-maintenance": {"listening": "not-listening", "service": "inactive"},
}
_HOST_CHECK = re.compile(r"test_(listening|firewall|service)\[")


def apply(scenario: Scenario, lab: Lab) -> str:
    """Build the scenario's faults in `lab`; the inventory text to run the plugin on."""
    for step in scenario.steps:
        step.apply(lab)
    return scenario.inventory


_SERVICE_KEY = re.compile(r"^  [A-Za-z0-9_-]+:$")


def with_host_access(inventory_text: str, ssh_config: str, alias: str, unit: str) -> str:
    """The inventory with the server as a host the plugin may log into over ssh, and
    every service placed on it: the same scenario, judged with host evidence. `unit` is
    the lab's (Lab.unit): its listener processes go by it, which is how the plugin
    finds them without systemd."""
    lines: list[str] = []
    in_services = False
    for line in inventory_text.splitlines():
        if not line.startswith(" "):
            in_services = line == "services:"
        lines.append(line)
        if in_services and _SERVICE_KEY.match(line):
            lines += ["    host: server", f"    unit: {unit}"]
    lines += ["hosts:", "  server:", f"    connection: ssh://{alias}?ssh_config={ssh_config}"]
    return "\n".join(lines) + "\n"


# -- judging -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the accuracy table."""

    scenario: str
    case: str
    expected: str
    got: str
    ok: bool
    exact: bool = True  # False: the top cause was an acceptable alternate
    problems: tuple[str, ...] = field(default_factory=tuple)
    pending: bool = False
    kernel: str = ""  # what a raw connect() said (first row of a scenario only)

    @property
    def mark(self) -> str:
        if self.pending:
            return "pending"
        if not self.ok:
            return "✗"
        return "✓" if self.exact else "✓ alt"


def matches(pattern: str, name: str) -> bool:
    """`*` is the only wildcard (test ids are full of `[`, `]` and `.`)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def judge(
    scenario: Scenario, run: PluginRun, kernel: str | None = None, host_access: bool = False
) -> list[Row]:
    """Compare what the plugin said with the scenario's expectations, row by row.

    `kernel` is what a raw connect() said after the fault was built; when it differs
    from the scenario's `kernel`, the lab (not the plugin) is wrong, and the first row
    says so.
    """
    rows = _judge_cases(scenario, run, host_access)
    missing = [
        f"the output does not say {text!r}"
        for text in (*scenario.says, *(scenario.host_says if host_access else ()))
        if text not in run.stdout
    ]
    if missing and rows:
        row = rows[0]
        rows[0] = dataclasses.replace(row, problems=(*row.problems, *missing), ok=False)
    for i, row in enumerate(rows):
        contradiction = contradicting_confirmed(run.stdout, row.case)
        if contradiction:
            rows[i] = dataclasses.replace(row, problems=(*row.problems, contradiction), ok=False)
    if kernel is None or not rows:
        return rows
    # Shown on the row of the check that probed the same address, else the first.
    address = scenario.probe[0]
    at = next(
        (i for i, r in enumerate(rows) if re.search(rf"[>@]{re.escape(address)}\b", r.case)), 0
    )
    row = rows[at]
    problems = row.problems
    if scenario.kernel is not None and not matches(scenario.kernel, kernel):
        said = f"a raw connect said {kernel!r}, expected {scenario.kernel!r}"
        problems += (f"lab fault not as built: {said}",)
    rows[at] = dataclasses.replace(row, kernel=kernel, problems=problems, ok=not problems)
    return rows


_SECTION = re.compile(r"^_{3,} (\S.*?) _{3,}$", re.M)
_CONFIRMED = re.compile(r"^\s+\d+\. \[confirmed\] .*\((\S+)\)$", re.M)


def contradicting_confirmed(stdout: str, case: str) -> str:
    """A problem when the failure text of `case` confirms more than one cause without
    saying that the faults hold at once; "" otherwise."""
    starts = list(_SECTION.finditer(stdout))
    for n, header in enumerate(starts):
        if header.group(1) != case:
            continue
        end = starts[n + 1].start() if n + 1 < len(starts) else len(stdout)
        text = stdout[header.end() : end]
        confirmed = _CONFIRMED.findall(text)
        if len(confirmed) > 1 and "hold at once" not in text:
            return f"confirms {', '.join(confirmed)} at once without saying both hold"
    return ""


def _judge_cases(scenario: Scenario, run: PluginRun, host_access: bool) -> list[Row]:
    rows: list[Row] = []
    covered: set[str] = set()
    for expect in scenario.expects:
        found = [case for name, case in run.cases.items() if matches(expect.case, name)]
        covered.update(case.name for case in found)
        if not found:
            rows.append(
                Row(
                    scenario.id,
                    expect.case,
                    expect.expected_text,
                    "no such test case",
                    False,
                    problems=(f"no test case matches {expect.case}",),
                    pending=scenario.pending is not None,
                )
            )
        for case in found:
            rows.append(_judge_case(scenario, expect, case, host_access))
    for name, case in run.cases.items():
        found_kind = _HOST_CHECK.match(name)
        if host_access and found_kind and name not in covered:
            covered.add(name)
            wanted = scenario.host_checks[found_kind.group(1)]
            ok = wanted in HOST_CHECKS_HEALTHY.values()
            expect = Expect(name, wanted, passes=ok, top=None)
            rows.append(_judge_host_check(scenario, expect, case))
        if name not in covered:
            rows.append(
                Row(
                    scenario.id,
                    name,
                    "(no expectation)",
                    _said(case),
                    False,
                    problems=(f"unexpected test case {name}",),
                    pending=scenario.pending is not None,
                )
            )
    return rows


def _judge_host_check(scenario: Scenario, expect: Expect, case: Case) -> Row:
    """A listening, firewall or service check: its outcome is the whole expectation."""
    problems: list[str] = []
    outcome = case.prop("outcome")
    wanted_status = "passed" if expect.passes else "failed"
    if case.status != wanted_status:
        problems.append(f"{case.status}, expected it to be {wanted_status}")
    if outcome != expect.outcome:
        problems.append(f"outcome {outcome or '(none)'}, expected {expect.outcome}")
    expected = f"pass ({expect.outcome})" if expect.passes else f"{expect.outcome}"
    said = f"pass ({outcome})" if case.status == "passed" else outcome
    return Row(
        scenario.id + " +host", case.name, expected, said, not problems, True, tuple(problems)
    )


def _said(case: Case) -> str:
    outcome = case.prop("outcome") or "?"
    if case.status == "passed":
        return f"pass ({outcome})"
    if case.status != "failed":
        return f"{case.status}: {case.message}"
    return f"{outcome} → {case.prop('top_cause') or 'no cause'}"


def _judge_case(scenario: Scenario, expect: Expect, case: Case, host_access: bool) -> Row:
    problems: list[str] = []
    outcome = case.prop("outcome")
    wanted_status = "passed" if expect.passes else "failed"
    if case.status != wanted_status:
        problems.append(f"{case.status}, expected it to be {wanted_status}")
    if outcome not in expect.outcome.split("|"):
        problems.append(f"outcome {outcome or '(none)'}, expected {expect.outcome}")
    exact = True
    if not expect.passes:
        top = case.prop("top_cause") or None
        causes = [c for c in case.prop("causes").split(",") if c]
        if host_access and expect.with_host_evidence is not None:
            # Logged into the server, the plugin must name the injected cause first.
            if top != expect.with_host_evidence:
                wanted = expect.with_host_evidence
                problems.append(
                    f"top cause {top or '(none)'} with host evidence, expected {wanted}"
                )
        elif top != expect.top:
            if top in expect.alternates:
                exact = False
            else:
                wanted = " or ".join([expect.top or "no cause", *expect.alternates])
                problems.append(f"top cause {top or '(none)'}, expected {wanted}")
        truth = expect.with_host_evidence
        if truth is not None and truth not in causes:
            problems.append(f"true cause {truth} is not listed (causes: {','.join(causes)})")
    return Row(
        scenario.id + (" +host" if host_access else ""),
        case.name,
        expect.host_text if host_access else expect.expected_text,
        _said(case),
        not problems,
        exact,
        tuple(problems),
        scenario.pending is not None,
    )


def table(rows: Iterable[Row | Mapping[str, object]]) -> list[str]:
    """The accuracy table as text lines: scenario, check, expected, plugin said, mark."""
    data = [r if isinstance(r, Row) else Row(**r) for r in rows]  # type: ignore[arg-type]
    expected = "expected (client side; host: true cause)"
    headers = ("scenario", "check", "raw connect", expected, "plugin said", "")
    cells = [(r.scenario, r.case, r.kernel, r.expected, r.got, r.mark) for r in data]
    widths = [max(len(str(c[i])) for c in [headers, *cells]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for c in cells:
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
    return lines
