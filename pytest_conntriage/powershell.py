"""PowerShell quoting: a value as a single-quoted literal, the one form in which
PowerShell expands nothing (no `$var`, no `$(...)`, no backtick escapes)."""

from __future__ import annotations

# Windows PowerShell's single-quote characters: ' and U+2018..U+201B all open and close
# a single-quoted string, and two in a row stand for one literal quote.
QUOTES = "'\u2018\u2019\u201a\u201b"


def literal(value: str) -> str:
    """`value` as a PowerShell single-quoted string: each single-quote character
    doubled. Raises ValueError for a NUL, which no command line carries."""
    if "\x00" in value:
        raise ValueError("a NUL character cannot reach PowerShell")
    return "'" + "".join(c + c if c in QUOTES else c for c in value) + "'"
