"""Every private pytest and pytest-xdist detail the plugin relies on, each checked, with a fallback.

Kept in one place so a new pytest or xdist breaks one module, and its tests
(tests/test_pytest_internals.py, run by tox against the oldest and newest supported
versions) say which detail moved. Each function checks that the detail is there and
leaves pytest as it was, or degrades to slower but correct behaviour, when it is not.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

try:  # the base pytest gives a failure representation with its own `toterminal`
    from _pytest._code.code import ReprFileLocation, TerminalRepr
    from _pytest._io import TerminalWriter
except ImportError:  # pragma: no cover - only on a pytest that moved them
    from dataclasses import dataclass

    class TerminalRepr:  # type: ignore[no-redef]
        """Stand-in: pytest calls `toterminal` on anything that has it, else str()."""

        def toterminal(self, tw: Any) -> None:
            raise NotImplementedError

    @dataclass(eq=False)
    class ReprFileLocation:  # type: ignore[no-redef]
        path: str
        lineno: int
        message: str

    TerminalWriter = Any  # type: ignore[misc,assignment]

__all__ = [
    "ReprFileLocation",
    "TerminalRepr",
    "TerminalWriter",
    "index_teardown_reports",
    "junit_xml",
    "load_scheduler_steps",
    "option_taken",
    "parametrized_node_id",
    "requesting_item",
    "stderr_isatty",
    "uncaptured_line_writer",
    "worker_interactor",
    "worker_queue",
]


def index_teardown_reports(reporter: Any) -> bool:
    """Make the FAILURES section linear in the number of tests.

    For every failure shown, pytest's terminal reporter looks for that test's teardown
    report by scanning every passed setup and teardown report of the run
    (`TerminalReporter._get_teardown_reports`): failures × 2 × tests comparisons, about
    two minutes at 10,000 checks with most of them failing. This replaces that lookup on
    this one reporter with a dict built once, when the summary first asks; the reports
    are final by then, and the answer (which reports, in which order) is the same.

    Returns whether the lookup was replaced (False on a pytest without it).
    """
    original = getattr(reporter, "_get_teardown_reports", None)
    getreports = getattr(reporter, "getreports", None)
    if not callable(original) or not callable(getreports):
        return False
    index: dict[str, list[Any]] | None = None

    def teardown_reports(node_id: object) -> list[Any]:
        nonlocal index
        if index is None:
            index = {}
            for report in getreports(""):
                if getattr(report, "when", None) == "teardown":
                    index.setdefault(str(report.nodeid), []).append(report)
        return list(index.get(str(node_id), ()))

    reporter._get_teardown_reports = teardown_reports
    return True


def parametrized_node_id(parent: Any, base: str, params: str) -> dict[str, Any]:
    """The node id keyword for an item named `base[params]`, built as pytest 9 builds a
    parametrized function's: path, names (`base`) and params apart.

    pytest 9's cache (`--lf`, `--ff`, `--sw`) compares structured node ids and parses
    the ids it saved into that shape; an item whose id keeps `[params]` inside its name
    would never equal its own saved failure, so `--lf` would rerun everything. On a
    pytest without structured ids, the default (the name) is right: {}.
    """
    parent_id = getattr(parent, "id", None)
    child = getattr(parent_id, "child", None)
    if not callable(child):
        return {}
    return {"nodeid": child(base).with_params(params)}


def junit_escape(value: object) -> str:
    """What pytest's JUnit writer does to a value before it writes it (characters XML
    cannot hold replaced), so text written beside it reads the same.

    Printable ASCII, which it leaves as it is, is returned at once: ~8 properties per
    check go through here, and its regular expression cost ~7 µs each."""
    if isinstance(value, str) and value.isascii() and value.isprintable():
        return value
    from _pytest.junitxml import bin_xml_escape

    return str(bin_xml_escape(value))


def open_junit_testcases(xml: Any) -> list[Any]:
    """The testcases pytest's JUnit writer (`LogXML`) has not written out yet: its
    `_NodeReporter`s, in order. Empty if LogXML no longer keeps them there."""
    reporters = getattr(xml, "node_reporters", None)
    return list(reporters.values()) if isinstance(reporters, dict) else []


def finished_junit_testcase(reporter: Any) -> Callable[[], Any] | None:
    """For a testcase LogXML has finished (its `finalize` left only `to_xml`, returning
    the testcase element), that function; None while it is still being written, or if
    LogXML finishes testcases differently."""
    to_xml = vars(reporter).get("to_xml")
    return to_xml if vars(reporter).keys() == {"to_xml"} and callable(to_xml) else None


def replace_junit_testcase(reporter: Any, to_xml: Callable[[], Any]) -> None:
    """Have LogXML write `to_xml()` in place of the finished testcase `reporter`."""
    reporter.to_xml = to_xml


def junit_xml(config: Any) -> Any:
    """pytest's JUnit writer (`LogXML`) of this run, or None (no --junitxml, or moved)."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - only on a pytest that moved it
        return None
    return config.stash.get(xml_key, None)


