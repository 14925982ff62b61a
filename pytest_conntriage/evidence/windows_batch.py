"""The Windows host's evidence: one PowerShell script run over testinfra's `winrm://`
backend, its output read into the same HostEvidence the Linux batch gives.

testinfra's winrm backend hands the command line to the WinRM shell, which is cmd.exe:
PowerShell is started by name, and the script travels as `-EncodedCommand` (base64 of
its UTF-16LE text), so no character of it meets cmd.exe's or PowerShell's own command
line parsing. The one value from the inventory, the service's name, is written into the
script as a PowerShell single-quoted literal (every single-quote character doubled,
Windows PowerShell's four typographic ones included): never expanded, never a command.

Each section is one line, `MARKER ok NAME JSON` or `MARKER error NAME "message"`, the
JSON from `ConvertTo-Json -Compress` with every character outside printable ASCII
written as \\uXXXX: no console code page and no locale can change a byte of it, and
testinfra decodes it as ASCII without asking the host for its encoding. Every cmdlet's
failure is caught and reported in its section; the rest still runs.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass, field

from ..powershell import literal
from .firewall import Packet, decisive
from .model import FirewallVerdict, HostEvidence, Listener, ProcessAge, ProcessRef, UnitState
from .runner import NOT_RUN, TIMED_OUT, Runner, RunResult, first_line
from .windows_firewall import (
    WindowsFirewallError,
    WinFirewall,
    enum_name,
    evaluate,
    owners_of,
    parse_active,
    parse_profiles,
    parse_rules,
    rows,
)

# cmd.exe refuses a command line longer than this (8191 characters with its own /c).
MAX_COMMAND_CHARS = 8000
POWERSHELL = "powershell.exe -NoLogo -NoProfile -NonInteractive -EncodedCommand "
# What Windows does not give this batch, for every winrm host (unknown, never absent).
NOT_ON_WINDOWS = (
    ("listen counters", "not gathered on Windows"),
    ("journal", "not gathered on Windows: see the service's events in the Event Log"),
)
# System.ServiceProcess.ServiceControllerStatus
_SERVICE_STATUS = {
    1: "Stopped",
    2: "StartPending",
    3: "StopPending",
    4: "Running",
    5: "ContinuePending",
    6: "PausePending",
    7: "Paused",
}
# ...as systemd's ActiveState, which the service kind and the triage read.
_ACTIVE_STATE = {
    "Running": "active",
    "Stopped": "inactive",
    "StartPending": "activating",
    "StopPending": "deactivating",
    "ContinuePending": "activating",
    "PausePending": "deactivating",
    "Paused": "inactive",
}
# MSFT_NetTCPConnection.State: Listen is 2.
_TCP_STATES = {2: "Listen"}

# The script. Only `__MARKER__` (hex) and `__UNIT__` (a quoted literal or $null) are
# replaced, by build_script; nothing else is ever formatted into it. Q runs a cmdlet
# for which "no such object" is an empty answer; S writes one section.
SCRIPT = r"""$ErrorActionPreference='Stop';$ProgressPreference='SilentlyContinue'
$M='__MARKER__';$U=__UNIT__;$L=@()
function A($t){[regex]::Replace($t,'[^ -~]',{param($c)'\u{0:x4}'-f[int][char]$c.Value})}
function Q($b){try{& $b}catch{if($_.CategoryInfo.Category -ne 'ObjectNotFound'){throw}}}
function S($n,$b){try{$j=ConvertTo-Json -InputObject @(& $b) -Depth 4 -Compress;"$M ok $n $(A $j)"}
catch{"$M error $n $(A (ConvertTo-Json -InputObject ([string]$_) -Compress))"}}
"$M batch 1"
S os {$w=[Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
[pscustomobject]@{Version=[Environment]::OSVersion.Version.ToString();Admin=$w.IsInRole('Administrators')}}
S listeners {$script:L=@(Q {Get-NetTCPConnection -State Listen})
$L|Select-Object LocalAddress,LocalPort,OwningProcess,State}
S processes {$i=@($L|ForEach-Object {$_.OwningProcess}|Sort-Object -Unique)
if($i){Get-Process -Id $i -ErrorAction SilentlyContinue|Select-Object Id,ProcessName,Path,
@{n='AgeS';e={try{[int64]((Get-Date)-$_.StartTime).TotalSeconds}catch{$null}}}}}
S profiles {Get-NetFirewallProfile -PolicyStore ActiveStore|
Select-Object Name,Enabled,DefaultInboundAction}
S setting {Get-NetFirewallSetting -PolicyStore ActiveStore|Select-Object ActiveProfile}
S rules {$f=@{};foreach($c in 'Port','Address','Application','Service'){$h=@{}
Q {& "Get-NetFirewall$($c)Filter" -PolicyStore ActiveStore}|
ForEach-Object {$h[$_.InstanceID]=$_};$f[$c]=$h}
Q {Get-NetFirewallRule -PolicyStore ActiveStore -Enabled True -Direction Inbound}|ForEach-Object {
$i=$_.InstanceID;$p=$f.Port[$i];$a=$f.Address[$i]
[pscustomobject]@{Name=$_.Name;DisplayName=$_.DisplayName;Action=$_.Action;Profile=$_.Profile
Enabled=$_.Enabled;Direction=$_.Direction;Protocol=$p.Protocol;LocalPort=$p.LocalPort
RemotePort=$p.RemotePort;LocalAddress=$a.LocalAddress;RemoteAddress=$a.RemoteAddress
Program=$f.Application[$i].Program;Service=$f.Service[$i].Service}}}
if($U -ne $null){S service {Q {Get-Service -Name (
[Management.Automation.WildcardPattern]::Escape($U))}|
Where-Object {$_.Name -eq $U}|Select-Object Name,DisplayName,Status,StartType}}
S addresses {Get-NetIPAddress|Select-Object IPAddress}
"$M end"
"""

_LINE = re.compile(r"^(@@ct-[0-9a-f]{16}@@) (ok|error|batch|end) ?(\S*) ?(.*)$")


@dataclass(frozen=True)
class WindowsBatch:
    script: str
    command: str  # what testinfra's winrm backend runs: powershell.exe -EncodedCommand ...
    marker: str


def build_script(unit: str | None, marker: str | None = None) -> tuple[str, str]:
    """The script for one host (and unit), and its section marker."""
    marker = marker or f"@@ct-{secrets.token_hex(8)}@@"
    unit_value = "$null" if unit is None else literal(unit)
    script = SCRIPT.replace("__MARKER__", marker, 1)
    head, _, tail = script.partition("__UNIT__")
    return head + unit_value + tail, marker


def encode(script: str) -> str:
    """PowerShell's -EncodedCommand form: base64 of the UTF-16LE text."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def build_windows_batch(unit: str | None, marker: str | None = None) -> WindowsBatch:
    """The command that gathers a Windows host's evidence in one round trip. Raises
    ValueError when the unit would not fit cmd.exe's command line (or holds a NUL)."""
    script, marker = build_script(unit, marker)
    command = POWERSHELL + encode(script)
    if len(command) > MAX_COMMAND_CHARS:
        raise ValueError(f"the batch would be {len(command)} characters: cmd.exe takes 8191")
    return WindowsBatch(script, command, marker)


def run_windows_batch(runner: Runner, unit: str | None) -> RunResult:
    """Run the Windows batch once; nothing in it depends on the port or the addresses."""
    try:
        batch = build_windows_batch(unit)
    except ValueError as exc:
        return RunResult(NOT_RUN, "", f"the batch was not sent: {exc}")
    return runner.run(batch.command)


# -- reading it back ------------------------------------------------------------------


@dataclass
class _Output:
    found: bool = False
    complete: bool = False
    sections: dict[str, object] = field(default_factory=dict)  # parsed JSON
    errors: dict[str, str] = field(default_factory=dict)  # section -> message


def split_output(text: str) -> _Output:
    """The batch's lines by section; the marker is the one its first line names."""
    out = _Output()
    marker = None
    for line in text.splitlines():
        match = _LINE.match(line.rstrip("\r"))
        if match is None:
            continue
        mark, status, name, rest = match.groups()
        if marker is None:
            if status != "batch":
                continue
            marker, out.found = mark, True
            continue
        if mark != marker:
            continue
        if status == "end":
            out.complete = True
        elif status == "ok":
            try:
                out.sections[name] = json.loads(rest) if rest.strip() else None
            except ValueError as exc:
                out.errors[name] = f"unreadable output: not JSON: {exc}"
        elif status == "error":
            out.errors[name] = _message(rest)
    return out


def _message(text: str) -> str:
    try:
        said = json.loads(text)
    except ValueError:
        said = text
    return first_line(str(said)) or "no message"


def read_windows_batch(result: RunResult, packet: Packet, unit: str | None = None) -> HostEvidence:
    """A Windows batch's result read for one packet. A run that did not finish names
    ("batch", why) in the transport's own words, and every piece it did not reach."""
    out = split_output(result.stdout)
    if not out.found:
        said = first_line(result.stderr) or first_line(result.stdout)
        why = said or f"no output (exit {result.rc})"
        if said and result.rc not in (0, TIMED_OUT, NOT_RUN) and not said.startswith("timed out"):
            why = f"{said} (exit {result.rc})"
        return HostEvidence(init="windows", unavailable=(("batch", why),), ran=False)
    return _Reader(out, result).evidence(packet, unit)


class _Reader:
    def __init__(self, out: _Output, result: RunResult) -> None:
        self.out = out
        self.gaps: list[tuple[str, str]] = []
        if not out.complete:
            said = first_line(result.stderr) or f"exit {result.rc}"
            self.problem: str | None = said
            self.gap("batch", f"the output ends early: {said}")
        else:
            self.problem = None

    def gap(self, what: str, why: str) -> None:
        if all(name != what for name, _ in self.gaps):
            self.gaps.append((what, why))

    def section(self, name: str, what: str) -> object | None:
        """The section's JSON, or None with the gap noted."""
        if name in self.out.sections:
            return self.out.sections[name]
        why = self.out.errors.get(name)
        if why is None:
            why = f"not reached: the batch ended early ({self.problem})"
        self.gap(what, why)
        return None

    def has(self, name: str) -> bool:
        return name in self.out.sections

    def evidence(self, packet: Packet, unit: str | None) -> HostEvidence:
        listeners, owners = self.listeners()
        paths, table = self.processes()
        unit_state = self.unit(unit)
        firewall = self.firewall()
        verdicts: tuple[FirewallVerdict, ...] = ()
        if firewall is not None:
            owner_pids = [o for o, port in owners if port == packet.port]
            listening = owners_of(owner_pids, paths) if self.has("processes") else None
            verdicts = (evaluate(firewall, packet, listening),)
        for what, why in NOT_ON_WINDOWS:
            self.gap(what, why)
        if unit:
            self.gap("process ages", "the service's own processes are not read on Windows")
        admin = self.admin()
        if admin is False:
            self.gap(
                "listener processes",
                "not an administrator: other users' process paths and ages are hidden",
            )
        pids = [pid for pid, _ in owners]
        return HostEvidence(
            listeners=listeners,
            init="windows",
            unit=unit_state,
            processes=tuple(table[p] for p in dict.fromkeys(pids) if p in table),
            addresses=self.addresses(),
            privileged=admin,
            firewall=verdicts,
            firewall_effective=decisive(verdicts),
            unavailable=tuple(self.gaps),
        )

    def admin(self) -> bool | None:
        found = rows(self.out.sections.get("os"))
        value = found[0].get("Admin") if found else None
        return value if isinstance(value, bool) else None

    def listeners(self) -> tuple[tuple[Listener, ...], list[tuple[int, int]]]:
        value = self.section("listeners", "listeners")
        if value is None:
            return (), []
        names = self._process_names()
        found: list[Listener] = []
        owners: list[tuple[int, int]] = []
        try:
            for row in rows(value):
                state = row.get("State", 2)
                if state is not None and enum_name(state, _TCP_STATES) != "Listen":
                    continue
                address, port, pid = (
                    row.get("LocalAddress"),
                    row.get("LocalPort"),
                    row.get("OwningProcess"),
                )
                if not isinstance(address, str) or not isinstance(port, int):
                    continue
                processes: tuple[ProcessRef, ...] = ()
                if isinstance(pid, int) and not isinstance(pid, bool):
                    owners.append((pid, port))
                    processes = (ProcessRef(names.get(pid, "?"), pid),)
                found.append(Listener(address, port, 0, None, None, processes))
        except WindowsFirewallError as exc:
            self.gap("listeners", f"unreadable output: {exc}")
            return (), []
        return tuple(found), owners

    def _process_names(self) -> dict[int, str]:
        names: dict[int, str] = {}
        try:
            for row in rows(self.out.sections.get("processes")):
                pid, name = row.get("Id"), row.get("ProcessName")
                if isinstance(pid, int) and isinstance(name, str):
                    names[pid] = name
        except WindowsFirewallError:
            pass
        return names

    def processes(self) -> tuple[dict[int, str | None], dict[int, ProcessAge]]:
        value = self.section("processes", "listener processes")
        paths: dict[int, str | None] = {}
        table: dict[int, ProcessAge] = {}
        try:
            for row in rows(value):
                pid = row.get("Id")
                if not isinstance(pid, int):
                    continue
                path = row.get("Path")
                paths[pid] = path if isinstance(path, str) and path else None
                age = row.get("AgeS")
                name = row.get("ProcessName")
                if isinstance(age, int) and not isinstance(age, bool):
                    table[pid] = ProcessAge(pid, age, str(paths[pid] or name or ""))
        except WindowsFirewallError as exc:
            self.gap("listener processes", f"unreadable output: {exc}")
        return paths, table

    def unit(self, unit: str | None) -> UnitState | None:
        if not unit:
            return None
        value = self.section("service", "unit")
        if value is None and not self.has("service"):
            return None
        try:
            found = rows(value)
        except WindowsFirewallError as exc:
            self.gap("unit", f"unreadable output: {exc}")
            return None
        if not found:  # Get-Service knows no service of that name
            return UnitState(
                unit, load_state="not-found", active_state="inactive", sub_state="not found"
            )
        status = enum_name(found[0].get("Status"), _SERVICE_STATUS)
        if status is None:
            self.gap("unit", f"unreadable Get-Service status: {found[0].get('Status')!r}")
            return None
        return UnitState(
            unit,
            load_state="loaded",
            active_state=_ACTIVE_STATE[status],
            sub_state=status,
        )

    def firewall(self) -> WinFirewall | None:
        profiles_value = self.section("profiles", "firewall")
        rules_value = self.section("rules", "firewall")
        if profiles_value is None and not self.has("profiles"):
            return None
        if rules_value is None and not self.has("rules"):
            return None
        try:
            profiles = parse_profiles(profiles_value)
            rules = parse_rules(rules_value)
            active = parse_active(self.out.sections.get("setting"))
        except WindowsFirewallError as exc:
            self.gap("firewall", f"unreadable output: {exc}")
            return None
        if not profiles:
            self.gap("firewall", "Get-NetFirewallProfile gave no profile")
            return None
        if active is None:
            self.gap(
                "firewall profile",
                self.out.errors.get("setting", "no active profile read: every profile is tried"),
            )
        return WinFirewall(profiles, active, rules)

    def addresses(self) -> tuple[str, ...]:
        value = self.section("addresses", "host addresses")
        try:
            found = rows(value)
        except WindowsFirewallError as exc:
            self.gap("host addresses", f"unreadable output: {exc}")
            return ()
        return tuple(
            _strip_zone(a) for a in (r.get("IPAddress") for r in found) if isinstance(a, str)
        )


def _strip_zone(address: str) -> str:
    return address.partition("%")[0]
