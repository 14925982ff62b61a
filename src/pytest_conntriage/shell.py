"""Run a command on a testinfra host from a worker thread, surviving a transient spawn race.

pytest rewrites os.environ (PYTEST_CURRENT_TEST) between test phases while probe and
evidence threads run. A local or ssh backend that spawns its process at that moment can
fail with EFAULT ("Bad address": the child's execve read an environment being moved).
Nothing is wrong with the host, so the spawn is simply tried again.
"""

from __future__ import annotations

import errno
import time
from typing import Any, Protocol

SPAWN_TRIES = 5
SPAWN_PAUSE_S = 0.02


class RunsCommands(Protocol):
    def run(self, command: str, *args: str) -> Any: ...


def run(host: RunsCommands, command: str, *args: str) -> Any:
    """`host.run(command, *args)`, retrying only the EFAULT spawn race."""
    for attempt in range(SPAWN_TRIES):
        try:
            return host.run(command, *args)
        except OSError as exc:
            if exc.errno != errno.EFAULT or attempt == SPAWN_TRIES - 1:
                raise
            time.sleep(SPAWN_PAUSE_S)
    raise AssertionError("unreachable")  # the loop returns or raises
