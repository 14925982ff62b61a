"""Rendered triage texts kept on disk, so that a text shown more than once is rendered once.

A run that writes a JUnit file shows each failure's triage text two or three times:
pytest's JUnit writer renders it when the failure is reported, the dashboard report
(`--conntriage-junit`) and the terminal's FAILURES section at the end of the session.
Rendering is most of what a failure costs to show (~0.2 ms: 2 s per pass at 10,000
failures), and keeping the texts in memory instead was 57 MB at 10,000.

The first rendering of a text is appended to an unnamed temporary file; the next ones
read it back by its offset. Whatever goes wrong with the file (a full disk, a spool
already closed at the end of the run) only means the text is rendered again where it
is shown: `put` and `get` never raise.
"""

from __future__ import annotations

import contextlib
import tempfile
from typing import IO

Span = tuple[int, int]  # where a text is in the file: offset and length, in bytes

# Texts are read back in about the order they were written (the terminal and the
# dashboard follow the run's order): one system call per this many bytes either way.
_BUFFER = 1 << 16
# Lone surrogates (a path decoded with surrogateescape) survive the round trip.
_ERRORS = "surrogatepass"


class TextSpool:
    """Texts written once and read back any number of times, until `close`."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None  # opened with the first text
        self._end = 0  # where the next text goes
        self._at_end = True  # whether the file's position is `_end`
        self.closed = False

    def put(self, text: str) -> Span | None:
        """Keep `text`; where it is, or None when it could not be kept."""
        if self.closed:
            return None
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(buffering=_BUFFER)  # noqa: SIM115
            data = text.encode("utf-8", _ERRORS)
            if not self._at_end:
                self._file.seek(self._end)
                self._at_end = True
            self._file.write(data)
        except Exception:  # what it held is rendered again when shown
            self.close()
            return None
        span = (self._end, len(data))
        self._end += len(data)
        return span

    def get(self, span: Span) -> str | None:
        """The text kept at `span`, or None when it can no longer be read."""
        if self._file is None or self.closed:
            return None
        offset, length = span
        try:
            self._file.seek(offset)
            self._at_end = False
            data = self._file.read(length)
            if len(data) != length:
                return None
            return data.decode("utf-8", _ERRORS)
        except Exception:  # rendered again by the caller
            self.close()
            return None

    def close(self) -> None:
        self.closed = True
        if self._file is not None:
            # A write the buffer still held may fail here: nothing reads it any more.
            with contextlib.suppress(OSError):
                self._file.close()
