"""A JSON Schema compiled to plain Python checks: jsonschema's violations, a fraction of its cost.

jsonschema walks the schema again for every value, the largest cost of loading a large
inventory. The keywords our schemas use are simple enough to compile once into one
function per subschema. The schema stays the truth: a schema
with any other keyword is not compiled (`Unsupported`, the caller keeps jsonschema),
and bench/loader_equivalence.py compares both on mutated inventories.

Violations are jsonschema's own ValidationError objects, with the same keyword, path,
instance, schema, keyword value and schema path, so schema_errors words them the same.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Sized
from typing import TYPE_CHECKING, Any, TypeAlias, cast

if TYPE_CHECKING:
    # Imported by the first violation: a valid document never loads jsonschema.
    from jsonschema import ValidationError

# A compiled subschema: appends the violations of `instance` (found at `path`) to `out`.
Check: TypeAlias = "Callable[[Any, tuple[str | int, ...], list[ValidationError]], None]"

# Keywords that only annotate: they never make a value invalid.
_ANNOTATIONS = {
    "$schema", "$id", "$anchor", "$comment", "title", "description", "default", "examples",
    "deprecated", "readOnly", "writeOnly",
}  # fmt: skip


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not implement."""


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
}


def equal(one: Any, two: Any) -> bool:
    """JSON Schema's equality: 1 and 1.0 are equal, true and 1 are not."""
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(equal(one[k], two[k]) for k in one)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, (dict, list)) or isinstance(two, (dict, list)):
        return False
    return bool(one == two)


class CompiledSchema:
    """`iter_errors` as jsonschema's validator has it, for a schema without `$ref`s."""

    def __init__(self, schema: dict[str, Any], unique_items: Callable[..., Any]) -> None:
        self._unique_items = unique_items  # the caller's linear uniqueItems
        self._check = self._compile(schema, ())

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        out: list[ValidationError] = []
        self._check(instance, (), out)
        yield from out

    def _compile(self, schema: Any, schema_path: tuple[str | int, ...]) -> Check:
        if schema is True or schema == {}:
            return _nothing
        if not isinstance(schema, dict):
            raise Unsupported(f"a {type(schema).__name__} schema at {schema_path}")
        unknown = [
            key
            for key in schema
            if key not in _ANNOTATIONS and key not in _KEYWORDS and not key.startswith("x-")
        ]
        if unknown:
            raise Unsupported(f"{unknown} at {schema_path}")
        checks = [
            _KEYWORDS[key](self, schema, schema[key], (*schema_path, key))
            for key in schema
            if key in _KEYWORDS
        ]
        if len(checks) == 1:
            return checks[0]

        def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
            for one in checks:
                one(value, path, out)

        return check


