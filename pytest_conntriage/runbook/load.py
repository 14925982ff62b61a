"""Runbook files → validated, frozen Runbook; every error names its file:line:column."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..inventory.yaml_marks import (
    MAX_DOCUMENT_CHARS,
    MAX_INT_DIGITS,
    BoundedSafeLoader,
    LimitExceeded,
    expansion_problem,
)
from ..outcome import Outcome
from .model import (
    Alternative,
    Cause,
    Diagnostic,
    Indicator,
    Platform,
    Resolution,
    Runbook,
    RunbookEntry,
    Side,
    Step,
)
from .template import TemplateError, placeholders

BUNDLED_DIR = Path(__file__).parent / "data"
SCHEMA_PATH = Path(__file__).parent / "schema.json"

# Where a value sits in a document: the keys and list indexes leading to it.
DocPath = tuple[str | int, ...]
# 1-based line and column, as editors and compilers print them.
Mark = tuple[int, int]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"

# What one item of each list is called in messages ("duplicate cause id ...").
_KINDS = {
    "entries": "entry",
    "indicators": "indicator",
    "causes": "cause",
    "diagnostics": "diagnostic",
    "resolutions": "resolution",
    "steps": "step",
    "alternatives": "alternative",
}
_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}
# Which schema complaint to show first when several concern the same mapping: a typo'd
# key also makes the real one "missing", and the typo is what the author must fix.
_PRIORITY = {"additionalProperties": 0, "required": 1}


class RunbookError(Exception):
    """A runbook file that cannot be read or is invalid; str() is "path:line:col: message"."""

    def __init__(self, path: str, message: str, mark: Mark | None = None) -> None:
        where = f"{path}:{mark[0]}:{mark[1]}" if mark else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.mark = mark
        self.message = message


def load_runbook(paths: Sequence[str]) -> Runbook:
    """The bundled entries, then each file's in order; a later entry replaces one by id."""
    runbook = Runbook()
    for path in (*bundled_files(), *paths):
        runbook = runbook.extended(load_entries(str(path)))
    return runbook


def bundled_files() -> list[str]:
    """The runbook files shipped in the package, in a stable order."""
    return [str(p) for p in sorted(BUNDLED_DIR.glob("*.yaml"))]


