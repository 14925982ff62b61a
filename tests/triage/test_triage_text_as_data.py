"""Text from hosts and inventories is data: printed verbatim, never parsed as a template.

Only the runbook's own words (and the triage rules' words) are templates. A firewall
rule's comment `deny {port} {legacy` once crashed the run, and `tcp dport { 80, 8443 }
drop` came out as `< 80, 8443 >`; these tests put braces, `<`, `%` and `$` into every
kind of host text and inventory value and read what comes out.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

import pytest

from pytest_conntriage.demo.listeners import closed_port
from pytest_conntriage.evidence.model import (
    Action,
    Backend,
    FirewallVerdict,
    HostEvidence,
    Listener,
    ProcessAge,
    ProcessRef,
    UnitState,
)
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.runbook import load_runbook
from pytest_conntriage.runbook.model import Runbook
from pytest_conntriage.triage import Finding, Template, diagnose
from pytest_conntriage.triage.findings import Target, findings, unavailable_lines
from pytest_conntriage.triage.model import Diagnosis, Facts

# Everything a template engine could trip on, balanced and not.
HOSTILE = [
    "deny {port} {legacy",
    "tcp dport { 80, 8443 } drop",
    "{}",
    "}{",
    "{{port}}",
    "<port>",
    "100% {0} %s %(port)s %%",
    "$HOME ${PORT} $(id) `id`",
    "{unit!r:>10}",
]


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    return load_runbook([])


def every_word(d: Diagnosis) -> str:
    """All text a diagnosis renders: causes, evidence, fixes, diagnostics."""
    parts: list[str] = []
    for cause in d.causes:
        parts += [cause.title, cause.detail, *cause.evidence]
        for resolution in cause.resolutions:
            parts.append(resolution.title)
            parts += [p for s in resolution.steps for p in (s.text, s.command)]
    for diagnostic in d.diagnostics:
        parts += [diagnostic.title, diagnostic.command, diagnostic.tells]
    return "\n".join(parts)


@pytest.mark.parametrize("text", HOSTILE)
def test_a_findings_text_is_printed_verbatim(runbook: Runbook, text: str) -> None:
    d = diagnose(Outcome.TIMEOUT, Facts(address="10.0.0.1", port=80), runbook, [
        Finding("host-firewall", 100, f"srv: {text}")
    ])  # fmt: skip
    assert d is not None
    assert d.top is not None
    assert d.top.evidence[-1] == f"srv: {text}"


def test_only_a_template_is_filled(runbook: Runbook) -> None:
    facts = Facts(address="10.0.0.1", port=80)
    d = diagnose(Outcome.TIMEOUT, facts, runbook, [
        Finding("host-firewall", 100, Template("port {port} is dropped")),
        Finding("host-firewall", 100, "port {port} is dropped"),
    ])  # fmt: skip
    assert d is not None
    assert d.top is not None
    assert d.top.evidence[-2:] == ("port 80 is dropped", "port {port} is dropped")


def _verdict(rule: str, action: Action = Action.DROP, **kw: object) -> FirewallVerdict:
    return FirewallVerdict(
        Backend.IPTABLES_NFT,
        action,
        rule,
        "filter",
        "INPUT",
        1,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_host_text_in_every_finding_comes_out_verbatim(runbook: Runbook, text: str) -> None:
    """Rule text and comments, journal lines, process names, the host alias, the unit."""
    alias = f"srv{text}"
    unit = f"api{text}"
    rule = f'-A INPUT -p tcp --dport 8080 -m comment --comment "{text}" -j DROP'
    elsewhere = HostEvidence(  # bound to another address; the firewall drops
        addresses=("10.0.0.1",),
        listeners=(Listener("127.0.0.1", 8080, 0, 128, processes=(ProcessRef(text, 42),)),),
        firewall_effective=_verdict(rule),
    )
    down = HostEvidence(  # nothing listens: the unit failed, its journal says why
        addresses=("10.0.0.1",),
        init="systemd",
        unit=UnitState(unit, active_state="failed", result="exit-code"),
        journal=(f"Dec 01 api[42]: bind {text}",),
        processes=(ProcessAge(42, 5, f"/usr/bin/{text} --serve"),),
    )
    wanted = {
        id(elsewhere): [
            f"{alias}: iptables-nft: drop by rule 1 of filter INPUT: {rule}",
            f"{alias}: port 8080 is bound, but not on 10.0.0.1: {text} on 127.0.0.1:8080 "
            "(ss -ltnp)",
        ],
        id(down): [
            f"{alias}: nothing listens on port 8080 (ss -ltn); unit {unit} is failed, "
            "result exit-code",
            f"{alias}: journal: Dec 01 api[42]: bind {text}",
        ],
    }
    target = Target(alias, "10.0.0.1", 8080, unit=unit)
    facts = Facts(address="10.0.0.1", port=8080, host="10.0.0.1", unit=unit)
    for host in (elsewhere, down):
        for outcome in (Outcome.TIMEOUT, Outcome.REFUSED):
            found = findings(outcome, target, host, None)
            lines = [f.evidence for f in found]
            for line in wanted[id(host)]:
                if outcome is Outcome.REFUSED and "drop by rule" in line:
                    continue  # a DROP does not refuse: shown, but as a weaker finding
                assert line in lines
            d = diagnose(outcome, facts, runbook, found)
            assert d is not None
            shown = [said for cause in d.causes for said in cause.evidence]
            for said in lines:
                assert said in shown
            every_word(d)  # renders without error


def test_an_nft_set_keeps_its_braces(runbook: Runbook) -> None:
    verdict = FirewallVerdict(
        Backend.NFTABLES, Action.DROP, "tcp dport { 80, 8443 } drop", "inet filter", "input", 3
    )
    host = HostEvidence(
        addresses=("10.0.0.1",),
        listeners=(Listener("0.0.0.0", 8443, 0, 128),),
        firewall_effective=verdict,
    )
    found = findings(Outcome.TIMEOUT, Target("web", "10.0.0.1", 8443), host, None)
    d = diagnose(Outcome.TIMEOUT, Facts(address="10.0.0.1", port=8443), runbook, found)
    assert d is not None
    assert d.top is not None
    assert d.top.evidence[-1] == (
        "web: nftables: drop by rule 3 of inet filter input: tcp dport { 80, 8443 } drop"
    )
    assert "<" not in d.top.evidence[-1]


@pytest.mark.parametrize("text", HOSTILE)
def test_evidence_gaps_are_printed_verbatim(text: str) -> None:
    host = HostEvidence(unavailable=(("listeners", f"ss: {text}"),))
    assert unavailable_lines(f"srv{text}", host, None) == (f"srv{text}: listeners: ss: {text}",)


@pytest.mark.parametrize("text", HOSTILE)
def test_inventory_values_fill_templates_as_they_are(runbook: Runbook, text: str) -> None:
    """A value goes into a template once and is never read as one: prose shows it as it
    is, commands get it shell-quoted."""
    facts = Facts(
        address="10.0.0.1",
        port=8080,
        name=f"api{text}.test",
        host=f"api{text}.test",
        unit=f"api{text}",
        service=f"svc{text}",
        resolver="127.0.0.1:5353",
    )
    d = diagnose(Outcome.REFUSED, facts, runbook)
    assert d is not None
    words = every_word(d)
    assert f"api{text}.test" in words
    commands = [dg.command for dg in d.diagnostics]
    assert f"dig @127.0.0.1 -p 5353 {shlex.quote(f'api{text}.test')}" in commands
    assert f"nc -zv {shlex.quote(f'api{text}.test')} 8080" in commands


# -- the real plugin -----------------------------------------------------------------------


def _tool(directory: Path, name: str, script: str) -> None:
    tool = directory / name
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


@pytest.mark.skipif(os.geteuid() != 0, reason="the firewall collectors need root")
def test_a_hostile_rule_comment_and_host_alias_reach_the_report_verbatim(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`local://` runs the real batch; fake iptables-save/nft on PATH (this machine's
    firewall is never touched) show a REJECT rule whose comment is full of braces."""
    # 127.0.0.2 is this host's too (all of 127/8 is): with `local://` the refusal came
    # from the target, so the path works and routing must be ruled out (issue 11.3 c).
    port = closed_port("127.0.0.2")
    comment = "deny {port} {legacy <x> 100% $HOME"
    rule = (
        f"-A INPUT -d 127.0.0.2/32 -p tcp -m tcp --dport {port} "
        f'-m comment --comment "{comment}" -j REJECT --reject-with tcp-reset'
    )
    tools = pytester.path / "tools"
    tools.mkdir()
    header = "# Generated by iptables-save v1.8.9 (nf_tables) on Tue Dec  1 23:00:00 2026\n"
    save = f"{header}*filter\n:INPUT ACCEPT [0:0]\n{rule}\nCOMMIT\n"
    _tool(tools, "iptables-save", f"printf '%s' {shlex.quote(save)}\n")
    _tool(tools, "iptables-legacy-save", "exit 0\n")
    _tool(tools, "nft", "echo '{\"nftables\": []}'\n")
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    alias = "srv{x"
    text = (
        f"version: 1\nhosts:\n  '{alias}':\n    connection: local://\n"
        "services:\n"
        f"  'api{{port}}<x>':\n    address: 127.0.0.2\n    ports: [{port}]\n"
        f"    host: '{alias}'\n"
    )
    inventory = pytester.path / "inventory.yml"
    inventory.write_text(text)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_inprocess(
        "--inventory", str(inventory), f"--junitxml={junit}", "-k", "test_tcp"
    )
    assert result.ret == 1, result.stdout.str()
    out = result.stdout.str()
    assert "INTERNALERROR" not in out
    assert f"{alias}: iptables-nft: reject with tcp-reset by rule 1 of filter INPUT: " in out
    assert comment in out
    assert "service api{port}<x>" in out
    assert junit.read_text().count("<failure") == 1
    assert "1. [confirmed] A host firewall blocks the port (host-firewall)" in out
    ruled_out = next(line for line in out.splitlines() if line.startswith("  ruled out: "))
    assert "routing" in ruled_out