def _nothing(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
    return None


def _error(
    keyword: str,
    message: str,
    value: Any,
    path: tuple[str | int, ...],
    schema: dict[str, Any],
    schema_path: tuple[str | int, ...],
) -> ValidationError:
    from jsonschema import ValidationError

    return ValidationError(
        message,
        validator=keyword,
        path=deque(path),
        instance=value,
        schema=schema,
        validator_value=schema[keyword],
        schema_path=deque(schema_path),
    )


def _type(compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any) -> Check:
    names = [rule] if isinstance(rule, str) else list(rule)
    tests = [_TYPES[name] for name in names]
    classes: dict[str, type] = {"object": dict, "array": list, "string": str}
    classes["null"] = type(None)
    exact: tuple[type, ...] = tuple(classes.get(n, object) for n in names)
    simple = object not in exact  # isinstance alone decides

    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if simple:
            if isinstance(value, exact):
                return
        elif any(test(value) for test in tests):
            return
        message = f"{value!r} is not of type {', '.join(repr(n) for n in names)}"
        out.append(_error("type", message, value, path, schema, at))

    return check


def _const(compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any) -> Check:
    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if not equal(value, rule):
            out.append(_error("const", f"{rule!r} was expected", value, path, schema, at))

    return check


def _enum(compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any) -> Check:
    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if not any(equal(value, choice) for choice in rule):
            message = f"{value!r} is not one of {rule!r}"
            out.append(_error("enum", message, value, path, schema, at))

    return check


def _pattern(compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any) -> Check:
    search = re.compile(rule).search

    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if isinstance(value, str) and not search(value):
            message = f"{value!r} does not match {rule!r}"
            out.append(_error("pattern", message, value, path, schema, at))

    return check


def _bound(keyword: str, fails: Callable[[Any, Any], bool], words: str) -> Any:
    def compile_bound(
        compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any
    ) -> Check:
        def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
            if _is_number(value) and fails(value, rule):
                message = f"{value!r} is {words} {rule!r}"
                out.append(_error(keyword, message, value, path, schema, at))

        return check

    return compile_bound


def _length(keyword: str, kind: type, fails: Callable[[int, Any], bool], words: str) -> Any:
    def compile_length(
        compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any
    ) -> Check:
        def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
            if isinstance(value, kind) and fails(len(cast(Sized, value)), rule):
                message = f"{value!r} {words}"
                out.append(_error(keyword, message, value, path, schema, at))

        return check

    return compile_length


def _required(compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any) -> Check:
    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if isinstance(value, dict):
            for key in rule:
                if key not in value:
                    message = f"{key!r} is a required property"
                    out.append(_error("required", message, value, path, schema, at))

    return check


def _dependent_required(
    compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any
) -> Check:
    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if isinstance(value, dict):
            for key, needs in rule.items():
                if key in value:
                    for need in needs:
                        if need not in value:
                            message = f"{need!r} is a dependency of {key!r}"
                            out.append(
                                _error("dependentRequired", message, value, path, schema, at)
                            )

    return check


def _properties(compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any) -> Check:
    compiled = {key: compiler._compile(sub, (*at, key)) for key, sub in rule.items()}

    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                one = compiled.get(key)
                if one is not None:
                    one(item, (*path, key), out)

    return check


def _pattern_properties(
    compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any
) -> Check:
    compiled = [
        (re.compile(pattern).search, compiler._compile(sub, (*at, pattern)))
        for pattern, sub in rule.items()
    ]

    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if isinstance(value, dict):
            for search, one in compiled:
                for key, item in value.items():
                    if search(key):
                        one(item, (*path, key), out)

    return check


def _additional(compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any) -> Check:
    # properties and patternProperties beside it decide what is "additional".
    known = set(schema.get("properties", {}))
    searches = [re.compile(pattern).search for pattern in schema.get("patternProperties", {})]

    def extras(value: dict[str, Any]) -> list[str]:
        return [
            key for key in value if key not in known and not any(search(key) for search in searches)
        ]

    if rule is False:

        def refuse(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
            if isinstance(value, dict):
                unexpected = extras(value)
                if unexpected:
                    message = f"Additional properties are not allowed ({unexpected!r} unexpected)"
                    out.append(_error("additionalProperties", message, value, path, schema, at))

        return refuse
    one = compiler._compile(rule, at)

    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if isinstance(value, dict):
            for key in extras(value):
                one(value[key], (*path, key), out)

    return check


def _property_names(compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any) -> Check:
    one = compiler._compile(rule, at)

    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if isinstance(value, dict):
            for key in value:
                one(key, path, out)

    return check


def _items(compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any) -> Check:
    one = compiler._compile(rule, at)

    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                one(item, (*path, index), out)

    return check


def _unique(compiler: CompiledSchema, schema: dict[str, Any], rule: Any, at: Any) -> Check:
    def check(value: Any, path: tuple[str | int, ...], out: list[ValidationError]) -> None:
        if isinstance(value, list):
            for found in compiler._unique_items(None, rule, value, schema):
                error = _error("uniqueItems", found.message, value, path, schema, at)
                out.append(error)

    return check


_KEYWORDS: dict[str, Callable[[CompiledSchema, dict[str, Any], Any, Any], Check]] = {
    "type": _type,
    "const": _const,
    "enum": _enum,
    "pattern": _pattern,
    "minimum": _bound("minimum", lambda value, low: value < low, "less than the minimum of"),
    "maximum": _bound("maximum", lambda value, high: value > high, "greater than the maximum of"),
    "exclusiveMinimum": _bound(
        "exclusiveMinimum", lambda value, low: value <= low, "less than or equal to the minimum of"
    ),
    "minLength": _length("minLength", str, lambda size, low: size < low, "is too short"),
    "maxLength": _length("maxLength", str, lambda size, high: size > high, "is too long"),
    "minItems": _length("minItems", list, lambda size, low: size < low, "is too short"),
    "maxItems": _length("maxItems", list, lambda size, high: size > high, "is too long"),
    "required": _required,
    "dependentRequired": _dependent_required,
    "properties": _properties,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional,
    "propertyNames": _property_names,
    "items": _items,
    "uniqueItems": _unique,
}
