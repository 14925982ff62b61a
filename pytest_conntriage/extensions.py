"""What the run's plugins add through the hooks (hookspec.py), gathered once per process
into plain data: the evaluator and triage use this and never call a hook themselves."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .evidence.batch import Collector, check_collectors
from .runbook.model import RunbookAddition
from .triage.rules import CauseRules, check_rules

if TYPE_CHECKING:
    from .kinds.protocol import Kind


class ExtensionError(Exception):
    """A plugin's contribution that cannot be used (a duplicate name, a bad collector)."""


@dataclass(frozen=True)
class Extensions:
    """Every plugin's runbooks, collectors, cause rules and check kinds, built-in first."""

    runbooks: tuple[str | RunbookAddition, ...] = ()
    collectors: tuple[Collector, ...] = ()
    rules: tuple[CauseRules, ...] = ()
    kinds: tuple[Kind[Any], ...] = ()


def gathered(
    runbooks: Iterable[Sequence[str | Path | RunbookAddition] | None],
    collectors: Iterable[Sequence[Collector] | None],
    rules: Iterable[Sequence[CauseRules] | None],
    kinds: Iterable[Sequence[Kind[Any]] | None] = (),
) -> Extensions:
    """The hooks' results (one sequence per implementation, None for nothing), flattened
    and checked; raises ExtensionError for a contribution that cannot be used."""
    found = Extensions(
        tuple(_runbook(item) for each in runbooks for item in each or ()),
        tuple(c for each in collectors for c in each or ()),
        tuple(r for each in rules for r in each or ()),
        tuple(k for each in kinds for k in each or ()),
    )
    try:
        check_collectors(found.collectors)
        check_rules(found.rules)
    except ValueError as exc:
        raise ExtensionError(str(exc)) from None
    return found


def builtin() -> Extensions:
    """The plugin's own runbook and cause rules: what a run has before any plugin adds."""
    from .runbook.load import bundled_files
    from .triage.causes import BUILTIN

    return Extensions(runbooks=tuple(bundled_files()), rules=BUILTIN)


def _runbook(item: object) -> str | RunbookAddition:
    if isinstance(item, RunbookAddition):
        return item
    if isinstance(item, (str, Path)):
        return str(item)
    raise ExtensionError(f"not a runbook path or RunbookAddition: {item!r}")
