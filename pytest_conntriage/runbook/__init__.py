"""The triage manual as data: bundled entries, users' own files, one validated format."""

from __future__ import annotations

from .load import BUNDLED_DIR, RunbookError, load_entries, load_runbook
from .vocabulary import SCHEMA_PATH

__all__ = ["BUNDLED_DIR", "SCHEMA_PATH", "RunbookError", "load_entries", "load_runbook"]
