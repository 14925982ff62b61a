"""The evidence model: frozen values for what was found on the target host and the client."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..outcome import Outcome


class Action(str, Enum):
    """What a firewall does with the probe's SYN; UNDECIDABLE when rules we cannot
    evaluate leave more than one answer open."""

    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"
    UNDECIDABLE = "undecidable"

    def __str__(self) -> str:
        return self.value


class Backend(str, Enum):
    """Which ruleset a verdict was read from; on one host several can apply at once."""

    IPTABLES_NFT = "iptables-nft"
    IPTABLES_LEGACY = "iptables-legacy"
    NFTABLES = "nftables"
    WINDOWS_FIREWALL = "windows-firewall"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RuleStep:
    """One rule on the packet's way through the chains: a jump or goto that led on, or
    the rule that decided. `rule` is its text without the chain's own name (`-p tcp -j
    SVC`, `tcp dport 8080 jump svc`); `matched` says which element of a named set or
    map it matched (`8080 in @blocked`), when one did."""

    chain: str
    position: int
    rule: str
    matched: str = ""

    def __str__(self) -> str:
        text = f"{self.chain} rule {self.position} {self.rule}"
        return f"{text} ({self.matched})" if self.matched else text


@dataclass(frozen=True)
class FirewallVerdict:
    """One backend's answer for the probe's packet, and the rule that gave it.

    `rule` is the deciding rule as the backend prints it (`-A INPUT -p tcp -m tcp
    --dport 8080 -j DROP`, `tcp dport 8080 drop`), the chain policy (`-P INPUT DROP`,
    `policy drop`) when no rule decided, or for UNDECIDABLE the first rule that could not
    be evaluated. `position` is the rule's number in its chain (1-based, as `iptables -L
    --line-numbers` counts); None when a policy decided or nothing is loaded.
    """

    backend: Backend
    action: Action
    rule: str
    table: str
    chain: str
    position: int | None
    reject_with: str | None = (
        None  # as the backend spells it: "tcp-reset", "icmpx port-unreachable"
    )
    handle: int | None = None  # nftables' rule handle (`nft -a list ruleset`)
    hook: str = "input"  # netfilter hook of the deciding chain: "prerouting" or "input"
    priority: int = 0  # its priority at that hook: lower runs first
    loaded: bool = True  # False: this backend has no rules of its own (accept by absence)
    # What was assumed to reach the verdict ("the input interface is assumed to be eth0").
    assumptions: tuple[str, ...] = ()
    # Rules on the way that could not be evaluated, "rule (why)"; with a decided action
    # they could not change it, whichever way they match.
    undecidable: tuple[str, ...] = ()
    possible: tuple[Action, ...] = ()  # for UNDECIDABLE: the actions still open
    # The jumps and gotos still in force when the rule decided, outermost first (`INPUT
    # rule 4 -j SVC_CHAIN`); empty when a base chain's own rule or policy decided. A chain
    # left by RETURN (or by running out) is not on it: it did not lead to the rule.
    path: tuple[RuleStep, ...] = ()
    matched: str = ""  # the deciding rule's match in a named set or map, if any

    @property
    def blocks(self) -> bool:
        """The packet is dropped or rejected (not merely possibly)."""
        return self.action in (Action.DROP, Action.REJECT)

    @property
    def client_sees(self) -> Outcome | None:
        """The outcome a client's connect() gets from this verdict alone; None for accept
        (then the listener decides) and for what cannot be known."""
        if self.action is Action.DROP:
            return Outcome.TIMEOUT
        if self.action is not Action.REJECT:
            return None
        return reject_outcome(self.reject_with)

    def describe(self) -> str:
        """One line: "iptables-nft: drop by rule 1 of filter INPUT: -A INPUT ... -j DROP"."""
        where = f"{self.table} {self.chain}".strip()
        if not self.loaded:
            return f"{self.backend}: accept (no rules loaded)"
        if self.action is Action.UNDECIDABLE:
            open_ = "/".join(a.value for a in self.possible) or "?"
            return f"{self.backend}: undecidable ({open_}) at {where}: {self.trail()}"
        by = f"rule {self.position} of {where}" if self.position else f"the policy of {where}"
        what = self.action.value
        if self.reject_with:
            what += f" with {self.reject_with}"
        return f"{self.backend}: {what} by {by}: {self.trail()}"

    def trail(self) -> str:
        """How the packet reached the deciding rule: `INPUT rule 4 -j SVC_CHAIN → SVC_CHAIN
        rule 2 -p tcp --dport 8080 -j DROP`; the rule's own text when a base chain's rule
        or policy decided."""
        if not self.path or self.position is None:
            return f"{self.rule} ({self.matched})" if self.matched else self.rule
        last = RuleStep(
            self.chain, self.position, without_chain(self.rule, self.chain), self.matched
        )
        return " → ".join(str(step) for step in (*self.path, last))


