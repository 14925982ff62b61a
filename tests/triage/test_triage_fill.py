"""Filling templates: commands quote every value, prose does not, unknowns stay visible."""

from __future__ import annotations

import re
import shlex

import pytest

from pytest_conntriage.outcome import Outcome
from pytest_conntriage.runbook import load_runbook
from pytest_conntriage.runbook.model import Side
from pytest_conntriage.runbook.template import TemplateError, placeholders, render
from pytest_conntriage.runbook.vocabulary import built_in
from pytest_conntriage.triage import diagnose
from pytest_conntriage.triage.fill import command, prose
from pytest_conntriage.triage.model import Facts, split_resolver

# Every outcome the built-in kinds can report: the core taxonomy and each kind's own.
OUTCOMES = built_in().outcomes

HOSTILE = [
    "x;rm -rf /",
    "$(reboot)",
    "`id`",
    "api server",
    "api\nserver",
    "it's",
    "a|b&c>d",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_commands_quote_hostile_values(value: str) -> None:
    filled = command("systemctl restart {unit}", {"unit": value})
    assert filled == f"systemctl restart {shlex.quote(value)}"
    # The shell reads it back as exactly one argument: nothing runs, nothing splits.
    assert shlex.split(filled) == ["systemctl", "restart", value]


@pytest.mark.parametrize("value", HOSTILE)
def test_prose_keeps_values_as_they_are(value: str) -> None:
    assert prose("restart {unit} now", {"unit": value}) == f"restart {value} now"


def test_hostile_inventory_values_through_a_whole_diagnosis() -> None:
    facts = Facts(
        address="127.0.0.3",
        port=8080,
        name="x;rm -rf /",
        host="x;rm -rf /",
        unit="$(reboot)",
        resolver="127.0.0.1:5353",
    )
    d = diagnose(Outcome.REFUSED, facts, load_runbook([]))
    assert d is not None
    commands = [x.command for x in d.diagnostics]
    commands += [s.command for c in d.causes for r in c.resolutions for s in r.steps]
    assert "nc -zv 'x;rm -rf /' 8080" in commands
    assert "journalctl -u '$(reboot)' --since '30 minutes ago'" in commands
    assert "systemctl restart -- '$(reboot)'" in commands
    assert "dig @127.0.0.1 -p 5353 'x;rm -rf /'" in commands
    for line in commands:
        assert "x;rm -rf /" not in line.replace("'x;rm -rf /'", "")
        assert "$(reboot)" not in line.replace("'$(reboot)'", "")


def test_a_missing_value_never_shows_as_a_placeholder() -> None:
    # A command is printed whole or not at all; prose words what it does not know.
    assert command("journalctl -u {unit} --since '30 minutes ago'", {}) == ""
    assert command("dig {name}", {}, prefer=["dig @{resolver_address} {name}"]) == ""
    assert prose("nothing on port {port}", {}) == "nothing on port the port"


def test_without_a_unit_the_restart_step_is_worded_for_any_host() -> None:
    d = diagnose(Outcome.REFUSED, Facts(address="127.0.0.3", port=80), load_runbook([]))
    assert d is not None
    steps = d.causes[0].resolutions[0].steps
    assert [s.command for s in steps] == ["", "ss -tlnp | grep 80"]
    assert steps[0].text.startswith("Start or restart it with whatever manages it")
    assert "service-logs" not in {x.id for x in d.diagnostics}


@pytest.mark.parametrize(
    ("systemd", "restart", "logs"),
    [
        (True, "systemctl restart -- api", "journalctl -u api --since '30 minutes ago'"),
        (None, "systemctl restart -- api", "journalctl -u api --since '30 minutes ago'"),
        (False, "", "pgrep -af -- api"),
    ],
    ids=["systemd", "not-known", "no-systemd"],
)
def test_commands_fit_the_host(systemd: bool | None, restart: str, logs: str) -> None:
    facts = Facts(address="127.0.0.3", port=80, unit="api", systemd=systemd)
    d = diagnose(Outcome.REFUSED, facts, load_runbook([]))
    assert d is not None
    first = d.causes[0].resolutions[0].steps[0]
    assert first.command == restart
    if systemd is False:
        assert first.text.startswith("The host runs no systemd: restart the process of api")
        assert "log file" in first.text
    commands = [x.command for x in d.diagnostics]
    assert logs in commands
    every = [s.command for c in d.causes for r in c.resolutions for s in r.steps]
    assert any("systemctl" in c for c in every + commands) is (systemd is not False)


def test_the_dns_cache_flush_is_resolvectl_with_the_old_name_for_older_systems() -> None:
    facts = Facts(address="127.0.0.9", port=80, name="stale.test", host="stale.test")
    d = diagnose(Outcome.DNS_MISMATCH, facts, load_runbook([]))
    assert d is not None
    [flush] = [s for c in d.causes for r in c.resolutions for s in r.steps if "Flush" in s.text]
    assert flush.command == "resolvectl flush-caches"
    assert "systemd-resolve --flush-caches" in flush.text


PLACEHOLDER = re.compile(r"<[a-z_]+>|\{[a-z_]*\}")
FACT_SETS = {
    "dns": Facts(name="gone.test", host="gone.test", resolver="127.0.0.1:5353", service="api"),
    "dns-system": Facts(name="gone.test", host="gone.test", service="api"),
    "address": Facts(address="127.0.0.3", port=80, host="127.0.0.3"),
    "name": Facts(address="127.0.0.9", port=80, name="api.test", host="api.test"),
    "unit-systemd": Facts(address="127.0.0.3", port=80, host="127.0.0.3", unit="api", systemd=True),
    "unit-plain": Facts(address="127.0.0.3", port=80, host="127.0.0.3", unit="api", systemd=False),
    "unit": Facts(address="127.0.0.3", port=80, host="127.0.0.3", unit="api"),
    "icmp": Facts(
        address="10.0.2.2", port=80, host="10.0.2.2", icmp="admin-prohibited", icmp_from="10.0.1.1"
    ),
    "idle": Facts(address="127.0.0.3", port=80, host="127.0.0.3", idle="30 s"),
    "host-check": Facts(
        address="127.0.0.3", port=80, name=None, host="127.0.0.3", listen="0.0.0.0"
    ),
    "nothing": Facts(),
}


@pytest.mark.parametrize("facts", FACT_SETS.values(), ids=list(FACT_SETS))
def test_no_placeholder_reaches_any_diagnosis(facts: Facts) -> None:
    """Every outcome, every kind of check: every word a diagnosis prints is filled."""
    runbook = load_runbook([])
    for outcome in OUTCOMES:
        d = diagnose(outcome, facts, runbook)
        if d is None:
            continue
        words: list[str] = []
        for cause in d.causes:
            words += [cause.title, cause.detail, *cause.evidence]
            for r in cause.resolutions:
                words.append(r.title)
                words += [w for s in r.steps for w in (s.text, s.command)]
        words += [w for x in d.diagnostics for w in (x.title, x.command, x.tells)]
        for word in words:
            assert not PLACEHOLDER.search(word), (outcome.value, word)


def test_refused_check_is_filled_with_real_values() -> None:
    facts = Facts(address="127.0.0.3", port=8080, host="127.0.0.3", unit="api-server")
    d = diagnose(Outcome.REFUSED, facts, load_runbook([]))
    assert d is not None
    assert d.causes[0].resolutions[0].steps[0].command == "systemctl restart -- api-server"
    listed = [(x.side, x.command) for x in d.diagnostics]
    assert listed[:2] == [
        (Side.TARGET, "ss -tlnp | grep 8080"),
        (Side.CLIENT, "nc -zv 127.0.0.3 8080"),
    ]


@pytest.mark.parametrize(
    ("resolver", "expected"),
    [
        ("127.0.0.1:5353", "dig @127.0.0.1 -p 5353 api.test"),
        ("192.0.2.53", "dig @192.0.2.53 -p 53 api.test"),
        ("[::1]:5353", "dig @::1 -p 5353 api.test"),
        (None, "dig api.test"),
    ],
)
def test_dig_asks_the_checks_resolver_when_there_is_one(
    resolver: str | None, expected: str
) -> None:
    facts = Facts(name="api.test", host="api.test", resolver=resolver)
    d = diagnose(Outcome.DNS_NXDOMAIN, facts, load_runbook([]))
    assert d is not None
    assert d.diagnostics[0].command == expected


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("127.0.0.1:5353", ("127.0.0.1", "5353")),
        ("127.0.0.1", ("127.0.0.1", "53")),
        ("[2001:db8::53]:5353", ("2001:db8::53", "5353")),
        ("[2001:db8::53]", ("2001:db8::53", "53")),
        ("2001:db8::53", ("2001:db8::53", "53")),
    ],
)
def test_split_resolver(text: str, parts: tuple[str, str]) -> None:
    assert split_resolver(text) == parts


def test_prefer_falls_back_when_a_value_is_missing() -> None:
    prefer = ["dig @{resolver_address} -p {resolver_port} {name}"]
    assert command("dig {name}", {"name": "a.test"}, prefer) == "dig a.test"


def test_doubled_braces_are_literal() -> None:
    template = "Where-Object {{$_.LocalPort -eq '{port}'}}"
    assert placeholders(template) == ("port",)
    assert render(template, {"port": "80"}) == "Where-Object {$_.LocalPort -eq '80'}"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{hots}", "unknown placeholder {hots} (did you mean {host}?)"),
        ("{}", "empty placeholder {}"),
        ("{port:>5}", "placeholder {port} cannot have a format or conversion"),
        ("{port!r}", "placeholder {port} cannot have a format or conversion"),
        ("}", "bad template: Single '}' encountered in format string"),
    ],
)
def test_bad_templates(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        placeholders(template)
    assert str(caught.value).startswith(message)
