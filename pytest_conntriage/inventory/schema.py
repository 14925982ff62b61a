"""Validation against the published schema.json, with errors told at the YAML's line:column."""

from __future__ import annotations

import difflib
import functools
import json
import re
from pathlib import Path
from typing import Any, cast

from jsonschema import Draft202012Validator, ValidationError, validators

from . import hostspec
from .durations import DURATION_PATTERN, show_seconds
from .errors import InventoryError
from .yaml_marks import Data, DocPath, Document, place, yaml11_number_hint

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


def _unique_items(validator: Any, unique: bool, instance: Any, schema: dict[str, Any]) -> Any:
    """uniqueItems in time linear in the list's length.

    jsonschema compares every pair when a list does not sort (a string among numbers):
    65,535 ports with one string in them took minutes. Equality is JSON Schema's:
    1 and 1.0 are the same, true and 1 are not.
    """
    if unique and isinstance(instance, list):
        seen: set[object] = set()
        for item in instance:
            key = _unique_key(item)
            if key in seen:
                yield ValidationError(f"{item!r} is listed twice")
                return
            seen.add(key)


def _unique_key(item: Any) -> object:
    if isinstance(item, bool) or item is None:
        return ("literal", item)
    if isinstance(item, (int, float)):
        return ("number", item)
    if isinstance(item, str):
        return ("string", item)
    return ("json", json.dumps(item, sort_keys=True, default=str))


_InventoryValidator = validators.extend(  # type: ignore[no-untyped-call]  # untyped stubs
    Draft202012Validator, {"uniqueItems": _unique_items}
)


@functools.cache
def _validator() -> Draft202012Validator:
    validator: Draft202012Validator = _InventoryValidator(_inlined(inventory_schema()))
    return validator


