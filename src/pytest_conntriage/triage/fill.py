"""Runbook templates filled with a failure's real values: commands quoted, prose as-is."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..runbook.model import Diagnostic, Resolution, Side, Step
from ..runbook.template import placeholders, render


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


def prose(template: str, values: Mapping[str, str]) -> str:
    """Text for a person to read: values go in as they are."""
    return render(template, values)


def command(template: str, values: Mapping[str, str], prefer: Sequence[str] = ()) -> str:
    """A command to paste into a shell: the first of `prefer` whose values are all known,
    else `template`; every value shell-quoted, since inventory values are untrusted."""
    if not template:
        return ""
    chosen = next((p for p in prefer if all(n in values for n in placeholders(p))), template)
    return render(chosen, values, quote=shlex.quote)


def step(item: Step, values: Mapping[str, str]) -> FilledStep:
    return FilledStep(prose(item.text, values), command(item.command, values, item.prefer))


def resolution(item: Resolution, values: Mapping[str, str]) -> FilledResolution:
    return FilledResolution(
        item.id, prose(item.title, values), tuple(step(s, values) for s in item.steps)
    )


def diagnostic(item: Diagnostic, values: Mapping[str, str]) -> FilledDiagnostic:
    return FilledDiagnostic(
        item.id,
        prose(item.title, values),
        item.side,
        command(item.command, values, item.prefer),
        prose(item.tells, values),
    )
