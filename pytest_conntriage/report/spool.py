"""Records kept on disk from the moment they are made until the reports are written.

Each record is one line of JSON in an anonymous temporary file (no name on disk: it
goes when closed, or when the process ends however it ends); memory keeps only its
order key and where it starts, 17 bytes a check, so a run of 100,000 checks holds no
record, and no failure's triage, in memory. Read back in collection order.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Iterator
from typing import IO


class RecordSpool:
    """JSON lines added in any order, read back sorted by their order key (and, for
    equal keys, in the order they were added)."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._orders = array("q")
        self._offsets = array("q")
        self._marked = bytearray()  # 1: the record is one `in_order(marked=True)` reads
        self._end = 0

    def __len__(self) -> int:
        return len(self._offsets)

    def add(self, order: int, line: bytes, marked: bool = False) -> None:
        """Keep `line` (one JSON document, no newline in it) under `order`."""
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115  # open until close()
        self._file.seek(self._end)
        self._file.write(line + b"\n")
        self._orders.append(order)
        self._offsets.append(self._end)
        self._marked.append(marked)
        self._end += len(line) + 1

    @property
    def marked(self) -> int:
        """How many records were added marked."""
        return sum(self._marked)

    def in_order(self, marked: bool = False) -> Iterator[bytes]:
        """Every line (or only the marked ones), by order key; each read as it is needed."""
        if self._file is None:
            return
        indices = sorted(range(len(self._offsets)), key=self._orders.__getitem__)
        for index in indices:
            if marked and not self._marked[index]:
                continue
            self._file.seek(self._offsets[index])
            yield self._file.readline().rstrip(b"\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
