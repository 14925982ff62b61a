"""The real plugin, run as a user runs it: `pytest --inventory FILE` in a subprocess."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_conntriage.demo.dnsserver import LoopbackDnsServer
from pytest_conntriage.demo.listeners import FullQueueListener, OpenListener, closed_port
from pytest_conntriage.probe.limits import RESERVED_FDS
from pytest_conntriage.report.properties import junit_properties


@pytest.fixture
def services(dns_server: LoopbackDnsServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Open, wrong-interface and full-queue services; their ports in the environment."""
    with (
        OpenListener("127.0.0.2") as web,
        OpenListener("127.0.0.2") as api,
        FullQueueListener("127.0.0.4") as queue,
    ):
        monkeypatch.setenv("DNS", f"127.0.0.1:{dns_server.port}")
        monkeypatch.setenv("WEB_PORT", str(web.port))
        monkeypatch.setenv("API_PORT", str(api.port))
        monkeypatch.setenv("QUEUE_PORT", str(queue.port))
        monkeypatch.setenv("CLOSED_PORT", str(closed_port("127.0.0.2")))
        yield


class PendingListener:
    """A listener that never accepts: each probe that reached it stays in its queue.

    Counting what is queued tells exactly how many handshakes completed, which is how
    the tests prove that a run probed an endpoint once, or not at all.
    """

    def __init__(self, address: str, backlog: int = 128) -> None:
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen(backlog)
        self.address = address
        self.port: int = self.sock.getsockname()[1]

    def handshakes(self) -> int:
        self.sock.setblocking(False)
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def pending_listener() -> Iterator[PendingListener]:
    listener = PendingListener("127.0.0.7")
    try:
        yield listener
    finally:
        listener.close()


INVENTORY = """\
version: 1
defaults:
  timeout: 500ms
  resolvers: ["${DNS}"]
services:
  web:
    address: api.test
    ports: [${WEB_PORT}]
    dns:
      expect: [127.0.0.2]
    tags: [payments]
  api:
    address: 127.0.0.3
    ports: [${API_PORT}]
    unit: api-server
  queue:
    address: 127.0.0.4
    ports: [${QUEUE_PORT}]
  billing:
    address: stale.test
    ports: [${WEB_PORT}]
    dns:
      expect: [127.0.0.2]
  legacy:
    address: gone.test
    ports: [80]
  broken:
    address: broken.test
    ports: [80]
  silent:
    address: silent.test
    ports: [80]
closed:
  - address: 127.0.0.2
    ports: [${CLOSED_PORT}, ${WEB_PORT}]
"""

EXPECTED_OUTCOMES = {
    "test_dns[web:api.test@127.0.0.1:*]": "passed",
    "test_tcp[web:local->api.test:*]": "passed",
    "test_tcp[api:local->127.0.0.3:*]": "refused",
    "test_tcp[queue:local->127.0.0.4:*]": "timeout",
    "test_dns[billing:stale.test@127.0.0.1:*]": "dns-mismatch",
    "test_tcp[billing:local->stale.test:*]": "refused",
    "test_dns[legacy:gone.test@127.0.0.1:*]": "dns-nxdomain",
    "test_tcp[legacy:local->gone.test:80]": "dns-nxdomain",
    "test_dns[broken:broken.test@127.0.0.1:*]": "dns-servfail",
    "test_tcp[broken:local->broken.test:80]": "dns-servfail",
    "test_dns[silent:silent.test@127.0.0.1:*]": "dns-timeout",
    "test_tcp[silent:local->silent.test:80]": "dns-timeout",
    "test_closed[local->127.0.0.2:*]": "passed|open",
}


def junit_cases(path: Path) -> dict[str, tuple[str, dict[str, str], str, str]]:
    """name → (outcome or "passed", properties, failure message, failure body)."""
    cases = {}
    root = ET.parse(path).getroot()
    by_testcase = junit_properties(root)  # on the suite, by default
    for case in root.iter("testcase"):
        key = f"{case.get('classname', '')}::{case.get('name', '')}"
        props = {f"conntriage.{k}": v for k, v in by_testcase.get(key, {}).items()}
        failure = case.find("failure")
        if failure is None:
            cases[case.get("name", "")] = ("passed", props, "", "")
        else:
            outcome = props.get("conntriage.outcome", "?")
            cases[case.get("name", "")] = (
                outcome,
                props,
                failure.get("message", ""),
                failure.text or "",
            )
    return cases


