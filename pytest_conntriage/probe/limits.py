"""Fit the engine to the process's file-descriptor limit, so probes never starve for sockets.

A probe that cannot get a socket reports probe-error, never a timeout of the target; but
a run where hundreds of probes do that is useless. So before probing, the soft limit is
raised towards the hard one, and if that is not enough the number of probes in flight is
capped below it, and the run says so.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

# Descriptors kept free beyond those already open, for what the run opens besides the
# engine's sockets later on (DNS probes, xdist, evidence subprocesses and their pipes).
RESERVED_FDS = 64
# The least the reserve is allowed to shrink to under a very low limit.
MIN_RESERVE = 16
# What one command the run starts (an evidence batch, `ip route get`) holds while it
# runs: its stdout and stderr pipes, both ends while spawning, and the exec status pipe.
FDS_PER_COMMAND = 6
# The part of the reserve kept for DNS sockets, xdist and the like; the rest is for
# commands, which is how many may run at once when probes are capped.
OTHER_FDS = 16


@dataclass(frozen=True)
class FdBudget:
    concurrency: int  # probes in flight the limit allows
    soft_limit: int  # the soft RLIMIT_NOFILE after any raise
    note: str = ""  # what was changed, for the run's header; "" when nothing was
    commands: int | None = None  # commands at once the reserve allows; None: no cap


def fit(concurrency: int) -> FdBudget:
    """Raise the soft fd limit for `concurrency` probes if allowed, else cap them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    reserve = _reserve()
    needed = concurrency + reserve
    if needed <= soft:
        return FdBudget(concurrency, soft)
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        raised = target
    except (ValueError, OSError):
        raised = soft
    if needed <= raised:
        return FdBudget(concurrency, raised, f"raised the open-file limit {soft} → {raised}")
    capped = max(1, raised - reserve)
    note = (
        f"concurrency capped at {capped} by the open-file limit ({raised}, hard {hard}); "
        "raise it with `ulimit -n`"
    )
    # Probes time out together, and each failure's evidence starts a command: uncapped,
    # dozens of them at once would take the descriptors the next probes need.
    commands = max(1, (min(reserve, RESERVED_FDS) - OTHER_FDS) // FDS_PER_COMMAND)
    return FdBudget(capped, raised, note, commands)


def _reserve() -> int:
    """The descriptors already open plus RESERVED_FDS, or a smaller margin under a limit
    so low that the full reserve would leave no probes at all.

    What is open counts: a run that has opened dozens of files before probing (pytest's
    capture, the plugins, the user's fixtures) would otherwise spend the reserve meant
    for evidence subprocesses and DNS, and its last probes would fail with EMFILE.
    """
    try:
        open_now = len(os.listdir("/proc/self/fd")) - 1  # not the listing's own descriptor
    except OSError:
        return RESERVED_FDS
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard - (open_now + RESERVED_FDS) >= RESERVED_FDS:
        return open_now + RESERVED_FDS
    return max(MIN_RESERVE, open_now + MIN_RESERVE)
