"""jsonschema's violations of a published schema → the one error a user reads, at file:line:col.

Inventories and runbooks both go through here: `validator()` builds the jsonschema
validator of a schema, `first_error()` picks and words the violation to show, and a
`SchemaWording` subclass adds what only one kind of document says.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    # jsonschema is imported when a schema cannot be compiled or a document violates it:
    # a run whose documents are valid never pays for importing it (~0.1 s).
    from jsonschema import Draft202012Validator, ValidationError

from .compiled_schema import CompiledSchema, Unsupported
from .document_errors import DocumentError
from .marked_yaml import Data, DocPath, Document, place

# Where an inlined definition came from (its $anchor, or its name under $defs).
_ANCHOR = "x-conntriage-anchor"

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


class SchemaValidator(Protocol):
    """What first_error reads from: jsonschema's validator, or the compiled schema."""

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]: ...


def validator(schema: dict[str, Any]) -> SchemaValidator:
    """The validator of `schema`: compiled when it can be, else jsonschema's."""
    inline = inlined(schema)
    try:
        return CompiledSchema(inline, _unique_items)
    except Unsupported:
        return reference_validator(schema)


def reference_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """jsonschema's validator of `schema`, `$ref`s inlined and uniqueItems in linear time."""
    built: Draft202012Validator = _validator_class()(inlined(schema))
    return built


def _unique_items(validator: Any, unique: bool, instance: Any, schema: dict[str, Any]) -> Any:
    """uniqueItems in time linear in the list's length.

    jsonschema compares every pair when a list does not sort (a string among numbers):
    65,535 ports with one string in them took minutes. Equality is JSON Schema's:
    1 and 1.0 are the same, true and 1 are not.
    """
    if unique and isinstance(instance, list):
        seen: set[object] = set()
        for item in instance:
            key = unique_key(item)
            if key in seen:
                from jsonschema import ValidationError

                yield ValidationError(f"{item!r} is listed twice")
                return
            seen.add(key)


def unique_key(item: Any) -> object:
    """A hashable stand-in for `item` under JSON Schema's equality."""
    if isinstance(item, bool) or item is None:
        return ("literal", item)
    if isinstance(item, (int, float)):
        return ("number", item)
    if isinstance(item, str):
        return ("string", item)
    return ("json", json.dumps(item, sort_keys=True, default=str))


@cache
def _validator_class() -> Any:
    """Draft 2020-12 with the linear uniqueItems."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(  # type: ignore[no-untyped-call]  # untyped stubs
        Draft202012Validator, {"uniqueItems": _unique_items}
    )


def inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every `$ref` replaced by a copy of what it names.

    The same validation, about twice as fast: jsonschema resolves a `$ref` each time it
    meets one, once per port of a 65,535-port list. The schemas have no recursion, so the
    copy is finite; each copy keeps where it came from for the messages (`anchor`).
    """
    defs: dict[str, Any] = schema.get("$defs", {})

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

    result: dict[str, Any] = inline(schema)
    return result


def anchor(schema: dict[str, Any]) -> str:
    """The name of the definition `schema` was inlined from ("port", "duration"), or ""."""
    return str(schema.get("$anchor") or schema.get(_ANCHOR) or "")


@dataclass(frozen=True)
class Violation:
    """One schema violation, as the wording needs it."""

    keyword: str
    schema: dict[str, Any]
    value: Any
    rule: Any  # the keyword's value in the schema
    path: DocPath
    error: ValidationError

    @property
    def anchor(self) -> str:
        return anchor(self.schema)


class SchemaWording:
    """How violations are told; a kind of document overrides what it words its own way."""

    def expected(self, schema: dict[str, Any]) -> str:
        """What a value should have been: the schema's title, else its types in words."""
        title = schema.get("title")
        if isinstance(title, str):
            return title
        kinds = schema.get("type", ())
        kinds = [kinds] if isinstance(kinds, str) else kinds
        words = [_TYPE_WORDS.get(kind, kind) for kind in kinds]
        return " or ".join(words) or "another value"

    def unknown_key(self, path: DocPath, key: str, schema: dict[str, Any]) -> str:
        known = list(schema.get("properties", {}))
        inside = f" in {place(path)}" if path else ""
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            hint = f" (did you mean '{close[0]}'?)"
        else:
            elsewhere = self.elsewhere(anchor(schema), key)
            hint = f" ({elsewhere})" if elsewhere else f"; valid keys here: {', '.join(known)}"
        return f"unknown key '{key}'{inside}{hint}"

    def elsewhere(self, anchor: str, key: str) -> str | None:
        """Where an unknown `key` of a mapping defined as `anchor` belongs, if known."""
        return None

    def missing_key(self, path: DocPath, key: str, document: Document) -> str:
        return f"missing required key '{key}'"

    def bad_key(self, path: DocPath, key: str, schema: dict[str, Any]) -> str:
        """A mapping's key that its propertyNames schema refuses."""
        return f"{place(path) or 'the document'}: the key '{key}' is not {self.expected(schema)}"

    def message(self, violation: Violation) -> str:
        """The message for a wrong value (the document adds `place: ` before it)."""
        keyword, schema, value = violation.keyword, violation.schema, violation.value
        if keyword == "type":
            return f"expected {self.expected(schema)}, got {describe(value)}"
        if keyword in ("minimum", "maximum", "exclusiveMinimum"):
            low, high = schema.get("minimum"), schema.get("maximum")
            if keyword == "minimum" and low == 0:
                return f"{show(value)} is negative; use 0 or more"
            if low is not None and high is not None:
                return f"{show(value)} is outside {low}-{high}"
            if keyword == "maximum":
                return f"{show(value)} is more than {high}, the most allowed here"
            if keyword == "exclusiveMinimum":
                return f"{show(value)} must be more than {schema['exclusiveMinimum']}"
            return f"{show(value)} is less than {low}"
        if keyword == "pattern":
            return f"'{value}' is not {self.expected(schema)}"
        if keyword == "const":
            wanted = f"{place(violation.path)} {show(violation.rule)}".strip()
            reads = f"this version of pytest-conntriage reads {wanted}"
            return f"{show(value)} is not supported; {reads}"
        if keyword == "enum":
            choices = [str(choice) for choice in violation.rule]
            return f"{show(value)} is not one of: {', '.join(choices)}"
        if keyword == "minItems":
            return "must list at least one entry"
        if keyword == "maxItems":
            return f"lists {len(cast(list[Data], value)):,} entries; at most {schema['maxItems']:,}"
        if keyword == "minLength":
            return "must not be empty"
        return violation.error.message