def run_inventory(pytester: pytest.Pytester, *args: str, text: str = INVENTORY) -> pytest.RunResult:
    inventory = pytester.path / "inventory.yml"
    inventory.write_text(text)
    return pytester.runpytest_inprocess("--inventory", str(inventory), *args)


def assert_expected(cases: dict[str, tuple[str, dict[str, str], str, str]]) -> None:
    import fnmatch

    for pattern, expected in EXPECTED_OUTCOMES.items():
        # Test ids hold brackets, which fnmatch reads as character classes.
        literal = "".join({"[": "[[]", "]": "[]]"}.get(c, c) for c in pattern)
        matched = [v[0] for k, v in cases.items() if fnmatch.fnmatchcase(k, literal)]
        assert matched, f"no test matches {pattern}: {sorted(cases)}"
        assert set(matched) <= set(expected.split("|")), (pattern, matched)
    assert len(cases) == 14


@pytest.mark.usefixtures("services")
def test_every_outcome_without_root_is_classified(pytester: pytest.Pytester) -> None:
    junit = pytester.path / "junit.xml"
    result = run_inventory(pytester, f"--junitxml={junit}")
    result.assert_outcomes(passed=3, failed=11)
    assert result.ret == 1
    assert_expected(junit_cases(junit))
    result.stdout.fnmatch_lines(
        [
            "conntriage: inventory *inventory.yml: 14 checks (5 dns, 7 tcp, 2 closed)*",
            "*outcome: dns-nxdomain — gone.test: name does not exist (NXDOMAIN)*",
            "*outcome: refused — connection refused by 127.0.0.3:* after * ms (ECONNREFUSED)",
            "*outcome: timeout — no answer from 127.0.0.4:* within 0.5 s (ETIMEDOUT)",
        ]
    )
    assert "Traceback" not in result.stdout.str()


@pytest.mark.usefixtures("services")
def test_failure_shows_ranked_causes_fixes_and_filled_commands(pytester: pytest.Pytester) -> None:
    result = run_inventory(pytester, "-k", "127.0.0.3")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    # The diagnosis replaces the traceback.
    assert "def test_tcp" not in out
    assert "conntriage.verify" not in out
    result.stdout.fnmatch_lines(
        [
            "*tcp local -> 127.0.0.3:*, service api",
            "*defined at *inventory.yml:14:13",
            "*outcome: refused — connection refused by 127.0.0.3:*",
            "Likely causes (tcp-connectivity:*",
            "  1. [[]likely[]] *not running* (service-down)",
            "       why: *",
            "       fix: *",
            "  2. [[]likely[]] * (wrong-port-or-interface)",
            "*ruled out: *idle-drop*",
            "Next diagnostics:",
            "*$ ss -tlnp | grep *",
            "*$ nc -zv 127.0.0.3 *",
            "Reference: The Triage Manual — Batch Entry: Connection refused / connection timeout",
        ]
    )
    # The unit named in the inventory is filled into the resolution steps.
    assert "systemctl restart -- api-server" in out


@pytest.mark.usefixtures("services")
def test_terminal_summary_groups_failures_by_outcome_and_cause(pytester: pytest.Pytester) -> None:
    result = run_inventory(pytester)
    result.stdout.fnmatch_lines(
        [
            "*= connectivity triage =*",
            "11 failed connectivity checks, by outcome and top cause:",
            "     1 × refused            service-down: *",
            "*test_tcp[[]api:local->127.0.0.3:*[]]",
        ]
    )
    # The stale record's address is not the one the inventory expects for the name.
    result.stdout.fnmatch_lines(
        [
            "     1 × refused            dns-wrong-host: *",
            "*test_tcp[[]billing:local->stale.test:*[]]",
        ]
    )
    result.stdout.fnmatch_lines(["     1 × timeout            *"])
    result.stdout.fnmatch_lines(["     1 × open               no runbook cause"])


