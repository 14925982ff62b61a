"""What every gate waiting right now has done so far: the state its progress line shows.

probe/retry.py records each `wait:` it runs here (attempts, the last outcome, the
deadline) for the check that asked for it, named by the context variable the evaluator
sets (WATCH); the run's main thread reads it while it waits for a result (progress.py
at the package's top, ProgressTicker). Thread-safe: the engine's loop writes, the main
thread reads.
"""

from __future__ import annotations

import itertools
import threading
from contextvars import ContextVar
from dataclasses import dataclass, replace

from ..outcome import Outcome


@dataclass(frozen=True, slots=True)
class Pending:
    """One gate still waiting: which check, how far it got, and until when."""

    label: str  # the check's id: "api:local->api.example.com:443"
    deadline: float  # on the board's clock (time.monotonic in a run)
    attempts: int = 0
    last: Outcome | None = None  # the latest attempt's outcome; None before the first


class WaitBoard:
    """The gates waiting now, in the order they started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, Pending] = {}
        self._tokens = itertools.count()

    def begin(self, label: str, deadline: float) -> int:
        """A gate starts waiting; its token for `attempted` and `end`."""
        token = next(self._tokens)
        with self._lock:
            self._pending[token] = Pending(label, deadline)
        return token

    def attempted(self, token: int, outcome: Outcome) -> None:
        with self._lock:
            entry = self._pending.get(token)
            if entry is not None:
                self._pending[token] = replace(entry, attempts=entry.attempts + 1, last=outcome)

    def end(self, token: int) -> None:
        with self._lock:
            self._pending.pop(token, None)

    def pending(self) -> list[Pending]:
        with self._lock:
            return list(self._pending.values())


@dataclass(frozen=True, slots=True)
class Watch:
    """Where a probe's waiting is recorded, and under which check's name."""

    board: WaitBoard
    label: str


# Set by the evaluator around a check's probe; a probe's task inherits it (a probe shared
# by several checks is shown under the first that started it). None: nobody watches.
WATCH: ContextVar[Watch | None] = ContextVar("conntriage_watch", default=None)
