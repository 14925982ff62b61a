"""Which form of a runbook command fits where it runs, and how its values are quoted.

A command run on the client runs here, on this (POSIX) machine: its main form, values
shell-quoted. One run on the target fits the target's platform: on a Windows host (a
`winrm://` one) only the forms written for Windows, a step's own command when the step
says `platform: windows` and its `windows` alternatives, with values as PowerShell
literals; a Linux command is never offered there (nor a Windows one on Linux). Pure.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence

from ..powershell import literal
from .model import Alternative, Platform, Side

Quote = Callable[[str], str]


def forms(
    command: str,
    prefer: Sequence[str],
    alternatives: Sequence[Alternative],
    side: Side,
    target: Platform | None,
    written_for: Platform = Platform.LINUX,
) -> tuple[tuple[str, ...], Quote]:
    """The templates to try, most specific first, and the quoting for their values.

    `target` is the target host's platform (None: not known, taken as Linux);
    `written_for` the platform of `command` itself (a step can be Windows-only)."""
    windows = target is Platform.WINDOWS and side is Side.TARGET
    if not windows:
        if written_for is Platform.WINDOWS and side is Side.TARGET:
            return (), shlex.quote
        return tuple(t for t in (*prefer, command) if t), shlex.quote
    own = (command,) if command and written_for is Platform.WINDOWS else ()
    others = tuple(a.command for a in alternatives if a.platform is Platform.WINDOWS)
    return (*own, *others), literal
