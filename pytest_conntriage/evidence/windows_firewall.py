"""Windows Firewall, evaluated for the probe's packet: its rules and profiles as the
batch reads them (`Get-NetFirewallRule` with each rule's port, address, application and
service filters, `Get-NetFirewallProfile`, `Get-NetFirewallSetting`'s active profiles,
all from the ActiveStore), and the verdict for one inbound TCP SYN.

Windows' order (docs/evidence.md, "Windows targets"): a profile whose firewall is off
lets everything in; else any enabled inbound block rule that matches beats every allow
rule; else a matching allow rule lets it in; else the profile's DefaultInboundAction
decides (NotConfigured is Block). Rules have no order among themselves: `position` is
the rule's place in the listing, to find it again. A blocked SYN is dropped silently.

Values arrive as ConvertTo-Json gives them: Windows PowerShell 5.1 writes enums as
numbers (Action 2 Allow, 4 Block), a newer one may write their names; both are read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .firewall import Decision, Packet, Question, Test, Trail, conclude, explore
from .model import Action, Backend, FirewallVerdict

TABLE = "Windows Firewall"

# NET_FW_PROFILE_TYPE2 / MSFT_NetFirewallRule.Profile: a bit mask, 0 is Any.
PROFILE_BITS = {"Domain": 1, "Private": 2, "Public": 4}
# MSFT_NetFirewallRule.Action and MSFT_NetFirewallProfile.DefaultInboundAction.
_ACTIONS = {0: "NotConfigured", 2: "Allow", 4: "Block"}
# MSFT_NetFirewallProfile.Enabled is a GpoBoolean: False 0, True 1, NotConfigured 2.
_GPO_BOOLEAN = {0: False, 1: True}
# Address keywords the filter accepts; what they cover depends on the host's network.
_ADDRESS_KEYWORDS = frozenset(
    k.lower()
    for k in (
        "LocalSubnet",
        "DNS",
        "DHCP",
        "WINS",
        "DefaultGateway",
        "Internet",
        "Intranet",
        "IntranetRemoteAccess",
        "PlayToDevice",
        "CaptivePortal",
        "Ply2Renders",
    )
)


# Port keywords with a fixed port: the RPC endpoint mapper and IP-HTTPS.
_PORT_KEYWORDS = {"rpcepmap": "135", "iphttpsin": "443", "iphttpsout": "443"}
# Where dynamic RPC ports come from unless the host was configured otherwise: Windows'
# default dynamic port range.
RPC_DYNAMIC = (49152, 65535)
_RPC_ASSUMPTION = "dynamic RPC ports are assumed to be in 49152-65535 (Windows' default)"


class WindowsFirewallError(ValueError):
    """A section that is not what the cmdlet gives (not an object, a wrong type)."""


@dataclass(frozen=True)
class WinProfile:
    """One firewall profile (Domain, Private, Public) as the ActiveStore has it."""

    name: str
    enabled: bool | None  # None: NotConfigured (the firewall is on by default)
    default_inbound: str  # "Allow", "Block", "NotConfigured" (which blocks)

    @property
    def blocks_by_default(self) -> bool:
        return self.default_inbound != "Allow"


@dataclass(frozen=True)
class WinRule:
    """An enabled inbound rule with its filters; a filter the batch did not get is None
    (then whatever depends on it is in doubt)."""

    name: str
    display_name: str
    action: str  # "Allow" / "Block"
    profiles: int  # PROFILE_BITS mask, 0 for Any
    protocol: str | None = None  # "TCP", "6", "Any", "UDP", ...
    local_ports: tuple[str, ...] | None = None  # "Any", "8080", "8000-8100", "RPC"
    remote_ports: tuple[str, ...] | None = None
    local_addresses: tuple[str, ...] | None = None  # "Any", "10.0.0.1", "10.0.0.0/24"
    remote_addresses: tuple[str, ...] | None = None
    program: str | None = None  # "Any", "System", a path
    service: str | None = None  # "Any", "*", a service name

    def applies_to(self, profile: str) -> bool:
        return self.profiles == 0 or bool(self.profiles & PROFILE_BITS.get(profile, 0))

    def text(self) -> str:
        """One line, as Windows names the rule and what it filters on."""
        words = [f"{self.action} Inbound", f'"{self.display_name}" ({self.name})']
        words.append(f"Protocol {self.protocol or '?'}")
        for label, values in (
            ("LocalPort", self.local_ports),
            ("RemotePort", self.remote_ports),
            ("LocalAddress", self.local_addresses),
            ("RemoteAddress", self.remote_addresses),
        ):
            shown = ",".join(values) if values is not None else "?"
            if shown != "Any":
                words.append(f"{label} {shown}")
        if self.program not in (None, "Any"):
            words.append(f"Program {self.program}")
        if self.service not in (None, "Any"):
            words.append(f"Service {self.service}")
        words.append(f"Profile {profile_names(self.profiles)}")
        return " ".join(words)


@dataclass(frozen=True)
class WinFirewall:
    """What the batch read of Windows Firewall."""

    profiles: tuple[WinProfile, ...]
    active: int | None  # Get-NetFirewallSetting's ActiveProfile mask; None: not read
    rules: tuple[WinRule, ...]


@dataclass(frozen=True)
class Owner:
    """The process that listens on the probe's port, for rules that name a program."""

    pid: int
    path: str | None  # None when the batch user may not read it


