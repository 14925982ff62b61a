"""A gate run through the real plugin: the line that shows it waiting, the report line of
a check that passed after waiting, per-run overrides, and `severity: warn`; serial and
under xdist, against real listeners on 127.0.0.1.

Deterministic: the late service comes up when the plugin itself shows it waited (a
progress line written, or its Nth attempt recorded), never after a sleep.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_conntriage.demo.listeners import closed_port, free_port
from pytest_conntriage.report.properties import junit_properties

# The inner run's conftest: the gate's service comes up once the plugin has shown it
# waiting (CONDITION: a progress line written, or an attempt count on its wait board).
_UP_WHEN_SEEN = """
import threading
from pytest_conntriage.demo.listeners import OpenListener

def _seen(run):
    if {line!r}:
        return run.progress is not None and run.progress.written >= 1
    return any(p.attempts >= 3 for p in run.evaluator.waits.pending())

def pytest_sessionstart(session):
    run = session.config.pluginmanager.get_plugin("conntriage-run")
    listener = OpenListener("127.0.0.1", {port})
    stop = threading.Event()
    def up_when_seen():
        while not stop.wait(0.01):
            waiting = run.evaluator.waits.pending()
            if any(p.label.startswith("gate:") for p in waiting) and _seen(run):
                listener.start()
                return
    thread = threading.Thread(target=up_when_seen, daemon=True)
    thread.start()
    def cleanup():
        stop.set()
        thread.join()
        listener.stop()
    session.config.add_cleanup(cleanup)
"""

_INVENTORY = """\
version: 1
defaults:
  wait: 0s
services:
  gate:
    address: 127.0.0.1
    ports: [{gate}]
    wait: 30s
    timeout: 500ms
  optional:
    address: 127.0.0.1
    ports: [{warn}]
    severity: warn
  solid:
    address: 127.0.0.1
    ports: [{fail}]
    retries: 0
  fine:
    address: 127.0.0.1
    ports: [{gate}]
    severity: warn
    wait: 30s
"""


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short summary lines in full, as on CI (pytest cuts them to the terminal's width)."""
    monkeypatch.setenv("COLUMNS", "500")


def _setup(pytester: pytest.Pytester, *, line: bool) -> Path:
    gate = free_port("127.0.0.1")
    text = _INVENTORY.format(
        gate=gate, warn=closed_port("127.0.0.1"), fail=closed_port("127.0.0.1")
    )
    inventory = pytester.path / "inventory.yml"
    inventory.write_text(text)
    pytester.makeconftest(_UP_WHEN_SEEN.format(port=gate, line=line))
    pytester.makeini("[pytest]\nconntriage_timeout = 700ms\nconntriage_progress_interval = 0.01\n")
    return inventory


def _cases(junit: Path) -> dict[str, tuple[str, str, dict[str, str]]]:
    """testcase name → (what JUnit says: passed/failure/skipped, its message, properties)."""
    root = ET.parse(junit).getroot()
    props = junit_properties(root)
    found = {}
    for case in root.iter("testcase"):
        name = case.get("name", "")
        status, message = "passed", ""
        for tag in ("failure", "skipped", "error"):
            node = case.find(tag)
            if node is not None:
                status, message = tag, node.get("message", "")
        found[name.split("[")[1].split(":")[0]] = (
            status,
            message,
            props[f"{case.get('classname')}::{name}"],
        )
    return found


