"""InventoryError: one user-facing message that names the file, line and column."""

from __future__ import annotations

from collections.abc import Sequence

from .hostspec import mask_in
from .model import Location


class InventoryError(Exception):
    """A mistake in an inventory: ``str()`` is ``"{path}:{line}:{column}: {message}"``.

    Problems with the file as a whole (missing, unreadable, empty) have no line and read
    ``"{path}: {message}"``.
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
    def at(cls, location: Location, message: str) -> InventoryError:
        """The error for a value or key written at `location`."""
        return cls(location.path, message, location)

    def masking(self, specs: Sequence[str]) -> InventoryError:
        """This error with every password of the host specs `specs` replaced by ***."""
        message = mask_in(self.message, specs)
        if message == self.message:
            return self
        return InventoryError(self.path, message, self.location)

    def __str__(self) -> str:
        where = str(self.location) if self.location else self.path
        return f"{printable(where)}: {self.message}"


class InventoryWarning(UserWarning):
    """Something in an inventory that is probably a mistake but may be meant (pytest shows
    it in the warnings summary; `-W error::...InventoryWarning` makes it an error)."""


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


class Problems:
    """Collects the errors of one pass so that the first one in the files is reported.

    Checking in code order would make the reported error depend on how the loader is
    written; users fix files top to bottom, so the earliest place wins.
    """

    def __init__(self, sources: Sequence[str] = ()) -> None:
        self._sources = list(sources)
        self._errors: list[InventoryError] = []

    def add(self, error: InventoryError) -> None:
        self._errors.append(error)

    def raise_first(self) -> None:
        """Raise the earliest collected error, if any."""
        if self._errors:
            raise min(self._errors, key=self._order)

    def _order(self, error: InventoryError) -> tuple[int, int, int, str]:
        where = error.location
        source = self._sources.index(error.path) if error.path in self._sources else 0
        if where is None:
            return (source, 0, 0, error.message)
        return (source, where.line, where.column, error.message)
