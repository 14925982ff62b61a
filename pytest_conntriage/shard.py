"""`--conntriage-shard I/N`: which of the run's tests this shard of a split run keeps.

A fleet too big for one runner splits one inventory across N jobs (GitLab's
`parallel: N`). Each job collects every test and keeps those whose group hashes to its
index, so:

- the split is deterministic (crc32, never Python's salted `hash()`): every job, and
  every xdist worker of a job, keeps the same tests;
- a host's checks stay together (the group of a check with an evidence host is that
  host), so its evidence batch is gathered once for the whole run, by one shard;
- editing one service moves only that service's checks (a check without a host is
  grouped by its service, a closed rule's by its address), never the others'.

Pure: no pytest here; run.py deselects by it and marks each kept test with its place in
the whole collection (ORDER), which `python -m pytest_conntriage.merge` sorts by.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

# The report property (and the dashboard's suite property) that carries a test's place
# in the whole, unsharded collection: how the merge puts the shards' testcases back in
# a serial run's order. The merge removes it.
ORDER = "order"
# The property that says which shard wrote a report ("2/4"): the merge checks none is
# missing.
SHARD = "shard"
# The report attribute that carries it from the test's process: pytest keeps a report's
# extra attributes and sends them from an xdist worker to the controller.
ORDER_ATTRIBUTE = "conntriage_order"
# `--conntriage-shard auto`: GitLab's variables for a job with `parallel: N`.
INDEX_VARIABLE, TOTAL_VARIABLE = "CI_NODE_INDEX", "CI_NODE_TOTAL"
AUTO = "auto"


class ShardError(ValueError):
    """A `--conntriage-shard` value that names no shard: the message says why."""


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `total`, both counted from 1 (GitLab's CI_NODE_INDEX is)."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    def keeps(self, group: str) -> bool:
        """Whether the tests of `group` (see group_of) run in this shard."""
        return owner(group, self.total) == self.index


def owner(group: str, total: int) -> int:
    """The shard (1..total) that runs `group`'s tests: stable across runs, machines and
    Python versions."""
    return zlib.crc32(group.encode("utf-8", "surrogatepass")) % total + 1


def group_of(check: object) -> str:
    """The group a check is kept with: its evidence host if it has one, else its
    service, else (a closed rule's check) the address it is about."""
    host = getattr(check, "host", None)
    if isinstance(host, str) and host:
        return f"host {host}"
    service = getattr(check, "service", None)
    if isinstance(service, str) and service:
        return f"service {service}"
    return f"target {getattr(check, 'target', '')}"


def parse(text: str, environ: Mapping[str, str]) -> Shard:
    """`I/N` (1 ≤ I ≤ N), or `auto`: GitLab's CI_NODE_INDEX/CI_NODE_TOTAL (1/1 when the
    job is not parallel, which sets neither)."""
    text = text.strip()
    if text == AUTO:
        index, total = environ.get(INDEX_VARIABLE, ""), environ.get(TOTAL_VARIABLE, "")
        if not index and not total:
            return Shard(1, 1)
        if not index or not total:
            raise ShardError(
                f"--conntriage-shard auto: {INDEX_VARIABLE} and {TOTAL_VARIABLE} must be set"
                f" together (got {INDEX_VARIABLE}={index!r}, {TOTAL_VARIABLE}={total!r})"
            )
        return _shard(index, total, f"auto ({INDEX_VARIABLE}/{TOTAL_VARIABLE} = {index}/{total})")
    index, slash, total = text.partition("/")
    if not slash:
        raise ShardError(f"--conntriage-shard {text!r}: expected I/N (such as 1/4) or auto")
    return _shard(index, total, repr(text))


def _shard(index: str, total: str, given: str) -> Shard:
    try:
        i, n = int(index.strip()), int(total.strip())
    except ValueError:
        raise ShardError(
            f"--conntriage-shard {given}: expected I/N with whole numbers, such as 1/4"
        ) from None
    if n < 1 or not 1 <= i <= n:
        raise ShardError(
            f"--conntriage-shard {given}: the index must be 1 to the number of shards"
            f" (1/{max(n, 1)} to {max(n, 1)}/{max(n, 1)})"
        )
    return Shard(i, n)