@pytest.mark.usefixtures("services")
def test_junit_carries_message_body_and_properties(pytester: pytest.Pytester) -> None:
    junit = pytester.path / "junit.xml"
    result = run_inventory(pytester, f"--junitxml={junit}")
    cases = junit_cases(junit)
    name = next(k for k in cases if k.startswith("test_tcp[api:local->127.0.0.3:"))
    outcome, props, message, body = cases[name]
    assert outcome == "refused"
    assert "\n" not in message
    assert message.startswith("refused: connection refused by 127.0.0.3:")
    assert message.endswith("— likely: service-down")
    assert "Likely causes" in body
    assert "Next diagnostics:" in body
    assert props["conntriage.address"] == "127.0.0.3"
    assert props["conntriage.causes"].startswith("service-down,wrong-port-or-interface")
    assert props["conntriage.top_cause"] == "service-down"
    # A passing check still tells the dashboard what it saw.
    passed = next(v for k, v in cases.items() if k.startswith("test_tcp[web:local->api.test:"))
    assert passed[0] == "passed"
    assert passed[1]["conntriage.outcome"] == "open"
    # pytest's own writer, no xunit2 warning about record_property.
    assert "record_property" not in result.stdout.str()
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"


@pytest.mark.usefixtures("services")
def test_xdist_gives_the_same_outcomes_triage_and_junit(pytester: pytest.Pytester) -> None:
    serial, parallel = pytester.path / "serial.xml", pytester.path / "parallel.xml"
    alone = run_inventory(pytester, f"--junitxml={serial}")
    result = run_inventory(pytester, "-n", "2", f"--junitxml={parallel}")
    result.assert_outcomes(passed=3, failed=11)
    # The terminal's triage section lists tests in collection order, not arrival order.
    assert _triage_section(result.outlines) == _triage_section(alone.outlines)
    one, two = junit_cases(serial), junit_cases(parallel)
    assert one.keys() == two.keys()
    for name in one:
        outcome, props, message, body = one[name]
        assert two[name][0] == outcome, name
        assert two[name][1].keys() == props.keys(), name
        assert _without_timings(two[name][2]) == _without_timings(message), name
        assert _without_timings(two[name][3]) == _without_timings(body), name
    result.stdout.fnmatch_lines(["*= connectivity triage =*", "11 failed connectivity checks*"])


def _triage_section(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if "= connectivity triage =" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("="))
    return lines[start:end]


def _without_timings(text: str) -> str:
    import re

    return re.sub(r"\d+(\.\d+)? (ms|s)\b", "T", text)


def test_collect_only_probes_nothing(
    pytester: pytest.Pytester, pending_listener: PendingListener
) -> None:
    port = pending_listener.port
    text = f"version: 1\nservices:\n  s:\n    address: 127.0.0.7\n    ports: [{port}]\n"
    result = run_inventory(pytester, "--collect-only", "-q", text=text)
    result.stdout.fnmatch_lines([f"*test_tcp[[]s:local->127.0.0.7:{pending_listener.port}[]]"])
    assert pending_listener.handshakes() == 0


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_each_endpoint_is_probed_once(
    pytester: pytest.Pytester, pending_listener: PendingListener, workers: list[str]
) -> None:
    # The same endpoint from two services is one probe; deselected checks are not probed.
    port = pending_listener.port
    text = (
        "version: 1\nservices:\n"
        f"  a:\n    address: 127.0.0.7\n    ports: [{port}]\n"
        f"  b:\n    address: 127.0.0.7\n    ports: [{port}]\n    tags: [other]\n"
        f"  c:\n    address: 127.0.0.8\n    ports: [{port}]\n    tags: [skipme]\n"
    )
    result = run_inventory(pytester, "-m", "not skipme", *workers, text=text)
    result.assert_outcomes(passed=2)
    assert pending_listener.handshakes() <= 2 if workers else pending_listener.handshakes() == 1


@pytest.mark.usefixtures("services")
def test_tags_become_markers(pytester: pytest.Pytester) -> None:
    result = run_inventory(pytester, "-m", "payments", "--strict-markers")
    result.assert_outcomes(passed=2)


def test_bad_inventory_is_a_usage_error_naming_the_place(pytester: pytest.Pytester) -> None:
    text = "version: 1\nservices:\n  api:\n    address: 127.0.0.1\n    prots: [80]\n"
    result = run_inventory(pytester, text=text)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: *inventory.yml:5:5: unknown key 'prots'*(did you mean 'ports'?)*"]
    )
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_missing_inventory_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--inventory", "nope.yml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: nope.yml*"])
    assert "Traceback" not in result.stderr.str()


