"""Where a check's `conntriage.*` properties and its failure's type go in pytest's JUnit XML.

pytest's junitxml writes a test's `user_properties` as `<properties>` inside its
`<testcase>`. The JUnit schema strict consumers validate with (Jenkins' junit-10.xsd,
which pytest's default `junit_family=xunit2` follows) allows `<properties>` only in a
`<testsuite>`: such a file is rejected. So the properties travel on the call report
alone (the terminal summary and xdist read them there) and are written here, where
the file's family allows them:

- `testsuite` (the default under xunit2): on the suite, one property per check and
  name, `conntriage.outcome[inventory.yml::test_tcp[api:local->api.example.com:443]]`:
  the name in brackets is the testcase's `classname::name`.
- `testcase` (the default under `junit_family=xunit1`, or `conntriage_junit_properties
  = testcase`): inside each testcase, as before, for dashboards that read them there.

Each `<failure>` of a failed check also gets `type="<outcome>"`.

This reaches into pytest's `LogXML` (its per-test reporter and global properties, the
same ones `record_testsuite_property` uses); whatever it does not find there, it
leaves as pytest wrote it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from .pytest_internals import junit_xml
from .report.properties import suite_property_name

AUTO, TESTCASE, TESTSUITE = "auto", "testcase", "testsuite"
PLACEMENTS = (AUTO, TESTCASE, TESTSUITE)
INI = "conntriage_junit_properties"


def placement_setting(config: pytest.Config) -> str:
    """The ini's value, checked: `auto`, `testcase` or `testsuite`."""
    value = str(config.getini(INI)).strip() or AUTO
    if value not in PLACEMENTS:
        raise pytest.UsageError(f"{INI}: {value!r} is not one of {', '.join(PLACEMENTS)}")
    return value


def write(
    config: pytest.Config,
    setting: str,
    report: pytest.TestReport,
    pairs: Sequence[tuple[str, str]],
    failure_type: str | None,
    add_suite_property: Callable[[str, str], None] | None = None,
) -> None:
    """Put `pairs` (a check's call report's properties) where the JUnit file allows
    them, and `failure_type` on its `<failure>`; nothing when no JUnit file is written.

    Call after pytest's junitxml has handled `report` (trylast), so the testcase is
    open and holds its failure. `add_suite_property`: where suite properties go
    instead of LogXML's list (junit_spool.JunitSpool.add_property).
    """
    xml: Any = junit_xml(config)
    if xml is None:
        return
    reporter = xml.node_reporter(report)
    if failure_type:
        for node in reversed(reporter.nodes):
            if node.tag == "failure":
                node.set("type", failure_type)
                break
    per_testcase = setting == TESTCASE or (setting == AUTO and xml.family == "xunit1")
    if per_testcase:
        for name, value in pairs:
            reporter.add_property(name, value)
        return
    classname, name = reporter.attrs.get("classname", ""), reporter.attrs.get("name", "")
    testcase = f"{classname}::{name}" if classname else name
    add = add_suite_property or xml.add_global_property
    for key, value in pairs:
        add(suite_property_name(key, testcase), value)
