"""The hooks other plugins implement to extend pytest-conntriage: runbooks, evidence
collectors, rules that decide causes, and check kinds.

Registered from `plugin.pytest_addhooks`. Every hook here is called once per process
(the xdist controller and each worker alike), when the plugin sets up its run at
`pytest_configure` (the run, and with it these calls, belongs to a run that checks an
inventory or uses the `conntriage` fixture). What the
implementations return is gathered there into plain data (`extensions.Extensions`) that
the evaluator and triage use for the rest of the run; none of these hooks is called per
check, and nothing below the plugin layer calls pluggy.

The plugin's own runbook, collectors and cause rules come through these very hooks
(`pytest_conntriage.builtin`), so a team's cause is decided exactly like a bundled one.

All of them are "collect every result" hooks (not firstresult): each implementation
returns a sequence, and the results of all implementations are concatenated, the
built-in one's first. Return an empty sequence (or None) to add nothing.

Example, a plugin adding a cause with its own evidence (see docs/extending.md)::

    def pytest_conntriage_add_runbooks(config):
        return [RunbookAddition(str(HERE / "maintenance.yaml"), to="tcp-connectivity")]

    def pytest_conntriage_add_collectors(config):
        return [Collector("maintenance-flag", SCRIPT, parse_flag, args=("/etc/maintenance",))]

    def pytest_conntriage_add_rules(config):
        return [CauseRules("maintenance", ("host-in-maintenance",), from_evidence=decide,
                           needs=("maintenance-flag",))]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import pytest

    from .evidence.batch import Collector
    from .kinds.protocol import Kind
    from .runbook.model import RunbookAddition
    from .triage.rules import CauseRules

hookspec = pluggy.HookspecMarker("pytest")


@hookspec
def pytest_conntriage_add_runbooks(
    config: pytest.Config,
) -> Sequence[str | Path | RunbookAddition] | None:
    """Runbook files (YAML, the format of docs/runbook.md) to load for this run.

    :param config: The pytest config object.
    :returns: Paths of runbook files, or
        :class:`pytest_conntriage.runbook.model.RunbookAddition` (a file whose causes,
        diagnostics and resolutions join an entry already loaded, such as the bundled
        ``tcp-connectivity``: how a new cause joins the entry that explains its
        outcomes). They are loaded after the bundled runbook and before the files of
        ``--runbook``/``conntriage_runbook``, each in the order returned; an entry
        replaces an earlier one with the same id, so a user's ``--runbook`` file still
        has the last word.

    A mistake in a returned file stops the run like a mistake in ``--runbook`` does:
    one ``file:line:col`` message, exit status 4.

    Called once per process (controller and every xdist worker) when the run is set up
    at ``pytest_configure``.
    """


@hookspec
def pytest_conntriage_add_collectors(config: pytest.Config) -> Sequence[Collector] | None:
    """Evidence collectors to run in the per-host evidence batch.

    :param config: The pytest config object.
    :returns: :class:`pytest_conntriage.evidence.batch.Collector` objects. Each is a
        name (its section in the batch's output), a constant ``sh`` snippet, a time
        bound, and a parser of the section's stdout into the facts a rule reads.

    The snippet is code and must be a constant: nothing is ever formatted into it. The
    values it needs reach it only as positional arguments: ``$1`` is the check's unit
    (empty for none), ``$2`` and on are the collector's own ``args``; the batch passes
    them shell-quoted. It runs on the target host, in the one batch that host gets per
    run (over ssh or whatever the inventory says), under ``timeout``, with stdin closed.

    A collector that did not finish (exit status other than 0, timed out, not reached,
    the batch never ran) or whose output the parser rejects (``ValueError``) leaves its
    facts *unknown*, never empty: the host's "evidence unavailable" lines name it, and
    no rule that needs it is asked.

    Called once per process (controller and every xdist worker) when the run is set up
    at ``pytest_configure``. Names must be unique across all plugins.
    """


@hookspec
def pytest_conntriage_add_rules(config: pytest.Config) -> Sequence[CauseRules] | None:
    """Rules that confirm, re-weigh or rule out runbook causes from what a failed
    check and its evidence show.

    :param config: The pytest config object.
    :returns: :class:`pytest_conntriage.triage.rules.CauseRules` objects. Each names the
        cause ids it decides (a finding about any other cause is an error) and how: from
        the failed check's own facts, from the path trace, from the host's and the
        client's evidence (``from_evidence``).

    Unknown is not absent: a rule that lists collectors in ``needs`` is asked only when
    every one of them ran and was read on the target host, and the probed address is
    that host's; otherwise its causes keep the weight the outcome gives them (neither
    confirmed nor ruled out). Findings about a cause the runbook entry lacks are
    ignored. A rule that raises makes the failure's triage say so; the failure itself
    always stands.

    Called once per process (controller and every xdist worker) when the run is set up
    at ``pytest_configure``; the rules are then used for every failed check.
    """


@hookspec
def pytest_conntriage_add_kinds(config: pytest.Config) -> Sequence[Kind[Any]] | None:
    """Check kinds to add to the built-in ones.

    :param config: The pytest config object.
    :returns: Objects of the :class:`pytest_conntriage.kinds.protocol.Kind` protocol
        (plan, probe, judge, investigate, facts, describe, properties); each one's name
        must be new. They are collected after the built-in kinds, in the order returned.

    Called once per process (controller and every xdist worker) when the run is set up
    at ``pytest_configure``, before the inventory is loaded.
    """