# The inner run's conftest: the service comes up only once a connect to it was refused
# (its network namespace's Tcp OutRsts grew), never after some time: a plugin slow to
# start on a loaded machine must still find it down first.
_UP_AFTER_A_REFUSAL = """
import threading, time
from pathlib import Path
from pytest_conntriage.demo.listeners import OpenListener

def _resets():
    lines = Path("/proc/net/snmp").read_text().splitlines()
    names, values = (line.split() for line in lines if line.startswith("Tcp:"))
    return int(values[names.index("OutRsts")])

def pytest_configure(config):
    before = _resets()
    listener = OpenListener("127.0.0.6", {port})
    def up_after_a_refusal():
        deadline = time.monotonic() + 60
        while _resets() <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        listener.start()
    threading.Thread(target=up_after_a_refusal, daemon=True).start()
    config.add_cleanup(listener.stop)
"""


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None,
    reason="needs root, unshare and ip: the run gets a network namespace of its own",
)
def test_wait_gate_passes_once_the_service_is_up(pytester: pytest.Pytester) -> None:
    # A namespace of its own (loopback only): its RST counter counts this run's refusals.
    port = 8080
    junit = pytester.path / "junit.xml"
    text = (
        "version: 1\nservices:\n  gate:\n    address: 127.0.0.6\n"
        f"    ports: [{port}]\n    wait: 30s\n    timeout: 500ms\n"
    )
    (pytester.path / "inventory.yml").write_text(text)
    pytester.makeconftest(_UP_AFTER_A_REFUSAL.format(port=port))
    pytest_argv = ["-m", "pytest", "--inventory", "inventory.yml", f"--junitxml={junit}"]
    pytest_argv += ["-p", "no:cacheprovider", "-p", "no:hypothesispytest"]
    result = pytester.run(
        "unshare",
        "--net",
        "sh",
        "-c",
        'ip link set lo up && exec "$0" "$@"',
        sys.executable,
        *pytest_argv,
        timeout=120,
    )
    result.assert_outcomes(passed=1)
    (_, props, _, _) = next(iter(junit_cases(junit).values()))
    assert props["conntriage.outcome"] == "open"
    assert int(props["conntriage.attempts"]) > 1


def test_retries_are_reported(pytester: pytest.Pytester) -> None:
    port = closed_port("127.0.0.2")
    text = (
        "version: 1\ndefaults:\n  retries: 2\nservices:\n  s:\n"
        f"    address: 127.0.0.2\n    ports: [{port}]\n"
    )
    result = run_inventory(pytester, text=text)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*, 3 attempts (refused ×3 after 0.* s)*"])


def test_user_runbook_overrides_the_bundled_entry(pytester: pytest.Pytester) -> None:
    from pytest_conntriage.runbook import BUNDLED_DIR

    bundled = (Path(BUNDLED_DIR) / "tcp-connectivity.yaml").read_text()
    custom = bundled.replace(
        "Reference line placeholder", "Reference line placeholder"
    )  # same entry id: replaces the bundled one
    marker = "Our team's own words for a crashed service"
    lines = custom.splitlines()
    for i, line in enumerate(lines):
        if "id: service-down" in line:
            indent = line[: len(line) - len(line.lstrip())]
            lines.insert(i + 1, f"{indent}title: {marker!r}")
            break
    runbook = pytester.path / "team.yaml"
    runbook.write_text("\n".join(_drop_following_title(lines)))
    port = closed_port("127.0.0.2")
    text = f"version: 1\nservices:\n  s:\n    address: 127.0.0.2\n    ports: [{port}]\n"
    result = run_inventory(pytester, "--runbook", str(runbook), text=text)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*1. [[]likely[]] {marker} (service-down)"])


def _drop_following_title(lines: list[str]) -> list[str]:
    """Keep the inserted title, drop the entry's original one that follows it."""
    out: list[str] = []
    seen_inserted = False
    for line in lines:
        if "Our team's own words" in line:
            seen_inserted = True
            out.append(line)
            continue
        if seen_inserted and line.strip().startswith("title:"):
            seen_inserted = False
            continue
        out.append(line)
    return out


