"""The JSON report (`--conntriage-json FILE`): one object, the run and every check.

```
{"format": "pytest-conntriage-report", "version": 1,
 "run": {... when, which inventories, exit status, totals ...},
 "services": [{"name": "api", "address": ..., "tags": [...], ...}, ...],
 "checks": [
 {"order": 0, "id": "prod.yml::test_dns[...]", "status": "passed", ...},
 ...
 ]}
```

Every check is one line of its `checks` list, in collection order, each with an
`order` key: reports of several runs (shards of one inventory) merge by concatenating
their `checks` and sorting by `order`. The schema is `conntriage-report.schema.json`
beside this module (shipped with the package: SCHEMA_PATH).

No pytest here: the writer (report_writer.py) hands over the records as JSON lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .dashboard import Suite
from .record import FORMAT, FORMAT_VERSION, Record

SCHEMA_PATH = Path(__file__).with_name("conntriage-report.schema.json")

# Suite properties that are lists in JSON (the dashboard writes them comma-joined).
_LISTS = {"tags": str, "ports": int}


def schema() -> dict[str, Any]:
    """The report's JSON Schema."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def services(suites: Sequence[Suite]) -> list[Record]:
    """The inventory's services and closed rules as the report lists them."""
    listed = []
    for suite in suites:
        service: Record = {"name": suite.name}
        for key, value in suite.properties:
            convert = _LISTS.get(key)
            service[key] = [convert(v) for v in value.split(",") if v] if convert else value
        listed.append(service)
    return listed


def dumps(record: Record) -> str:
    """One record as one line of the report."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def write(stream: TextIO, run: Record, services: Sequence[Record], checks: Iterable[str]) -> None:
    """The document: `checks` are records already dumped (one line each), in order."""
    stream.write(f'{{"format":{json.dumps(FORMAT)},"version":{FORMAT_VERSION},\n')
    stream.write(f'"run":{dumps(run)},\n')
    stream.write('"services":[')
    stream.write(",".join(f"\n{dumps(service)}" for service in services))
    stream.write('],\n"checks":[')
    separator = "\n"
    for line in checks:
        stream.write(separator)
        stream.write(line)
        separator = ",\n"
    stream.write("\n]}\n")
