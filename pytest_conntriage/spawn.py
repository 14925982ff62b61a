"""Run a command on a testinfra host from a worker thread, surviving a transient spawn race.

pytest rewrites os.environ (PYTEST_CURRENT_TEST) between test phases while probe and
evidence threads run. A local or ssh backend that spawns its process at that moment can
fail with EFAULT ("Bad address": the child's execve read an environment being moved).
Nothing is wrong with the host, so the spawn is simply tried again.
"""

from __future__ import annotations

import errno
import time
from typing import Protocol

SPAWN_TRIES = 5
SPAWN_PAUSE_S = 0.02


class CommandResult(Protocol):
    """What testinfra's `host.run` returns."""

    @property
    def rc(self) -> int: ...
    @property
    def stdout(self) -> str: ...
    @property
    def stderr(self) -> str: ...


class CommandHost(Protocol):
    """The one thing the plugin needs of a testinfra host: `run(command, *args)`, which
    shell-quotes each arg into the command's `%s` placeholders."""

    def run(self, command: str, *args: str) -> CommandResult: ...


def run(host: CommandHost, command: str, *args: str) -> CommandResult:
    """`host.run(command, *args)`, retrying only the EFAULT spawn race."""
    for attempt in range(SPAWN_TRIES):
        try:
            return host.run(command, *args)
        except OSError as exc:
            if exc.errno != errno.EFAULT or attempt == SPAWN_TRIES - 1:
                raise
            time.sleep(SPAWN_PAUSE_S)
    raise AssertionError("unreachable")  # the loop returns or raises
