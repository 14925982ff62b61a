"""The plugin's entry point: its options and ini values, the run it registers, the fixture.

PYTEST_DONT_REWRITE: pytest rewrites the asserts of plugin modules, parsing this one
anew in every process that cannot cache bytecode (each xdist worker, too); its asserts
only narrow types.
"""

from __future__ import annotations

import warnings

import pytest

from . import junit
from .fixture import Conntriage
from .inventory import InventoryError, InventoryWarning, load_inventories
from .probe.engine import DEFAULT_CONCURRENCY
from .run import ConntriageRun, Settings
from .runbook import RunbookError, load_runbook
from .xdist_support import validated_digests


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    # The hooks other plugins implement (hookspec.py): specs only, nothing heavy.
    from . import hookspec

    pluginmanager.add_hookspecs(hookspec)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conntriage", "connectivity checks and triage (pytest-conntriage)")
    group.addoption(
        "--inventory",
        action="append",
        default=[],
        metavar="FILE",
        help="inventory YAML to turn into connectivity checks; repeat to merge several",
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
        help=f"probes in flight at once (default {DEFAULT_CONCURRENCY})",
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
    parser.addini(
        "conntriage_junit",
        "dashboard report file (see --conntriage-junit), relative to the ini file",
    )
    parser.addini(
        "conntriage_inventory", "inventory files used when --inventory is not given", type="paths"
    )
    parser.addini("conntriage_runbook", "extra runbook files (see --runbook)", type="paths")
    parser.addini(
        "conntriage_concurrency", "probes in flight at once", default=str(DEFAULT_CONCURRENCY)
    )
    parser.addini(
        junit.INI,
        "where JUnit gets each check's conntriage.* properties: testsuite (valid under "
        "xunit2), testcase, or auto (testcase under junit_family=xunit1, else testsuite)",
        default=junit.AUTO,
    )


def pytest_configure(config: pytest.Config) -> None:
    from .builtin import extensions_of
    from .extensions import ExtensionError

    settings = Settings.from_config(config)
    try:
        # What every plugin adds through hookspec.py's hooks, gathered once per process:
        # before the inventory, whose check kinds may come from a plugin.
        extensions = extensions_of(config)
        # An xdist worker reads the files the controller has just validated.
        validated = validated_digests(config)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InventoryWarning)
            inventory = (
                load_inventories(settings.inventories, validated=validated)
                if settings.inventories
                else None
            )
        runbook = load_runbook([*extensions.runbooks, *settings.runbooks], bundled=False)
        # In pytest's warnings summary, where -W and filterwarnings apply to them.
        for warning in caught:
            config.issue_config_time_warning(warning.message, stacklevel=2)  # type: ignore[arg-type]
    except (InventoryError, RunbookError, InventoryWarning, ExtensionError) as exc:
        raise pytest.UsageError(str(exc)) from None
    if inventory is not None:
        for tag in sorted(
            {t for s in inventory.services for t in s.tags}
            | {t for c in inventory.closed for t in c.tags}
        ):
            config.addinivalue_line("markers", f"{tag}: inventory tag")
        # The built-in suite is collected under each inventory file (see InventorySuite),
        # so test ids, locations and JUnit class names name the inventory, not a path
        # inside site-packages.
        for source in inventory.sources:
            if source not in config.args:
                config.args.append(source)
        if settings.validate:
            # The inventory's own checks, collected and never run: no probe is started,
            # and planning needs no DNS answer. Other test files are not even imported.
            config.option.collectonly = True
            config.args[:] = list(inventory.sources)
    run = ConntriageRun(config, settings, inventory, runbook, extensions)
    config.pluginmanager.register(run, "conntriage-run")
    config.pluginmanager.register(run.xdist_hooks, "conntriage-xdist")
    if settings.dashboard is not None and inventory is not None and not settings.validate:
        from .dashboard_writer import DashboardWriter  # only for a run that writes one

        config.pluginmanager.register(
            DashboardWriter.for_run(run, settings.dashboard), "conntriage-dashboard"
        )


@pytest.fixture(scope="session")
def conntriage(pytestconfig: pytest.Config) -> Conntriage:
    """Verify inventory checks or ad-hoc endpoints; a failure shows the runbook triage."""
    # Session-scoped: a function-scoped fixture that asks for `request` costs pytest
    # ~0.15 ms a test to set up (10,000 checks: 1.5 s); the test running is tracked by
    # the run instead.
    run = pytestconfig.pluginmanager.get_plugin("conntriage-run")
    assert isinstance(run, ConntriageRun)
    return run.conntriage
