"""pytest-conntriage: connectivity checks from an inventory, with the runbook's "why" on failure."""

__version__ = "0.1.0"
