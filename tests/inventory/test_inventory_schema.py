"""The published JSON Schema: valid draft 2020-12, in step with the loader and the docs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pytest_conntriage.inventory import SCHEMA_PATH, inventory_schema, load_inventories
from pytest_conntriage.inventory.durations import DURATION_PATTERN, POSITIVE_DURATION_PATTERN
from pytest_conntriage.inventory.schema import core_schema, json_text

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "inventories").glob("*.yml"))
DOCS = ROOT / "docs" / "inventory.md"


def test_the_published_schema_is_the_core_joined_with_the_built_in_kinds_parts() -> None:
    # Regenerate with `python -m pytest_conntriage.publish_schemas`.
    assert SCHEMA_PATH.read_text() == json_text(inventory_schema()) + "\n"
    assert "http" not in core_schema()["$defs"]["service"]["properties"]
    assert "http" in inventory_schema()["$defs"]["service"]["properties"]


def test_the_schema_is_valid_draft_2020_12() -> None:
    schema = inventory_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert SCHEMA_PATH.is_file()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_validates_with_plain_jsonschema(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    jsonschema.validate(data, inventory_schema(), cls=jsonschema.Draft202012Validator)


def _docs_examples() -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    return [block for block in blocks if re.search(r"^version: 1$", block, flags=re.M)]


def test_every_complete_example_in_the_docs_loads(tmp_path: Path) -> None:
    examples = _docs_examples()
    assert len(examples) >= 3
    for index, block in enumerate(examples):
        path = tmp_path / f"example-{index}.yml"
        path.write_text(block)
        if "hosts_from:" in block:  # the Ansible inventory it names, read by ansible-core
            (tmp_path / "ansible").mkdir(exist_ok=True)
            (tmp_path / "ansible" / "hosts.ini").write_text(
                "[web]\nweb-1 ansible_connection=local\n"
            )
        load_inventories([str(path)], {"API_HOST": "api.example.com", "WEB_PORT": "8080"})


def test_the_duration_patterns_are_the_loaders() -> None:
    defs = inventory_schema()["$defs"]
    assert defs["duration"]["pattern"] == DURATION_PATTERN
    assert defs["timeout"]["pattern"] == POSITIVE_DURATION_PATTERN


def _subschemas(node: Any, where: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((where, node))
        for key, value in node.items():
            found.extend(_subschemas(value, f"{where}/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_subschemas(value, f"{where}/{index}"))
    return found


def test_every_typed_schema_has_a_title_for_error_messages() -> None:
    # "expected <title>, got ...": an untitled type would make a vague message.
    untitled = [w for w, s in _subschemas(inventory_schema()) if "type" in s and "title" not in s]
    assert untitled == []


def test_mappings_reject_unknown_keys() -> None:
    schema = inventory_schema()

    def closed(node: dict[str, Any]) -> bool:
        # Its own keys, or those of the definition it refers to (`http`: one GET's keys,
        # which its list form's items refer to as well).
        ref = str(node.get("$ref", "")).removeprefix("#/$defs/")
        return "additionalProperties" in node or (
            bool(ref) and "additionalProperties" in schema["$defs"][ref]
        )

    objects = [w for w, s in _subschemas(schema) if "object" in s.get("type", ()) and not closed(s)]
    assert objects == []


def test_the_loader_does_not_import_pytest() -> None:
    imports = re.compile(r"^\s*(import|from) pytest\b", re.M)
    offenders = [p.name for p in SCHEMA_PATH.parent.glob("*.py") if imports.search(p.read_text())]
    assert offenders == []