def test_users_own_tests_use_the_fixture(pytester: pytest.Pytester) -> None:
    port = closed_port("127.0.0.2")
    pytester.makepyfile(
        f"""
        def test_mine(conntriage):
            conntriage.expect_open("127.0.0.2", {port}, timeout=0.5)

        def test_localhost_resolves(conntriage):
            conntriage.expect_resolves("localhost")

        def test_no_checks(conntriage):
            pass
        """
    )
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_inprocess(f"--junitxml={junit}")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*defined at *test_users_own*.py:2:1",
            "*outcome: refused*",
            "*1. [[]likely[]] *(service-down)",
        ]
    )
    # One fixture for the session, yet each test's JUnit case carries its own checks.
    cases = junit_cases(junit)
    assert cases["test_mine"][1]["conntriage.outcome"] == "refused"
    assert cases["test_localhost_resolves"][1]["conntriage.outcome"] == "resolved"
    assert cases["test_localhost_resolves"][1]["conntriage.check"] == "dns"
    assert not cases["test_no_checks"][1]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_a_vantage_host_probes_and_is_classified_the_same_way(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    # local:// is testinfra's backend for this machine: the probe goes through the same
    # host.run() path as ssh:// or paramiko://, so classification is exercised for real.
    # Its connects are one batch (probe/vantages.py); under xdist, one per worker.
    with OpenListener("127.0.0.2") as web, FullQueueListener("127.0.0.4") as queue:
        refused = closed_port("127.0.0.3")
        text = (
            "version: 1\ndefaults:\n  timeout: 500ms\n"
            "hosts:\n  me:\n    connection: local://\n"
            "services:\n"
            f"  web:\n    address: 127.0.0.2\n    ports: [{web.port}]\n    from: [local, me]\n"
            f"  queue:\n    address: 127.0.0.4\n    ports: [{queue.port}]\n    from: [me]\n"
            f"  api:\n    address: 127.0.0.3\n    ports: [{refused}]\n    from: [me]\n"
        )
        junit = pytester.path / "junit.xml"
        result = run_inventory(pytester, f"--junitxml={junit}", *workers, text=text)
    result.assert_outcomes(passed=2, failed=2)
    outcomes = {name: case[0] for name, case in junit_cases(junit).items()}
    assert outcomes == {
        f"test_tcp[web:local->127.0.0.2:{web.port}]": "passed",
        f"test_tcp[web:me->127.0.0.2:{web.port}]": "passed",
        f"test_tcp[queue:me->127.0.0.4:{queue.port}]": "timeout",
        f"test_tcp[api:me->127.0.0.3:{refused}]": "refused",
    }


def test_an_unreachable_vantage_is_a_probe_error_and_its_password_never_shows(
    pytester: pytest.Pytester,
) -> None:
    port = closed_port("127.0.0.2")
    text = (
        "version: 1\nhosts:\n  jump:\n"
        f"    connection: paramiko://deploy:s3cr3t-pw@127.0.0.2:{port}\n"
        "services:\n  s:\n    address: 127.0.0.3\n    ports: [443]\n    from: [jump]\n"
    )
    junit = pytester.path / "junit.xml"
    result = run_inventory(pytester, f"--junitxml={junit}", "-v", text=text)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*outcome: probe-error — *vantage jump could not run the probe*"])
    everything = result.stdout.str() + result.stderr.str() + junit.read_text()
    assert "s3cr3t-pw" not in everything


def test_a_vantage_that_cannot_be_reached_never_passes_a_check(
    pytester: pytest.Pytester,
) -> None:
    # Each vantage probes on its own: `local` reaching the listener says nothing about
    # `bad`, whose probe cannot even run, for the open check and the closed one alike.
    # (The timeout only bounds a loaded machine: every probe here ends at once.)
    ssh_port = closed_port("127.0.0.2")
    with OpenListener("127.0.0.2") as web:
        refused = closed_port("127.0.0.2")
        text = (
            "version: 1\ndefaults:\n  timeout: 5s\nhosts:\n  bad:\n"
            f"    connection: paramiko://deploy@127.0.0.2:{ssh_port}\n"
            f"services:\n  web:\n    address: 127.0.0.2\n    ports: [{web.port}]\n"
            "    from: [local, bad]\n"
            f"closed:\n  - address: 127.0.0.2\n    ports: [{refused}]\n    from: [local, bad]\n"
        )
        junit = pytester.path / "junit.xml"
        result = run_inventory(pytester, f"--junitxml={junit}", text=text)
    result.assert_outcomes(passed=2, failed=2)
    cases = junit_cases(junit)
    from_bad = sorted(
        (name.split("[")[0], case[0]) for name, case in cases.items() if "bad->" in name
    )
    assert from_bad == [("test_closed", "probe-error"), ("test_tcp", "probe-error")], cases.keys()
    from_local = [case[0] for name, case in cases.items() if "local->" in name]
    assert from_local == ["passed", "passed"], cases.keys()
    result.stdout.fnmatch_lines(["*vantages: reachable from local, not from bad*"])


def test_checks_are_collected_under_the_inventory_that_defines_them(
    pytester: pytest.Pytester,
) -> None:
    first, second = closed_port("127.0.0.2"), closed_port("127.0.0.3")
    (pytester.path / "edge.yml").write_text(
        f"version: 1\nservices:\n  a:\n    address: 127.0.0.2\n    ports: [{first}]\n"
    )
    (pytester.path / "core.yml").write_text(
        f"version: 1\nservices:\n  b:\n    address: 127.0.0.3\n    ports: [{second}]\n"
    )
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_inprocess(
        "--inventory", "edge.yml", "--inventory", "core.yml", "-v", f"--junitxml={junit}"
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([f"edge.yml::test_tcp[[]a:local->127.0.0.2:{first}[]] FAILED*"])
    result.stdout.fnmatch_lines([f"core.yml::test_tcp[[]b:local->127.0.0.3:{second}[]] FAILED*"])
    classnames = {c.get("classname") for c in ET.parse(junit).getroot().iter("testcase")}
    assert classnames == {"edge.yml", "core.yml"}


def test_idle_check_tells_a_connection_that_dies_while_idle(pytester: pytest.Pytester) -> None:
    # The demo's open listener accepts and closes at once: the handshake works (test_tcp
    # passes) but the connection does not survive its idle period.
    with OpenListener("127.0.0.2") as server:
        text = (
            "version: 1\nservices:\n  s:\n    address: 127.0.0.2\n"
            f"    ports: [{server.port}]\n    idle: 1s\n"
        )
        result = run_inventory(pytester, text=text)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "conntriage: inventory *: 2 checks (1 tcp, 1 idle)*",
            f"*_ test_idle[[]s:local->127.0.0.2:{server.port}[]] _*",
            "idle local -> 127.0.0.2:*, service s",
            "  outcome: reset — 127.0.0.2:*: established in * ms, then closed by the peer (FIN)"
            " after 1 s idle",
            "  1. [[]confirmed[]] * (idle-drop)",
            "       why: the connection to 127.0.0.2:* was established, then died after 1 s idle*",
        ]
    )


