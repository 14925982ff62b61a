"""The plugin's own runbook and cause rules, added through the hooks of hookspec.py like
any team's; and the one place a run gathers what every plugin adds."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest

from .evidence.batch import Collector
from .extensions import Extensions, gathered
from .runbook.load import bundled_files
from .triage.causes import BUILTIN
from .triage.rules import CauseRules

PLUGIN_NAME = "conntriage-builtin"


# First: the bundled runbook is loaded before every plugin's, which may replace its entries.
@pytest.hookimpl(tryfirst=True)
def pytest_conntriage_add_runbooks(config: pytest.Config) -> Sequence[str]:
    return bundled_files()


@pytest.hookimpl(tryfirst=True)
def pytest_conntriage_add_rules(config: pytest.Config) -> Sequence[CauseRules]:
    return BUILTIN


def extensions_of(config: pytest.Config) -> Extensions:
    """Every plugin's runbooks, collectors, rules and kinds, gathered once for this
    process (controller or xdist worker); raises ExtensionError for a bad one."""
    manager = config.pluginmanager
    if manager.get_plugin(PLUGIN_NAME) is None:
        manager.register(sys.modules[__name__], PLUGIN_NAME)
    hook = config.hook
    collectors: list[Sequence[Collector] | None] = hook.pytest_conntriage_add_collectors(
        config=config
    )
    return gathered(
        hook.pytest_conntriage_add_runbooks(config=config),
        collectors,
        hook.pytest_conntriage_add_rules(config=config),
        hook.pytest_conntriage_add_kinds(config=config),
    )
