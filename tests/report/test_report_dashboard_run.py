"""`--conntriage-junit FILE`: the plugin writes the dashboard report, serial and under
xdist alike, beside pytest's own --junitxml (see test_report_dashboard.py for the
document itself). The `inventory` fixture is in conftest.py."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import cast

import pytest
import xmlschema

from pytest_conntriage.dashboard_writer import DashboardWriter
from pytest_conntriage.inventory import load_inventories

from .conftest import assert_refused_failure

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).with_name("junit-10.xsd")))

SUITES = ["web", "api", "legacy", "closed 127.0.0.3", "closed gone.test"]


def run(pytester: pytest.Pytester, inventory: Path, *args: str) -> pytest.RunResult:
    """In-process, xdist's controller too: what is compared is the controller's own
    output and files (a controller in a subprocess costs ~1 s of CPU more)."""
    return pytester.runpytest_inprocess(
        "--inventory", str(inventory), "-p", "no:cacheprovider", *args
    )


def without_timing(path: Path) -> list[str]:
    """The document with what a clock decides taken out: time attributes, the suite's
    timestamp, and durations inside texts ("after 0.2 ms")."""
    root = ET.parse(path).getroot()
    for element in root.iter():
        element.attrib.pop("time", None)
        element.attrib.pop("timestamp", None)
    text = ET.tostring(root, encoding="unicode")
    # One line per element and text line: a difference shows as a readable diff.
    return re.sub(r"\d+(\.\d+)? ?(ms|s)\b", "<t>", text).replace("><", ">\n<").splitlines()


def test_serial_and_xdist_write_the_same_valid_dashboard_beside_pytests_junit(
    pytester: pytest.Pytester, inventory: Path
) -> None:
    documents = []
    for mode, extra in (("serial", ()), ("xdist", ("-n", "2"))):
        dashboard, junit = pytester.path / f"{mode}.xml", pytester.path / f"{mode}-junit.xml"
        result = run(
            pytester, inventory, f"--conntriage-junit={dashboard}", f"--junitxml={junit}", *extra
        )
        result.assert_outcomes(passed=2, failed=3, skipped=1)
        result.stdout.fnmatch_lines([f"conntriage: dashboard report written to {dashboard}"])
        SCHEMA.validate(str(dashboard))
        SCHEMA.validate(str(junit))  # pytest's own, unchanged beside it
        assert len(list(ET.parse(junit).getroot().iter("testcase"))) == 6
        documents.append(without_timing(dashboard))
    assert documents[0] == documents[1]

    root = ET.parse(pytester.path / "xdist.xml").getroot()
    assert root.attrib | {"time": ""} == {"tests": "6", "failures": "3", "errors": "0", "time": ""}
    suites = {s.get("name", ""): s for s in root.iter("testsuite")}
    assert list(suites) == SUITES
    web = {p.get("name"): p.get("value") for p in suites["web"].iter("property")}
    assert web["tags"] == "edge,prod"
    assert web["address"] == "127.0.0.2"
    # Stable names: the check's node id after its file, the suite as class name.
    api = suites["api"]
    (case,) = api.iter("testcase")
    assert re.fullmatch(r"test_tcp\[api:local->127\.0\.0\.3:\d+\]", case.get("name", ""))
    assert case.get("classname") == "api"
    # A refused connect on loopback can take well under the millisecond the file keeps:
    # the time is there and well-formed, not necessarily above 0.000.
    assert re.fullmatch(r"\d+\.\d{3}", case.get("time", ""))
    assert_refused_failure(case)  # as in pytest's file: type, message, triage
    legacy = suites["legacy"].find("testcase/failure")
    assert legacy is not None
    assert legacy.get("type") == "dns-nxdomain"
    gone = suites["closed gone.test"]
    assert (gone.get("tests"), gone.get("skipped")) == ("1", "1")
    skipped = gone.find("testcase/skipped")
    assert skipped is not None
    assert "gone.test" in skipped.get("message", "")
    closed = suites["closed 127.0.0.3"]
    assert closed.get("failures") == "0"
    assert {p.get("name"): p.get("value") for p in closed.iter("property")}["tags"] == "gate"


def test_deselected_checks_and_other_tests_are_not_in_the_dashboard(
    pytester: pytest.Pytester, inventory: Path
) -> None:
    pytester.makepyfile(test_mine="import pytest\n\n@pytest.mark.edge\ndef test_mine(): pass\n")
    pytester.makeini("[pytest]\nconntriage_junit = reports/dashboard.xml\n")
    result = run(pytester, inventory, "-m", "edge or gate", "test_mine.py", str(inventory))
    result.assert_outcomes(passed=3)
    root = ET.parse(pytester.path / "reports" / "dashboard.xml").getroot()  # ini: from its dir
    SCHEMA.validate(str(pytester.path / "reports" / "dashboard.xml"))
    assert [s.get("name") for s in root.iter("testsuite")] == ["web", "closed 127.0.0.3"]
    assert "test_mine" not in ET.tostring(root, encoding="unicode")


# A plugin that spoils the reports the dashboard reads (and nothing pytest needs).
SPOILER = """
import pytest

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when == "call":
        report.duration = "not a number"
    return report
