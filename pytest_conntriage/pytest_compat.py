"""Where pytest itself does not scale to thousands of failing tests, and what we do about it.

Kept apart from the hooks: each workaround touches one private pytest detail, checks it
is there, and leaves pytest as it was when it is not.
"""

from __future__ import annotations

from typing import Any


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
