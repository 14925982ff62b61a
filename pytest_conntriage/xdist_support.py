"""pytest-xdist support: probe a worker's tests as they arrive; send each worker its share at once.

Registered only with an inventory (see plugin.py); the scheduler class is built on
first use, so xdist's scheduler module is imported only by a run that distributes.
"""

from __future__ import annotations

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
        return upfront_scheduling()(config, log)


def ansible_read(config: pytest.Config) -> Any:
    """On an xdist worker, what its controller's hosts_from read (Inventory.ansible)."""
    return getattr(config, "workerinput", {}).get(ANSIBLE_KEY)


def validated_digests(config: pytest.Config) -> Any:
    """On an xdist worker, the inventory digests its controller has validated."""
    return getattr(config, "workerinput", {}).get(VALIDATED_KEY, ())


def upfront_scheduling() -> type:
    """`--dist load`'s scheduler, except that the first distribution is the whole collection."""
    from xdist.scheduler import LoadScheduling

    class UpfrontScheduling(LoadScheduling):  # type: ignore[misc]  # xdist ships no type hints
        """`--dist load`, but the initial distribution is the whole collection.

        xdist's load scheduler sends a quarter of each worker's share first and the rest
        in shrinking chunks; a worker can only probe what it has been sent, so each chunk
        holding a blackholed endpoint would cost another full timeout. Connectivity checks
        take about the same time once probed concurrently, so even contiguous shares
        balance well.
        """

        collection: list[str] | None

        def schedule(self) -> None:
            steps = load_scheduler_steps(self)
            if self.collection is not None or steps is None or not steps[0]():
                super().schedule()
                return
            send = steps[1]
            collection: list[str] = next(iter(self.node2collection.values()))
            self.collection = collection
            self.pending[:] = range(len(collection))
            if not collection:
                return
            nodes = self.nodes
            share, extra = divmod(len(self.pending), len(nodes))
            for index, node in enumerate(nodes):
                send(node, share + (1 if index < extra else 0))
            for node in nodes:
                node.shutdown()

    return UpfrontScheduling