def _check_run(result: pytest.RunResult, junit: Path) -> None:
    """What a serial and an xdist run of _INVENTORY both show (the JSON report beside
    the JUnit file included)."""
    result.assert_outcomes(passed=2, failed=1, xfailed=1)
    out = result.stdout.str()
    # The header says what is in force, and where each value came from.
    result.stdout.fnmatch_lines(
        [
            "conntriage: timeout 0.7s (ini conntriage_timeout), retries 1"
            " (--conntriage-retries), wait none (inventory)"
        ]
    )
    # The gate passed after waiting, and its -rA line says so.
    result.stdout.re_match_lines(
        [r"PASSED inventory\.yml::test_tcp\[gate:local->127\.0\.0\.1:\d+\]"
         r" - open after \d+\.\d s \(refused( ×\d+)?\)$"]
    )  # fmt: skip
    # severity: warn: the failure is an xfail with its one-line message; a warn check that
    # passes stays a pass; a fail-severity failure stays a failure.
    result.stdout.re_match_lines(
        [
            r"XFAIL inventory\.yml::test_tcp\[optional:local->127\.0\.0\.1:\d+\]"
            r" - refused: connection refused by 127\.0\.0\.1:\d+ .*2 attempts.* service-down$",
            r"FAILED inventory\.yml::test_tcp\[solid:local->127\.0\.0\.1:\d+\] - refused: .*",
        ]
    )
    assert "PASSED inventory.yml::test_tcp[fine:" in out
    result.stdout.fnmatch_lines(
        [
            "*= connectivity triage =*",
            "1 failed connectivity check, by outcome and top cause:",
            "     1 × refused            service-down: *",
            "           test_tcp?solid:local->127.0.0.1:*]",
            "1 failed check of severity warn (xfail: the run does not fail on them),*",
            "     1 × refused            service-down: *",
            "           test_tcp?optional:local->127.0.0.1:*]",
        ]
    )
    assert "\x1b" not in out
    assert "\r" not in out
    cases = _cases(junit)
    status, _, gate = cases["gate"]
    assert status == "passed"
    assert gate["outcome"] == "open"
    assert int(gate["attempts"]) >= 2
    assert gate["outcomes"].startswith("refused")
    assert gate["outcomes"].endswith(", open")
    assert gate["waited"].startswith("open after ")
    assert gate["waited"].endswith(")")
    assert float(gate["elapsed_s"]) >= 0
    status, message, optional = cases["optional"]
    assert status == "skipped"
    assert message.startswith("refused: connection refused by 127.0.0.1:")
    assert optional["outcome"] == "refused"
    assert optional["severity"] == "warn"
    assert optional["attempts"] == "2"  # --conntriage-retries 1 over the default
    status, _, solid = cases["solid"]
    assert status == "failure"
    assert solid["attempts"] == "1"  # the service's own retries: 0 wins over the override
    assert "severity" not in solid
    assert cases["fine"][0] == "passed"
    # The reports count both as warnings: a pass after waiting, and a warn failure.
    report = json.loads(junit.with_suffix(".json").read_text())
    records = {r["service"]: r for r in report["checks"]}
    assert records["gate"]["status"] == "passed"
    assert records["gate"]["warning"] == gate["waited"]
    assert records["optional"]["status"] == "skipped"
    assert records["optional"]["warning"].startswith("severity warn: refused: connection refused")
    assert records["solid"]["warning"] is None
    assert report["run"]["totals"]["warned"] >= 2  # "fine" may have waited too


def test_a_gate_shows_it_waiting_and_says_how_it_passed(pytester: pytest.Pytester) -> None:
    inventory = _setup(pytester, line=True)
    junit = pytester.path / "serial.xml"
    result = pytester.runpytest_inprocess(
        "--inventory",
        str(inventory),
        "-rA",
        "--conntriage-retries",
        "1",
        f"--junitxml={junit}",
        f"--conntriage-json={junit.with_suffix('.json')}",
    )
    _check_run(result, junit)
    # The gate came up only after this line was written: it is there, whatever the load.
    result.stdout.re_match_lines(
        [r"conntriage: waiting for [12] checks?: (gate|fine):local->127\.0\.0\.1:\d+"
         r" \((first attempt|\d+ attempts?, last refused), \d+\.\d s left\).*"]
    )  # fmt: skip


def test_quiet_runs_show_no_progress_line(pytester: pytest.Pytester) -> None:
    inventory = _setup(pytester, line=False)
    result = pytester.runpytest_inprocess("--inventory", str(inventory), "-q", "-k", "gate")
    result.assert_outcomes(passed=1, deselected=3)
    assert "conntriage: waiting" not in result.stdout.str()


def test_under_xdist_the_reports_are_the_same(pytester: pytest.Pytester) -> None:
    inventory = _setup(pytester, line=True)
    junit = pytester.path / "parallel.xml"
    result = pytester.runpytest_subprocess(
        "--inventory",
        str(inventory),
        "-rA",
        "--conntriage-retries",
        "1",
        f"--junitxml={junit}",
        f"--conntriage-json={junit.with_suffix('.json')}",
        "-n",
        "2",
        "-p",
        "no:cacheprovider",
        timeout=120,
    )
    _check_run(result, junit)
    # The worker running the gate shows it waiting, on the standard error it shares
    # with the controller (the gate came up only once it had).
    result.stderr.re_match_lines(
        [r"\[gw[01]\] conntriage: waiting for [12] checks?: (gate|fine):local->127\.0\.0\.1:\d+"
         r" \((first attempt|\d+ attempts?, last refused), \d+\.\d s left\).*"]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--conntriage-timeout", "soon"], "", "--conntriage-timeout: 'soon' is not a duration*"),
        (["--conntriage-timeout", "0"], "", "--conntriage-timeout: '0': a timeout must be*"),
        (["--conntriage-retries", "-1"], "", "--conntriage-retries: '-1' is not a number of*"),
        ([], "conntriage_wait = 2d", "ini conntriage_wait: '2d' is not a duration*"),
        ([], "conntriage_progress_interval = 0", "conntriage_progress_interval: '0': *"),
    ],
)
def test_a_bad_override_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    inventory = pytester.path / "inventory.yml"
    inventory.write_text("version: 1\nservices:\n  a:\n    address: 127.0.0.1\n    ports: [1]\n")
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = pytester.runpytest_inprocess("--inventory", str(inventory), *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "Traceback" not in result.stderr.str()