def test_a_low_open_file_limit_caps_probes_instead_of_starving_them(
    pytester: pytest.Pytester,
) -> None:
    # 150 probes that each hold a socket for the whole timeout, under a limit of 160
    # descriptors: uncapped, most of them would fail with EMFILE.
    import resource
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import ExitStack

    lines = ["version: 1", "defaults:", "  timeout: 1s", "services:"]
    with ExitStack() as stack, ThreadPoolExecutor(32) as pool:
        listeners = [FullQueueListener(f"127.0.3.{1 + i}") for i in range(150)]
        list(pool.map(lambda listener: stack.enter_context(listener), listeners))
        for i, listener in enumerate(listeners):
            lines += [
                f"  s{i}:",
                f"    address: {listener.address}",
                f"    ports: [{listener.port}]",
            ]
        (pytester.path / "many.yml").write_text("\n".join(lines) + "\n")

        def low_limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (160, 160))

        done = subprocess.run(
            [sys.executable, "-m", "pytest", "--inventory", "many.yml", "-p", "no:cacheprovider"],
            cwd=pytester.path,
            capture_output=True,
            text=True,
            preexec_fn=low_limit,
            check=False,
        )
    capped = re.search(
        r"conntriage: concurrency capped at (\d+) by the open-file limit \(160", done.stdout
    )
    assert capped is not None, done.stdout[-3000:]
    # Below 160 by the reserve and by what pytest has open before probing.
    assert int(capped.group(1)) <= 160 - RESERVED_FDS - 3
    assert "150 × timeout" in done.stdout, done.stdout[-3000:]
    assert "probe-error" not in done.stdout


