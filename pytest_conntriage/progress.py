"""The line that shows gates waiting, printed while the main thread waits for a result.

The engine's loop records every pending `wait:` (probe/progress.py's WaitBoard); the
main thread, blocked on one check's result, calls `tick()` each time it wakes (about
ten times a second) and a line is written at most once per `interval` seconds, and only
once something has been waiting that long. No pytest here: the run hands in the writer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .probe.progress import WaitBoard
from .report.waiting import progress_line

# Seconds between lines: on a terminal someone is watching; a CI log keeps every line.
TERMINAL_INTERVAL_S = 3.0
LOG_INTERVAL_S = 10.0


def interval(setting: str, isatty: bool) -> float:
    """The ini's `conntriage_progress_interval` (seconds, above 0), else the default for
    a terminal or a log; ValueError for anything else."""
    text = setting.strip()
    if not text:
        return TERMINAL_INTERVAL_S if isatty else LOG_INTERVAL_S
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a number of seconds") from None
    if not 0 < seconds < float("inf"):
        raise ValueError(f"'{text}': the interval must be a number of seconds above 0")
    return seconds


class ProgressTicker:
    """Writes the waiting gates' line through `write`, rate-limited on `clock`."""

    def __init__(
        self,
        board: WaitBoard,
        write: Callable[[str], None],
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.board = board
        self.write = write
        self.interval_s = interval_s
        self.clock = clock
        # When the last line was written, or the current stretch of waiting began.
        self._since: float | None = None
        self.written = 0  # lines written so far

    def tick(self) -> None:
        now = self.clock()
        pending = self.board.pending()
        if not pending:
            self._since = None
            return
        if self._since is None:
            self._since = now
            return
        if now - self._since >= self.interval_s:
            self._since = now
            self.write(progress_line(pending, now))
            self.written += 1
