"""xdist support in-process: the upfront scheduler on fake nodes (as xdist's own
test_dsession does), and a worker reading its queue as tests arrive."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_conntriage.xdist_support import PendingQueue, WorkerQueue, upfront_scheduling


@dataclass
class Gateway:
    id: str


@dataclass(eq=False)
class Node:
    """What a scheduler calls on xdist's WorkerController."""

    name: str
    sent: list[int] = field(default_factory=list)
    shut: bool = False

    @property
    def gateway(self) -> Gateway:
        return Gateway(self.name)

    @property
    def shutting_down(self) -> bool:
        return self.shut

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def send_runtest_all(self) -> None:
        raise AssertionError("the upfront scheduler sends indices, never 'all'")

    def shutdown(self) -> None:
        self.shut = True


def scheduled(
    pytester: pytest.Pytester,
    collections: list[list[str]],
    host_of: Callable[[str], str | None] = lambda _: None,
) -> tuple[list[Node], Any]:
    config = pytester.parseconfig(f"--tx={len(collections)}*popen")
    scheduler = upfront_scheduling(host_of)(config, None)
    nodes = [Node(f"gw{i}") for i in range(len(collections))]
    for node in nodes:
        scheduler.add_node(node)
    for node, collection in zip(nodes, collections, strict=True):
        scheduler.add_node_collection(node, collection)
    scheduler.schedule()
    return nodes, scheduler


CHECKS = [f"inv.yml::test_tcp[s{i}:local->192.0.2.{i}:80]" for i in range(11)]


@pytest.mark.parametrize(
    ("workers", "shares"),
    [
        (2, [range(0, 6), range(6, 11)]),
        (3, [range(0, 4), range(4, 8), range(8, 11)]),
        (1, [range(0, 11)]),
    ],
)
def test_each_worker_is_sent_its_whole_contiguous_share_at_once(
    pytester: pytest.Pytester, workers: int, shares: list[range]
) -> None:
    # xdist's own load scheduler sends a quarter of a share first: a worker could
    # then probe only that much, and each later chunk with a blackholed endpoint
    # would cost another full timeout.
    nodes, _ = scheduled(pytester, [CHECKS] * workers)
    assert [node.sent for node in nodes] == [list(share) for share in shares]
    # Nothing is left to send: every worker may stop when its queue is empty.
    assert all(node.shut for node in nodes)


def test_an_evidence_hosts_checks_all_go_to_the_worker_with_most_of_them(
    pytester: pytest.Pytester,
) -> None:
    # s1, s7 and s8 run on host h (their evidence batch is gathered once per process):
    # the second worker has two of them, so it gets s1 as well; s3 alone on host g
    # stays where it was.
    hosts = {"s1": "h", "s7": "h", "s8": "h", "s3": "g"}

    def host_of(name: str) -> str | None:  # "test_tcp[s7:local->...]" → "h"
        return hosts.get(name.partition("[")[2].partition(":")[0])

    nodes, scheduler = scheduled(pytester, [CHECKS, CHECKS], host_of)
    assert [node.sent for node in nodes] == [[0, 2, 3, 4, 5], [1, 6, 7, 8, 9, 10]]
    assert sorted(scheduler.pending) == []  # all sent
    assert all(node.shut for node in nodes)


def test_workers_that_collected_different_tests_are_sent_nothing(
    pytester: pytest.Pytester,
) -> None:
    nodes, scheduler = scheduled(pytester, [CHECKS, CHECKS[:-1]])
    assert [node.sent for node in nodes] == [[], []]
    assert not any(node.shut for node in nodes)
    assert scheduler.collection is None


def test_an_empty_collection_sends_nothing(pytester: pytest.Pytester) -> None:
    nodes, scheduler = scheduled(pytester, [[], []])
    assert [node.sent for node in nodes] == [[], []]
    assert scheduler.collection == []


def test_a_second_schedule_leaves_the_first_distribution_as_it_was(
    pytester: pytest.Pytester,
) -> None:
    nodes, scheduler = scheduled(pytester, [CHECKS, CHECKS])
    scheduler.schedule()  # xdist calls it again when a node comes up late
    assert [node.sent for node in nodes] == [list(range(6)), list(range(6, 11))]


def test_finished_tests_leave_a_workers_pending_queue_and_a_crash_reschedules_the_rest(
    pytester: pytest.Pytester,
) -> None:
    nodes, scheduler = scheduled(pytester, [CHECKS, CHECKS])
    assert all(isinstance(p, PendingQueue) for p in scheduler.node2pending.values())
    for index in (0, 1):
        scheduler.mark_test_complete(nodes[0], index)
    scheduler.mark_test_complete(nodes[1], 8)  # out of order: removed all the same
    assert list(scheduler.node2pending[nodes[0]]) == [2, 3, 4, 5]
    assert list(scheduler.node2pending[nodes[1]]) == [6, 7, 9, 10]
    # The first worker crashes in its next test: that one is named, the rest go back
    # to the scheduler's own pending list (the other worker is already shutting down).
    assert scheduler.remove_node(nodes[0]) == CHECKS[2]
    assert scheduler.pending == [3, 4, 5]
    assert list(scheduler.node2pending) == [nodes[1]]


def test_a_pending_queue_pops_like_a_list() -> None:
    queue = PendingQueue([5, 6, 7, 8, 9])
    assert (queue.pop(0), queue.pop(), queue.pop(1), queue.pop(-2)) == (5, 9, 7, 6)
    assert list(queue) == [8]
    queue.remove(8)
    assert not queue
    with pytest.raises(ValueError, match="not in"):
        queue.remove(8)
    with pytest.raises(IndexError):
        queue.pop(0)


class Queue:
    """xdist's worker queue: indices appended by the controller, popped from the front."""

    def __init__(self) -> None:
        self.indices: deque[int | str] = deque()

    @contextmanager
    def lock(self) -> Iterator[deque[int | str]]:
        yield self.indices


@dataclass
class Session:
    items: list[pytest.Item]


@dataclass(eq=False)
class Interactor:
    torun: Queue
    session: Session


def test_a_worker_sees_each_test_that_arrives_once(pytester: pytest.Pytester) -> None:
    items = pytester.getitems("\n".join(f"def test_{i}(): pass" for i in range(6)))
    config = items[0].config
    interactor = type("WorkerInteractor", (Interactor,), {})(Queue(), Session(items))
    config.pluginmanager.register(interactor, "fake-worker-interactor")
    queue = WorkerQueue(config)
    interactor.torun.indices.extend([1, 2])  # test 0 runs; 1 and 2 are queued behind it
    assert queue.new_items(items[0]) == items[0:3]
    interactor.torun.indices.popleft()  # test 1 starts; the controller sends 3 and 4
    interactor.torun.indices.extend([3, 4])
    assert queue.new_items(items[1]) == [items[1], items[3], items[4]]
    interactor.torun.indices.popleft()
    interactor.torun.indices.append("")  # the shutdown marker is not a test
    assert queue.new_items(items[2]) == [items[2]]


def test_without_xdists_queue_each_test_is_its_own_batch(pytester: pytest.Pytester) -> None:
    items = pytester.getitems("def test_a(): pass\ndef test_b(): pass")
    queue = WorkerQueue(items[0].config)  # no WorkerInteractor: not a worker, or xdist moved
    assert queue.new_items(items[1]) == [items[1]]
