"""Runbook templates filled with a failure's real values: commands quoted, prose as-is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..runbook.model import Alternative, Diagnostic, Platform, Resolution, Side, Step
from ..runbook.platforms import forms
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


def command(
    template: str,
    values: Mapping[str, str],
    prefer: Sequence[str] = (),
    alternatives: Sequence[Alternative] = (),
    side: Side = Side.TARGET,
    platform: Platform | None = None,
    written_for: Platform = Platform.LINUX,
) -> str:
    """A command to paste into a shell: the first of the forms that fit where it runs
    (runbook/platforms.py: `prefer`, then `template`; on a Windows target its Windows
    forms) whose values are all known; every value quoted for that shell (POSIX or
    PowerShell), since inventory values are untrusted. "" when none can be filled: a
    command is never printed half-made."""
    templates, quote = forms(template, prefer, alternatives, side, platform, written_for)
    for chosen in templates:
        if chosen and not missing(chosen, values):
            return render(chosen, values, quote=quote)
    return ""


def step(
    item: Step,
    values: Mapping[str, str],
    words: Mapping[str, str] = CORE_PLACEHOLDERS,
    platform: Platform | None = None,
) -> FilledStep | None:
    """The step filled in; None when it does not apply (its text names a value not
    known, or `unless` one that is, or it is for another platform's hosts). A command
    that cannot be filled is left out."""
    if missing(item.text, values) or any(name in values for name in item.unless):
        return None
    if item.platform is not None and (item.platform is Platform.WINDOWS) != (
        platform is Platform.WINDOWS
    ):
        return None
    written_for = item.platform or Platform.LINUX
    filled = command(
        item.command, values, item.prefer, item.alternatives, item.side, platform, written_for
    )
    return FilledStep(prose(item.text, values, words), filled)


def resolution(
    item: Resolution,
    values: Mapping[str, str],
    words: Mapping[str, str] = CORE_PLACEHOLDERS,
    platform: Platform | None = None,
) -> FilledResolution:
    steps = (step(s, values, words, platform) for s in item.steps)
    return FilledResolution(
        item.id, prose(item.title, values, words), tuple(s for s in steps if s is not None)
    )


def diagnostic(
    item: Diagnostic,
    values: Mapping[str, str],
    words: Mapping[str, str] = CORE_PLACEHOLDERS,
    platform: Platform | None = None,
) -> FilledDiagnostic | None:
    """The diagnostic filled in (on a Windows target, its Windows form); None when its
    command cannot be (left out)."""
    filled = command(item.command, values, item.prefer, item.alternatives, item.side, platform)
    if not filled:
        return None
    return FilledDiagnostic(
        item.id,
        prose(item.title, values, words),
        item.side,
        filled,
        prose(item.tells, values, words),
    )
