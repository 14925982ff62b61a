"""Validation against the published schema.json, with errors told at the YAML's line:column."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from .. import schema_errors
from ..marked_yaml import DocPath, Document, place, yaml11_number_hint
from ..schema_errors import SchemaWording, Violation, describe, first_error, show
from . import hostspec
from .durations import DURATION_PATTERN, show_seconds

SCHEMA_PATH = Path(__file__).with_name("schema.json")

# Keys users put one level off; the hint says where they belong.
_ELSEWHERE = {
    ("service", "resolvers"): "did you mean dns.resolvers?",
    ("service", "expect"): "did you mean dns.expect?",
    ("service", "match"): "did you mean dns.match?",
    ("closedRule", "dns"): "closed rules have no dns block; resolvers goes in the rule itself",
    ("closedRule", "host"): "closed rules have no host",
}


@functools.cache
def inventory_schema() -> dict[str, Any]:
    """The inventory JSON Schema (draft 2020-12) that editors and the loader share."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _validator() -> schema_errors.SchemaValidator:
    return schema_errors.validator(inventory_schema())


def validate(document: Document) -> None:
    """Raise the InventoryError for the first schema violation in `document`, if any."""
    error = first_error(document, _validator().iter_errors(document.data), _WORDING)
    if error is not None:
        raise error


class _InventoryWording(SchemaWording):
    """What the inventory's messages say beyond the generic ones: hints for common slips."""

    def elsewhere(self, anchor: str, key: str) -> str | None:
        return _ELSEWHERE.get((anchor, key))

    def missing_key(self, path: DocPath, key: str, document: Document) -> str:
        if not path and key == "version":
            return f"missing required key '{key}' (an inventory starts with 'version: 1')"
        return f"missing required key '{key}'"

    def bad_key(self, path: DocPath, key: str, schema: dict[str, Any]) -> str:
        what = "host alias" if path == ("hosts",) else "service name"
        return (
            f"{place(path)}: the {what} '{key}' contains a control character; names appear in"
            " test ids and reports, so write them in printable text"
        )

    def message(self, violation: Violation) -> str:
        keyword, schema, value = violation.keyword, violation.schema, violation.value
        anchor = violation.anchor
        if keyword == "type":
            hint = _type_hint(schema, value)
            return f"expected {self.expected(schema)}, got {describe(value)}{hint}"
        if anchor in ("duration", "timeout") and isinstance(value, str):
            if value.startswith("-"):
                return f"'{value}' is negative; a duration is 0 or more"
            if re.search(DURATION_PATTERN, value):
                return f"'{value}' must be more than 0"
            return f"'{value}' is not a duration (use e.g. 500ms, 2s, 1m; a bare number is seconds)"
        if keyword == "maximum" and anchor in ("duration", "timeout") and "minimum" not in schema:
            most = show_seconds(float(schema["maximum"]))
            return f"{show(value)} is longer than {most}, the most allowed here"
        if keyword == "pattern":
            if anchor == "tag":
                return (
                    f"'{value}' is not a valid tag: tags become pytest markers, so use letters,"
                    " digits and _, starting with a letter"
                )
            if anchor == "unit":
                return f"'{value}' is not a systemd unit name"
            if anchor == "connection":
                shown = hostspec.masked(value) if isinstance(value, str) else value
                return f"'{shown}' is not a testinfra host spec (e.g. ssh://user@host; no spaces)"
        return super().message(violation)


_WORDING = _InventoryWording()

_RANGE = re.compile(r"\s*[0-9]+\s*-\s*[0-9]+\s*")


def _type_hint(schema: dict[str, Any], value: Any) -> str:
    """What to write instead, when the mistake is a common one."""
    expected = schema.get("type", ())
    if isinstance(value, str) and ("integer" in expected or "number" in expected):
        hint = yaml11_number_hint(value)
        if hint:
            return f" ({hint})"
    items = _resolve(schema.get("items", {})) if "array" in expected else {}
    ports = "port" in (schema_errors.anchor(schema), schema_errors.anchor(items))
    if ports and isinstance(value, str) and _RANGE.fullmatch(value):
        return " (port ranges are not supported: list each port, e.g. [8000, 8001, 8002])"
    fits: dict[str, tuple[type, ...]] = {"integer": (int,), "number": (int, float)}
    fits["string"] = (str,)
    kinds = fits.get(str(items.get("type", "")))
    if kinds is not None and isinstance(value, kinds) and not isinstance(value, bool):
        return f" (write [{value}])"
    return ""


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        resolved: dict[str, Any] = inventory_schema()["$defs"][ref.removeprefix("#/$defs/")]
        return resolved
    return schema
