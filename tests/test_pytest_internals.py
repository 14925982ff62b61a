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
    noisy = pytester.makepyfile(NOISY_TESTS)
    pytester.makeconftest(REPORT_LOOKUP)
    # The run (which installs the index) is there only with an inventory: one with no checks.
    pytester.makefile(".yml", empty="version: 1\n")
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--conntriage-inventory", "empty.yml", "empty.yml", noisy.name
    )
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


# Each private detail pytest_internals.py reads, present in the pytest and xdist this
# runs on (tox runs these on the oldest and the newest supported), and left alone when
# it is not.


def test_options_taken_by_others_are_seen(pytester: pytest.Pytester) -> None:
    from pytest_conntriage.pytest_internals import option_taken

    config = pytester.parseconfig()
    parser = config._parser
    assert option_taken(parser, "--conntriage-inventory") is True
    assert option_taken(parser, "--verbose") is True
    assert option_taken(parser, "--no-such-option") is False

    class Unknown:
        pass

    assert option_taken(Unknown(), "--inventory") is None


def test_the_junit_writer_is_found_only_with_junitxml(pytester: pytest.Pytester) -> None:
    from pytest_conntriage.pytest_internals import junit_xml

    assert junit_xml(pytester.parseconfigure()) is None
    with_junit = pytester.parseconfigure(f"--junitxml={pytester.path / 'j.xml'}")
    assert type(junit_xml(with_junit)).__name__ == "LogXML"


def test_the_load_schedulers_steps_are_there() -> None:
    from xdist.scheduler import LoadScheduling

    from pytest_conntriage.pytest_internals import load_scheduler_steps

    for name in ("_check_nodes_have_same_collection", "_send_tests"):
        assert callable(getattr(LoadScheduling, name))
    assert load_scheduler_steps(object()) is None


def test_a_worker_queue_of_another_shape_is_not_read() -> None:
    from pytest_conntriage.pytest_internals import worker_queue

    class Interactor:
        torun = None
        session = None

    assert worker_queue(Interactor()) is None


def test_the_xdist_worker_queue_is_read_on_a_real_worker(pytester: pytest.Pytester) -> None:
    """On a real xdist worker the interactor, its locked queue and its items are found.

    xdist before 3.6 keeps a plain queue without a lock (no `TestQueue`): there the
    queue is not read, the worker probes each test as it runs, and the tests still pass.
    """
    pytester.makeconftest(
        """
        from xdist import remote

        from pytest_conntriage.pytest_internals import worker_interactor, worker_queue

        def pytest_runtest_setup(item):
            interactor = worker_interactor(item.config)
            assert interactor is not None
            queue = worker_queue(interactor)
            assert (queue is not None) == hasattr(remote, "TestQueue"), type(interactor.torun)
            if queue is None:
                return
            lock, items = queue
            with lock() as indices:
                assert all(isinstance(i, int) or i is not None for i in indices)
            assert item in items
        """
    )
    pytester.makepyfile("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    result = pytester.runpytest_subprocess("-n", "1", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_requesting_item_of_a_session_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_conntriage.pytest_internals import requesting_item

        @pytest.fixture(scope="session")
        def first(request):
            return requesting_item(request)

        def test_it(first, request):
            assert first is request.node
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
