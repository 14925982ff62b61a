"""`${VAR}` and `${VAR:-default}` substitution in one scalar's text, from an environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InterpolationError(ValueError):
    """A `${...}` that cannot be substituted; the message is meant for the user."""


@dataclass(frozen=True)
class Interpolated:
    """The substituted text; `whole` when the text was exactly one `${...}` reference."""

    text: str
    whole: bool


def interpolate(text: str, environ: Mapping[str, str]) -> Interpolated:
    """Substitute every `${VAR}` / `${VAR:-default}` in `text`; `$$` is a literal `$`.

    A `$` followed by anything else is kept as written. `${VAR:-default}` uses the
    default when VAR is unset or empty, as the shell does. Defaults are literal text up
    to the first `}` (no nesting).
    """
    out: list[str] = []
    references = 0
    i = 0
    while i < len(text):
        dollar = text.find("$", i)
        if dollar < 0:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        following = text[dollar + 1 : dollar + 2]
        if following == "$":
            out.append("$")
            i = dollar + 2
        elif following == "{":
            end = text.find("}", dollar + 2)
            if end < 0:
                raise InterpolationError(
                    f"'{text[dollar:]}' is not closed with '}}' (write $$ for a literal $)"
                )
            out.append(_substitute(text[dollar + 2 : end], environ))
            references += 1
            i = end + 1
        else:
            out.append("$")
            i = dollar + 1
    whole = references == 1 and text.startswith("${") and text.endswith("}")
    whole = whole and text.find("}") == len(text) - 1
    return Interpolated("".join(out), whole)


def _substitute(body: str, environ: Mapping[str, str]) -> str:
    name, has_default, default = body.partition(":-")
    if not _NAME.fullmatch(name):
        raise InterpolationError(
            f"'${{{body}}}' is not a variable reference"
            " (use ${NAME} or ${NAME:-default}; write $$ for a literal $)"
        )
    value = environ.get(name)
    if has_default:
        return value if value else default
    if value is None:
        raise InterpolationError(f"${{{name}}} is not set in the environment and has no default")
    return value
