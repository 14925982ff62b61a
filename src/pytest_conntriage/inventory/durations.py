"""Durations as inventories write them ("500ms", "2s", "1.5m", a bare number of seconds)."""

from __future__ import annotations

import math
import re

# One number and one unit. schema.json carries the same two patterns (a test keeps them
# equal); the lookahead makes "0s" and "0.0ms" fail where a duration must be positive.
DURATION_PATTERN = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$"
POSITIVE_DURATION_PATTERN = r"^(?=[0-9.]*[1-9])[0-9]+(\.[0-9]+)?(ms|s|m|h)$"

_SECONDS_PER_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<unit>ms|s|m|h)")


def parse_duration(value: float | str) -> float:
    """Seconds for "500ms", "2s", "1.5m", "1h" or a bare number of seconds.

    Raises ValueError for anything else, including negative and non-finite numbers.
    """
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match is None:
            raise ValueError(f"'{value}' is not a duration (use e.g. 500ms, 2s, 1m)")
        return float(match["number"]) * _SECONDS_PER_UNIT[match["unit"]]
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value} is not a duration (use a number of seconds, 0 or more)")
    return seconds
