"""The Windows evidence path on output written from the cmdlets' documented shapes
(tests/evidence/data/windows/, see docs/evidence.md "Windows targets"): there is no
Windows host here, so nothing in this file ran on one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_conntriage.evidence import Action, Backend, HostEvidence, Packet
from pytest_conntriage.evidence.runner import NOT_RUN, RunResult
from pytest_conntriage.evidence.windows_batch import read_windows_batch
from pytest_conntriage.evidence.windows_firewall import (
    Owner,
    WindowsFirewallError,
    WinFirewall,
    WinProfile,
    WinRule,
    evaluate,
    parse_profiles,
    parse_rules,
    profile_mask,
    rows,
)
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.triage.known import Fact, HostFacts, Knowledge

DATA = Path(__file__).parent / "data" / "windows"
SERVER_2019 = (DATA / "server2019.txt").read_text()
SERVER_2022 = (DATA / "server2022.txt").read_text()


def read(text: str, port: int, source: str | None, unit: str | None = "ContosoApi") -> HostEvidence:
    packet = Packet(port, source, "10.20.30.40")
    return read_windows_batch(RunResult(0, text, ""), packet, unit)


def with_section(text: str, name: str, line: str | None) -> str:
    """The batch output with section `name` replaced by `line` (None: removed)."""
    pattern = re.compile(rf"^(@@ct-[0-9a-f]+@@) (?:ok|error) {name} .*$", re.MULTILINE)
    assert pattern.search(text), name
    if line is None:
        return pattern.sub("", text)
    return pattern.sub(lambda m: f"{m.group(1)} {line}", text)


# -- the sections read into HostEvidence ------------------------------------------------


def test_server_2019_listeners_processes_service_and_addresses() -> None:
    host = read(SERVER_2019, 8080, "10.20.30.1")
    assert host.ran
    assert host.init == "windows"
    assert host.privileged is True
    on_8080 = host.listeners_on(8080)
    assert [(x.address, x.processes[0].name, x.processes[0].pid) for x in on_8080] == [
        ("0.0.0.0", "ContosoApi", 3120)
    ]
    assert on_8080[0].wildcard
    assert {x.port for x in host.listeners} == {5985, 445, 3389, 8443, 8080, 135, 139}
    # Ages of the listeners' owners; System (pid 4) has none the batch user may read.
    ages = {p.pid: p.age_s for p in host.processes}
    assert ages[3120] == 42
    assert 4 not in ages
    assert host.unit is not None
    assert (host.unit.load_state, host.unit.active_state, host.unit.sub_state) == (
        "loaded",
        "active",
        "Running",
    )
    assert host.addresses == ("fe80::1c2b:3a4d:5e6f:7a8b", "::1", "10.20.30.40", "127.0.0.1")


def test_what_windows_does_not_give_is_unknown_not_absent() -> None:
    facts = HostFacts(read(SERVER_2019, 8080, "10.20.30.1"))
    assert facts.state(Fact.JOURNAL) is Knowledge.UNKNOWN
    assert facts.state(Fact.PROCESSES) is Knowledge.UNKNOWN  # the service's own processes
    assert facts.state(Fact.LISTENERS) is Knowledge.PRESENT
    assert facts.state(Fact.UNIT) is Knowledge.PRESENT
    gaps = dict(facts.host.unavailable)
    assert "not gathered on Windows" in gaps["listen counters"]


def test_server_2022_stopped_service_and_non_ascii_text() -> None:
    host = read(SERVER_2022, 9090, "192.168.10.20")
    assert host.unit is not None
    assert host.unit.active_state == "inactive"
    assert host.unit.sub_state == "Stopped"
    owner = host.listeners_on(9090)[0].processes[0]
    assert owner.name == "\u00dcberwachung"
    commands = {p.pid: p.command for p in host.processes}
    assert commands[5230] == "C:\\Program Files\\\u00dcberwachung\\agent.exe"


def test_a_service_get_service_does_not_know_is_not_found() -> None:
    text = with_section(SERVER_2019, "service", "ok service []")
    host = read(text, 8080, "10.20.30.1", unit="nosuch")
    assert host.unit is not None
    assert (host.unit.load_state, host.unit.active_state) == ("not-found", "inactive")


def test_a_cmdlet_that_failed_is_a_gap_in_its_own_words() -> None:
    denied = 'error profiles "Access is denied.\\r\\nHRESULT 0x80070005"'
    host = read(with_section(SERVER_2019, "profiles", denied), 8080, "10.20.30.1")
    assert host.why_unavailable("firewall") == "Access is denied."
    assert host.firewall_effective is None
    assert HostFacts(host).state(Fact.FIREWALL) is Knowledge.UNKNOWN
    assert host.listeners  # the rest was read


def test_unreadable_json_is_a_gap() -> None:
    host = read(with_section(SERVER_2019, "listeners", "ok listeners [{"), 8080, None)
    assert (host.why_unavailable("listeners") or "").startswith("unreadable output: not JSON")
    assert HostFacts(host).state(Fact.LISTENERS) is Knowledge.UNKNOWN


def test_a_batch_cut_off_names_what_it_never_reached() -> None:
    cut = SERVER_2019.split("ok service")[0].rsplit("\n", 1)[0]
    host = read_windows_batch(
        RunResult(-1, cut, "timed out after 20 s"), Packet(8080, None, None), "ContosoApi"
    )
    assert host.ran
    assert host.why_unavailable("batch") == "the output ends early: timed out after 20 s"
    assert (
        host.why_unavailable("unit") == "not reached: the batch ended early (timed out after 20 s)"
    )
    assert HostFacts(host).state(Fact.UNIT) is Knowledge.UNKNOWN
    assert host.listeners  # what came back is kept


def test_no_output_at_all_is_no_evidence() -> None:
    host = read_windows_batch(
        RunResult(NOT_RUN, "", "ConnectionError: HTTPSConnectionPool(host='w', port=5986)"),
        Packet(8080, None, None),
    )
    assert not host.ran
    assert host.why_unavailable("listeners") == (
        "ConnectionError: HTTPSConnectionPool(host='w', port=5986)"
    )
    assert HostFacts(host).state(Fact.LISTENERS) is Knowledge.UNKNOWN


def test_lines_under_another_marker_are_not_the_batch() -> None:
    forged = SERVER_2019.replace(
        "@@ct-0123456789abcdef@@ end",
        "@@ct-ffffffffffffffff@@ ok listeners []\r\n@@ct-0123456789abcdef@@ end",
    )
    assert len(read(forged, 8080, None).listeners) == 7


# -- the firewall: Windows' order -------------------------------------------------------


def verdict(text: str, port: int, source: str | None) -> tuple[Action, str, int | None]:
    found = read(text, port, source).firewall_effective
    assert found is not None
    assert found.backend is Backend.WINDOWS_FIREWALL
    return found.action, found.rule, found.position


def test_an_allow_rule_lets_the_port_in() -> None:
    action, rule, position = verdict(SERVER_2019, 8080, "10.20.30.1")
    assert action is Action.ACCEPT
    assert position == 6
    assert rule.startswith('Allow Inbound "Contoso API (TCP 8080)"')


def test_a_block_rule_beats_an_allow_rule() -> None:
    action, rule, _ = verdict(SERVER_2019, 8443, "10.99.1.2")
    assert action is Action.DROP
    assert "Block partners' 8443 & <legacy>" in rule  # 5.1's \u0027, \u0026, \u003c read back
    host = read(SERVER_2019, 8443, "10.99.1.2")
    assert host.firewall_effective is not None
    assert host.firewall_effective.client_sees is Outcome.TIMEOUT  # dropped silently
    assert "rule 7 of Windows Firewall Domain" in host.firewall_effective.describe()


def test_the_block_rule_spares_other_remote_addresses() -> None:
    # nginx's own allow rule: its program is the listener's path.
    action, rule, _ = verdict(SERVER_2019, 8443, "10.20.30.1")
    assert action is Action.ACCEPT
    assert '"nginx 8443"' in rule


def test_port_ranges_and_remote_address_ranges() -> None:
    assert verdict(SERVER_2019, 9050, "192.0.2.15")[0] is Action.DROP
    assert verdict(SERVER_2019, 9050, "192.0.2.21")[0] is Action.DROP  # the default, below


def test_no_rule_leaves_the_profiles_default() -> None:
    action, rule, position = verdict(SERVER_2019, 9050, "10.20.30.1")
    assert (action, rule, position) == (
        Action.DROP,
        "Domain profile: DefaultInboundAction NotConfigured",
        None,
    )


def test_a_rule_for_the_system_process() -> None:
    # WinRM's listener is http.sys: pid 4, the rule's Program "System".
    assert verdict(SERVER_2019, 5985, "10.20.30.1")[0] is Action.ACCEPT


def test_dynamic_ports_and_unknown_addresses_are_in_doubt() -> None:
    host = read(SERVER_2019, 135, "10.20.30.1")
    found = host.firewall_effective
    assert found is not None
    assert found.action is Action.UNDECIDABLE
    assert set(found.possible) == {Action.ACCEPT, Action.DROP}
    assert HostFacts(host).state(Fact.FIREWALL) is Knowledge.UNKNOWN
    # Without the client's address the block rule's RemoteAddress cannot be told.
    unknown = read(SERVER_2019, 8443, None).firewall_effective
    assert unknown is not None
    assert unknown.action is Action.UNDECIDABLE
    assert "Block partners" in unknown.rule


def test_loopback_is_not_filtered() -> None:
    found = read(SERVER_2019, 9050, "127.0.0.1").firewall_effective
    assert found is not None
    assert found.action is Action.ACCEPT
    assert any("loopback" in a for a in found.assumptions)


def test_two_active_profiles_that_disagree_leave_it_open() -> None:
    # Server 2022: Private (firewall off) and Public (block by default) are both active.
    found = read(SERVER_2022, 9090, "192.168.10.20").firewall_effective
    assert found is not None
    assert found.action is Action.UNDECIDABLE
    assert set(found.possible) == {Action.ACCEPT, Action.DROP}
    assert "active profiles Private/Public" in found.rule


def test_one_active_profile_decides() -> None:
    public = with_section(SERVER_2022, "setting", 'ok setting [{"ActiveProfile":4}]')
    action, rule, _ = verdict(public, 9090, "192.168.10.20")
    assert (action, rule) == (Action.DROP, "Public profile: DefaultInboundAction Block")
    blocked = verdict(public, 5985, "172.16.9.9")
    assert blocked[0] is Action.DROP
    assert "Block admin ports from the DMZ" in blocked[1]
    private = with_section(SERVER_2022, "setting", 'ok setting [{"ActiveProfile":2}]')
    action, rule, _ = verdict(private, 9090, "192.168.10.20")
    assert (action, rule) == (Action.ACCEPT, "Private profile: Enabled False (the firewall is off)")


def test_no_active_profile_read_tries_every_profile() -> None:
    text = with_section(SERVER_2022, "setting", 'error setting "Access is denied."')
    host = read(text, 9090, "192.168.10.20")
    assert host.why_unavailable("firewall profile") == "Access is denied."
    assert host.firewall_effective is not None
    assert host.firewall_effective.action is Action.UNDECIDABLE


# -- the evaluator on its own -----------------------------------------------------------

PUBLIC_BLOCK = (WinProfile("Public", True, "Block"),)


def rule(**fields: object) -> WinRule:
    base: dict[str, object] = {
        "name": "r",
        "display_name": "r",
        "action": "Allow",
        "profiles": 0,
        "protocol": "TCP",
        "local_ports": ("Any",),
        "remote_ports": ("Any",),
        "local_addresses": ("Any",),
        "remote_addresses": ("Any",),
        "program": "Any",
        "service": "Any",
    }
    base.update(fields)
    return WinRule(**base)  # type: ignore[arg-type]


def decide(*rules: WinRule, source: str | None = "10.0.0.9", **kw: object) -> Action:
    firewall = WinFirewall(PUBLIC_BLOCK, 4, rules)
    owners = kw.get("owners")
    assert owners is None or isinstance(owners, tuple)
    return evaluate(firewall, Packet(8080, source, "10.0.0.1"), owners).action


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, Action.ACCEPT),
        ({"protocol": "Any"}, Action.ACCEPT),
        ({"protocol": "6"}, Action.ACCEPT),
        ({"protocol": "UDP"}, Action.DROP),
        ({"local_ports": ("80", "8000-8100")}, Action.ACCEPT),
        ({"local_ports": ("8081-9000",)}, Action.DROP),
        ({"remote_addresses": ("10.0.0.0/255.255.255.0",)}, Action.ACCEPT),
        ({"remote_addresses": ("10.0.0.0/29",)}, Action.DROP),
        ({"remote_addresses": ("fe80::/64",)}, Action.DROP),  # another family
        ({"local_addresses": ("10.0.0.1",)}, Action.ACCEPT),
        ({"profiles": 3}, Action.DROP),  # Domain, Private: not the active Public
        ({"profiles": 4}, Action.ACCEPT),
        ({"remote_ports": ("1024-65535",)}, Action.UNDECIDABLE),  # the source port
        ({"remote_addresses": ("LocalSubnet",)}, Action.UNDECIDABLE),
        ({"local_ports": None}, Action.UNDECIDABLE),  # its port filter was not read
        ({"service": "W3SVC"}, Action.UNDECIDABLE),
        ({"local_ports": ("RPCEPMap",)}, Action.DROP),  # that is 135
        ({"local_ports": ("RPC",)}, Action.DROP),  # 8080 is below the dynamic range
    ],
)
def test_an_allow_rules_conditions(fields: dict[str, object], expected: Action) -> None:
    assert decide(rule(**fields)) is expected


def test_a_program_rule_is_the_listeners() -> None:
    app = rule(program="C:\\App\\app.exe")
    assert decide(app, owners=(Owner(7, "c:\\app\\APP.exe"),)) is Action.ACCEPT
    assert decide(app, owners=(Owner(7, "C:\\Other\\other.exe"),)) is Action.DROP
    assert decide(app, owners=(Owner(7, None),)) is Action.UNDECIDABLE  # path hidden
    assert decide(app, owners=None) is Action.UNDECIDABLE
    assert decide(rule(program="%ProgramFiles%\\app.exe"), owners=(Owner(7, "C:\\x"),)) is (
        Action.UNDECIDABLE
    )


def test_dynamic_rpc_ports() -> None:
    firewall = WinFirewall(PUBLIC_BLOCK, 4, (rule(local_ports=("RPC",)),))
    high = evaluate(firewall, Packet(50000, "10.0.0.9", "10.0.0.1"))
    assert high.action is Action.UNDECIDABLE
    low = evaluate(firewall, Packet(8080, "10.0.0.9", "10.0.0.1"))
    assert low.action is Action.DROP
    assert low.assumptions == (
        "dynamic RPC ports are assumed to be in 49152-65535 (Windows' default)",
    )


def test_block_wins_whatever_the_listing_order() -> None:
    allow, block = rule(), rule(action="Block", local_ports=("8080",))
    assert decide(allow, block) is Action.DROP
    assert decide(block, allow) is Action.DROP
    # A block rule in doubt cannot be outweighed by an allow rule.
    assert decide(allow, rule(action="Block", remote_addresses=("DNS",))) is Action.UNDECIDABLE


def test_profile_settings() -> None:
    packet = Packet(8080, "10.0.0.9", "10.0.0.1")
    open_ = WinFirewall((WinProfile("Public", True, "Allow"),), 4, ())
    assert evaluate(open_, packet).action is Action.ACCEPT
    default = WinFirewall((WinProfile("Public", None, "NotConfigured"),), 4, ())
    assert evaluate(default, packet).action is Action.DROP  # on, blocking, by default
    off = WinFirewall((WinProfile("Public", False, "Block"),), 4, (rule(action="Block"),))
    assert evaluate(off, packet).action is Action.ACCEPT


# -- reading the JSON: both serializations ----------------------------------------------


def test_enums_as_names_read_as_numbers() -> None:
    # The shape PowerShell 7's ConvertTo-Json -EnumsAsStrings would give.
    named = {
        "Name": "n",
        "DisplayName": "d",
        "Action": "Block",
        "Profile": "Domain, Public",
        "Enabled": "True",
        "Direction": "Inbound",
        "Protocol": "TCP",
        "LocalPort": ["80", "443"],
    }
    numbered = {**named, "Action": 4, "Profile": 5, "Enabled": 1, "Direction": 1}
    assert parse_rules([named]) == parse_rules([numbered])
    found = parse_rules(named)[0]  # one object: ConvertTo-Json of a single result
    assert (found.action, found.profiles, found.local_ports) == ("Block", 5, ("80", "443"))
    assert parse_rules([{**named, "Enabled": 2}]) == ()
    assert parse_rules([{**named, "Direction": "Outbound"}]) == ()
    assert parse_rules([{**named, "Action": 0}]) == ()  # NotConfigured: neither
    assert profile_mask("Any") == 0
    assert profile_mask("Nope") is None
    assert profile_mask(9) is None
    profiles = parse_profiles(
        [{"Name": "Public", "Enabled": "True", "DefaultInboundAction": "Block"}]
    )
    assert profiles == (WinProfile("Public", True, "Block"),)


def test_rows_of_every_shape() -> None:
    assert rows(None) == []
    assert rows("") == []
    assert rows([]) == []
    assert rows({"a": 1}) == [{"a": 1}]
    assert rows({"value": [{"a": 1}], "Count": 1}) == [{"a": 1}]  # 5.1's wrapped array
    with pytest.raises(WindowsFirewallError):
        rows([1, 2])
