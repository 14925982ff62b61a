"""Runbook templates filled with a failure's real values: commands quoted, prose as-is."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..runbook.model import Diagnostic, Resolution, Side, Step
from ..runbook.template import CORE_PLACEHOLDERS, missing, render


@dataclass(frozen=True)
class FilledStep:
    text: str
    command: str = ""


@dataclass(frozen=True)
class FilledResolution:
    id: str
    title: str
    steps: tuple[FilledStep, ...]


@dataclass(frozen=True)
class FilledDiagnostic:
    id: str
    title: str
    side: Side
    command: str
    tells: str


def prose(
    template: str, values: Mapping[str, str], words: Mapping[str, str] = CORE_PLACEHOLDERS
) -> str:
    """Text for a person to read: values go in as they are; an unknown one is worded
    (`words`: the core placeholders' and the check's kind's), never left as a
    placeholder."""
    return render(template, values, otherwise=words)


def command(template: str, values: Mapping[str, str], prefer: Sequence[str] = ()) -> str:
    """A command to paste into a shell: the first of `prefer`, then `template`, whose
    values are all known; every value shell-quoted, since inventory values are
    untrusted. "" when none can be filled: a command is never printed half-made."""
    for chosen in (*prefer, template):
        if chosen and not missing(chosen, values):
            return render(chosen, values, quote=shlex.quote)
    return ""


def step(
    item: Step, values: Mapping[str, str], words: Mapping[str, str] = CORE_PLACEHOLDERS
) -> FilledStep | None:
    """The step filled in; None when it does not apply (its text names a value not
    known, or `unless` one that is). A command that cannot be filled is left out."""
    if missing(item.text, values) or any(name in values for name in item.unless):
        return None
    return FilledStep(prose(item.text, values, words), command(item.command, values, item.prefer))


def resolution(
    item: Resolution, values: Mapping[str, str], words: Mapping[str, str] = CORE_PLACEHOLDERS
) -> FilledResolution:
    steps = (step(s, values, words) for s in item.steps)
    return FilledResolution(
        item.id, prose(item.title, values, words), tuple(s for s in steps if s is not None)
    )


def diagnostic(
    item: Diagnostic, values: Mapping[str, str], words: Mapping[str, str] = CORE_PLACEHOLDERS
) -> FilledDiagnostic | None:
    """The diagnostic filled in; None when its command cannot be (left out)."""
    filled = command(item.command, values, item.prefer)
    if not filled:
        return None
    return FilledDiagnostic(
        item.id,
        prose(item.title, values, words),
        item.side,
        filled,
        prose(item.tells, values, words),
    )
