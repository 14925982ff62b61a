"""pytest-xdist support: probe a worker's tests as they arrive; send each worker its share at once.

Registered only with an inventory (see plugin.py); the scheduler class is built on
first use, so xdist's scheduler module is imported only by a run that distributes.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from .pytest_internals import load_scheduler_steps, worker_interactor, worker_queue

if TYPE_CHECKING:
    from .run import ConntriageRun

VALIDATED_KEY = "conntriage_validated"
ANSIBLE_KEY = "conntriage_ansible"


class WorkerQueue:
    """The tests queued on this xdist worker that it has not seen yet: those it will run.

    xdist has no hook for "tests arrived", so this reads the worker's queue (a deque of
    item indices; xdist appends what it sends, the worker pops from the front). Only
    the entries after the last one seen are new: reading from the end back to it keeps
    this O(new) per test, not O(queue). If the queue's shape ever changes, the worker
    falls back to probing each test as it runs.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._seen: set[int] = set()
        self._interactor: Any = None

    def new_items(self, current: pytest.Item) -> list[pytest.Item]:
        if self._interactor is None:
            self._interactor = worker_interactor(self.config) or False
        queue = worker_queue(self._interactor) if self._interactor else None
        if queue is None:
            return [current]
        lock, session_items = queue
        fresh: list[int] = []
        with lock() as indices:
            for index in reversed(indices):
                if not isinstance(index, int):
                    continue  # xdist's shutdown marker
                if index in self._seen:
                    break
                fresh.append(index)
        self._seen.update(fresh)
        return [current] + [
            session_items[i] for i in reversed(fresh) if 0 <= i < len(session_items)
        ]


class XdistHooks:
    """The run's hooks that only pytest-xdist calls (all optional hooks)."""

    def __init__(self, run: ConntriageRun) -> None:
        self.run = run

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        # Every worker collects the same ids from the same files (ids never depend on
        # DNS); it need not validate what the controller has just validated.
        if self.run.inventory is not None:
            node.workerinput[VALIDATED_KEY] = list(self.run.inventory.digests)
            # hosts_from: the worker uses the hosts its controller read, not a read of
            # its own (the same ids, and no ansible start-up per worker).
            node.workerinput[ANSIBLE_KEY] = dict(self.run.inventory.ansible)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.run.summary.collected(ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if self.run.inventory is None or config.getvalue("dist") != "load":
            return None
        return upfront_scheduling(hosts_by_test(self.run).get)(config, log)


def hosts_by_test(run: ConntriageRun) -> dict[str, str]:
    """The evidence host of each inventory check that has one, by its test's name after
    the file (`test_tcp[api:local->api.example.com:443]`): from the plan, on the
    controller, which collects nothing itself."""
    from .inventory.errors import printable
    from .kinds.registry import suite_test_name

    found: dict[str, str] = {}
    for check in run.plan:
        host = getattr(check, "host", None)
        if isinstance(host, str) and host:
            found[f"{suite_test_name(check.kind)}[{printable(check.id)}]"] = host
    return found


def shares(
    collection: Sequence[str], workers: int, host_of: Callable[[str], str | None]
) -> list[list[int]]:
    """Each worker's share of `collection` (indices, in collection order): contiguous
    and about equal, except that all the checks of one evidence host go to the worker
    that already has most of them. A host's batch then runs once per run under xdist
    too (each worker gathers its own evidence), not once per worker."""
    share, extra = divmod(len(collection), workers)
    owner: list[int] = []
    for worker in range(workers):
        owner += [worker] * (share + (1 if worker < extra else 0))
    by_host: dict[str, list[int]] = {}
    for index, nodeid in enumerate(collection):
        host = host_of(nodeid.partition("::")[2])
        if host is not None:
            by_host.setdefault(host, []).append(index)
    for indices in by_host.values():
        counts = Counter(owner[i] for i in indices)
        keeper = min(counts, key=lambda worker: (-counts[worker], worker))
        for index in indices:
            owner[index] = keeper
    result: list[list[int]] = [[] for _ in range(workers)]
    for index, worker in enumerate(owner):
        result[worker].append(index)
    return result


class PendingQueue(deque[int]):
    """A worker's pending test indices in xdist's load scheduler, which keeps them in a
    list: each finished test is `remove`d from the front, and a list shifts all the
    rest. With a worker's whole share sent at once (upfront_scheduling), that was
    quadratic (two shares of 50,000: ~0.6 s at 100,000 checks, 60 s at 1,000,000); a
    deque drops its front in O(1). Also takes `pop(index)`, which xdist calls on a
    crashed worker's list (`pop(0)`: the test it crashed in).
    """

    def pop(self, index: int = -1) -> int:
        value = self[index]  # either end in O(1), as popleft() and pop() are
        del self[index]
        return value


def ansible_read(config: pytest.Config) -> Any:
    """On an xdist worker, what its controller's hosts_from read (Inventory.ansible)."""
    return getattr(config, "workerinput", {}).get(ANSIBLE_KEY)


def validated_digests(config: pytest.Config) -> Any:
    """On an xdist worker, the inventory digests its controller has validated."""
    return getattr(config, "workerinput", {}).get(VALIDATED_KEY, ())


def upfront_scheduling(host_of: Callable[[str], str | None] = lambda _: None) -> type:
    """`--dist load`'s scheduler, except that the first distribution is the whole
    collection, each evidence host's checks on one worker (see `shares`)."""
    from xdist.scheduler import LoadScheduling

    class UpfrontScheduling(LoadScheduling):  # type: ignore[misc]  # xdist ships no type hints
        """`--dist load`, but the initial distribution is the whole collection, a
        host's checks together.

        xdist's load scheduler sends a quarter of each worker's share first and the rest
        in shrinking chunks; a worker can only probe what it has been sent, so each chunk
        holding a blackholed endpoint would cost another full timeout. Connectivity checks
        take about the same time once probed concurrently, so even contiguous shares
        balance well.
        """

        collection: list[str] | None
        node2pending: dict[Any, Any]

        def add_node(self, node: Any) -> None:
            super().add_node(node)
            self.node2pending[node] = PendingQueue(self.node2pending[node])

        def schedule(self) -> None:
            steps = load_scheduler_steps(self)
            if self.collection is not None or steps is None or not steps[0]():
                super().schedule()
                return
            send = steps[1]
            collection: list[str] = next(iter(self.node2collection.values()))
            self.collection = collection
            if not collection:
                return
            nodes = self.nodes
            # xdist sends the next pending tests: line them up worker by worker.
            split = shares(collection, len(nodes), host_of)
            self.pending[:] = [index for share in split for index in share]
            for node, share in zip(nodes, split, strict=True):
                send(node, len(share))
            for node in nodes:
                node.shutdown()

    return UpfrontScheduling
