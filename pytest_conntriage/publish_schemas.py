"""Write the published schema files from their sources: `python -m
pytest_conntriage.publish_schemas`, after editing inventory/core.schema.json, a kind's
part of it (kinds/<kind>.schema.json) or a built-in kind's outcomes or placeholders.

inventory/schema.json is the core schema joined with the built-in kinds' parts;
runbook/schema.json names the built-in kinds' outcomes and placeholders. Editors point
at these two files; the loader assembles the same for the run's kinds, a plugin's too.
"""

from __future__ import annotations

from .inventory import schema as inventory
from .runbook import vocabulary as runbook


def main() -> None:
    inventory.write_published()
    runbook.write_published()
    print(f"wrote {inventory.SCHEMA_PATH} and {runbook.SCHEMA_PATH}")


if __name__ == "__main__":
    main()