# Where an inlined definition came from (its $anchor, or its name under $defs).
_ANCHOR = "x-conntriage-anchor"


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every `$ref` replaced by a copy of what it names.

    The same validation, about twice as fast: jsonschema resolves a `$ref` each time it
    meets one, once per port of a 65,535-port list. The schema has no recursion, so the
    copy is finite; each copy keeps where it came from for the messages (`_anchor`).
    """
    defs: dict[str, Any] = schema["$defs"]

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref", "")
        if not ref.startswith("#/$defs/"):
            return {key: inline(value) for key, value in node.items() if key != "$defs"}
        name = ref.removeprefix("#/$defs/")
        target: dict[str, Any] = inline(defs[name])
        copy = {key: value for key, value in target.items() if key != "$anchor"}
        copy[_ANCHOR] = target.get("$anchor") or target.get(_ANCHOR) or name
        copy.update((key, inline(value)) for key, value in node.items() if key != "$ref")
        return copy

    inlined: dict[str, Any] = inline(schema)
    return inlined


def _anchor(schema: dict[str, Any]) -> str:
    return str(schema.get("$anchor") or schema.get(_ANCHOR) or "")


def validate(document: Document) -> None:
    """Raise the InventoryError for the first schema violation in `document`, if any.

    jsonschema reports every violation; exactly one is shown, chosen so the same file
    always gives the same message: unknown keys first (a misspelt key also makes a
    required one "missing"), then wrong values, then missing keys, each by position.
    """
    errors = [_Translated(document, error) for error in _validator().iter_errors(document.data)]
    if errors:
        raise min(errors, key=lambda t: t.order).error


class _Translated:
    """One jsonschema error as the user should read it, with its rank for choosing."""

    def __init__(self, document: Document, error: ValidationError) -> None:
        self.document = document
        self.path: DocPath = tuple(error.absolute_path)
        rank, self.error = self._translate(error)
        where = self.error.location
        line, column = (where.line, where.column) if where else (0, 0)
        # At one place, a wrong type explains any other complaint about the value.
        kind = 0 if error.validator == "type" else 1
        self.order = (rank, line, column, -len(self.path), kind, self.error.message)

    def _translate(self, error: ValidationError) -> tuple[int, InventoryError]:
        schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
        keyword = str(error.validator)
        value: Any = error.instance
        if keyword == "additionalProperties":
            return 0, self._unknown_key(schema, value)
        if keyword == "required":
            return 2, self._missing(error)
        if keyword == "uniqueItems":
            return 1, self._repeated(value)
        if _anchor(schema) == "name":  # propertyNames: the key itself is wrong
            location = self.document.key_location((*self.path, str(value)))
            return 0, InventoryError.at(location, _name_message(self.path, str(value)))
        return 1, self.document.error(self.path, _message(keyword, schema, value, error))

    def _unknown_key(self, schema: dict[str, Any], value: dict[str, Data]) -> InventoryError:
        known = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        unknown = next(
            (k for k in value if k not in known and not any(re.search(p, k) for p in patterns)),
            "",
        )
        inside = f" in {place(self.path)}" if self.path else ""
        close = difflib.get_close_matches(unknown, known, n=1)
        elsewhere = _ELSEWHERE.get((_anchor(schema), unknown))
        if close:
            hint = f" (did you mean '{close[0]}'?)"
        elif elsewhere:
            hint = f" ({elsewhere})"
        else:
            hint = f"; valid keys here: {', '.join(known)}"
        location = self.document.key_location((*self.path, unknown))
        return InventoryError.at(location, f"unknown key '{unknown}'{inside}{hint}")

    def _missing(self, error: ValidationError) -> InventoryError:
        required: list[str] = cast(list[str], error.validator_value)
        present = cast(dict[str, Data], error.instance)
        key = next(k for k in required if k not in present)
        if not self.path:
            message = f"missing required key '{key}'"
            if key == "version":
                message += " (an inventory starts with 'version: 1')"
            return InventoryError.at(self.document.value_location(()), message)
        return self.document.error(self.path, f"missing required key '{key}'", at_key=True)

    def _repeated(self, items: list[Data]) -> InventoryError:
        seen: set[object] = set()
        for index, item in enumerate(items):
            key = _unique_key(item)
            if key in seen:
                return self.document.error((*self.path, index), f"{_show(item)} is listed twice")
            seen.add(key)
        return self.document.error(self.path, "an entry is listed twice")


def _message(keyword: str, schema: dict[str, Any], value: Data, error: ValidationError) -> str:
    anchor = _anchor(schema)
    title = schema.get("title", "another value")
    if keyword == "type":
        return f"expected {title}, got {_describe(value)}{_type_hint(schema, value)}"
    if anchor in ("duration", "timeout") and isinstance(value, str):
        if value.startswith("-"):
            return f"'{value}' is negative; a duration is 0 or more"
        if re.search(DURATION_PATTERN, value):
            return f"'{value}' must be more than 0"
        return f"'{value}' is not a duration (use e.g. 500ms, 2s, 1m; a bare number is seconds)"
    if keyword in ("minimum", "maximum", "exclusiveMinimum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if keyword == "minimum" and low == 0:
            return f"{_show(value)} is negative; use 0 or more"
        if low is not None and high is not None:
            return f"{_show(value)} is outside {low}-{high}"
        if keyword == "maximum" and anchor in ("duration", "timeout"):
            most = show_seconds(float(cast(float, high)))
            return f"{_show(value)} is longer than {most}, the most allowed here"
        if keyword == "maximum":
            return f"{_show(value)} is more than {high}, the most allowed here"
        if keyword == "exclusiveMinimum":
            return f"{_show(value)} must be more than {schema['exclusiveMinimum']}"
        if low == 0:
            return f"{_show(value)} is negative; use 0 or more"
        return f"{_show(value)} is less than {low}"
    if keyword == "pattern":
        return _pattern_message(anchor, title, value)
    if keyword == "const":  # only `version` is a constant
        return f"{_show(value)} is not supported; this version of pytest-conntriage reads version 1"
    if keyword == "enum":
        choices = cast(list[str], error.validator_value)
        return f"{_show(value)} is not one of: {', '.join(choices)}"
    if keyword == "minItems":
        return "must list at least one entry"
    if keyword == "maxItems":
        return f"lists {len(cast(list[Data], value)):,} entries; at most {schema['maxItems']:,}"
    if keyword == "minLength":
        return "must not be empty"
    return error.message


def _pattern_message(anchor: str, title: str, value: Data) -> str:
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
    return f"'{value}' is not {title}"


def _name_message(path: DocPath, name: str) -> str:
    what = "host alias" if path == ("hosts",) else "service name"
    return (
        f"{place(path)}: the {what} '{name}' contains a control character; names appear in"
        " test ids and reports, so write them in printable text"
    )


_RANGE = re.compile(r"\s*[0-9]+\s*-\s*[0-9]+\s*")


def _type_hint(schema: dict[str, Any], value: Data) -> str:
    """What to write instead, when the mistake is a common one."""
    expected = schema.get("type", ())
    if isinstance(value, str) and ("integer" in expected or "number" in expected):
        hint = yaml11_number_hint(value)
        if hint:
            return f" ({hint})"
    items = _resolve(schema.get("items", {})) if "array" in expected else {}
    ports = "port" in (_anchor(schema), _anchor(items))
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


def _show(value: Data) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def _describe(value: Data) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return _show(value)
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, (int, float)):
        return f"the number {_show(value)}"
    return "a list" if isinstance(value, list) else "a mapping"
