"""The compiled schema finds exactly jsonschema's violations (the published schema is the truth)."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import ValidationError

from pytest_conntriage.compiled_schema import CompiledSchema
from pytest_conntriage.document_errors import DocumentError
from pytest_conntriage.inventory.interpolate import interpolate
from pytest_conntriage.inventory.schema import inventory_schema
from pytest_conntriage.marked_yaml import load_document
from pytest_conntriage.runbook import BUNDLED_DIR, SCHEMA_PATH
from pytest_conntriage.schema_errors import reference_validator, validator
from tests.inventory.inventory_fuzz import ENVIRON, cases


def _violations(errors: Any) -> list[tuple[object, ...]]:
    found = [
        (
            str(error.validator),
            tuple(error.absolute_path),
            tuple(error.relative_schema_path),
            json.dumps(error.instance, sort_keys=True, default=str),
        )
        for error in errors
    ]
    return sorted(found, key=repr)


def _substitute(text: str) -> tuple[str, bool]:
    result = interpolate(text, ENVIRON)
    return result.text, result.whole


def test_the_inventory_schema_compiles() -> None:
    # If this fails, schema.json uses a keyword compiled_schema.py does not implement:
    # it is still validated (by jsonschema), only slowly; add the keyword there.
    assert isinstance(validator(inventory_schema()), CompiledSchema)


def test_mutated_inventories_get_jsonschemas_violations() -> None:
    compiled, reference = validator(inventory_schema()), reference_validator(inventory_schema())
    compared = invalid = 0
    for text in cases(1500, seed=11):
        try:
            document = load_document(text, "inv.yml", _substitute)
        except DocumentError:
            continue
        expected = _violations(reference.iter_errors(document.data))
        assert _violations(compiled.iter_errors(document.data)) == expected, text
        compared += 1
        invalid += bool(expected)
    # The mutations reach the schema, both ways.
    assert compared > 300
    assert 100 < invalid < compared


def test_runbooks_get_jsonschemas_violations() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    compiled, reference = validator(schema), reference_validator(schema)
    assert isinstance(compiled, CompiledSchema)
    for path in sorted(BUNDLED_DIR.glob("*.yaml")):
        data = load_document(path.read_text(), str(path)).data
        assert list(compiled.iter_errors(data)) == []
        broken: Any = json.loads(json.dumps(data))
        entry = broken["entries"][0]
        entry["titel"] = entry.pop("title")
        entry["causes"][0]["outcomes"]["refused"] = {"weight": 150, "why": ["x"]}
        entry["causes"][0]["id"] = "Not A Slug"
        entry["diagnostics"] = "none"
        assert _violations(compiled.iter_errors(broken)) == _violations(
            reference.iter_errors(broken)
        )


def test_a_keyword_it_does_not_compile_keeps_jsonschema() -> None:
    schema = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    assert not isinstance(validator(schema), CompiledSchema)
    errors: list[ValidationError] = list(validator(schema).iter_errors(1.5))
    assert [error.validator for error in errors] == ["oneOf"]
