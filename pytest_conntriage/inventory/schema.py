"""Validation against the published schema.json, with errors told at the YAML's line:column."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import schema_errors
from ..marked_yaml import DocPath, Document, place, yaml11_number_hint
from ..schema_errors import SchemaWording, Violation, describe, first_error, show
from . import hostspec
from .durations import DURATION_PATTERN, show_seconds

if TYPE_CHECKING:
    from ..kinds.protocol import Kind

# The core schema, hand-written; each check kind adds the service keys it owns
# (Kind.inventory_schema). The published schema.json, the one editors point at, is
# the core joined with the built-in kinds' parts (`python -m
# pytest_conntriage.publish_schemas` writes it; a test checks it is up to date).
CORE_PATH = Path(__file__).with_name("core.schema.json")
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
def core_schema() -> dict[str, Any]:
    """The core inventory JSON Schema (draft 2020-12), without any kind's own keys."""
    schema: dict[str, Any] = json.loads(CORE_PATH.read_text(encoding="utf-8"))
    return schema


def inventory_schema(kinds: Iterable[Kind[Any]] | None = None) -> dict[str, Any]:
    """The inventory JSON Schema for `kinds` (None: the built-in ones, the published
    schema.json): the core joined with each kind's part. Raises ValueError when a kind
    claims a service key or a definition that is taken."""
    return _assembled(built_in_kinds() if kinds is None else tuple(kinds))


@functools.cache
def _assembled(kinds: tuple[Kind[Any], ...]) -> dict[str, Any]:
    schema = copy.deepcopy(core_schema())
    keys = schema["$defs"]["service"]["properties"]
    definitions = schema["$defs"]
    owners = dict.fromkeys(keys, "the core schema")
    defined = dict.fromkeys(definitions, "the core schema")
    for kind in kinds:
        part = kind.inventory_schema
        for key, value in part.get("properties", {}).items():
            if key in owners:
                raise ValueError(
                    f"check kind {kind.name!r}: the service key {key!r} is {owners[key]}'s"
                )
            owners[key] = f"kind {kind.name!r}"
            keys[key] = copy.deepcopy(value)
        for name, value in part.get("$defs", {}).items():
            if name in defined:
                raise ValueError(
                    f"check kind {kind.name!r}: the schema definition {name!r} is {defined[name]}'s"
                )
            defined[name] = f"kind {kind.name!r}"
            definitions[name] = copy.deepcopy(value)
    return schema


def owned_keys(kinds: Iterable[Kind[Any]]) -> dict[str, Kind[Any]]:
    """Each service key a kind owns, and its kind (checked: inventory_schema)."""
    return {key: kind for kind in kinds for key in kind.inventory_schema.get("properties", {})}


def built_in_kinds() -> tuple[Kind[Any], ...]:
    """The built-in check kinds (imported only now: an inventory is being loaded)."""
    from ..kinds.registry import BUILT_IN

    return BUILT_IN


@functools.cache
def _validator(kinds: tuple[Kind[Any], ...]) -> schema_errors.SchemaValidator:
    return schema_errors.validator(_assembled(kinds))


def validate(document: Document, kinds: Iterable[Kind[Any]] | None = None) -> None:
    """Raise the InventoryError for the first schema violation in `document`, if any,
    against the schema of `kinds` (None: the built-in ones)."""
    validator = _validator(built_in_kinds() if kinds is None else tuple(kinds))
    error = first_error(document, validator.iter_errors(document.data), _WORDING)
    if error is not None:
        raise error


def write_published() -> None:
    """Write schema.json: the core joined with the built-in kinds' parts."""
    SCHEMA_PATH.write_text(json_text(inventory_schema()) + "\n", encoding="utf-8")


def json_text(value: Any, indent: int = 0) -> str:
    """`value` as the schema files are written: two-space indents, a short flat list or
    one-key mapping on one line (at most 100 columns)."""
    pad = "  " * indent
    flat = _flat(value)
    if flat is not None and len(pad) + len(flat) <= _WIDTH:
        return flat
    if isinstance(value, dict):
        lines = [f"{pad}  {json.dumps(k)}: {json_text(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(lines) + f"\n{pad}}}"
    if isinstance(value, list):
        lines = [f"{pad}  {json_text(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(lines) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False)


_WIDTH = 80  # of a flat value after its indent (its key and the line's end come on top)


def _flat(value: Any) -> str | None:
    def scalar(v: Any) -> bool:
        return not isinstance(v, (dict, list))

    if scalar(value):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list) and all(scalar(v) or _flat(v) is not None for v in value):
        return "[" + ", ".join(_flat(v) or "" for v in value) + "]"
    if isinstance(value, dict) and len(value) == 1:
        [(key, only)] = value.items()
        if scalar(only):
            return "{" + f"{json.dumps(key)}: {json.dumps(only, ensure_ascii=False)}" + "}"
    return None


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
        resolved: dict[str, Any] = core_schema()["$defs"].get(ref.removeprefix("#/$defs/"), schema)
        return resolved
    return schema
