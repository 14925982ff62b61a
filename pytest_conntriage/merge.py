"""`python -m pytest_conntriage.merge OUT SHARD...`: the shards' JUnit files as one run's
(and their JSON reports, `--conntriage-json`: report/json_merge.py).

Each shard of a split run (`--conntriage-shard I/N`) writes its own JUnit file, pytest's
(`--junitxml`) or the dashboard's (`--conntriage-junit`), with every test's place in the
whole collection (`conntriage.order` properties, shard.py). The merge writes the file a
serial run would have written: the same suites in the same order, each with every
shard's testcases in collection order and the counts summed, the per-testcase
properties in their testcases' order, and no `conntriage.order` property left. The
suite's time is the sum of the shards' (the work done, not the wall time); its
timestamp the earliest.

A file that cannot be read stops the merge (exit 4, with the file, line and column): a
shard's failures must never be lost to a merge that quietly leaves them out. So does a
shard missing or given twice, when the files say which shard wrote them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .report.dashboard import SHARD_SUITE
from .report.properties import PREFIX
from .shard import ORDER, SHARD

ORDER_NAME = f"{PREFIX}{ORDER}"  # "conntriage.order", "conntriage.order[testcase]"
SHARD_NAME = f"{PREFIX}{SHARD}"  # "conntriage.shard" = "2/4": which shard wrote the file
COUNTS = ("tests", "failures", "errors", "skipped")
USAGE_ERROR = 4  # as pytest's, for a user's mistake


class MergeError(Exception):
    """A shard file that cannot be merged: the message names it."""


@dataclass
class _Case:
    element: ET.Element
    order: float  # its place in the whole collection (inf: not known, kept after)
    arrival: int  # the order it was read in, for ties and unknown places


@dataclass
class _Suite:
    name: str
    attrs: dict[str, str]
    order: float = float("inf")
    shared: list[tuple[str, str]] = field(default_factory=list)  # the suite's own
    own: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # per testcase
    case_orders: dict[str, float] = field(default_factory=dict)  # testcase → place
    cases: list[_Case] = field(default_factory=list)
    rest: list[ET.Element] = field(default_factory=list)  # system-out/err of the suite


def merge(files: Sequence[Path]) -> ET.Element:
    """The merged `<testsuites>` of `files`, each a shard's JUnit file."""
    suites: dict[str, _Suite] = {}
    root_attrs: dict[str, str] = {}
    shards: dict[str, Path] = {}
    arrival = 0
    for path in files:
        root = _read(path)
        for name, value in root.attrib.items():
            if name in (*COUNTS, "time") and name in root_attrs:
                root_attrs[name] = _sum(root_attrs, name, value, path)
            else:
                root_attrs.setdefault(name, value)
        named: set[str] = set()
        for element in [root] if root.tag == "testsuite" else root.findall("testsuite"):
            suite = _suite(suites, element, path)
            for case in element.findall("testcase"):
                suite.cases.append(_Case(case, _case_order(suite, case), arrival))
                arrival += 1
            named.update(_shards_named(element))
        for shard in named:
            if shard in shards:
                raise MergeError(f"shard {shard} is given twice: {shards[shard]}, {path}")
            shards[shard] = path
    _check_complete(shards)
    merged = ET.Element("testsuites", root_attrs)
    for suite in sorted(suites.values(), key=lambda s: s.order):
        if suite.name != SHARD_SUITE or suite.cases:
            merged.append(_build(suite))
    return merged


def _read(path: Path) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position
        raise MergeError(f"{path}:{line}:{column + 1}: not a JUnit XML file ({exc.msg})") from None
    except OSError as exc:
        raise MergeError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise MergeError(f"{path}:1:1: not a JUnit XML file (its root is <{root.tag}>)")
    return root


def _suite(suites: dict[str, _Suite], element: ET.Element, path: Path) -> _Suite:
    name = element.get("name", "")
    attrs = dict(element.attrib)
    suite = suites.get(name)
    if suite is None:
        suite = suites[name] = _Suite(name, attrs)
    else:
        for key, value in attrs.items():
            if key in (*COUNTS, "time"):
                suite.attrs[key] = _sum(suite.attrs, key, value, path)
            elif key == "timestamp" and value:
                suite.attrs[key] = min(suite.attrs.get(key) or value, value)
            else:
                suite.attrs.setdefault(key, value)
    cases = {_case_id(case) for case in element.findall("testcase")}
    for prop in element.findall("properties/property"):
        name_, value = prop.get("name", ""), prop.get("value", "")
        key, bracket, rest = name_.partition("[")
        testcase = rest[:-1] if bracket and rest.endswith("]") else None
        if name_ == ORDER_NAME:
            suite.order = min(suite.order, _number(value, path))
        elif key == ORDER_NAME and testcase is not None:
            suite.case_orders[testcase] = _number(value, path)
        elif name_ == SHARD_NAME:
            continue  # read by _shards_named: not the whole run's
        elif testcase is not None and testcase in cases:
            suite.own.setdefault(testcase, []).append((name_, value))
        elif (name_, value) not in suite.shared:
            suite.shared.append((name_, value))
    suite.rest.extend(e for e in element if e.tag in ("system-out", "system-err"))
    return suite