# -- reading the cmdlets' JSON --------------------------------------------------------


def rows(value: object) -> list[Mapping[str, object]]:
    """A section's JSON as a list of objects: ConvertTo-Json gives one object for a
    single result, nothing or null for none, and in Windows PowerShell 5.1 sometimes an
    array wrapped as {"value": [...], "Count": n}."""
    if value is None or value == "":
        return []
    if isinstance(value, Mapping) and set(value) == {"value", "Count"}:
        value = value["value"]
    items = value if isinstance(value, list) else [value]
    found: list[Mapping[str, object]] = []
    for item in items:
        if item is None:
            continue
        if not isinstance(item, Mapping):
            raise WindowsFirewallError(f"expected objects, got {type(item).__name__}")
        found.append(item)
    return found


def enum_name(value: object, names: Mapping[int, str]) -> str | None:
    """An enum as ConvertTo-Json wrote it, by its name: 2 and "Allow" are both "Allow"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return names.get(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return names.get(int(text))
        for name in names.values():
            if name.lower() == text.lower():
                return name
    return None


def profile_mask(value: object) -> int | None:
    """A profile mask from 5 or "Domain, Public" (or "Any"); None if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 7 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdigit():
        return profile_mask(int(text))
    mask = 0
    for word in filter(None, (w.strip() for w in text.split(","))):
        if word.lower() == "any":
            return 0
        bit = next((b for n, b in PROFILE_BITS.items() if n.lower() == word.lower()), None)
        if bit is None:
            return None
        mask |= bit
    return mask


def profile_names(mask: int) -> str:
    if mask == 0:
        return "Any"
    return ", ".join(name for name, bit in PROFILE_BITS.items() if mask & bit)


def _texts(value: object) -> tuple[str, ...] | None:
    """A filter's value list: "8080", ["80","443"]; None when missing."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return tuple(str(item).strip() for item in items if item is not None and str(item).strip())


def _text(value: object) -> str | None:
    return None if value is None else str(value).strip()


def parse_rules(value: object) -> tuple[WinRule, ...]:
    """The batch's `rules` section: enabled inbound rules joined with their filters.
    A rule that is not enabled, not inbound, or neither allows nor blocks is left out."""
    found: list[WinRule] = []
    for row in rows(value):
        if "Enabled" in row and enum_name(row["Enabled"], {1: "True", 2: "False"}) != "True":
            continue
        if "Direction" in row and enum_name(row["Direction"], {1: "Inbound", 2: "Outbound"}) != (
            "Inbound"
        ):
            continue
        action = enum_name(row.get("Action"), _ACTIONS)
        if action not in ("Allow", "Block"):
            continue
        mask = profile_mask(row.get("Profile", 0))
        found.append(
            WinRule(
                name=_text(row.get("Name")) or "?",
                display_name=_text(row.get("DisplayName")) or _text(row.get("Name")) or "?",
                action=action,
                profiles=0 if mask is None else mask,
                protocol=_text(row.get("Protocol")),
                local_ports=_texts(row.get("LocalPort")),
                remote_ports=_texts(row.get("RemotePort")),
                local_addresses=_texts(row.get("LocalAddress")),
                remote_addresses=_texts(row.get("RemoteAddress")),
                program=_text(row.get("Program")),
                service=_text(row.get("Service")),
            )
        )
    return tuple(found)


def parse_profiles(value: object) -> tuple[WinProfile, ...]:
    """`Get-NetFirewallProfile -PolicyStore ActiveStore` rows: Name, Enabled,
    DefaultInboundAction."""
    found: list[WinProfile] = []
    for row in rows(value):
        name = _text(row.get("Name"))
        if name not in PROFILE_BITS:
            continue
        enabled_value = row.get("Enabled")
        if isinstance(enabled_value, bool):
            enabled: bool | None = enabled_value
        else:
            named = enum_name(enabled_value, {0: "False", 1: "True", 2: "NotConfigured"})
            enabled = {"False": False, "True": True}.get(named or "")
        inbound = enum_name(row.get("DefaultInboundAction"), _ACTIONS) or "NotConfigured"
        found.append(WinProfile(name, enabled, inbound))
    return tuple(found)


def parse_active(value: object) -> int | None:
    """`Get-NetFirewallSetting -PolicyStore ActiveStore`'s ActiveProfile mask."""
    for row in rows(value):
        return profile_mask(row.get("ActiveProfile"))
    return None