def first_error(
    document: Document, errors: Iterable[ValidationError], wording: SchemaWording
) -> DocumentError | None:
    """The one violation to show, worded, at its place; None when there is none.

    jsonschema reports every violation; exactly one is shown, chosen so the same file
    always gives the same message: unknown keys first (a misspelt key also makes a
    required one "missing"), then wrong values, then missing keys, each by position.
    """
    translated = [_Translated(document, error, wording) for error in errors]
    if not translated:
        return None
    return min(translated, key=lambda t: t.order).error


class _Translated:
    """One jsonschema error as the user should read it, with its rank for choosing."""

    def __init__(self, document: Document, error: ValidationError, wording: SchemaWording) -> None:
        self.document = document
        self.wording = wording
        self.path: DocPath = tuple(error.absolute_path)
        rank, self.error = self._translate(error)
        where = self.error.location
        line, column = (where.line, where.column) if where else (0, 0)
        # At one place, a wrong type explains any other complaint about the value.
        kind = 0 if error.validator == "type" else 1
        self.order = (rank, line, column, -len(self.path), kind, self.error.message)

    def _translate(self, error: ValidationError) -> tuple[int, DocumentError]:
        schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
        keyword = str(error.validator)
        value: Any = error.instance
        document = self.document
        if keyword == "additionalProperties":
            key = self._unknown(schema, value)
            location = document.key_location((*self.path, key))
            message = self.wording.unknown_key(self.path, key, schema)
            return 0, document.error_type.at(location, message)
        if keyword == "required":
            required = cast(list[str], error.validator_value)
            key = next(k for k in required if k not in cast(dict[str, Data], value))
            message = self.wording.missing_key(self.path, key, document)
            if not self.path:
                return 2, document.error_type.at(document.value_location(()), message)
            return 2, document.error(self.path, message, at_key=True)
        if keyword == "uniqueItems":
            return 1, self._repeated(value)
        if keyword == "dependentRequired":
            rule = cast(dict[str, list[str]], error.validator_value)
            key, need = next(
                (key, need)
                for key, needs in rule.items()
                if key in value
                for need in needs
                if need not in value
            )
            message = f"'{key}' needs '{need}' beside it"
            return 1, document.error((*self.path, key), message, at_key=True)
        if _from_property_names(error):  # the key itself is wrong
            location = document.key_location((*self.path, str(value)))
            message = self.wording.bad_key(self.path, str(value), schema)
            return 0, document.error_type.at(location, message)
        violation = Violation(keyword, schema, value, error.validator_value, self.path, error)
        return 1, document.error(self.path, self.wording.message(violation))

    def _unknown(self, schema: dict[str, Any], value: dict[str, Data]) -> str:
        """The first key of `value` that the schema does not allow."""
        known = schema.get("properties", {})
        patterns = list(schema.get("patternProperties", {}))
        for key in value:
            if key not in known and not any(re.search(p, key) for p in patterns):
                return key
        return ""

    def _repeated(self, items: list[Data]) -> DocumentError:
        seen: set[object] = set()
        for index, item in enumerate(items):
            key = unique_key(item)
            if key in seen:
                return self.document.error((*self.path, index), f"{show(item)} is listed twice")
            seen.add(key)
        return self.document.error(self.path, "an entry is listed twice")


def _from_property_names(error: ValidationError) -> bool:
    """Whether `error` is about a mapping's key (propertyNames), not a value."""
    schema_path = list(error.relative_schema_path)
    return len(schema_path) >= 2 and schema_path[-2] == "propertyNames"


def show(value: Data) -> str:
    """A value as the user wrote it: 'text', 80, true, null, [1, 2]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def describe(value: Data) -> str:
    """What a value is, for "expected X, got Y"."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return show(value)
    if isinstance(value, str):
        return f"the string {show(value)}"
    if isinstance(value, (int, float)):
        return f"the number {show(value)}"
    return "a list" if isinstance(value, list) else "a mapping"