def _case_id(case: ET.Element) -> str:
    """A testcase as a suite property names it (junit.py): "classname::name"."""
    classname, name = case.get("classname", ""), case.get("name", "")
    return f"{classname}::{name}" if classname else name


def _case_order(suite: _Suite, case: ET.Element) -> float:
    """Where the case goes: its own `conntriage.order` property (pytest's JUnit with
    properties per testcase), or its suite's `conntriage.order[...]` one."""
    props = case.find("properties")
    if props is not None:
        for prop in props.findall("property"):
            if prop.get("name") == ORDER_NAME:
                props.remove(prop)
                if not len(props):
                    case.remove(props)
                return _number(prop.get("value", ""), None)
    return float("inf")


def _number(text: str, path: Path | None) -> float:
    try:
        return float(int(text))
    except ValueError:
        where = f"{path}: " if path else ""
        raise MergeError(f"{where}{ORDER_NAME} {text!r} is not a whole number") from None


def _shards_named(element: ET.Element) -> list[str]:
    return [
        p.get("value", "")
        for p in element.findall("properties/property")
        if p.get("name") == SHARD_NAME
    ]


def _check_complete(shards: dict[str, Path]) -> None:
    if not shards:
        return  # files that do not say which shard wrote them: merged as given
    totals = {text.partition("/")[2] for text in shards}
    if len(totals) > 1:
        raise MergeError(f"shards of different splits: {', '.join(sorted(shards))}")
    total = int(next(iter(totals)) or 0)
    missing = [f"{i}/{total}" for i in range(1, total + 1) if f"{i}/{total}" not in shards]
    if missing:
        raise MergeError(f"shard {', '.join(missing)} missing: its checks would be left out")


def _sum(attrs: dict[str, str], key: str, value: str, path: Path) -> str:
    try:
        if key == "time":
            return f"{float(attrs.get(key) or 0) + float(value or 0):.3f}"
        return str(int(attrs.get(key) or 0) + int(value or 0))
    except ValueError:
        raise MergeError(f"{path}: {key}={value!r} is not a number") from None


def _build(suite: _Suite) -> ET.Element:
    element = ET.Element("testsuite", suite.attrs)
    cases = sorted(suite.cases, key=lambda c: (_place(suite, c), c.arrival))
    shown = list(suite.shared)
    for case in cases:
        shown += suite.own.get(_case_id(case.element), [])
    if shown:
        properties = ET.SubElement(element, "properties")
        for name, value in shown:
            ET.SubElement(properties, "property", name=name, value=value)
    for case in cases:
        element.append(case.element)
    element.extend(suite.rest)
    return element


def _place(suite: _Suite, case: _Case) -> float:
    """Its own order property, else the suite's for it: by "classname::name" (pytest's
    file), or by its name alone (the dashboard's, whose classname is the suite)."""
    if case.order != float("inf"):
        return case.order
    orders = suite.case_orders
    found = orders.get(_case_id(case.element))
    return found if found is not None else orders.get(case.element.get("name", ""), case.order)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_conntriage.merge",
        description="Merge the reports of a run's shards (--conntriage-shard I/N) into the"
        " whole run's: pytest's --junitxml files, --conntriage-junit ones, or"
        " --conntriage-json ones (all of one kind).",
    )
    parser.add_argument("output", type=Path, help="the merged report to write")
    parser.add_argument("shards", type=Path, nargs="+", help="the shards' reports")
    args = parser.parse_args(argv)
    try:
        if _is_json(args.shards[0]):
            return _merge_json(args.output, args.shards)
        merged = merge(args.shards)
    except MergeError as exc:
        print(f"merge: {exc}", file=sys.stderr)
        return USAGE_ERROR
    _write(args.output, merged)
    tests = sum(int(s.get("tests") or 0) for s in merged.iter("testsuite"))
    print(f"merge: {len(args.shards)} files, {tests} tests: {args.output}")
    return 0


def _is_json(path: Path) -> bool:
    """A JSON report (it opens with "{"), not a JUnit file; unreadable: left to the
    JUnit reader, which names the file."""
    try:
        with path.open("rb") as file:
            return file.read(64).lstrip().startswith(b"{")
    except OSError:
        return False


def _merge_json(output: Path, files: Sequence[Path]) -> int:
    from .report.json_merge import JsonMergeError, merge_reports
    from .report.json_report import write

    def documents() -> Iterator[tuple[str, Any]]:
        for path in files:
            try:
                yield str(path), json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise MergeError(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise MergeError(f"{path}: {exc}") from None

    try:
        merged = merge_reports(documents())
    except JsonMergeError as exc:
        raise MergeError(str(exc)) from None
    _write(output, lambda stream: write(stream, merged.run, merged.services, merged.checks))
    print(f"merge: {len(files)} files, {len(merged.checks)} checks: {output}")
    return 0


def _write(path: Path, root: ET.Element | Callable[[TextIO], None]) -> None:
    """The whole document, or what the file held before: never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(root, ET.Element):
            ET.ElementTree(root).write(temporary, encoding="utf-8", xml_declaration=True)
        else:
            with temporary.open("w", encoding="utf-8") as stream:
                root(stream)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


if __name__ == "__main__":
    sys.exit(main())
