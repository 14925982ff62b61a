"""Durations as inventories write them ("500ms", "2s", "1.5m", a bare number of seconds)."""

from __future__ import annotations

import math
import re

# One number and one unit. schema.json carries the same two patterns (a test keeps them
# equal); the lookahead makes "0s" and "0.0ms" fail where a duration must be positive.
# `(?![\s\S])` ends the text: `$` would let a trailing newline through in Python's
# re.search (which jsonschema uses), and `\Z` is not an ECMA regex (editors' schemas).
DURATION_PATTERN = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)(?![\s\S])"
POSITIVE_DURATION_PATTERN = r"^(?=[0-9.]*[1-9])[0-9]+(\.[0-9]+)?(ms|s|m|h)(?![\s\S])"

# The longest each duration may be, in seconds (schema.json's `maximum`s say the same;
# docs/inventory.md, "Limits"). A probe's timeout beyond minutes, or a gate waiting beyond
# a day, is a typo; without a cap "999…9s" became infinity and a run never ended.
MAX_SECONDS = {"timeout": 600.0, "evidence_timeout": 600.0, "wait": 86400.0, "idle": 7200.0}
MAX_RETRIES = 100

_SECONDS_PER_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<unit>ms|s|m|h)")


def parse_duration(value: float | str, maximum: float = math.inf) -> float:
    """Seconds for "500ms", "2s", "1.5m", "1h" or a bare number of seconds.

    Raises ValueError for anything else, including negative and non-finite numbers and
    durations over `maximum` seconds.
    """
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match is None:
            raise ValueError(f"'{_cut(value)}' is not a duration (use e.g. 500ms, 2s, 1m)")
        seconds = float(match["number"]) * _SECONDS_PER_UNIT[match["unit"]]
    else:
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(
                f"{_cut(str(value))} is not a duration (use a number of seconds, 0 or more)"
            )
    if not seconds <= maximum:  # also catches "999…9s", whose float is infinity
        shown = f"'{_cut(value)}'" if isinstance(value, str) else _cut(str(value))
        raise ValueError(f"{shown} is longer than {show_seconds(maximum)}, the most allowed here")
    return seconds


def show_seconds(seconds: float) -> str:
    """600.0 → "10m", 86400.0 → "24h", 2.5 → "2.5s": a cap as users would write it."""
    for unit, size in (("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _cut(text: str) -> str:
    """A value as written, its middle left out when it is long."""
    return text if len(text) <= 40 else f"{text[:20]}…{text[-8:]}"
