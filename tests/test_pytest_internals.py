"""The plugin's workarounds for pytest at scale leave pytest's output as it was."""

from __future__ import annotations

import pytest

NOISY_TESTS = """
import pytest

@pytest.fixture
def noisy(request):
    print("setup of " + request.node.name)
    yield
    print("teardown of " + request.node.name)

def test_a(noisy):
    assert 0, "a fails"

def test_b(noisy):
    pass

def test_c(noisy):
    assert 0, "c fails"
"""

REPORT_LOOKUP = """
def pytest_terminal_summary(terminalreporter):
    lookup = terminalreporter._get_teardown_reports
    terminalreporter.write_line("teardown lookup: " + lookup.__name__)
"""


def test_failures_keep_their_own_teardown_output(pytester: pytest.Pytester) -> None:
    """Each failure's section still shows its own teardown capture, in order, and only its own."""
    pytester.makepyfile(NOISY_TESTS)
    pytester.makeconftest(REPORT_LOOKUP)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_a _*",
            "*a fails*",
            "*- Captured stdout setup -*",
            "setup of test_a",
            "*- Captured stdout teardown -*",
            "teardown of test_a",
            "*_ test_c _*",
            "*c fails*",
            "*- Captured stdout setup -*",
            "setup of test_c",
            "*- Captured stdout teardown -*",
            "teardown of test_c",
            # The plugin's indexed lookup served the section above: if pytest renames the
            # method this workaround replaces, this line says the original ran instead.
            "teardown lookup: teardown_reports",
        ]
    )
    assert "teardown of test_b" not in result.stdout.str()


def test_pytest_without_the_lookup_is_left_alone() -> None:
    from pytest_conntriage.pytest_internals import index_teardown_reports

    class Reporter:
        pass

    reporter = Reporter()
    assert index_teardown_reports(reporter) is False
    assert not hasattr(reporter, "_get_teardown_reports")
