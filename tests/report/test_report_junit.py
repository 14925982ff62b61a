"""The JUnit file a strict consumer accepts: pytest's `--junitxml` under its default
family validates against Jenkins' junit-10.xsd (vendored beside this file)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from pytest_conntriage.demo.listeners import OpenListener
from pytest_conntriage.report.properties import junit_properties

from .conftest import assert_refused_failure

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).with_name("junit-10.xsd")))


def run(pytester: pytest.Pytester, inventory: Path, *args: str) -> tuple[pytest.RunResult, Path]:
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_inprocess(
        "--inventory", str(inventory), f"--junitxml={junit}", "-p", "no:cacheprovider", *args
    )
    return result, junit


def cases(junit: Path) -> dict[str, ET.Element]:
    return {c.get("name", ""): c for c in ET.parse(junit).getroot().iter("testcase")}


def named(found: dict[str, ET.Element], prefix: str) -> tuple[str, ET.Element]:
    (match,) = [(name, case) for name, case in found.items() if name.startswith(prefix)]
    return match


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_default_junit_validates_against_junit_10_xsd(
    pytester: pytest.Pytester, inventory: Path, workers: list[str]
) -> None:
    result, junit = run(pytester, inventory, *workers)
    result.assert_outcomes(passed=2, failed=3, skipped=1)
    SCHEMA.validate(str(junit))  # raises with the first violation
    found = cases(junit)
    assert all(case.find("properties") is None for case in found.values())
    name, case = named(found, "test_tcp[api:local->127.0.0.3:")
    assert_refused_failure(case)
    _, dns_case = named(found, "test_tcp[legacy:local->gone.test:80")
    dns_failure = dns_case.find("failure")
    assert dns_failure is not None
    assert dns_failure.get("type") == "dns-nxdomain"
    # The per-check properties, on the suite, keyed by the testcase they describe.
    props = junit_properties(ET.parse(junit).getroot())
    refused = props[f"{case.get('classname')}::{name}"]
    assert refused["outcome"] == "refused"
    assert refused["top_cause"] == "service-down"
    assert refused["address"] == "127.0.0.3"
    opened = next(v for k, v in props.items() if "::test_tcp[web:local->127.0.0.2:" in k)
    assert opened["outcome"] == "open"  # a passing check still tells what it saw


def test_a_users_own_test_failing_after_a_passed_check_gets_no_outcome_type(
    pytester: pytest.Pytester,
) -> None:
    with OpenListener("127.0.0.2") as web:
        pytester.makepyfile(
            f"""
            def test_mine(conntriage):
                conntriage.expect_open("127.0.0.2", {web.port}, timeout=1)
                assert False, "my own check"
            """
        )
        junit = pytester.path / "junit.xml"
        result = pytester.runpytest_inprocess(f"--junitxml={junit}", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    SCHEMA.validate(str(junit))
    failure = cases(junit)["test_mine"].find("failure")
    assert failure is not None
    assert failure.get("type") is None  # its failure is the assert's, not an outcome
    (props,) = junit_properties(ET.parse(junit).getroot()).values()
    assert props["outcome"] == "open"


@pytest.mark.parametrize(
    "opt_in",
    [["-o", "conntriage_junit_properties=testcase"], ["-o", "junit_family=xunit1"]],
    ids=["ini", "xunit1"],
)
def test_per_testcase_properties_when_the_user_opts_in(
    pytester: pytest.Pytester, inventory: Path, opt_in: list[str]
) -> None:
    result, junit = run(pytester, inventory, *opt_in)
    result.assert_outcomes(passed=2, failed=3, skipped=1)
    root = ET.parse(junit).getroot()
    assert root.find("testsuite/properties") is None
    name, case = named(cases(junit), "test_tcp[api:local->127.0.0.3:")
    in_case = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert in_case["conntriage.outcome"] == "refused"
    assert junit_properties(root)[f"{case.get('classname')}::{name}"]["outcome"] == "refused"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "refused"
    # This is what junit-10.xsd rejects, and why it is not the default.
    with pytest.raises(xmlschema.XMLSchemaValidationError, match="properties"):
        SCHEMA.validate(str(junit))


def test_an_unknown_placement_is_a_usage_error(pytester: pytest.Pytester, inventory: Path) -> None:
    result, _ = run(pytester, inventory, "-o", "conntriage_junit_properties=everywhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*conntriage_junit_properties: 'everywhere' is not one of auto, testcase, testsuite*"]
    )


def canonical(junit: Path) -> str:
    """The file without what differs from run to run (times, when, where, durations
    in the messages, the order xdist's workers finished in)."""
    root = ET.parse(junit).getroot()
    for element in root.iter():
        for varying in ("time", "timestamp", "hostname"):
            element.attrib.pop(varying, None)
    for suite in root.iter("testsuite"):
        for props in suite.findall("properties"):
            props[:] = sorted(props, key=lambda p: p.get("name", ""))
        cases = sorted(suite.findall("testcase"), key=lambda c: c.get("name", ""))
        for case in cases:
            suite.remove(case)
        suite.extend(cases)
    return re.sub(r"\d+(?:\.\d+)? ?m?s\b", "T", ET.tostring(root, encoding="unicode"))


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_spooled_junit_is_the_file_pytest_writes_without_the_spool(
    pytester: pytest.Pytester, inventory: Path, workers: list[str]
) -> None:
    spooled_result, spooled = run(pytester, inventory, *workers)
    spooled_result.assert_outcomes(passed=2, failed=3, skipped=1)
    text = spooled.read_text(encoding="utf-8")
    assert "conntriage-spooled" not in text
    SCHEMA.validate(str(spooled))
    kept = pytester.path / "spooled.xml"
    spooled.rename(kept)
    plain_result, plain = run(pytester, inventory, *workers, "-p", "no:conntriage-junit-spool")
    plain_result.assert_outcomes(passed=2, failed=3, skipped=1)
    assert canonical(kept) == canonical(plain)
    # The triage bodies and the suite's properties came back from the spool.
    assert text.count("<failure ") == 3
    assert "conntriage.outcome[" in text
    assert not [p.name for p in pytester.path.iterdir() if p.name.endswith(".tmp")]
