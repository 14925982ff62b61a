"""The shards' JSON reports (`--conntriage-json`) of a split run merged into the whole
run's, for `python -m pytest_conntriage.merge`.

Each check of every shard, in the whole collection's order (each record's `order`, the
same key in every shard), the services once, the totals summed, and the run from the
first start to the last finish. A shard missing or given twice, a check in two files,
or reports of another format version stop the merge: a failure must never be left out
quietly. Pure: documents in, the merged parts out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .json_report import dumps
from .record import FORMAT, FORMAT_VERSION, Record

# pytest's exit status of a shard with nothing to run: no failure of the whole run.
_NO_TESTS = 5


class JsonMergeError(ValueError):
    """Reports that cannot be merged: the message names the file."""


@dataclass
class MergedJson:
    run: Record
    services: list[Record]
    checks: list[str]  # each record dumped, in the whole collection's order


@dataclass
class _Merging:
    runs: list[tuple[str, Record]] = field(default_factory=list)
    services: dict[str, Record] = field(default_factory=dict)
    checks: list[tuple[float, int, str]] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)  # check id → the file it came in
    shards: dict[str, str] = field(default_factory=dict)  # "2/4" → its file


def merge_reports(documents: Iterable[tuple[str, Mapping[str, Any]]]) -> MergedJson:
    """`documents`: (file name, its parsed JSON report), one per shard."""
    merging = _Merging()
    for name, document in documents:
        _add(merging, name, document)
    if not merging.runs:
        raise JsonMergeError("no report to merge")
    _check_shards(merging)
    merging.checks.sort(key=lambda entry: (entry[0], entry[1]))
    return MergedJson(
        _run(merging.runs), list(merging.services.values()), [line for *_, line in merging.checks]
    )


def _add(merging: _Merging, name: str, document: Mapping[str, Any]) -> None:
    if document.get("format") != FORMAT or document.get("version") != FORMAT_VERSION:
        raise JsonMergeError(
            f"{name}: not a {FORMAT} report of version {FORMAT_VERSION}"
            f" (format {document.get('format')!r}, version {document.get('version')!r})"
        )
    run = document.get("run")
    if not isinstance(run, dict):
        raise JsonMergeError(f"{name}: no run object")
    shard = run.get("shard")
    if shard is not None:
        if shard in merging.shards:
            raise JsonMergeError(f"shard {shard} given twice: {merging.shards[shard]}, {name}")
        merging.shards[str(shard)] = name
    merging.runs.append((name, run))
    for service in document.get("services") or ():
        merging.services.setdefault(str(service.get("name")), service)
    for check in document.get("checks") or ():
        check_id = str(check.get("id"))
        if check_id in merging.seen:
            raise JsonMergeError(f"{check_id} is in both {merging.seen[check_id]} and {name}")
        merging.seen[check_id] = name
        order = check.get("order")
        place = float(order) if isinstance(order, int) and order >= 0 else float("inf")
        merging.checks.append((place, len(merging.checks), dumps(check)))


def _check_shards(merging: _Merging) -> None:
    if not merging.shards:
        return  # reports that do not say which shard wrote them: merged as given
    if len(merging.shards) != len(merging.runs):
        unnamed = [name for name, run in merging.runs if run.get("shard") is None]
        raise JsonMergeError(f"not a shard's report: {', '.join(unnamed)}")
    totals = {text.partition("/")[2] for text in merging.shards}
    if len(totals) > 1:
        raise JsonMergeError(f"shards of different splits: {', '.join(sorted(merging.shards))}")
    total = int(next(iter(totals)))
    missing = [f"{i}/{total}" for i in range(1, total + 1) if f"{i}/{total}" not in merging.shards]
    if missing:
        raise JsonMergeError(f"shard {', '.join(missing)} missing: its checks would be left out")


def _run(runs: list[tuple[str, Record]]) -> Record:
    first = runs[0][1]
    started = min((run["started"] for _, run in runs), key=_when)
    finished = max((run["finished"] for _, run in runs), key=_when)
    inventories: list[str] = []
    for _, run in runs:
        inventories += [i for i in run.get("inventories") or () if i not in inventories]
    statuses = [int(run.get("exit_status", 0)) for _, run in runs]
    failing = [status for status in statuses if status not in (0, _NO_TESTS)]
    errors = [f"{name}: {run['error']}" for name, run in runs if run.get("error")]
    totals: dict[str, int] = {}
    for _, run in runs:
        for key, value in (run.get("totals") or {}).items():
            totals[key] = totals.get(key, 0) + int(value)
    return {
        **first,
        "started": started,
        "finished": finished,
        "duration_s": round(max((_when(finished) - _when(started)).total_seconds(), 0.0), 3),
        "inventories": inventories,
        "exit_status": max(failing) if failing else min(statuses),
        "interrupted": any(bool(run.get("interrupted")) for _, run in runs),
        "complete": all(bool(run.get("complete")) for _, run in runs),
        "error": "; ".join(errors) or None,
        "shard": None,
        "totals": totals,
    }


def _when(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise JsonMergeError(f"not a time: {text!r}") from None
