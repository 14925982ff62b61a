"""The run's garbage-collector settling: dead cycles collected, the living frozen."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from pytest_conntriage.heap import Settler, collector_paused


class Node:
    def __init__(self) -> None:
        self.me: Node | None = None


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def _dead_cycle() -> weakref.ref[Node]:
    node = Node()
    node.me = node  # only the collector can free it
    return weakref.ref(node)


def _unfrozen(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_every_nth_test_collects_the_dead_then_freezes_the_living(thawed: None) -> None:
    settler = Settler(every=3)
    with collector_paused():  # no automatic pass may do the settler's work
        living = [Node() for _ in range(100)]
        dead = _dead_cycle()
        settler.test_finished()
        settler.test_finished()
        assert (gc.get_freeze_count(), dead() is not None) == (0, True)
        settler.test_finished()
        frozen = gc.get_freeze_count()
        assert dead() is None  # collected before the freeze, not kept for ever
        assert frozen >= len(living)
        # Not again until the 6th. The freeze count cannot tell (another thread may free
        # a frozen object meanwhile): a frozen object is no longer among the
        # collector's generations.
        later = Node()
        settler.test_finished()
        settler.test_finished()
        assert _unfrozen(later)
        settler.test_finished()
        assert not _unfrozen(later)


def test_a_disabled_settler_never_freezes(thawed: None) -> None:
    settler = Settler(every=1, enabled=False)
    with collector_paused():
        dead = _dead_cycle()
        for _ in range(3):
            settler.test_finished()
        assert (gc.get_freeze_count(), dead() is not None) == (0, True)
    gc.collect()
    assert dead() is None