# -- the packet's tests ---------------------------------------------------------------


def _port_test(values: tuple[str, ...] | None, port: int | None, what: str) -> Test:
    if values is None:
        return Test(None, f"its {what} filter was not read")
    if not values or any(v.lower() == "any" for v in values):
        return Test(True)
    if port is None:
        return Test(None, f"{what} {','.join(values)}: the client's source port is unknown")
    doubt, assumption = "", None
    for value in values:
        value = _PORT_KEYWORDS.get(value.lower(), value)
        if value.lower() == "rpc":  # dynamic RPC: the host's dynamic port range
            if RPC_DYNAMIC[0] <= port <= RPC_DYNAMIC[1]:
                doubt = doubt or f"{what} RPC: the port may be one RPC assigned"
            else:
                assumption = _RPC_ASSUMPTION
            continue
        low, _, high = value.partition("-")
        if low.isdigit() and (high.isdigit() or not high):
            if int(low) <= port <= int(high or low):
                return Test(True)
        elif not doubt:  # PlayToDiscovery, Teredo, ...: assigned on the host
            doubt = f"{what} {value} is assigned on the host, not evaluated"
    if doubt:
        return Test(None, doubt)
    return Test(False, assumption=assumption)


def _address_test(values: tuple[str, ...] | None, address: str | None, what: str) -> Test:
    if values is None:
        return Test(None, f"its {what} filter was not read")
    if not values or any(v.lower() == "any" for v in values):
        return Test(True)
    packet_ip = _ip(address)
    if packet_ip is None:
        return Test(None, f"{what} {','.join(values)}: the address is unknown")
    doubt = ""
    for value in values:
        inside = _address_in(value, packet_ip)
        if inside is True:
            return Test(True)
        if inside is None and not doubt:
            doubt = f"{what} {value} is not evaluated"
    return Test(None, doubt) if doubt else Test(False)


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((text or "").strip().strip("[]"))
    except ValueError:
        return None


