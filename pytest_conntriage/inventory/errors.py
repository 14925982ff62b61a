"""InventoryError: one user-facing message that names the file, line and column."""

from __future__ import annotations

from collections.abc import Sequence

from ..document_errors import DocumentError
from ..document_errors import printable as printable  # re-exported for its callers
from .hostspec import mask_in


class InventoryError(DocumentError):
    """A mistake in an inventory: ``str()`` is ``"{path}:{line}:{column}: {message}"``.

    Problems with the file as a whole (missing, unreadable, empty) have no line and read
    ``"{path}: {message}"``.
    """

    def masking(self, specs: Sequence[str]) -> InventoryError:
        """This error with every password of the host specs `specs` replaced by ***."""
        message = mask_in(self.message, specs)
        if message == self.message:
            return self
        return InventoryError(self.path, message, self.location)


class InventoryWarning(UserWarning):
    """Something in an inventory that is probably a mistake but may be meant (pytest shows
    it in the warnings summary; `-W error::...InventoryWarning` makes it an error)."""


class Problems:
    """Collects the errors of one pass so that the first one in the files is reported.

    Checking in code order would make the reported error depend on how the loader is
    written; users fix files top to bottom, so the earliest place wins.
    """

    def __init__(self, sources: Sequence[str] = ()) -> None:
        self._sources = list(sources)
        self._errors: list[DocumentError] = []

    def add(self, error: DocumentError) -> None:
        self._errors.append(error)

    def raise_first(self) -> None:
        """Raise the earliest collected error, if any."""
        if self._errors:
            raise min(self._errors, key=self._order)

    def _order(self, error: DocumentError) -> tuple[int, int, int, str]:
        where = error.location
        source = self._sources.index(error.path) if error.path in self._sources else 0
        if where is None:
            return (source, 0, 0, error.message)
        return (source, where.line, where.column, error.message)