def worker_interactor(config: Any) -> Any:
    """xdist's plugin on a worker that receives the tests (`WorkerInteractor`), or None.

    xdist exports no name for it: found by its class name among the plugins.
    """
    return next(
        (p for p in config.pluginmanager.get_plugins() if type(p).__name__ == "WorkerInteractor"),
        None,
    )


def worker_queue(interactor: Any) -> tuple[Callable[[], Any], list[Any]] | None:
    """The worker's queue of item indices (a context manager locking it) and its
    session's items; None when xdist's queue no longer looks like that.

    xdist appends what the controller sends and the worker pops from the front;
    the shutdown marker is not an int.
    """
    lock = getattr(getattr(interactor, "torun", None), "lock", None)
    session = getattr(interactor, "session", None)
    items = getattr(session, "items", None)
    if not callable(lock) or not isinstance(items, list):
        return None
    return lock, items


def load_scheduler_steps(
    scheduler: Any,
) -> tuple[Callable[[], bool], Callable[[Any, int], None]] | None:
    """xdist's load scheduler's own two steps: "do all nodes hold the same collection?"
    and "send the next `count` pending tests to `node`"; None when it lacks either, and
    the caller then leaves scheduling to xdist."""
    same = getattr(scheduler, "_check_nodes_have_same_collection", None)
    send = getattr(scheduler, "_send_tests", None)
    if not callable(same) or not callable(send):
        return None
    return same, send


def option_taken(parser: Any, name: str) -> bool | None:
    """Whether a plugin or conftest has already added command-line option `name`;
    None when pytest's parser no longer shows its options (then take nothing)."""
    groups = getattr(parser, "_groups", None)
    anonymous = getattr(parser, "_anonymous", None)
    if not isinstance(groups, list) or anonymous is None:
        return None
    try:
        for group in [anonymous, *groups]:
            for option in group.options:
                if name in option.names():
                    return True
    except (AttributeError, TypeError):
        return None
    return False


def requesting_item(request: Any) -> Any:
    """The test item whose setup is asking a (session-scoped) fixture's `request`, or None."""
    item = getattr(request, "_pyfuncitem", None)
    return item if getattr(item, "nodeid", None) is not None else None


def uncaptured_line_writer(config: Any) -> Callable[[str], None] | None:
    """A function writing one line to the terminal while a test runs, past pytest's
    output capture (as its live logging does: CaptureManager.global_and_fixture_disabled);
    None without a terminal reporter (`-p no:terminal`).

    An xdist worker has no terminal of its own: it writes the line, "[gw0] " first, to
    its standard error, which xdist's workers share with the controller's.

    Without the capture manager's context (an older or newer pytest), the line is written
    plainly: with fd capture on, it then lands in the test's captured output, never lost.
    """
    capman = config.pluginmanager.get_plugin("capturemanager")
    disabled = getattr(capman, "global_and_fixture_disabled", None)
    workerinput = getattr(config, "workerinput", None)
    if isinstance(workerinput, dict):
        prefix = f"[{workerinput.get('workerid', 'worker')}] "

        def out(line: str) -> None:
            sys.stderr.write(f"{prefix}{line}\n")
            sys.stderr.flush()

    else:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return None
        out = reporter.write_line

    def write(line: str) -> None:
        if callable(disabled):
            with disabled():
                out(line)
        else:  # pragma: no cover - only on a pytest without it
            out(line)

    return write


def stderr_isatty() -> bool:
    """Whether standard error is a terminal (an xdist worker's progress goes there)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
