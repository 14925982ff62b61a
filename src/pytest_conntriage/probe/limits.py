"""Fit the engine to the process's file-descriptor limit, so probes never starve for sockets.

A probe that cannot get a socket reports probe-error, never a timeout of the target; but
a run where hundreds of probes do that is useless. So before probing, the soft limit is
raised towards the hard one, and if that is not enough the number of probes in flight is
capped below it, and the run says so.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

# Descriptors pytest, the DNS probes, xdist and the user's own fixtures need besides the
# engine's sockets.
RESERVED_FDS = 64


@dataclass(frozen=True)
class FdBudget:
    concurrency: int  # probes in flight the limit allows
    soft_limit: int  # the soft RLIMIT_NOFILE after any raise
    note: str = ""  # what was changed, for the run's header; "" when nothing was


def fit(concurrency: int) -> FdBudget:
    """Raise the soft fd limit for `concurrency` probes if allowed, else cap them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = concurrency + RESERVED_FDS
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
    capped = max(1, raised - RESERVED_FDS)
    note = (
        f"concurrency capped at {capped} by the open-file limit ({raised}, hard {hard}); "
        "raise it with `ulimit -n`"
    )
    return FdBudget(capped, raised, note)