def without_chain(rule: str, chain: str) -> str:
    """An iptables-save line without its `-A CHAIN` (the step names the chain already)."""
    prefix = f"-A {chain} "
    return rule[len(prefix) :] if rule.startswith(prefix) else rule


def reject_outcome(reject_with: str | None) -> Outcome | None:
    """What a client sees for a REJECT of this kind (measured in the fault lab)."""
    kind = (reject_with or "port-unreachable").replace(" ", "-").lower()
    if "reset" in kind or "port-unreach" in kind:
        return Outcome.REFUSED
    if "prohib" in kind:
        return Outcome.ADMIN_PROHIBITED
    if "host-unreach" in kind or "addr-unreach" in kind:
        return Outcome.HOST_UNREACHABLE
    if "net-unreach" in kind or "no-route" in kind:
        return Outcome.NET_UNREACHABLE
    return None


@dataclass(frozen=True)
class ProcessRef:
    """A process `ss -p` names as owning a socket."""

    name: str
    pid: int
    fd: int | None = None


@dataclass(frozen=True)
class Listener:
    """One listening TCP socket. For LISTEN sockets `recv_q` is the accept queue's current
    length and `send_q` its backlog (None when read from /proc/net/tcp, which lacks it)."""

    address: str  # "0.0.0.0", "::", "127.0.0.1", "*" (any, both families)
    port: int
    recv_q: int
    send_q: int | None
    interface: str | None = None  # bound to a device: "127.0.0.1%lo:53"
    processes: tuple[ProcessRef, ...] = ()

    @property
    def accept_queue_full(self) -> bool:
        # The kernel drops a SYN once sk_ack_backlog > sk_max_ack_backlog, so a full queue
        # shows Recv-Q one above Send-Q.
        return self.send_q is not None and self.recv_q > self.send_q

    @property
    def wildcard(self) -> bool:
        return self.address in ("0.0.0.0", "::", "*")


@dataclass(frozen=True)
class Counters:
    """Kernel counters for listen-queue trouble (since boot, per network namespace)."""

    listen_overflows: int | None = None  # TcpExt ListenOverflows: SYNs dropped, queue full
    listen_drops: int | None = None  # TcpExt ListenDrops: every SYN dropped at a listener
    somaxconn: int | None = None  # net.core.somaxconn: the cap on any listen() backlog


@dataclass(frozen=True)
class UnitState:
    """`systemctl show` for the service's unit."""

    name: str
    load_state: str | None = None  # "loaded", "not-found", ...
    active_state: str | None = None  # "active", "failed", "activating", ...
    sub_state: str | None = None  # "running", "auto-restart", "dead", ...
    result: str | None = None  # "success", "exit-code", "signal", "core-dump", ...
    n_restarts: int | None = None
    main_pid: int | None = None
    exec_main_start: str | None = None  # as systemd prints it, in the host's time zone
    active_enter_monotonic_us: int | None = None  # 0: never became active since boot
    started_ago_s: float | None = None  # from the monotonic stamp and the host's uptime


@dataclass(frozen=True)
class ProcessAge:
    """A process that matters (owns a listener, or is the unit's main process) and how
    long it has been running (`ps -o etimes`)."""

    pid: int
    age_s: int
    command: str


@dataclass(frozen=True)
class FrontendStatus:
    """A firewall manager's own view: ufw or firewalld."""

    name: str  # "ufw" / "firewalld"
    state: str  # "active" / "inactive" / "running" / "not running"
    detail: str = ""  # `ufw status verbose` as printed