"""


def test_a_dashboard_that_cannot_be_built_says_so_and_changes_nothing_else(
    pytester: pytest.Pytester, inventory: Path
) -> None:
    pytester.makeconftest(SPOILER)
    dashboard = pytester.path / "dashboard.xml"
    dashboard.write_text("<testsuites/>")  # last run's file: it must not stand as this one's
    result = run(pytester, inventory, f"--conntriage-junit={dashboard}")
    result.assert_outcomes(passed=2, failed=3, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [f"conntriage: dashboard report {dashboard} holds only an error: dashboard: *Error: *"]
    )
    SCHEMA.validate(str(dashboard))
    root = ET.parse(dashboard).getroot()
    assert root.get("errors") == "1"
    error = root.find("testsuite/testcase/error")
    assert error is not None
    assert error.get("message", "").startswith("dashboard report unavailable: dashboard: ")


def test_an_interrupted_run_ends_its_dashboard_with_an_error(
    pytester: pytest.Pytester, inventory: Path
) -> None:
    # Ctrl-C as the api check runs: the checks before it are listed, the rest are not.
    pytester.makeconftest(
        "def pytest_runtest_call(item):\n"
        "    if item.name.startswith('test_tcp[api:'):\n"
        "        raise KeyboardInterrupt\n"
    )
    dashboard = pytester.path / "dashboard.xml"
    result = pytester.runpytest(
        "--inventory",
        str(inventory),
        "-p",
        "no:cacheprovider",
        f"--conntriage-junit={dashboard}",
        no_reraise_ctrlc=True,  # the interrupt is the inner run's, not this test's
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    SCHEMA.validate(str(dashboard))
    root = ET.parse(dashboard).getroot()
    names = [s.get("name") for s in root.iter("testsuite")]
    assert names == ["web", "api", "legacy", "conntriage"]  # dns checks run first
    assert root.get("errors") == "2"
    # The check that was running is not shown passed.
    stopped = root.find("testsuite[@name='api']/testcase/error")
    assert stopped is not None
    assert stopped.get("message") == "did not finish: the run ended while it ran"
    error = root.find("testsuite[@name='conntriage']/testcase/error")
    assert error is not None
    assert error.get("message", "").startswith("the run was interrupted: ")


def test_a_dashboard_that_cannot_be_written_says_so_in_one_line(
    pytester: pytest.Pytester, inventory: Path
) -> None:
    (pytester.path / "taken").write_text("a file, not a directory")
    result = run(pytester, inventory, "--conntriage-junit=taken/dashboard.xml")
    result.assert_outcomes(passed=2, failed=3, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["conntriage: dashboard report not written: dashboard: FileExistsError: *taken*"]
    )


def test_the_option_needs_an_inventory(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--conntriage-junit=dashboard.xml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--conntriage-junit needs an inventory (--conntriage-inventory FILE)*"]
    )


class Terminal:
    """The terminal reporter's write_line, kept."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def test_a_check_whose_suite_cannot_be_found_is_listed_and_the_terminal_says_why(
    tmp_path: Path,
) -> None:
    # What a change elsewhere once did (check_of's signature changed under the writer):
    # every check went to the unowned suite, silently.
    def broken_check_of(item: object) -> None:
        raise TypeError("check_of() missing 1 required positional argument: 'kinds'")

    inventory_path = tmp_path / "inv.yml"
    inventory_path.write_text(
        "version: 1\nservices:\n  web:\n    address: 127.0.0.2\n    ports: [80]\n"
    )
    target = tmp_path / "dashboard.xml"
    writer = DashboardWriter(
        target,
        load_inventories([str(inventory_path)], environ={}),
        str,
        dict,
        False,
        broken_check_of,
    )
    report = pytest.TestReport(
        "inv.yml::test_tcp[web]", ("inv.yml", 0, "t"), {}, "passed", None, "call"
    )
    # Neither is looked at: the check_of that would read the item raises first.
    item, call = cast(pytest.Item, object()), cast(pytest.CallInfo[None], None)
    wrapper = writer.pytest_runtest_makereport(item, call)
    next(wrapper)
    with pytest.raises(StopIteration) as done:
        wrapper.send(report)
    writer.pytest_runtest_logreport(done.value.value)
    writer.pytest_sessionfinish(pytest.ExitCode.OK)
    terminal = Terminal()
    writer.pytest_terminal_summary(terminal)
    assert terminal.lines[1] == (
        "conntriage: dashboard report: some tests are in the suite 'checks', not their"
        " service's: dashboard suite: TypeError: check_of() missing 1 required positional"
        " argument: 'kinds'"
    )
    SCHEMA.validate(str(target))
    (suite,) = ET.parse(target).getroot().iter("testsuite")
    assert suite.get("name") == "checks"
