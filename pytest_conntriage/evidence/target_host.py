"""The target host's evidence: one batch run through a Runner, its output turned into a
HostEvidence. Nothing here raises for what the host lacks or refuses: every gap is
recorded in `unavailable` as (what, why)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from . import iptables, nftables
from .batch import BatchOutput, Collector, Section, build_batch, split
from .counters import parse_int, parse_netstat
from .firewall import Packet, decisive
from .listeners import parse_proc_net_tcp, parse_ss
from .model import (
    Backend,
    Collected,
    Counters,
    FirewallVerdict,
    FrontendStatus,
    HostEvidence,
    Listener,
    ProcessAge,
    UnitState,
)
from .runner import NOT_RUN, TIMED_OUT, Runner, RunResult, first_line, whole_seconds
from .unit import (
    ages_of,
    parse_ip_addr,
    parse_journal,
    parse_ps,
    parse_systemctl_show,
    parse_uptime,
    processes_of,
)

_N = TypeVar("_N", int, float)

_NOT_REACHED = "not reached: the batch ended early"
_CUT_OFF = "cut off: the batch ended while it ran"

# Each collector gets this share of the batch's time: a hung one leaves room for the rest.
COLLECTOR_SHARE = 0.25

_NEEDS_ROOT = (
    "permission denied",
    "operation not permitted",
    "must be root",
    "need to be root",
    "insufficient permissions",
    "not permitted",
)


def gather_host(
    runner: Runner,
    port: int,
    client_address: str | None,
    target_address: str | None,
    unit: str | None = None,
    sudo: bool = False,
    timeout: float = 20.0,
    collectors: Sequence[Collector] = (),
) -> HostEvidence:
    """Gather the target host's evidence in one round trip and read it for one packet.

    `client_address` is the client's address as the target sees it (`ip route get`'s
    src on the client, unless NAT is in between); `target_address` the address probed.
    `sudo` prefixes the root-only collectors with `sudo -n` (never prompts). Each
    collector is bounded by a quarter of `timeout`; the runner bounds the whole batch.
    """
    packet = Packet(port, client_address, target_address)
    result = run_batch(runner, unit, sudo, timeout, collectors)
    return read_batch(result, packet, unit, collectors)


def run_batch(
    runner: Runner,
    unit: str | None,
    sudo: bool,
    timeout: float,
    collectors: Sequence[Collector] = (),
) -> RunResult:
    """Run the host's batch once. Nothing in it depends on the port or the addresses, so
    one result serves every check against that host (and unit): see read_batch."""
    batch = build_batch(unit, sudo, timeout * COLLECTOR_SHARE, collectors)
    return runner.run(batch.command, *batch.args)


def read_batch(
    result: RunResult,
    packet: Packet,
    unit: str | None = None,
    collectors: Sequence[Collector] = (),
) -> HostEvidence:
    """A batch's result read for one packet. A run that did not finish says why under
    ("batch", ...), in the transport's own words: ssh's first stderr line, "timed out
    after 10 s", "sudo: a password is required"; every collector it cut off or never
    reached is named with that reason too."""
    evidence = parse_batch(result.stdout, packet, unit, collectors)
    problem = _transport_problem(result, evidence)
    if problem is None:
        return evidence
    gaps = [("batch", problem)]
    for what, why in evidence.unavailable:
        if what == "batch":
            continue
        gaps.append((what, _with_problem(why, problem)))
    collected = tuple(
        c if c.why is None else replace(c, why=_with_problem(c.why, problem))
        for c in evidence.collected
    )
    return replace(evidence, unavailable=tuple(gaps), collected=collected)


def _with_problem(why: str, problem: str) -> str:
    return f"{why} ({problem})" if why in (_NOT_REACHED, _CUT_OFF) else why


def _transport_problem(result: RunResult, evidence: HostEvidence) -> str | None:
    """Why the batch did not finish, in one line of the runner's words; None when it did
    (then its exit status alone is no gap)."""
    if evidence.why_unavailable("batch") is None:
        return None
    said = first_line(result.stderr) or first_line(result.stdout)
    if not said:
        return f"no output (exit {result.rc})"
    if result.rc in (0, TIMED_OUT, NOT_RUN) or said.startswith("timed out"):
        return said
    return f"{said} (exit {result.rc})"


def parse_batch(
    output: str,
    packet: Packet,
    unit: str | None = None,
    collectors: Sequence[Collector] = (),
) -> HostEvidence:
    """The batch's output as a HostEvidence; a cut-off or garbled output gives what it
    holds, and names every missing piece in `unavailable`."""
    taken = split(output)
    if not taken.found:
        return HostEvidence(unavailable=(("batch", "no batch output: it did not run"),), ran=False)
    reader = _Reader(taken)
    if not taken.complete:
        reader.gap("batch", "the output ends early: some collectors did not run")
    listeners = reader.listeners()
    uptime = reader.number("uptime", parse_uptime)
    clock = reader.number("clock", parse_int)
    init = taken.value("init")
    unit_state, journal = reader.unit(unit, init, uptime)
    pids = [process.pid for listener in listeners for process in listener.processes]
    if unit_state is not None and unit_state.main_pid:
        pids.append(unit_state.main_pid)
    table = reader.process_table()
    processes = ages_of(table, pids)
    unit_processes: tuple[ProcessAge, ...] = ()
    if unit_state is not None and unit_state.main_pid:
        unit_processes = ages_of(table, [unit_state.main_pid])
    elif unit and init != "systemd":
        unit_processes = processes_of(table, unit)
    verdicts, mixed = reader.firewall(packet)
    collected = tuple(reader.collected(c) for c in collectors)
    return HostEvidence(
        listeners=listeners,
        counters=reader.counters(),
        init=init,
        unit=unit_state,
        journal=journal,
        processes=processes,
        unit_processes=unit_processes,
        addresses=reader.addresses(),
        uptime_s=uptime,
        clock_epoch_s=clock,
        privileged=reader.privileged(),
        firewall=verdicts,
        firewall_effective=decisive(verdicts),
        mixed_backends=mixed,
        frontends=reader.frontends(),
        unavailable=tuple(reader.gaps),
        collected=collected,
    )


class _Reader:
    """Reads the sections of one batch, noting every gap once."""

    def __init__(self, taken: BatchOutput) -> None:
        self.taken = taken
        self.gaps: list[tuple[str, str]] = []

    def gap(self, what: str, why: str) -> None:
        if all(name != what for name, _ in self.gaps):
            self.gaps.append((what, why))

    def ok(self, name: str, what: str | None = None) -> Section | None:
        """The section when its collector succeeded; else None, and the gap noted."""
        section = self.taken.section(name)
        if section is not None and section.rc == 0:
            return section
        if what is not None:
            self.gap(what, self.why(name, section))
        return None

    def why(self, name: str, section: Section | None, bound: str | None = None) -> str:
        if section is None:
            return _NOT_REACHED if not self.taken.complete else "not run"
        line = first_line(section.stderr)
        if section.rc is None:
            return _CUT_OFF
        if section.rc == 127:
            return line or "not installed"
        if section.rc in (124, 137):
            return f"timed out after {bound or self.taken.value('bound') or '?'} s"
        lowered = section.stderr.lower()
        if "sudo:" in lowered:
            return f"needs root, and sudo -n could not run it: {line}"
        if any(text in lowered for text in _NEEDS_ROOT):
            return f"needs root: {line}"
        return f"exit {section.rc}: {line or 'no message'}"

    # -- pieces --------------------------------------------------------------------------

    def collected(self, collector: Collector) -> Collected:
        """A plugin collector's section read by its parser; unknown (and a gap) when it
        did not answer or its output could not be read."""
        name = collector.name
        section = self.taken.section(name)
        if section is None or section.rc != 0:
            # Its own bound, or the batch's share per collector when that is smaller.
            share = self.taken.value("bound") or ""
            bound = whole_seconds(collector.bound_s)
            if share.isdigit():
                bound = min(bound, int(share))
            why = self.why(name, section, str(bound))
        else:
            try:
                return Collected(name, collector.parse(section.stdout))
            except ValueError as exc:
                why = f"unreadable output: {first_line(str(exc)) or 'rejected by its parser'}"
            except Exception as exc:  # a plugin's parser bug: its facts stay unknown
                why = f"its parser failed: {type(exc).__name__}: {first_line(str(exc))}"
        self.gap(name, why)
        return Collected(name, None, why)

    def listeners(self) -> tuple[Listener, ...]:
        full = self.ok("listeners")
        if full is not None:
            if self.privileged() is False:
                self.gap(
                    "listener processes",
                    "not root: ss names only the batch user's own processes (use sudo)",
                )
            return parse_ss(full.stdout)
        first = self.why("listeners", self.taken.section("listeners"))
        plain = self.ok("listeners-plain")
        if plain is not None:
            self.gap("listener processes", f"ss -p: {first}")
            return parse_ss(plain.stdout)
        proc = self.ok("proc-net-tcp")
        if proc is not None:
            self.gap("listener processes", f"ss: {first}; read /proc/net/tcp instead")
            return parse_proc_net_tcp(proc.stdout)
        self.gap("listeners", first)
        return ()

    def counters(self) -> Counters | None:
        netstat = self.ok("netstat", "listen counters")
        values = parse_netstat(netstat.stdout) if netstat is not None else {}
        if netstat is not None and "ListenOverflows" not in values:
            self.gap("listen counters", "no TcpExt ListenOverflows in /proc/net/netstat")
        somaxconn_section = self.ok("somaxconn", "somaxconn")
        somaxconn = parse_int(somaxconn_section.stdout) if somaxconn_section else None
        if not values and somaxconn is None:
            return None
        return Counters(values.get("ListenOverflows"), values.get("ListenDrops"), somaxconn)

    def number(self, name: str, parse: Callable[[str], _N | None]) -> _N | None:
        section = self.ok(name, name)
        if section is None:
            return None
        value = parse(section.stdout)
        if value is None:
            self.gap(name, f"unreadable output: {first_line(section.stdout)!r}")
        return value

    def unit(
        self, unit: str | None, init: str | None, uptime: float | None
    ) -> tuple[UnitState | None, tuple[str, ...]]:
        if not unit:
            return None, ()
        if init != "systemd":
            if init is not None:
                self.gap("unit", "systemd is not PID 1 on the host: see process ages instead")
            return None, ()
        shown = self.ok("unit", "unit")
        state = parse_systemctl_show(unit, shown.stdout, uptime) if shown else None
        journal_section = self.ok("journal", "journal")
        journal: tuple[str, ...] = ()
        if journal_section is not None:
            if "insufficient permissions" in journal_section.stderr.lower():
                self.gap("journal", f"needs root: {first_line(journal_section.stderr)}")
            journal = parse_journal(journal_section.stdout)
        return state, journal

    def process_table(self) -> dict[int, ProcessAge]:
        section = self.ok("processes", "process ages")
        if section is None:
            return {}
        table = parse_ps(section.stdout)
        if not table:
            self.gap("process ages", f"unreadable ps output: {first_line(section.stdout)!r}")
        return table

    def addresses(self) -> tuple[str, ...]:
        section = self.taken.section("addresses")
        if section is not None and section.rc == 0:
            return parse_ip_addr(section.stdout)
        plain = self.ok("addresses-plain", "host addresses")
        if plain is None:
            if section is not None:
                self.gap("host addresses", self.why("addresses", section))
            return ()
        return tuple(plain.stdout.split())

    def privileged(self) -> bool | None:
        uid, sudo = self.taken.value("uid"), self.taken.value("sudo")
        if uid == "0":
            return True
        if sudo == "yes":
            # sudo -n fails without a password-less rule; the collectors say so.
            refused = any("sudo:" in s.stderr.lower() for s in self.taken.sections)
            return not refused
        return False if uid else None

    def firewall(self, packet: Packet) -> tuple[tuple[FirewallVerdict, ...], bool]:
        six = packet.version == 6
        main_name, legacy_name = (
            ("ip6tables", "ip6tables-legacy")
            if six
            else (
                "iptables",
                "iptables-legacy",
            )
        )
        main = self.ruleset(main_name)
        legacy = self.ruleset(legacy_name)
        verdicts: list[FirewallVerdict] = []
        if main is not None and main.variant == "legacy":
            # iptables-save is the legacy one here: the same tables as iptables-legacy-save.
            legacy = legacy or main
            main = None
        if main is not None:
            verdicts.append(iptables.evaluate(main, packet, Backend.IPTABLES_NFT))
        if legacy is not None:
            verdicts.append(iptables.evaluate(legacy, packet, Backend.IPTABLES_LEGACY))
        nft = self.nftables(self._iptables_nft_tables())
        if nft is not None:
            ruleset, skip = nft
            verdicts.append(nftables.evaluate(ruleset, packet, skip))
        legacy_loaded = any(v.loaded for v in verdicts if v.backend is Backend.IPTABLES_LEGACY)
        nft_loaded = any(v.loaded for v in verdicts if v.backend is not Backend.IPTABLES_LEGACY)
        warned = main is not None and any("legacy tables present" in w for w in main.warnings)
        return tuple(verdicts), (legacy_loaded and nft_loaded) or warned

    def ruleset(self, name: str) -> iptables.Ruleset | None:
        section = self.ok(name, name)
        return iptables.parse_save(section.stdout) if section is not None else None

    def _iptables_nft_tables(self) -> frozenset[tuple[str, str]]:
        """The nft tables iptables-nft made (and shows with their real rule text)."""
        skip: set[tuple[str, str]] = set()
        for name, family in (("iptables", "ip"), ("ip6tables", "ip6")):
            section = self.taken.section(name)
            if section is None or section.rc != 0:
                continue
            parsed = iptables.parse_save(section.stdout)
            if parsed.variant == "nf_tables":
                skip |= {(family, t.name) for t in parsed.tables if not t.incompatible}
        return frozenset(skip)

    def nftables(
        self, skip: frozenset[tuple[str, str]]
    ) -> tuple[nftables.NftRuleset, frozenset[tuple[str, str]]] | None:
        section = self.ok("nft", "nftables")
        if section is None:
            return None
        listing = self.taken.section("nft-text")
        text = listing.stdout if listing is not None and listing.rc == 0 else None
        try:
            return nftables.parse_ruleset(section.stdout, text), skip
        except ValueError as exc:
            self.gap("nftables", f"unreadable output: {exc}")
            return None

    def frontends(self) -> tuple[FrontendStatus, ...]:
        found: list[FrontendStatus] = []
        ufw = self.ok("ufw", "ufw")
        if ufw is not None:
            status = first_line(ufw.stdout).removeprefix("Status:").strip() or "unknown"
            found.append(FrontendStatus("ufw", status, ufw.stdout.strip()))
        firewalld = self.taken.section("firewalld")
        # firewall-cmd --state says "not running" with exit 252: that is an answer.
        if firewalld is not None and firewalld.rc in (0, 252) and firewalld.stdout.strip():
            found.append(FrontendStatus("firewalld", firewalld.stdout.strip()))
        else:
            self.gap("firewalld", self.why("firewalld", firewalld))
        return tuple(found)