def test_host_checks_read_listening_sockets_and_processes_on_the_host(
    pytester: pytest.Pytester,
) -> None:
    # local:// is testinfra's backend for this machine: the evidence batch runs through
    # the same host.run() path as over ssh. The fault lab runs these against a real sshd.
    with OpenListener("127.0.0.2") as web:
        closed = closed_port("127.0.0.2")
        text = (
            "version: 1\nhosts:\n  me:\n    connection: local://\n"
            "services:\n"
            f"  web:\n    address: 127.0.0.2\n    ports: [{web.port}]\n    host: me\n"
            f"  moved:\n    address: 127.0.0.3\n    ports: [{web.port}]\n    host: me\n"
            f"  down:\n    address: 127.0.0.2\n    ports: [{closed}]\n    host: me\n"
            "    unit: no-such-daemon-xyz\n"
        )
        junit = pytester.path / "junit.xml"
        result = run_inventory(
            pytester, f"--junitxml={junit}", "-k", "listening or service", text=text
        )
    outcomes = {name: case[0] for name, case in junit_cases(junit).items()}
    assert outcomes == {
        f"test_listening[web@me:{web.port}]": "passed",
        f"test_listening[moved@me:{web.port}]": "wrong-interface",
        f"test_listening[down@me:{closed}]": "not-listening",
        "test_service[down@me:no-such-daemon-xyz]": "inactive",
    }, outcomes
    result.stdout.fnmatch_lines(
        [
            f"  outcome: wrong-interface — me listens on 127.0.0.2:{web.port} only; clients "
            "connect to 127.0.0.3",
            "  1. [[]confirmed[]] The service listens on another port or interface*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "  outcome: inactive — no process of no-such-daemon-xyz runs on me*",
            "  1. [[]confirmed[]] The service is not running (service-down)",
        ]
    )


def test_suite_ids_name_the_service_and_match_what_pytest_parametrize_would_make(
    pytester: pytest.Pytester,
) -> None:
    """Two services on one endpoint are told apart by their names, not `_0`/`_1`; a true
    repeat (one closed rule written twice) gets pytest's parametrize suffix; a user's own
    test parametrized with the checks gets the very same ids."""
    port = closed_port("127.0.0.3")
    inventory = pytester.path / "inventory.yml"
    inventory.write_text(
        "version: 1\ndefaults:\n  timeout: 200ms\nservices:\n"
        f"  api:\n    address: 127.0.0.3\n    ports: [{port}]\n"
        f"  api-again:\n    address: 127.0.0.3\n    ports: [{port}, 1]\n"
        "closed:\n"
        f"  - address: 127.0.0.3\n    ports: [{port + 1}]\n"
        f"  - address: 127.0.0.3\n    ports: [{port + 1}]\n"
    )
    pytester.makepyfile(
        test_mine="def test_tcp(tcp_check):\n    pass\n\ndef test_closed(closed_check):\n    pass\n"
    )
    # Paths given: pytest collects those; naming the inventory includes its suites.
    result = pytester.runpytest_inprocess(
        "--inventory", str(inventory), str(inventory), "test_mine.py", "--collect-only", "-q"
    )
    ids = [line for line in result.outlines if "::" in line]
    suite = sorted(i.split("::")[1] for i in ids if i.startswith("inventory.yml::"))
    mine = sorted(i.split("::")[1] for i in ids if i.startswith("test_mine.py::"))
    assert suite == mine
    assert suite == sorted(
        [
            f"test_tcp[api:local->127.0.0.3:{port}]",
            f"test_tcp[api-again:local->127.0.0.3:{port}]",
            "test_tcp[api-again:local->127.0.0.3:1]",
            f"test_closed[local->127.0.0.3:{port + 1}_0]",
            f"test_closed[local->127.0.0.3:{port + 1}_1]",
        ]
    )
