"""The bundled runbook: it loads, validates, and keeps the triage manual's facts."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from yaml.error import Mark

from pytest_conntriage import marked_yaml
from pytest_conntriage.kinds.http import HttpKind
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.http import HTTP_MALFORMED, HTTP_STATUS, HTTP_TIMEOUT, TLS_ERROR
from pytest_conntriage.runbook import (
    BUNDLED_DIR,
    SCHEMA_PATH,
    load_entries,
    load_runbook,
    vocabulary,
)
from pytest_conntriage.runbook.load import bundled_files
from pytest_conntriage.runbook.model import Diagnostic, Platform, Runbook, Side, Step
from pytest_conntriage.runbook.template import CORE_PLACEHOLDERS
from pytest_conntriage.runbook.vocabulary import built_in
from pytest_conntriage.triage.causes.http import HttpFacts
from pytest_conntriage.triage.model import Facts

# Every outcome the built-in kinds can report: the core taxonomy and each kind's own.
OUTCOMES = built_in().outcomes

BUNDLED = Path(BUNDLED_DIR) / "tcp-connectivity.yaml"
REFERENCE = "The Triage Manual — Batch Entry: Connection refused / connection timeout"
CAUSES = [
    "service-down",
    "wrong-port-or-interface",
    "host-firewall",
    "network-acl",
    "dns-wrong-host",
    "routing",
    "backlog-full",
    "not-ready",
    "idle-drop",
]
DIAGNOSTICS = {
    "listening-sockets": (Side.TARGET, "ss -tlnp | grep {port}"),
    "raw-connect": (Side.CLIENT, "nc -zv {host} {port}"),
    "dns-lookup": (Side.CLIENT, "dig {name}"),
    "trace-path": (Side.CLIENT, "traceroute {host}"),
    "host-firewall-rules": (Side.TARGET, "iptables -L -n -v | grep {port}"),
    # journalctl where the host runs systemd, the process where it does not.
    "service-logs": (Side.TARGET, "journalctl -u {systemd_unit} --since '30 minutes ago'"),
    "service-process": (Side.TARGET, "pgrep -af -- {plain_unit}"),
}
RESOLUTION_COMMANDS = {
    "restart-service": [
        "systemctl restart -- {systemd_unit}",
        "Restart-Service -Name {windows_unit}",
        "ss -tlnp | grep {port}",
    ],
    "fix-bind-address": [
        "systemctl restart -- {systemd_unit}",
        "Restart-Service -Name {windows_unit}",
        "ss -tlnp | grep {port}",
    ],
    "allow-in-host-firewall": ["iptables -A INPUT -p tcp --dport {port} -j ACCEPT"],
    "allow-in-security-group": [],
    "fix-dns-record": ["resolvectl flush-caches", "dig {name}"],
    "raise-backlog": ["sysctl net.core.somaxconn"],
}
# Other platforms' and tools' variants, kept as data: the Windows ones are what a
# Windows (winrm) target is shown (tests/runbook/test_runbook_platforms.py).
ALTERNATIVES = {
    "Get-NetTCPConnection -State Listen -LocalPort {port} | Select-Object LocalAddress,"
    " LocalPort, OwningProcess, @{{n='Process'; e={{(Get-Process -Id"
    " $_.OwningProcess).ProcessName}}}}",
    "telnet {host} {port}",
    "nslookup {name}",
    "tracert {host}",
    "Get-NetTCPConnection -State Listen -LocalPort {port}",
    "systemd-resolve --flush-caches",
    "New-NetFirewallRule -DisplayName ('Allow TCP ' + {port}) -Direction Inbound -Protocol TCP"
    " -LocalPort {port} -Action Allow -Profile Any",
    "ipconfig /flushdns",
}


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    """The manual's entry alone (the bundled http-endpoint entry has tests of its own)."""
    return Runbook(load_entries(str(BUNDLED)))


def test_the_bundled_entries_are_the_manuals_and_the_http_kinds() -> None:
    assert [e.id for e in load_runbook([]).entries] == ["http-endpoint", "tcp-connectivity"]


def test_bundled_runbook_is_one_entry_with_the_manuals_reference(runbook: Runbook) -> None:
    [entry] = runbook.entries
    assert entry.id == "tcp-connectivity"
    assert entry.reference == REFERENCE
    assert entry.source == str(BUNDLED)
    assert "no process is listening" in entry.summary


def test_all_nine_causes_in_the_manuals_order(runbook: Runbook) -> None:
    entry = runbook.entries[0]
    assert [c.id for c in entry.causes] == CAUSES
    for cause in entry.causes:
        assert cause.title
        assert cause.detail
        assert set(cause.why) == set(cause.weights), cause.id
        assert all(0 <= w <= 100 for w in cause.weights.values())
        assert set(cause.diagnostics) <= set(entry.diagnostics)
        assert set(cause.resolutions) <= set(entry.resolutions)


