"""Python's cyclic garbage collector around what builds objects that live on.

Loading a large inventory and collecting its checks make hundreds of thousands of
objects and no garbage: the collector's repeated passes over them are pure cost.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block (back on after, if it was on); whatever cycles
    the block leaves are collected after."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class Settler:
    """Keeps the collector's passes over what a run keeps to what is new.

    A run keeps every test's report and result until its summary: tens of thousands of
    objects the collector's full passes would walk again and again (at 10,000 checks
    some seconds of CPU). Every `every` finished tests, `settle` collects what is
    garbage (so no dead cycle is kept) and freezes what is left, which lives on.
    """

    def __init__(self, every: int = 1000, enabled: bool = True) -> None:
        self.every = every
        self.enabled = enabled
        self._finished = 0

    def test_finished(self) -> None:
        if not self.enabled:
            return
        self._finished += 1
        if self._finished % self.every == 0:
            gc.collect()
            gc.freeze()
