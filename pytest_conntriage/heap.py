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