def test_seven_diagnostics_with_their_side_and_linux_command(runbook: Runbook) -> None:
    found = {d.id: (d.side, d.command) for d in runbook.entries[0].diagnostics.values()}
    assert found == DIAGNOSTICS
    # dig asks the check's own resolver when there is one.
    assert runbook.entries[0].diagnostics["dns-lookup"].prefer == (
        "dig @{resolver_address} -p {resolver_port} {name}",
    )


def test_six_resolutions_with_the_manuals_commands(runbook: Runbook) -> None:
    resolutions = runbook.entries[0].resolutions
    assert set(resolutions) == set(RESOLUTION_COMMANDS)
    for rid, commands in RESOLUTION_COMMANDS.items():
        assert [s.command for s in resolutions[rid].steps if s.command] == commands, rid
    backlog = " ".join(s.text for s in resolutions["raise-backlog"].steps)
    assert "net.core.somaxconn" in backlog
    assert "Scale out" in backlog


def test_other_platforms_are_kept_as_alternatives(runbook: Runbook) -> None:
    entry = runbook.entries[0]
    holders: list[Diagnostic | Step] = [*entry.diagnostics.values()]
    holders += [s for r in entry.resolutions.values() for s in r.steps]
    commands = {a.command for h in holders for a in h.alternatives}
    assert commands >= ALTERNATIVES
    platforms = {a.platform for h in holders for a in h.alternatives}
    assert Platform.WINDOWS in platforms


def test_indicators_prevention_and_tools(runbook: Runbook) -> None:
    entry = runbook.entries[0]
    assert len(entry.indicators) == 6
    assert {i.id for i in entry.indicators if Outcome.REFUSED in i.outcomes} >= {"refused-at-once"}
    assert len(entry.prevention) == 5
    assert any("Restart=on-failure" in p for p in entry.prevention)
    assert len(entry.tools) == 9
    assert any(t.startswith("Get-NetFirewallRule") for t in entry.tools)


HTTP_ANSWERS = {
    HTTP_STATUS,
    TLS_ERROR,
    HTTP_MALFORMED,
    HTTP_TIMEOUT,
}


def test_entry_explains_every_failure_outcome_but_not_open(runbook: Runbook) -> None:
    # What an http check sees once connected is the http-endpoint entry's.
    explained = runbook.entries[0].outcomes
    failures = {o for o in OUTCOMES if not o.is_success} - {Outcome.PROBE_ERROR} - HTTP_ANSWERS
    assert explained == failures


def test_the_bundled_entries_explain_every_failure_each_once() -> None:
    entries = load_runbook([]).entries
    failures = {o for o in OUTCOMES if not o.is_success} - {Outcome.PROBE_ERROR}
    assert set().union(*(e.outcomes for e in entries)) == failures
    http = next(e for e in entries if e.id == "http-endpoint")
    assert http.outcomes == HTTP_ANSWERS


def test_bundled_file_validates_against_the_published_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    data = yaml.safe_load(BUNDLED.read_text())
    assert list(Draft202012Validator(schema).iter_errors(data)) == []


def test_schema_knows_exactly_the_outcomes_a_cause_can_name() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    names = {o.value for o in OUTCOMES} - {"resolved", "probe-error"}
    assert set(schema["$defs"]["outcome"]["enum"]) == names
    assert set(schema["$defs"]["cause"]["properties"]["outcomes"]["properties"]) == names


def test_placeholders_are_exactly_what_facts_provide() -> None:
    every = {f.name: "x" for f in dataclasses.fields(Facts) if f.name != "own"}
    found: set[str] = set()
    # A host with systemd, one without, and a Windows one.
    for systemd, platform in ((True, None), (False, None), (False, Platform.WINDOWS)):
        values = {"port": 1, "resolver": "127.0.0.1:5353", "systemd": systemd}
        full = Facts(**{**every, **values, "platform": platform})  # type: ignore[arg-type]
        found |= set(full.values())
    assert found == set(CORE_PLACEHOLDERS)


def test_a_kind_s_placeholders_are_exactly_what_its_facts_provide() -> None:
    own = HttpFacts(url="https://x.test/", ca_file="ca.pem", status=503, tls_error="self-signed")
    assert set(Facts(own=own).values()) == set(HttpKind.placeholders)
    assert set(Facts(own=own).words) == set(CORE_PLACEHOLDERS) | set(HttpKind.placeholders)
    assert set(built_in().placeholders) == set(CORE_PLACEHOLDERS) | set(HttpKind.placeholders)


def test_a_users_entry_with_the_same_id_replaces_the_bundled_one(tmp_path: Path) -> None:
    text = BUNDLED.read_text().replace(
        "title: The service is not running", "title: Our own words for a crashed service"
    )
    team = tmp_path / "team.yaml"
    team.write_text(text)
    *_, entry = load_runbook([str(team)]).entries
    assert entry.id == "tcp-connectivity"
    assert entry.source == str(team)
    assert entry.causes[0].title == "Our own words for a crashed service"