def load_entries(path: str) -> tuple[RunbookEntry, ...]:
    """Read, validate and build the entries of one runbook file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RunbookError(path, f"cannot read runbook: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise RunbookError(path, f"cannot read runbook: not UTF-8 text ({exc.reason})") from None
    doc = _parse(path, text)
    _validate(doc)
    _cross_check(doc)
    return tuple(_entry(doc.path, entry) for entry in doc.data["entries"])


# -- YAML with marks -----------------------------------------------------------------


@dataclass
class _Doc:
    """Plain data from one file and where each value and key of it was written."""

    path: str
    data: Any = None
    marks: dict[DocPath, Mark] = field(default_factory=dict)
    key_marks: dict[DocPath, Mark] = field(default_factory=dict)

    def at(self, where: DocPath) -> Mark:
        """Where the value at `where` starts (its nearest written ancestor if absent)."""
        for end in range(len(where), -1, -1):
            mark = self.marks.get(where[:end])
            if mark is not None:
                return mark
        return (1, 1)

    def key_at(self, where: DocPath) -> Mark:
        """Where the key of the value at `where` is written."""
        return self.key_marks.get(where) or self.at(where)

    def error(self, where: DocPath, message: str, *, key: bool = False) -> RunbookError:
        return RunbookError(self.path, message, self.key_at(where) if key else self.at(where))


def _parse(path: str, text: str) -> _Doc:
    # The inventory's bounds (docs/inventory.md, "Limits"): a runbook can be given with
    # --runbook, so a hostile one must end as quickly as a hostile inventory.
    if len(text) > MAX_DOCUMENT_CHARS:
        message = f"the file is {len(text):,} characters long; at most {MAX_DOCUMENT_CHARS:,}"
        raise RunbookError(path, message)
    # Compose (not load) so every node keeps its position; only safe tags construct.
    loader = BoundedSafeLoader(text)
    try:
        node = loader.get_single_node()
    except LimitExceeded as exc:
        passed = (exc.mark.line + 1, exc.mark.column + 1)
        raise RunbookError(path, exc.message.partition(";")[0], passed) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (mark.line + 1, mark.column + 1) if mark else None
        problem, context = exc.problem or "", exc.context or ""
        if problem.startswith("but "):  # "expected a single document..., but found another"
            detail = f"{context}, {problem}"
        else:
            detail = f"{problem} ({context})" if problem and context else problem or context
        message = f"YAML syntax error: {detail}"
        raise RunbookError(path, message, where) from None
    except yaml.YAMLError as exc:  # the reader's own errors: control characters, ...
        raise RunbookError(path, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    if node is None:
        raise RunbookError(path, "the runbook is empty", (1, 1))
    expanded = expansion_problem(node)
    if expanded is not None:
        at, why = expanded
        why = why.partition(";")[0]  # the limit is the inventory's; say it without "inventory"
        raise RunbookError(path, why, (at.line + 1, at.column + 1))
    doc = _Doc(path)
    doc.data = _Builder(doc).value(node, ())
    return doc


def _unsupported(tag: str) -> str:
    short = tag.replace("tag:yaml.org,2002:", "!!")
    return f"unsupported YAML tag '{short}': a runbook is plain data"


def _mark(node: Node) -> Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns composed YAML nodes into plain data, recording the marks and refusing
    duplicate keys (which PyYAML would silently let the last one win)."""

    def __init__(self, doc: _Doc) -> None:
        self.doc = doc
        self.constructor = SafeConstructor()
        self.building: set[int] = set()  # nodes being built: an alias to one is a cycle

    def value(self, node: Node, where: DocPath) -> Any:
        self.doc.marks[where] = _mark(node)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if id(node) in self.building:
            raise self.doc.error(where, "recursive alias: a value cannot contain itself")
        if node.tag not in (_MAP_TAG, _SEQ_TAG):
            raise self.fail(node, _unsupported(node.tag))
        self.building.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.value(item, (*where, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            return self.mapping(node, where)
        finally:
            self.building.discard(id(node))

    def scalar(self, node: ScalarNode) -> Any:
        if node.tag == _MERGE_TAG:
            raise self.fail(node, "merge keys (<<) are not supported: write the keys out")
        if node.tag not in self.constructor.yaml_constructors:
            raise self.fail(node, _unsupported(node.tag))
        if node.tag == _INT_TAG and len(str(node.value)) > MAX_INT_DIGITS + 1:
            raise self.fail(node, f"a number of more than {MAX_INT_DIGITS} digits")
        try:
            return self.constructor.construct_object(node)
        except ConstructorError as exc:  # an unsafe or unknown tag, a bad !!int, ...
            raise self.fail(node, str(exc.problem)) from None

    def fail(self, node: Node, message: str) -> RunbookError:
        return RunbookError(self.doc.path, message, _mark(node))

    def mapping(self, node: MappingNode, where: DocPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "keys must be text, not a list or mapping")
            key = self.scalar(key_node)
            if not isinstance(key, str):
                raise self.fail(key_node, f"key {key!r} must be text")
            path = (*where, key)
            if key in out:
                first = self.doc.key_marks[path]
                raise self.fail(key_node, f"duplicate key '{key}' (first at line {first[0]})")
            self.doc.key_marks[path] = _mark(key_node)
            out[key] = self.value(value_node, path)
        return out


# -- JSON Schema ---------------------------------------------------------------------


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def _validate(doc: _Doc) -> None:
    errors = list(_validator().iter_errors(doc.data))
    if errors:
        # The first problem in the file, as a compiler would report it.
        first = min(errors, key=lambda e: _order(doc, e))
        raise _schema_error(doc, first)


def _order(doc: _Doc, error: ValidationError) -> tuple[Mark, int, Mark]:
    where = tuple(error.absolute_path)
    detail = doc.at(where)
    if error.validator == "additionalProperties":
        detail = min(doc.key_at((*where, k)) for k in _unknown_keys(error))
    return (doc.at(where), _PRIORITY.get(str(error.validator), 2), detail)


def _unknown_keys(error: ValidationError) -> list[str]:
    allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    instance: dict[str, Any] = error.instance  # type: ignore[assignment]
    return [k for k in instance if k not in allowed]


def _schema_error(doc: _Doc, error: ValidationError) -> RunbookError:
    where: DocPath = tuple(error.absolute_path)
    name = _name(where)
    kind = error.validator
    # Typed "Any | Unset" by jsonschema; set on every error iter_errors yields.
    value: Any = error.instance
    rule: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    in_outcomes = bool(where) and where[-1] == "outcomes"
    if kind == "additionalProperties":
        key = min(_unknown_keys(error), key=lambda k: doc.key_at((*where, k)))
        what = "outcome" if in_outcomes else "key"
        hint = _suggest(key, schema.get("properties", {}))
        return doc.error((*where, key), f"unknown {what} '{key}'{hint}", key=True)
    if kind == "required":
        missing = next(k for k in rule if k not in value)
        return doc.error(where, f"missing required key '{missing}'{_owner(doc, where)}")
    if kind == "dependentRequired":
        key, needs = next(
            (k, [n for n in need if n not in value])
            for k, need in rule.items()
            if k in value and any(n not in value for n in need)
        )
        return doc.error((*where, key), f"'{key}' needs '{needs[0]}' beside it", key=True)
    if kind == "type":
        expected = rule
        wanted = " or ".join(
            _TYPE_WORDS.get(t, t) for t in ([expected] if isinstance(expected, str) else expected)
        )
        return doc.error(where, f"{name} must be {wanted}, got {_describe(value)}")
    if kind in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        return doc.error(where, f"{name} must be between {low} and {high}, got {value}")
    if kind == "enum":
        options = [str(o) for o in rule]
        hint = _suggest(value, options) if isinstance(value, str) else ""
        if len(where) >= 2 and where[-2] == "outcomes":
            return doc.error(where, f"unknown outcome {value!r}{hint}")
        return doc.error(where, f"{name} must be one of {', '.join(options)}; got {value!r}{hint}")
    if kind == "const":
        return doc.error(where, f"unsupported {name} {value!r} (this plugin reads {rule})")
    if kind == "pattern":
        return doc.error(
            where,
            f"{name} {value!r} must be lowercase letters and digits in dash-separated words"
            " (like 'service-down')",
        )
    if kind in ("minItems", "minLength"):
        return doc.error(where, f"{name} must not be empty")
    if kind == "uniqueItems":
        seen: set[str] = set()
        for i, item in enumerate(value):
            if repr(item) in seen:
                return doc.error((*where, i), f"{name} lists {item!r} twice")
            seen.add(repr(item))
    return doc.error(where, error.message)


def _name(where: DocPath) -> str:
    """How a message names the value at `where`: "weight", "diagnostics[2]"."""
    if not where:
        return "the runbook"
    last = where[-1]
    if isinstance(last, int):
        return f"{_name(where[:-1])}[{last}]"
    return last


def _owner(doc: _Doc, where: DocPath) -> str:
    """Names the item at `where` for a message: " in cause 'service-down'"."""
    if len(where) < 2 or not isinstance(where[-1], int):
        return ""
    kind = _KINDS.get(str(where[-2]))
    node: Any = doc.data
    for step in where:
        node = node[step]
    if kind and isinstance(node, dict) and isinstance(node.get("id"), str):
        return f" in {kind} '{node['id']}'"
    return f" in {kind}" if kind else ""


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (str, int, float)):
        return repr(value)
    return f"a {type(value).__name__}"


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# -- cross-references and templates --------------------------------------------------


def _cross_check(doc: _Doc) -> None:
    """What a schema cannot say: ids unique, references resolve, placeholders known."""
    problems = list(_problems(doc))
    if problems:
        raise min(problems, key=lambda p: p.mark or (0, 0))


def _problems(doc: _Doc) -> Iterator[RunbookError]:
    entries = doc.data["entries"]
    yield from _duplicates(doc, ("entries",), entries, "entry")
    for e, entry in enumerate(entries):
        base: DocPath = ("entries", e)
        for key in ("indicators", "causes", "diagnostics", "resolutions"):
            items = entry.get(key, [])
            yield from _duplicates(doc, (*base, key), items, _KINDS[key])
        known = {
            key: [item["id"] for item in entry.get(key, [])]
            for key in ("diagnostics", "resolutions")
        }
        for c, cause in enumerate(entry["causes"]):
            for key in ("diagnostics", "resolutions"):
                for i, ref in enumerate(cause[key]):
                    if ref not in known[key]:
                        yield doc.error(
                            (*base, "causes", c, key, i),
                            f"cause '{cause['id']}' names unknown {_KINDS[key]} '{ref}'"
                            + _suggest(ref, known[key]),
                        )
        for where, text in _templates(base, entry):
            try:
                placeholders(text)
            except TemplateError as exc:
                yield doc.error(where, str(exc))


def _duplicates(
    doc: _Doc, where: DocPath, items: list[dict[str, Any]], kind: str
) -> Iterator[RunbookError]:
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        ident = item["id"]
        if ident in first:
            line = doc.at((*where, first[ident], "id"))[0]
            yield doc.error(
                (*where, i, "id"), f"duplicate {kind} id '{ident}' (first at line {line})"
            )
        else:
            first[ident] = i


def _templates(base: DocPath, entry: dict[str, Any]) -> Iterator[tuple[DocPath, str]]:
    """Every string triage fills in, with where it is."""
    for c, cause in enumerate(entry["causes"]):
        at: DocPath = (*base, "causes", c)
        yield from ((((*at, k)), cause[k]) for k in ("title", "detail"))
        for outcome, fit in cause["outcomes"].items():
            yield (*at, "outcomes", outcome, "why"), fit["why"]
    for d, diagnostic in enumerate(entry.get("diagnostics", [])):
        at = (*base, "diagnostics", d)
        yield from (((*at, k), diagnostic[k]) for k in ("title", "command", "tells"))
        yield from _commands(at, diagnostic)
    for r, resolution in enumerate(entry.get("resolutions", [])):
        at = (*base, "resolutions", r)
        yield (*at, "title"), resolution["title"]
        for s, step in enumerate(resolution["steps"]):
            yield (*at, "steps", s, "text"), step["text"]
            if "command" in step:
                yield (*at, "steps", s, "command"), step["command"]
            yield from _commands((*at, "steps", s), step)


def _commands(at: DocPath, item: dict[str, Any]) -> Iterator[tuple[DocPath, str]]:
    for p, text in enumerate(item.get("prefer", [])):
        yield (*at, "prefer", p), text
    for a, alternative in enumerate(item.get("alternatives", [])):
        yield (*at, "alternatives", a, "command"), alternative["command"]


# -- the frozen model ----------------------------------------------------------------


def _entry(source: str, data: dict[str, Any]) -> RunbookEntry:
    diagnostics = [_diagnostic(d) for d in data.get("diagnostics", [])]
    resolutions = [_resolution(r) for r in data.get("resolutions", [])]
    return RunbookEntry(
        id=data["id"],
        title=_text(data["title"]),
        summary=_text(data["summary"]),
        reference=_text(data["reference"]),
        source=source,
        indicators=tuple(
            Indicator(i["id"], _text(i["text"]), tuple(Outcome(o) for o in i.get("outcomes", [])))
            for i in data.get("indicators", [])
        ),
        causes=tuple(_cause(c) for c in data["causes"]),
        diagnostics={d.id: d for d in diagnostics},
        resolutions={r.id: r for r in resolutions},
        prevention=tuple(_text(p) for p in data.get("prevention", [])),
        tools=tuple(_text(t) for t in data.get("tools", [])),
    )


def _cause(data: dict[str, Any]) -> Cause:
    fits = {Outcome(name): fit for name, fit in data["outcomes"].items()}
    return Cause(
        id=data["id"],
        title=_text(data["title"]),
        detail=_text(data["detail"]),
        weights={outcome: int(fit["weight"]) for outcome, fit in fits.items()},
        diagnostics=tuple(data["diagnostics"]),
        resolutions=tuple(data["resolutions"]),
        why={outcome: _text(fit["why"]) for outcome, fit in fits.items()},
    )


def _diagnostic(data: dict[str, Any]) -> Diagnostic:
    return Diagnostic(
        id=data["id"],
        title=_text(data["title"]),
        side=Side(data["side"]),
        command=_text(data["command"]),
        tells=_text(data["tells"]),
        prefer=tuple(_text(p) for p in data.get("prefer", [])),
        alternatives=_alternatives(data),
    )


def _resolution(data: dict[str, Any]) -> Resolution:
    steps = tuple(
        Step(
            text=_text(s["text"]),
            command=_text(s.get("command", "")),
            prefer=tuple(_text(p) for p in s.get("prefer", [])),
            alternatives=_alternatives(s),
            unless=tuple(s.get("unless", [])),
        )
        for s in data["steps"]
    )
    return Resolution(id=data["id"], title=_text(data["title"]), steps=steps)


def _alternatives(data: dict[str, Any]) -> tuple[Alternative, ...]:
    return tuple(
        Alternative(Platform(a["platform"]), _text(a["command"]))
        for a in data.get("alternatives", [])
    )


def _text(value: str) -> str:
    # A `|` block keeps its final newline; output lines are built without it.
    return value.strip()
