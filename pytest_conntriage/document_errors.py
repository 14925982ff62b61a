"""Location and DocumentError: a mistake in a YAML file, told as one safe `file:line:col` line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value came from: 1-based line and column, as editors count."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


_Error = TypeVar("_Error", bound="DocumentError")


class DocumentError(Exception):
    """A mistake in a document: ``str()`` is ``"{path}:{line}:{column}: {message}"``.

    Problems with the file as a whole (missing, unreadable, empty) have no line and read
    ``"{path}: {message}"``. Each kind of document (inventory, runbook) has its subclass,
    so callers catch only their own.
    """

    def __init__(self, path: str, message: str, location: Location | None = None) -> None:
        self.path = path
        # One line, always, and nothing a terminal would act on: a value quoted in the
        # message may hold a newline or an escape sequence (a service name "\x1b]0;…").
        self.message = _shortened(printable(message))
        self.location = location
        # The constructor's own arguments, so that the error survives pickling (xdist).
        super().__init__(path, message, location)

    @classmethod
    def at(cls: type[_Error], location: Location, message: str) -> _Error:
        """The error for a value or key written at `location`."""
        return cls(location.path, message, location)

    def __str__(self) -> str:
        where = str(self.location) if self.location else self.path
        return f"{printable(where)}: {self.message}"


# A message quotes values as written; a megabyte-long one is shown by its two ends.
_LONGEST = 1000


def _shortened(message: str) -> str:
    if len(message) <= _LONGEST:
        return message
    cut = len(message) - _LONGEST
    return f"{message[:700]}…({cut:,} characters)…{message[-300:]}"


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with every character that is not printable written as an escape (\\n, \\x1b).

    Spaces stay; so does any printable letter of any script.
    """
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() or char == " " else _ESCAPES.get(char) or _escape(char)
        for char in text
    )


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