def test_the_end_to_end_override_edit_still_validates(tmp_path: Path) -> None:
    # Exactly what tests/test_plugin.py does to the bundled file: a title line inserted
    # after the line holding `id: service-down`, at that line's indent, and the next
    # line starting with `title:` (the original) dropped.
    marker = "Our team's own words for a crashed service"
    lines = BUNDLED.read_text().splitlines()
    i = next(i for i, line in enumerate(lines) if "id: service-down" in line)
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    lines.insert(i + 1, f"{indent}title: {marker!r}")
    dropped = next(j for j in range(i + 2, len(lines)) if lines[j].strip().startswith("title:"))
    assert dropped == i + 2  # the cause's own title, not a later one
    del lines[dropped]
    team = tmp_path / "team.yaml"
    team.write_text("\n".join(lines))
    *_, entry = load_runbook([str(team)]).entries
    assert entry.causes[0].title == marker
    assert [c.title for c in entry.causes[1:]] == [
        c.title for c in load_entries(str(BUNDLED))[0].causes[1:]
    ]


def test_a_new_entry_adds_to_the_bundled_ones_and_wins_its_outcomes(tmp_path: Path) -> None:
    team = tmp_path / "exposure.yaml"
    team.write_text(
        "version: 1\n"
        "entries:\n"
        "  - id: exposure\n"
        "    title: A port that must be closed is open\n"
        "    summary: Something admits traffic it should not\n"
        "    reference: Our wiki, page 12\n"
        "    causes:\n"
        "      - id: rule-too-broad\n"
        "        title: A firewall rule admits too much\n"
        "        detail: An allow rule covers {port}\n"
        "        outcomes:\n"
        "          open: {weight: 80, why: 'port {port} accepted a connection'}\n"
        "          refused: {weight: 5, why: 'never mind'}\n"
        "        diagnostics: []\n"
        "        resolutions: []\n"
        "    diagnostics: []\n"
        "    resolutions: []\n"
    )
    runbook = load_runbook([str(team)])
    assert [e.id for e in runbook.entries] == ["http-endpoint", "tcp-connectivity", "exposure"]

    def explains(outcome: Outcome) -> str | None:
        entry = runbook.entry_for(outcome)
        return entry.id if entry else None

    assert explains(Outcome.OPEN) == "exposure"
    # The later-loaded entry wins an outcome both explain.
    assert explains(Outcome.REFUSED) == "exposure"
    assert explains(Outcome.TIMEOUT) == "tcp-connectivity"
    assert explains(Outcome.PROBE_ERROR) is None


def test_replacing_moves_the_entry_last() -> None:
    [bundled] = load_entries(str(BUNDLED))
    other = dataclasses.replace(bundled, id="other")
    mine = dataclasses.replace(bundled, title="mine")
    runbook = Runbook((bundled,)).extended([other]).extended([mine])
    assert [(e.id, e.title) for e in runbook.entries] == [
        ("other", bundled.title),
        ("tcp-connectivity", "mine"),
    ]


def test_the_example_in_the_docs_is_a_valid_runbook(tmp_path: Path) -> None:
    docs = Path(__file__).parents[2] / "docs" / "runbook.md"
    blocks = docs.read_text().split("```yaml\n")[1:]
    example = next(b.split("```")[0] for b in blocks if b.startswith("version: 1"))
    path = tmp_path / "example.yaml"
    path.write_text(example)
    [entry] = load_entries(str(path))
    assert entry.id == "tcp-proxy"
    runbook = load_runbook([str(path)])
    assert runbook.entry_for(Outcome.REFUSED) is runbook.entries[-1]


def test_the_published_schema_is_the_assembly_for_the_built_in_kinds() -> None:
    # Regenerate with `python -m pytest_conntriage.runbook.vocabulary`.
    assert json.loads(SCHEMA_PATH.read_text()) == vocabulary.schema(built_in())


def _read(document: marked_yaml.Document) -> tuple[object, ...]:
    """Everything a Document says: its data, and each key's and value's line:column."""

    def marks(where: Mapping[marked_yaml.DocPath, Mark]) -> dict[object, tuple[int, int]]:
        return {path: (mark.line, mark.column) for path, mark in where.items()}

    return document.data, marks(document.values), marks(document.keys), dict(document.written)


@pytest.mark.skipif(
    getattr(marked_yaml, "CParser", None) is None, reason="PyYAML without libyaml: one parser"
)
@pytest.mark.parametrize("path", bundled_files(), ids=lambda p: Path(p).name)
def test_libyaml_reads_each_bundled_file_as_pyyaml_does(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Their block scalars would keep them on PyYAML's slower parser; they are parsed
    # with libyaml (load_entries says libyaml agrees), which this holds to.
    text = Path(path).read_text(encoding="utf-8")
    assert marked_yaml._libyaml_may_differ(text)  # else the promise is not needed
    fast = marked_yaml.load_document(text, path, libyaml_agrees=True)
    monkeypatch.setattr(marked_yaml, "CParser", None)
    pure = marked_yaml.load_document(text, path, libyaml_agrees=True)
    assert _read(fast) == _read(pure)
    assert fast.data  # not two empty documents
