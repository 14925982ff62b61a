"""Runbook files → validated, frozen Runbook; every error names its file:line:column."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from .. import schema_errors
from ..document_errors import DocumentError, Location
from ..marked_yaml import DocPath, Document, load_document
from ..outcome import Outcome
from ..schema_errors import SchemaWording, Violation, first_error
from .model import (
    Alternative,
    Cause,
    Diagnostic,
    Indicator,
    Platform,
    Resolution,
    Runbook,
    RunbookAddition,
    RunbookEntry,
    Side,
    Step,
)
from .template import TemplateError, placeholders
from .vocabulary import Vocabulary, built_in, schema

BUNDLED_DIR = Path(__file__).parent / "data"

# 1-based line and column, as editors and compilers print them.
Mark = tuple[int, int]

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


class RunbookError(DocumentError):
    """A runbook file that cannot be read or is invalid; str() is "path:line:col: message"."""

    @property
    def mark(self) -> Mark | None:
        """The error's line and column, None for a problem with the whole file."""
        return (self.location.line, self.location.column) if self.location else None


def load_runbook(
    paths: Sequence[str | RunbookAddition],
    bundled: bool = True,
    vocabulary: Vocabulary | None = None,
) -> Runbook:
    """The bundled entries (unless `bundled` is False: the run names them in `paths`,
    through the pytest_conntriage_add_runbooks hook), then each file's in order; a later
    entry replaces one by id, an addition's causes join the entry it names. What the
    files may name is the run's kinds' `vocabulary` (None: the built-in kinds')."""
    words = vocabulary or built_in()
    runbook = Runbook()
    for item in (*(bundled_files() if bundled else ()), *paths):
        if isinstance(item, RunbookAddition):
            try:
                runbook = runbook.adding(item.to, load_entries(item.path, words))
            except ValueError as exc:
                raise RunbookError(item.path, str(exc)) from None
        else:
            runbook = runbook.extended(load_entries(str(item), words))
    return runbook


def bundled_files() -> list[str]:
    """The runbook files shipped in the package, in a stable order."""
    return [str(p) for p in sorted(BUNDLED_DIR.glob("*.yaml"))]


def load_entries(path: str, vocabulary: Vocabulary | None = None) -> tuple[RunbookEntry, ...]:
    """Read, validate and build the entries of one runbook file (what it may name: the
    kinds' `vocabulary`, None for the built-in kinds')."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RunbookError(path, f"cannot read runbook: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise RunbookError(path, f"cannot read runbook: not UTF-8 text ({exc.reason})") from None
    doc = _parse(path, text)
    words = vocabulary or built_in()
    _validate(doc, words)
    _cross_check(doc, words)
    assert isinstance(doc.data, dict)  # the schema says so
    entries: list[dict[str, Any]] = doc.data["entries"]  # type: ignore[assignment]
    return tuple(_entry(doc.path, entry) for entry in entries)


# -- YAML with marks, then the schema ----------------------------------------------


def _parse(path: str, text: str) -> Document:
    # The inventory's loader and bounds (docs/inventory.md, "Limits"): a runbook can be
    # given with --runbook, so a hostile one must end as quickly as a hostile inventory.
    # The bundled files use block scalars (| and >), which keep arbitrary text on
    # PyYAML's slower parser (~0.15 s a run); the tests check libyaml reads them alike.
    bundled = Path(path).parent == BUNDLED_DIR
    doc = load_document(
        text, path, noun="a runbook", error_type=RunbookError, libyaml_agrees=bundled
    )
    if doc.data is None:
        raise RunbookError.at(Location(path, 1, 1), "the runbook is empty")
    return doc


@cache
def _validator(vocabulary: Vocabulary) -> schema_errors.SchemaValidator:
    return schema_errors.validator(schema(vocabulary))


def _validate(doc: Document, vocabulary: Vocabulary) -> None:
    error = first_error(doc, _validator(vocabulary).iter_errors(doc.data), _WORDING)
    if error is not None:
        raise error


class _RunbookWording(SchemaWording):
    """The runbook's words: its items by kind and id, outcomes, ids."""

    def expected(self, schema: dict[str, Any]) -> str:
        # The runbook schema's titles describe a whole file, not one value.
        return super().expected({k: v for k, v in schema.items() if k != "title"})

    def unknown_key(self, path: DocPath, key: str, schema: dict[str, Any]) -> str:
        if path and path[-1] == "outcomes":
            return f"unknown outcome '{key}'{_suggest(key, schema.get('properties', {}))}"
        return super().unknown_key(path, key, schema)

    def missing_key(self, path: DocPath, key: str, document: Document) -> str:
        return f"missing required key '{key}'{_owner(document, path)}"

    def message(self, violation: Violation) -> str:
        keyword, value, path = violation.keyword, violation.value, violation.path
        if keyword == "enum" and isinstance(value, str):
            hint = _suggest(value, violation.rule)
            if len(path) >= 2 and path[-2] == "outcomes":
                return f"unknown outcome {value!r}{hint}"
            return super().message(violation) + hint
        if keyword == "pattern":
            return (
                f"{value!r} must be lowercase letters and digits in dash-separated words"
                " (like 'service-down')"
            )
        return super().message(violation)


_WORDING = _RunbookWording()


def _owner(doc: Document, where: DocPath) -> str:
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


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _error(doc: Document, where: DocPath, message: str) -> RunbookError:
    """`message` at the value at `where` (its nearest written ancestor if absent)."""
    return RunbookError.at(doc.value_location(where), message)


# -- cross-references and templates --------------------------------------------------


def _cross_check(doc: Document, vocabulary: Vocabulary) -> None:
    """What a schema cannot say: ids unique, references resolve, placeholders known."""
    problems = list(_problems(doc, frozenset(vocabulary.placeholders)))
    if problems:
        raise min(problems, key=lambda p: p.mark or (0, 0))


def _problems(doc: Document, values: frozenset[str]) -> Iterator[RunbookError]:
    assert isinstance(doc.data, dict)  # the schema says so
    entries: list[dict[str, Any]] = doc.data["entries"]  # type: ignore[assignment]
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
                        yield _error(
                            doc,
                            (*base, "causes", c, key, i),
                            f"cause '{cause['id']}' names unknown {_KINDS[key]} '{ref}'"
                            + _suggest(ref, known[key]),
                        )
        for where, text in _templates(base, entry):
            try:
                placeholders(text, values)
            except TemplateError as exc:
                yield _error(doc, where, str(exc))


def _duplicates(
    doc: Document, where: DocPath, items: list[dict[str, Any]], kind: str
) -> Iterator[RunbookError]:
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        ident = item["id"]
        if ident in first:
            line = doc.value_location((*where, first[ident], "id")).line
            yield _error(
                doc, (*where, i, "id"), f"duplicate {kind} id '{ident}' (first at line {line})"
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
            side=Side(s.get("side", "target")),
            platform=Platform(s["platform"]) if "platform" in s else None,
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
