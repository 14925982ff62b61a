"""pytest-conntriage: connectivity checks from an inventory, with the runbook's "why" on failure."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # The version is written once, in pyproject.toml; read from the installed metadata
    # when asked, so importing the package (every pytest run) does not pay for it.
    if name == "__version__":
        from importlib.metadata import version

        return version("pytest-conntriage")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
