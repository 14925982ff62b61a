"""A team's plugin (tests/plugins/maintenance_flag.py) adds a cause, a collector and a
rule through hookspec.py's hooks, and the real plugin uses them: the cause is confirmed
when the flag file is on the host, ruled out when it is not, and left as the outcome
weighs it when the collector could not answer."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_conntriage.demo.listeners import closed_port
from pytest_conntriage.evidence.batch import BUILTIN_SECTIONS, Collector
from pytest_conntriage.evidence.firewall import Packet
from pytest_conntriage.evidence.runner import LocalRunner
from pytest_conntriage.evidence.target_host import gather_host, parse_batch
from pytest_conntriage.extensions import ExtensionError, gathered
from pytest_conntriage.report.properties import junit_properties
from pytest_conntriage.triage.causes import BUILTIN
from pytest_conntriage.triage.rules import CauseRules

PLUGINS = Path(__file__).parent / "plugins"
CAUSE = "host-in-maintenance"


def run_with_flag(pytester: pytest.Pytester, flag: Path, *args: str) -> dict[str, str]:
    """One refused check on this machine (its evidence gathered locally), with the
    team's plugin reading `flag`; the failing case's conntriage properties."""
    port = closed_port("127.0.0.2")
    inventory = pytester.makefile(
        ".yml",
        inventory=f"""
            version: 1
            hosts:
              box:
                connection: local://
            services:
              api:
                host: box
                address: 127.0.0.2
                ports: [{port}]
        """,
    )
    junit = pytester.path / "junit.xml"
    # The team's plugin importable, as an installed one would be: `-p` imports it by name.
    # In process: the run's output is all pytest's own (a subprocess costs ~1 s of CPU).
    with pytest.MonkeyPatch.context() as env:
        env.syspath_prepend(str(PLUGINS))
        result = _run(pytester, flag, inventory, junit, args)
    assert result.ret == 1, result.stdout.str()
    cases = junit_properties(ET.parse(junit).getroot())
    [props] = [v for k, v in cases.items() if "test_tcp[" in k]
    props["output"] = result.stdout.str()
    return props


def _run(
    pytester: pytest.Pytester, flag: Path, inventory: Path, junit: Path, args: tuple[str, ...]
) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "-p",
        "maintenance_flag",
        f"--maintenance-flag={flag}",
        "--inventory",
        str(inventory),
        f"--junitxml={junit}",
        *args,
    )


def test_the_flag_on_the_host_confirms_the_teams_cause_first(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    flag = tmp_path / "maintenance"
    flag.write_text("kernel upgrade by ops, until 14:00\n")
    props = run_with_flag(pytester, flag)
    assert props["outcome"] == "refused"
    assert props["top_cause"] == CAUSE, props["output"]
    assert "[confirmed] The host is in a maintenance window" in props["output"]
    assert (
        "box: the maintenance flag is set: kernel upgrade by ops, until 14:00" in (props["output"])
    )


def test_no_flag_rules_the_teams_cause_out(pytester: pytest.Pytester, tmp_path: Path) -> None:
    props = run_with_flag(pytester, tmp_path / "absent")
    assert props["top_cause"] == "service-down"
    assert CAUSE not in props["causes"].split(",")  # ruled out
    ruled_out = [x for x in props["output"].splitlines() if "ruled out:" in x]
    assert ruled_out
    assert all(CAUSE in line for line in ruled_out)


def test_a_collector_that_could_not_answer_leaves_the_cause_unknown(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    # A directory: `head` fails on it, the collector exits 1, its facts stay unknown.
    props = run_with_flag(pytester, tmp_path)
    assert props["top_cause"] == "service-down"
    assert CAUSE in props["causes"].split(",")  # neither confirmed nor ruled out
    assert "[possible] The host is in a maintenance window" in props["output"]
    assert "box: maintenance-flag: exit 1:" in props["output"]


def test_the_collector_gets_its_values_only_as_arguments(tmp_path: Path) -> None:
    # A path that would be code if it were ever formatted into the script.
    hostile = tmp_path / "$(touch pwned); -rf x"
    hostile.write_text("yes")
    echo = Collector("echo-args", 'printf "%s\\n" "$@"', lambda out: out.split("\n"))
    flag = Collector("flag", '[ -e "$2" ] && cat -- "$2"', str, args=(str(hostile),))
    packet = Packet(1, None, None)
    host = gather_host(LocalRunner(10.0), 1, None, None, "-.mount", False, 10.0, (echo, flag))
    assert host.collected_by("echo-args").value == ["-.mount", ""]
    assert host.collected_by("flag").value == "yes"
    assert not (tmp_path / "pwned").exists()
    assert not list(Path.cwd().glob("pwned"))
    del packet


def test_a_collector_cut_off_or_never_reached_is_unknown() -> None:
    flag = Collector("flag", "cat -- /etc/hostname", str)
    packet = Packet(1, None, None)
    cut = "@@ct-0123456789abcdef@@ batch 1\n@@ct-0123456789abcdef@@ begin flag\npartial"
    host = parse_batch(cut, packet, None, (flag,))
    assert host.collected_by("flag").why is not None
    assert parse_batch("", packet, None, (flag,)).collected_by("flag").why is not None


def test_a_rule_that_needs_a_collector_is_not_asked_without_it() -> None:
    asked: list[str] = []

    def decide(seen: object) -> tuple[()]:
        asked.append("yes")
        return ()

    from pytest_conntriage.evidence.model import HostEvidence
    from pytest_conntriage.outcome import Outcome
    from pytest_conntriage.triage.findings import Target, findings

    rule = CauseRules("team", ("x",), from_evidence=decide, needs=("flag",))
    target = Target("box", "127.0.0.2", 1)
    unread = HostEvidence(unavailable=(("flag", "timed out after 3 s"),))
    findings(Outcome.REFUSED, target, unread, None, (rule,))
    findings(Outcome.REFUSED, target, None, None, (rule,))
    assert asked == []


def test_a_rule_may_speak_only_of_the_causes_it_declares() -> None:
    from pytest_conntriage.outcome import Outcome
    from pytest_conntriage.triage.findings import Target, findings
    from pytest_conntriage.triage.rank import Finding

    rule = CauseRules("team", ("x",), from_evidence=lambda seen: [Finding("service-down", 0, "no")])
    with pytest.raises(ValueError, match="does not declare"):
        findings(Outcome.REFUSED, Target("box", "127.0.0.2", 1), None, None, (rule,))


def test_two_plugins_cannot_claim_one_cause_or_collector_name() -> None:
    mine = CauseRules("mine", ("service-down",), from_evidence=lambda seen: ())
    with pytest.raises(ExtensionError, match="decided by both"):
        gathered([], [], [BUILTIN, [mine]])
    for name in sorted(BUILTIN_SECTIONS)[:3]:
        if " " in name:
            continue
        with pytest.raises(ExtensionError, match="already taken"):
            gathered([], [[Collector(name, "true", str)]], [])


CAUSE_ID = r"""["'][a-z]+(-[a-z]+)+["']"""


def test_no_cause_id_is_written_outside_its_rule_module() -> None:
    """Every cause id the runbook knows appears as a string in its own module of
    triage/causes/ only (the runbook, the demo's expectations and the probes' own
    vocabulary aside)."""
    import re

    import pytest_conntriage
    from pytest_conntriage.runbook import load_runbook

    ids = {c.id for e in load_runbook([]).entries for c in e.causes}
    package = Path(pytest_conntriage.__file__).parent
    owners: dict[str, list[str]] = {}
    for source in package.rglob("*.py"):
        relative = source.relative_to(package).as_posix()
        if relative.startswith(("demo/", "runbook/", "probe/")):
            # The demo's expected verdicts; the runbook loader's examples; the words a
            # probe reports what it saw in (a TLS reason: "certificate-expired"), which
            # only a rule module turns into a verdict on a cause.
            continue
        text = source.read_text()
        for cause in ids:
            if re.search(rf"[\"']{re.escape(cause)}[\"']", text):
                owners.setdefault(cause, []).append(relative)
    for cause, where in owners.items():
        assert len(where) == 1, (cause, where)
        assert where[0].startswith("triage/causes/"), (cause, where)
    assert set(owners) == ids  # each is decided by a module


def test_the_runbook_example_in_the_docs_joins_the_bundled_entry(tmp_path: Path) -> None:
    import re

    from pytest_conntriage.outcome import Outcome
    from pytest_conntriage.runbook import load_runbook
    from pytest_conntriage.runbook.model import RunbookAddition

    docs = (Path(__file__).parents[1] / "docs" / "extending.md").read_text()
    [example] = re.findall(r"```yaml\n(.*?)```", docs, flags=re.DOTALL)
    path = tmp_path / "team.yaml"
    path.write_text(example)
    runbook = load_runbook([RunbookAddition(str(path), to="tcp-connectivity")])
    entry = runbook.entry_for(Outcome.REFUSED)
    assert entry is not None
    assert entry.id == "tcp-connectivity"
    assert entry.causes[-1].id == CAUSE
    assert [e.id for e in runbook.entries] == [e.id for e in load_runbook([]).entries]


def test_a_plugin_claiming_a_taken_name_stops_the_run_with_one_message(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        from pytest_conntriage.evidence.batch import Collector

        def pytest_conntriage_add_collectors(config):
            return [Collector("listeners", "true", str)]
        """
    )
    inventory = pytester.makefile(".yml", inventory="version: 1\n")
    result = pytester.runpytest_inprocess("--inventory", str(inventory))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*collector name 'listeners' is already taken*"])
