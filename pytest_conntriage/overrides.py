"""Per-run policy overrides (--conntriage-timeout/-retries/-wait, or their ini values).

Pure: the values as given → PolicyOverride, or a ValueError that says what is wrong; and
the header line that says what is in force and where each value came from. They replace
the inventory's `defaults:`, never a value a service or closed rule sets itself
(inventory/merge.py applies them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .inventory.durations import MAX_RETRIES, MAX_SECONDS, parse_duration, show_seconds
from .inventory.model import Defaults, PolicyOverride

NAMES = ("timeout", "retries", "wait")
_BARE_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def option(name: str) -> str:
    """ "--conntriage-timeout"."""
    return f"--conntriage-{name}"


def ini_name(name: str) -> str:
    """ "conntriage_timeout"."""
    return f"conntriage_{name}"


def parse(name: str, text: str) -> float:
    """The value of override `name` written as `text`; ValueError says why it is not one.

    Durations as the inventory writes them ("5s", "500ms", a bare number of seconds; a
    timeout above 0, a wait 0 or more); retries a whole number from 0 to MAX_RETRIES.
    """
    text = text.strip()
    if name == "retries":
        if not text.isdigit() or int(text) > MAX_RETRIES:
            raise ValueError(f"'{text}' is not a number of retries (0 to {MAX_RETRIES})")
        return float(int(text))
    # A bare number is seconds; anything else a duration with its unit ("5s").
    bare = _BARE_NUMBER.fullmatch(text)
    seconds = parse_duration(float(text) if bare else text, MAX_SECONDS[name])
    if name == "timeout" and seconds <= 0:
        raise ValueError(f"'{text}': a timeout must be longer than 0")
    return seconds


def overrides(
    given: Callable[[str], str | None], ini: Callable[[str], str]
) -> tuple[PolicyOverride, ...]:
    """The run's overrides: the command line's value (`given(name)`) over the ini's
    (`ini(name)`, "" for unset). Raises ValueError naming the option or ini value."""
    found: list[PolicyOverride] = []
    for name in NAMES:
        text, source = given(name), option(name)
        if text is None:
            text, source = ini(name).strip(), f"ini {ini_name(name)}"
            if not text:
                continue
        try:
            value = parse(name, text)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None
        found.append(PolicyOverride(name, value, source))
    return tuple(found)


def policy_line(defaults: Defaults) -> str:
    """ "timeout 2s (--conntriage-timeout), retries 1 (inventory), wait none": the policy
    in force for what does not set its own, and where each value came from."""
    policy = defaults.policy
    shown = {
        "timeout": show_seconds(policy.timeout),
        "retries": str(policy.retries),
        "wait": show_seconds(policy.wait) if policy.wait else "none",
    }
    parts: Sequence[str] = [
        f"{name} {shown[name]} ({defaults.policy_source(name)})" for name in NAMES
    ]
    return ", ".join(parts)
