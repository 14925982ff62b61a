"""Runbook templates: `{port}`-style placeholders, with `{{` and `}}` for literal braces."""

from __future__ import annotations

import difflib
import functools
import string
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType

# The values triage knows about any failure (triage.model.Facts.values() yields these,
# then the check's kind adds its own: Kind.placeholders), each with the words prose
# says when it is not known. resolver_address and resolver_port split `resolver`
# ("127.0.0.1:5353") for tools such as dig that take the two apart (`dig @ADDRESS -p
# PORT`). systemd_unit is the unit unless the target host was found to run without
# systemd; plain_unit is the unit only on such a host (its process is found by the
# unit's name); windows_unit the unit on a Windows (winrm) host, a Windows service's
# name: a step or command that names one of them is only shown where it fits.
CORE_PLACEHOLDERS: Mapping[str, str] = MappingProxyType(
    {
        "host": "the host",
        "address": "its address",
        "port": "the port",
        "name": "the name",
        "resolver": "the resolver",
        "resolver_address": "the resolver",
        "resolver_port": "its port",
        "unit": "its unit",
        "systemd_unit": "its unit",
        "plain_unit": "its process",
        "windows_unit": "its service",
        "service": "the service",
        "vantage": "the client",
        "listen": "the expected address",
        "icmp": "an ICMP error",
        "icmp_from": "a router",
        "idle": "a while",
    }
)

_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A template that names an unknown value or whose braces do not pair up."""


def placeholders(template: str, known: Collection[str] = CORE_PLACEHOLDERS) -> tuple[str, ...]:
    """The names `template` uses, in order; TemplateError if it is malformed or names a
    value not in `known` (the run's: runbook.vocabulary)."""
    names: list[str] = []
    for _, field_name, spec, conversion in _parse(template):
        if field_name is None:
            continue
        if field_name == "":
            raise TemplateError("empty placeholder {} (write {{ and }} for literal braces)")
        if spec or conversion:
            raise TemplateError(
                f"placeholder {{{field_name}}} cannot have a format or conversion"
                " (write {{ and }} for literal braces)"
            )
        if field_name not in known:
            raise TemplateError(_unknown(field_name, known))
        names.append(field_name)
    return tuple(names)


def missing(template: str, values: Mapping[str, str]) -> tuple[str, ...]:
    """The placeholders of `template` that `values` has no value for."""
    return tuple(
        name for _, name, _, _ in _parse(template) if name is not None and name not in values
    )


def render(
    template: str,
    values: Mapping[str, str],
    quote: Callable[[str], str] | None = None,
    otherwise: Mapping[str, str] | None = None,
) -> str:
    """Fill `template`; `quote` wraps each known value. A value it lacks is taken from
    `otherwise` (words that stand for it; "the ca file" for one it lacks), else stays
    `<name>`: callers that print check `missing()` first, so that no placeholder ever
    reaches a person."""
    out: list[str] = []
    for literal, field_name, _, _ in _parse(template):
        out.append(literal)
        if field_name is None:
            continue
        value = values.get(field_name)
        if value is not None:
            out.append(quote(value) if quote else value)
        elif otherwise is not None:
            # A kind's placeholder whose words did not come with the facts: still words.
            out.append(otherwise.get(field_name) or "the " + field_name.replace("_", " "))
        else:
            out.append(f"<{field_name}>")
    return "".join(out)


# Every failure fills the same few dozen templates: parse each once (profiled at 10,000
# failing checks, re-parsing was most of the triage's CPU).
@functools.lru_cache(maxsize=1024)
def _parse(template: str) -> tuple[tuple[str, str | None, str | None, str | None], ...]:
    try:
        return tuple(_FORMATTER.parse(template))
    except ValueError as exc:  # "Single '}' encountered in format string", ...
        raise TemplateError(
            f"bad template: {exc} (write {{{{ and }}}} for literal braces)"
        ) from None


def _unknown(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    if close:
        return f"unknown placeholder {{{name}}} (did you mean {{{close[0]}}}?)"
    return f"unknown placeholder {{{name}}} (known: {', '.join(sorted(known))})"
