"""The runbook's commands chosen for the target's platform: a winrm (Windows) host gets
the Windows forms, with values as PowerShell literals, and never a Linux command."""

from __future__ import annotations

import re
import shlex
from dataclasses import replace

import pytest

from pytest_conntriage.outcome import Outcome
from pytest_conntriage.powershell import literal
from pytest_conntriage.runbook.load import load_runbook
from pytest_conntriage.runbook.model import (
    Alternative,
    Platform,
    Resolution,
    RunbookEntry,
    Side,
    Step,
)
from pytest_conntriage.runbook.platforms import forms
from pytest_conntriage.triage import fill
from pytest_conntriage.triage.causes.http import HttpFacts
from pytest_conntriage.triage.model import Diagnosis, Facts

LINUX_TOOLS = re.compile(r"^(ss|iptables|nft|journalctl|systemctl|sysctl|pgrep)\b")
WINDOWS_TOOLS = re.compile(r"^(Get-|New-|Restart-|Set-)")
HOSTILE_UNIT = "Contoso'Api\u2019; Stop-Computer; $(whoami)"

ALTERNATIVES = (
    Alternative(Platform.LINUX, "nft list ruleset"),
    Alternative(Platform.WINDOWS, "Get-NetFirewallRule {port}"),
    Alternative(Platform.ANY, "telnet {host} {port}"),
)


def test_a_windows_target_gets_only_its_windows_forms() -> None:
    templates, quote = forms(
        "iptables -L", ("iptables -S",), ALTERNATIVES, Side.TARGET, Platform.WINDOWS
    )
    assert templates == ("Get-NetFirewallRule {port}",)
    assert quote is literal
    # A Windows-only step's own command comes first.
    own, _ = forms(
        "Restart-Service", (), ALTERNATIVES, Side.TARGET, Platform.WINDOWS, Platform.WINDOWS
    )
    assert own == ("Restart-Service", "Get-NetFirewallRule {port}")
    # No Windows form: nothing to offer there.
    assert forms("ss -tlnp", (), (), Side.TARGET, Platform.WINDOWS)[0] == ()


@pytest.mark.parametrize("platform", [None, Platform.LINUX])
def test_linux_or_unknown_targets_get_the_main_command(platform: Platform | None) -> None:
    templates, quote = forms("iptables -L", ("iptables -S",), ALTERNATIVES, Side.TARGET, platform)
    assert templates == ("iptables -S", "iptables -L")
    assert quote is shlex.quote
    windows_only = forms("Restart-Service", (), (), Side.TARGET, platform, Platform.WINDOWS)
    assert windows_only[0] == ()


def test_the_client_runs_here_whatever_the_target() -> None:
    templates, quote = forms("dig {name}", (), ALTERNATIVES, Side.CLIENT, Platform.WINDOWS)
    assert templates == ("dig {name}",)
    assert quote is shlex.quote


def test_steps_for_one_platform_and_their_quoting() -> None:
    restart = Resolution(
        "restart",
        "Restart",
        (
            Step("Restart {systemd_unit}", "systemctl restart -- {systemd_unit}"),
            Step(
                "Restart {windows_unit}",
                "Restart-Service -Name {windows_unit}",
                platform=Platform.WINDOWS,
            ),
            Step("Read sysctl", "sysctl net.core.somaxconn", platform=Platform.LINUX),
            Step("Look at {port}", "ss -tlnp | grep {port}", alternatives=ALTERNATIVES),
        ),
    )
    windows = Facts(port=8080, unit=HOSTILE_UNIT, platform=Platform.WINDOWS)
    filled = fill.resolution(restart, windows.values(), platform=Platform.WINDOWS)
    assert [(s.text, s.command) for s in filled.steps] == [
        (f"Restart {HOSTILE_UNIT}", f"Restart-Service -Name {literal(HOSTILE_UNIT)}"),
        ("Look at 8080", "Get-NetFirewallRule '8080'"),
    ]
    assert "'Contoso''Api\u2019\u2019; Stop-Computer; $(whoami)'" in filled.steps[0].command
    linux = Facts(port=8080, unit="app", systemd=True)
    filled = fill.resolution(restart, linux.values())
    assert [s.command for s in filled.steps] == [
        "systemctl restart -- app",
        "sysctl net.core.somaxconn",
        "ss -tlnp | grep 8080",
    ]


def test_the_unit_of_a_windows_host_is_its_service() -> None:
    values = Facts(unit="W3SVC", systemd=False, platform=Platform.WINDOWS).values()
    assert values["windows_unit"] == "W3SVC"
    assert "systemd_unit" not in values
    assert "plain_unit" not in values
    assert "windows_unit" not in Facts(unit="nginx").values()


def entry(entry_id: str) -> RunbookEntry:
    return next(e for e in load_runbook([]).entries if e.id == entry_id)


@pytest.mark.parametrize("entry_id", ["tcp-connectivity", "http-endpoint"])
def test_the_bundled_runbook_on_a_windows_host(entry_id: str) -> None:
    """Every target command a Windows host is shown is a Windows one (values as
    PowerShell literals), and a Linux host is shown none of them."""
    found = entry(entry_id)
    facts = Facts(
        address="10.0.0.5",
        port=8080,
        host="web-1",
        name="api.example.com",
        unit=HOSTILE_UNIT,
        own=HttpFacts("https://api.example.com:8080/"),
    )
    windows = replace(facts, systemd=False, platform=Platform.WINDOWS)
    linux = replace(facts, systemd=True)
    shown: dict[str, list[str]] = {"windows": [], "linux": []}
    for label, case in (("windows", windows), ("linux", linux)):
        for diagnostic in found.diagnostics.values():
            filled = fill.diagnostic(diagnostic, case.values(), platform=case.platform)
            if filled is not None and diagnostic.side is Side.TARGET:
                shown[label].append(filled.command)
        for resolution in found.resolutions.values():
            for s, step in zip(
                fill.resolution(resolution, case.values(), platform=case.platform).steps,
                (s for s in resolution.steps if _applies(s, case)),
                strict=True,
            ):
                if s.command and step.side is Side.TARGET:
                    shown[label].append(s.command)
    assert shown["windows"]
    assert shown["linux"]
    for command in shown["windows"]:
        assert WINDOWS_TOOLS.match(command), command
        assert not LINUX_TOOLS.match(command), command
        if "Contoso" in command:
            assert literal(HOSTILE_UNIT) in command
    for command in shown["linux"]:
        assert not WINDOWS_TOOLS.match(command), command


def _applies(step: Step, facts: Facts) -> bool:
    return fill.step(step, facts.values(), platform=facts.platform) is not None


def test_a_diagnosis_fills_its_commands_for_the_host() -> None:
    found = entry("tcp-connectivity")
    facts = Facts(address="10.0.0.5", port=8080, unit="svc", platform=Platform.WINDOWS)
    diagnosis = Diagnosis(Outcome.REFUSED, found, (), ("listening-sockets",), facts)
    (listening,) = diagnosis.diagnostics
    assert listening.command.startswith("Get-NetTCPConnection -State Listen -LocalPort '8080'")
    restart = next(r for r in found.resolutions.values() if r.id == "restart-service")
    assert "restart-service" in found.resolutions
    filled = fill.resolution(restart, facts.values(), platform=facts.platform)
    assert filled.steps[0].command == "Restart-Service -Name 'svc'"
