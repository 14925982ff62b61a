"""The plugin's entry point: its options and ini values, the run it registers, the fixture.

Inert without an inventory: importing this module imports pytest alone, and without an
inventory (or runbook, or validation) pytest_configure registers nothing. The run and
every layer below it are imported only when they are used, as pytest-xdist imports its
session only with -n and pytest's junitxml registers its writer only with --junitxml.

PYTEST_DONT_REWRITE: pytest rewrites the asserts of plugin modules, parsing this one
anew in every process that cannot cache bytecode (each xdist worker, too); its asserts
only narrow types.
"""

from __future__ import annotations

from collections.abc import Generator
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .fixture import Conntriage

GROUP = "conntriage"
INVENTORY_DEST = "conntriage_inventory"
INVENTORY_HELP = "inventory YAML to turn into connectivity checks; repeat to merge several"
# The short spelling other plugins use too (pytest-ansible's --inventory): ours only
# when, after every plugin and initial conftest has added its options, nobody has it.
SHORT_INVENTORY = "--inventory"
TESTINFRA_PLUGIN = "pytest11.testinfra"  # its entry point's name


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    # The hooks other plugins implement (hookspec.py): specs only, nothing heavy.
    from . import hookspec

    pluginmanager.add_hookspecs(hookspec)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    _make_room_for_pytest_ansible(pluginmanager)
    group = parser.getgroup(GROUP, "connectivity checks and triage (pytest-conntriage)")
    group.addoption(
        "--conntriage-inventory",
        action="append",
        default=[],
        dest=INVENTORY_DEST,
        metavar="FILE",
        help=f"{INVENTORY_HELP} (also {SHORT_INVENTORY}, unless another plugin has it)",
    )
    group.addoption(
        "--runbook",
        action="append",
        default=[],
        metavar="FILE",
        help="extra runbook YAML whose entries add to or override the bundled ones",
    )
    group.addoption(
        "--conntriage-concurrency",
        type=int,
        default=None,
        metavar="N",
        help="probes in flight at once (default: ini conntriage_concurrency, else 256)",
    )
    group.addoption(
        "--conntriage-validate",
        action="store_true",
        help="only load and validate the inventory, collect its checks and print a summary"
        " per service: no DNS query, no connection (the pre-merge check for inventory"
        " changes); exit status 0, or 4 for a mistake",
    )
    group.addoption(
        "--conntriage-junit",
        default=None,
        metavar="FILE",
        help="write a dashboard report: JUnit XML with one testsuite per inventory service"
        " (its host, unit and tags as properties), each failure typed by its outcome",
    )
    group.addoption(
        "--conntriage-shard",
        default=None,
        metavar="I/N",
        help="run shard I of N of the inventory's checks (a host's checks stay together);"
        " 'auto': GitLab's CI_NODE_INDEX/CI_NODE_TOTAL. Merge the shards' reports with"
        " python -m pytest_conntriage.merge",
    )
    for name, what in (
        ("timeout", "per-attempt timeout, e.g. 5s or 1.5"),
        ("retries", "extra attempts after a failure"),
        ("wait", "gate deadline: keep retrying until it, e.g. 2m"),
    ):
        # In place of the inventory's `defaults:`; a service's own value still wins.
        group.addoption(
            f"--conntriage-{name}",
            default=None,
            metavar="N" if name == "retries" else "DURATION",
            help=f"{what}, for this run: overrides the inventory's defaults (not what a"
            f" service sets itself); also ini conntriage_{name}",
        )
        parser.addini(f"conntriage_{name}", f"{what} (see --conntriage-{name})", default="")
    parser.addini(
        "conntriage_progress_interval",
        "seconds between the lines that show a gate waiting (default: 3 on a terminal,"
        " 10 otherwise)",
        default="",
    )
    parser.addini(
        "conntriage_junit",
        "dashboard report file (see --conntriage-junit), relative to the ini file",
    )
    group.addoption(
        "--conntriage-markdown",
        default=None,
        metavar="FILE",
        help="write a Markdown summary for a merge-request comment or CI job summary: a"
        " table of checks by service, each failure's top cause and fix",
    )
    parser.addini(
        "conntriage_markdown",
        "Markdown report file (see --conntriage-markdown), relative to the ini file",
    )
    group.addoption(
        "--conntriage-json",
        default=None,
        metavar="FILE",
        help="write a JSON report: every check with its outcome, attempts, timings,"
        " addresses and, for a failure, its ranked causes (schema in the package)",
    )
    parser.addini(
        "conntriage_json", "JSON report file (see --conntriage-json), relative to the ini file"
    )
    group.addoption(
        "--conntriage-by-service",
        action="store_true",
        help="end the terminal summary with a table of checks by service, passes"
        " included (also with -rA)",
    )
    parser.addini(
        "conntriage_inventory", "inventory files used when --inventory is not given", type="paths"
    )
    parser.addini(
        "conntriage_suites",
        "your own check modules, run with the inventory's when no path is given",
        type="paths",
    )
    parser.addini("conntriage_runbook", "extra runbook files (see --runbook)", type="paths")
    parser.addini("conntriage_concurrency", "probes in flight at once (default 256)", default="")
    parser.addini(
        "conntriage_junit_properties",
        "where JUnit gets each check's conntriage.* properties: testsuite (valid under "
        "xunit2), testcase, or auto (testcase under junit_family=xunit1, else testsuite)",
        default="auto",
    )