class RouteKind(str, Enum):
    """What the client's routing table does with the target address."""

    UNICAST = "unicast"  # a usable route: on-link or via a gateway
    LOCAL = "local"  # the address is the client's own
    UNREACHABLE = "unreachable"  # an `unreachable` route: EHOSTUNREACH
    BLACKHOLE = "blackhole"  # a `blackhole` route: EINVAL
    PROHIBIT = "prohibit"  # a `prohibit` route: EACCES
    NO_ROUTE = "no-route"  # no route at all ("Network is unreachable"): ENETUNREACH
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Route:
    """`ip route get <address>` on the client."""

    address: str
    kind: RouteKind
    dev: str | None = None
    gateway: str | None = None
    src: str | None = None  # the client's source address for it: what the target sees
    matched: str | None = None  # the route that decided, for the failing kinds
    error: str | None = None  # ip's own error line
    text: str = ""  # what ip printed


@dataclass(frozen=True)
class Collected:
    """What a plugin's collector (evidence.batch.Collector) gave: its parsed facts, or
    why there are none. `why` None means it ran and was read; then `value` is what its
    parser returned (which may itself say "none")."""

    name: str
    value: object = None
    why: str | None = None


@dataclass(frozen=True)
class HostEvidence:
    """Everything gathered on the target host in one batch.

    A piece that could not be gathered is absent (None or empty) and named in
    `unavailable` as (what, why): "not installed", "needs root: ...", "timed out after
    5 s", "unreadable output: ...". Absent without an entry there means "looked, none".
    When the batch never ran at all (`ran` False: ssh refused, the host hung), only
    ("batch", why) is listed, and every piece is unavailable for that reason.
    """

    listeners: tuple[Listener, ...] = ()
    counters: Counters | None = None
    # "systemd" when systemd is PID 1, else "other"; "windows" for a winrm host
    init: str | None = None
    unit: UnitState | None = None
    journal: tuple[str, ...] = ()  # the unit's last journal lines (short-iso)
    processes: tuple[ProcessAge, ...] = ()  # listener owners and the unit's main process
    # The unit's processes: its main PID under systemd; elsewhere every process whose
    # command names the unit (`listener` matches `python3 /srv/listener.py`).
    unit_processes: tuple[ProcessAge, ...] = ()
    addresses: tuple[str, ...] = ()  # the host's own IP addresses (`ip -o addr show`)
    uptime_s: float | None = None
    clock_epoch_s: int | None = None  # the host's clock when the batch ran
    privileged: bool | None = None  # the root-only collectors ran as root (directly/sudo)
    firewall: tuple[FirewallVerdict, ...] = ()  # one per backend that could be read
    firewall_effective: FirewallVerdict | None = None  # what decides, all backends together
    mixed_backends: bool = False  # iptables-legacy rules beside nftables ones: both apply
    frontends: tuple[FrontendStatus, ...] = ()
    unavailable: tuple[tuple[str, str], ...] = ()
    ran: bool = True  # False: no output of the batch came back, so nothing was seen
    collected: tuple[Collected, ...] = ()  # the plugins' collectors, each read or not

    def collected_by(self, name: str) -> Collected:
        """What the plugin collector `name` gave; unknown (with why) when it gave nothing."""
        found = next((c for c in self.collected if c.name == name), None)
        if found is not None and (found.why is None or self.ran):
            return found
        why = self.why_unavailable(name) or self.why_unavailable("batch") or "not run"
        return Collected(name, None, why)

    @property
    def listeners_read_by(self) -> str:
        """The command the listeners were read with, for a person to recognise."""
        return "Get-NetTCPConnection" if self.init == "windows" else "ss -ltn"

    def listeners_on(self, port: int) -> tuple[Listener, ...]:
        """The listening sockets bound to `port`, whatever their address."""
        return tuple(listener for listener in self.listeners if listener.port == port)

    def why_unavailable(self, what: str) -> str | None:
        """Why `what` could not be gathered, or None when it was. When the batch never
        ran, every piece is unavailable, with the batch's reason."""
        found = next((why for name, why in self.unavailable if name == what), None)
        if found is None and not self.ran:
            return next((why for name, why in self.unavailable if name == "batch"), "not run")
        return found


@dataclass(frozen=True)
class ClientEvidence:
    """What the client itself says about the way to the target."""

    address: str
    route: Route | None = None
    unavailable: tuple[tuple[str, str], ...] = ()