def _address_in(value: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool | None:
    """Whether `ip` is in one address filter entry: an address, a subnet (prefix or
    mask), a range; None for keywords (LocalSubnet, DNS, ...) and what cannot be read."""
    if value.lower() in _ADDRESS_KEYWORDS:
        return None
    try:
        if "-" in value:
            first, last = (ipaddress.ip_address(p.strip()) for p in value.split("-", 1))
            if first.version != ip.version:
                return False
            return first <= ip <= last  # type: ignore[operator]
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    return network.version == ip.version and ip in network


def _protocol_test(protocol: str | None) -> Test:
    if protocol is None:
        return Test(None, "its port filter was not read")
    return Test(protocol.strip().lower() in ("tcp", "6", "any", ""))


def _program_test(program: str | None, owners: tuple[Owner, ...] | None) -> Test:
    """A rule for one program matches only that program's sockets: the listener's."""
    if program is None:
        return Test(None, "its application filter was not read")
    if program.lower() == "any":
        return Test(True)
    if owners is None or not owners:
        return Test(None, f"Program {program}: the listening process is unknown")
    if program.lower() == "system":
        return Test(any(o.pid == 4 for o in owners))
    paths = [o.path for o in owners]
    if any(p is not None and p.lower() == program.lower() for p in paths):
        return Test(True)
    if "%" in program or any(p is None for p in paths):
        return Test(None, f"Program {program}: not compared with the listener's path")
    return Test(False)


def _service_test(service: str | None) -> Test:
    if service is None:
        return Test(None, "its service filter was not read")
    if service.lower() == "any":
        return Test(True)
    return Test(None, f"Service {service}: which service owns the socket is not read")


def rule_tests(rule: WinRule, packet: Packet, owners: tuple[Owner, ...] | None) -> list[Test]:
    """Each of the rule's conditions for the packet."""
    return [
        _protocol_test(rule.protocol),
        _port_test(rule.local_ports, packet.port, "LocalPort"),
        _port_test(rule.remote_ports, None, "RemotePort"),
        _address_test(rule.local_addresses, packet.destination, "LocalAddress"),
        _address_test(rule.remote_addresses, packet.source, "RemoteAddress"),
        _program_test(rule.program, owners),
        _service_test(rule.service),
    ]


# -- the verdict ----------------------------------------------------------------------


def evaluate(
    firewall: WinFirewall, packet: Packet, owners: tuple[Owner, ...] | None = None
) -> FirewallVerdict:
    """What Windows Firewall does with the probe's SYN, and the rule or profile setting
    that decides. `owners` are the processes listening on the port (None: not read).

    The profile that applies is the one of the interface the SYN comes in on, which is
    unknown: with one active profile that one; with several, each is tried, and the
    verdict is only as certain as they agree."""
    loaded = bool(firewall.rules) or any(p.enabled is not False for p in firewall.profiles)

    def walk(trail: Trail) -> Decision:
        if packet.from_loopback:
            trail.assume("loopback traffic is assumed not to be filtered by Windows Firewall")
            return Decision(Action.ACCEPT, "loopback traffic", TABLE, "loopback", None)
        candidates = _candidate_profiles(firewall)
        if not candidates:
            question = Question("Get-NetFirewallProfile", "no profile was read", TABLE, "", None)
            trail.choose(question, 1)
            return Decision(Action.UNDECIDABLE, "no profile was read", TABLE, "", None)
        profile = candidates[0]
        if len(candidates) > 1:
            names = "/".join(p.name for p in candidates)
            question = Question(
                f"active profiles {names}",
                "which interface (and so which profile) the SYN arrives on is unknown",
                TABLE,
                "profiles",
                None,
            )
            profile = candidates[trail.choose(question, len(candidates))]
        return _walk_profile(firewall, profile, packet, owners, trail)

    return explore(walk, Backend.WINDOWS_FIREWALL, loaded)


def _candidate_profiles(firewall: WinFirewall) -> list[WinProfile]:
    known = {p.name: p for p in firewall.profiles}
    if firewall.active:
        active = [
            known[n] for n, bit in PROFILE_BITS.items() if firewall.active & bit and n in known
        ]
        if active:
            return active
    return list(firewall.profiles)


def _walk_profile(
    firewall: WinFirewall,
    profile: WinProfile,
    packet: Packet,
    owners: tuple[Owner, ...] | None,
    trail: Trail,
) -> Decision:
    if profile.enabled is False:
        off = f"{profile.name} profile: Enabled False (the firewall is off)"
        return Decision(Action.ACCEPT, off, TABLE, profile.name, None)
    numbered = list(enumerate(firewall.rules, start=1))
    for wanted in ("Block", "Allow"):  # every block rule before any allow rule
        for position, rule in numbered:
            if rule.action != wanted or not rule.applies_to(profile.name):
                continue
            question = Question(rule.text(), "", TABLE, profile.name, position)
            if conclude(rule_tests(rule, packet, owners), question, trail):
                action = Action.DROP if wanted == "Block" else Action.ACCEPT
                return Decision(action, rule.text(), TABLE, profile.name, position)
    action = Action.DROP if profile.blocks_by_default else Action.ACCEPT
    setting = f"{profile.name} profile: DefaultInboundAction {profile.default_inbound}"
    return Decision(action, setting, TABLE, profile.name, None)


def owners_of(pids: Iterable[int], paths: Mapping[int, str | None]) -> tuple[Owner, ...]:
    """The listening processes, with their paths where the batch could read them."""
    return tuple(Owner(pid, paths.get(pid)) for pid in dict.fromkeys(pids))