def _make_room_for_pytest_ansible(pluginmanager: pytest.PytestPluginManager) -> None:
    # pytest-testinfra (installed with this plugin, used as a library) and pytest-ansible
    # both add --ansible-inventory, so pytest stops at whichever loads second
    # (pytest-dev/pytest-testinfra#58). With pytest-ansible installed, testinfra's
    # pytest plugin, if it has not loaded yet, stays out; the README says what to type
    # when it loaded before this one.
    if pluginmanager.get_plugin(TESTINFRA_PLUGIN) is None and find_spec("pytest_ansible"):
        pluginmanager.set_blocked(TESTINFRA_PLUGIN)


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(parser: pytest.Parser) -> Generator[None, Any, Any]:
    # After every plugin (in whatever order they loaded) and the initial conftests
    # have added their options, and before pytest parses the command line: the last
    # moment an option can still be added, and the first at which all others are known.
    result = yield
    from .pytest_internals import option_taken

    if option_taken(parser, SHORT_INVENTORY) is False:
        parser.getgroup(GROUP).addoption(
            SHORT_INVENTORY,
            action="append",
            default=[],
            dest=INVENTORY_DEST,
            metavar="FILE",
            help=f"{INVENTORY_HELP} (same as --conntriage-inventory)",
        )
    return result


def pytest_configure(config: pytest.Config) -> None:
    if not _wanted(config):
        return  # inert: the fixture starts a run if a test asks for it
    from .heap import collector_paused

    # Importing the run's modules and loading the inventory make only objects that live
    # to the end: the collector's full passes over them (two or three, ~0.1 s) are waste.
    with collector_paused():
        from .run import Settings, start

        start(config, Settings.from_config(config))


def _wanted(config: pytest.Config) -> bool:
    """Whether this run uses the plugin from the start: an inventory, a runbook, validation."""
    return bool(
        config.getoption(INVENTORY_DEST)
        or config.getini("conntriage_inventory")
        or config.getoption("runbook")
        or config.getini("conntriage_runbook")
        or config.getoption("conntriage_validate")
        or config.getoption("conntriage_junit")  # needs an inventory: says so, exit 4
        or config.getoption("conntriage_shard")  # the same
        or config.getoption("conntriage_markdown")  # likewise
        or config.getoption("conntriage_json")  # likewise
    )


@pytest.fixture(scope="session")
def conntriage(request: pytest.FixtureRequest) -> Conntriage:
    """Verify inventory checks or ad-hoc endpoints; a failure shows the runbook triage."""
    # Session-scoped: a function-scoped fixture that asks for `request` costs pytest
    # ~0.15 ms a test to set up (10,000 checks: 1.5 s); the test running is tracked by
    # the run instead.
    from .run import RUN_PLUGIN, ConntriageRun, start_for_fixture

    run = request.config.pluginmanager.get_plugin(RUN_PLUGIN)
    if run is None:
        # A project without an inventory verifying ad-hoc endpoints: the run starts here.
        run = start_for_fixture(request)
    assert isinstance(run, ConntriageRun)
    return run.conntriage
