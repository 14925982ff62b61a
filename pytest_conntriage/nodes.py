"""The collected items: an inventory file as a suite of check items; a failure shown as triage."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .checks import Check
from .fixture import ConnectivityFailure
from .inventory.errors import printable
from .kinds.protocol import Kind
from .kinds.registry import BUILT_IN, fixture_name, suite_test_name
from .pytest_internals import ReprFileLocation, TerminalRepr, TerminalWriter, parametrized_node_id
from .report.text import failure_text, unavailable_line
from .result import crash_reason
from .text_spool import Span, TextSpool

if TYPE_CHECKING:
    from .run import ConntriageRun

# A suite function: (the check, the `conntriage` fixture's value) -> None.
SuiteFunction = Callable[[Any, Any], None]
_suites: dict[str, SuiteFunction] = {}


def suite_function(kind: Kind[Any]) -> SuiteFunction:
    """What a check of `kind` asserts: `suites/test_<kind>.py::test_<kind>`, read once.

    A built-in kind without its module fails loudly (its checks must never go
    uncollected); a kind a plugin adds (hookspec) without one has its checks verified.
    """
    if kind.name not in _suites:
        test_name = suite_test_name(kind)
        module_name = f"{__package__}.suites.{test_name}"
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name or kind in BUILT_IN:
                raise
            _suites[kind.name] = verify_check
        else:
            _suites[kind.name] = getattr(module, test_name)
    return _suites[kind.name]


def verify_check(check: Any, conntriage: Any) -> None:
    conntriage.verify(check)


class TriageRepr(TerminalRepr):
    """A failure shown as a diagnosis, not a traceback; `reprcrash` feeds JUnit's message.

    The triage text is rendered when something shows it (the FAILURES section, JUnit,
    an xdist worker sending the report), not kept in memory: at 10,000 failing checks
    the texts alone were 57 MB, and with `--tb=no` nothing ever reads them. With
    `texts` (a run that writes a JUnit file, and so shows each text more than once),
    the first rendering is kept there, on disk, and read back by the next.
    """

    def __init__(
        self,
        message: str,
        text: str | Callable[[], str],
        path: str,
        lineno: int,
        texts: TextSpool | None = None,
    ) -> None:
        self.reprcrash = ReprFileLocation(path, lineno, message)
        self._text = text
        self._texts = texts
        self._span: Span | None = None  # where `texts` holds it, once rendered

    @property
    def text(self) -> str:
        if isinstance(self._text, str):
            return self._text
        if self._span is not None and self._texts is not None:
            kept = self._texts.get(self._span)
            if kept is not None:
                return kept
        try:
            text = self._text()
        except Exception as exc:  # rendered inside pytest's reporting: never raise there
            reason = unavailable_line(crash_reason("rendering", exc))
            return f"{self.reprcrash.message}\n{reason}"
        if self._texts is not None and self._span is None:
            self._span = self._texts.put(text)
        return text

    def toterminal(self, tw: TerminalWriter) -> None:
        tw.line(self.text)

    def __str__(self) -> str:
        return self.text


class PassNote(TerminalRepr):
    """One line on a passed check's report ("open after 12.4 s (refused ×7)"), shown in
    the short summary's PASSED line (-rA). pytest 9 shows a string longrepr there, older
    ones only `reprcrash.message`: this gives both."""

    def __init__(self, message: str, path: str, lineno: int) -> None:
        self.reprcrash = ReprFileLocation(path, lineno, message)

    def toterminal(self, tw: TerminalWriter) -> None:
        tw.line(self.reprcrash.message)

    def __str__(self) -> str:
        return self.reprcrash.message


# Why part of a failure's triage is missing (a crash reading its properties), for its text.
TRIAGE_NOTES_KEY = pytest.StashKey[tuple[str, ...]]()


def triage_repr(
    failure: ConnectivityFailure, notes: tuple[str, ...] = (), texts: TextSpool | None = None
) -> TriageRepr:
    """A failed check shown as its diagnosis, pointing at the inventory entry; its text
    rendered once into `texts` when given (TriageRepr)."""
    result = failure.result
    where = result.check.location
    text = partial(failure_text, result, notes)
    return TriageRepr(str(failure.msg), text, where.path, where.line, texts)


class InventorySuite(pytest.File):
    """An inventory file collected as the built-in suite: `prod.yml::test_tcp[...]`.

    pytest's own shape for tests from a non-Python file: the file yields one item per
    check it defines, kind by kind in the run's order (kinds/registry.py: dns, tcp,
    closed, idle, listening, firewall, service, then kinds plugins add).
    """

    def __init__(self, *, run: ConntriageRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run

    def collect(self) -> list[InventoryCheck]:
        checks = self.run.checks_defined_in(self.path)
        items = []
        for kind in self.run.kinds:
            suite = suite_function(kind)
            of_kind = [c for c in checks if c.kind is kind]
            for check, id in zip(of_kind, unique_ids([c.id for c in of_kind]), strict=True):
                base = suite_test_name(kind)
                node_id = parametrized_node_id(self, base, id)
                items.append(
                    InventoryCheck.from_parent(
                        self, name=f"{base}[{id}]", check=check, suite=suite, **node_id
                    )
                )
        return items


class InventoryCheck(pytest.Item):
    """One check of the inventory as a test; it passes when the check does.

    It runs its kind's suite function (suites/test_<kind>.py) with the check and the
    run's `conntriage` object. Not a parametrized function: a function's parameters
    are fixtures, and pytest sets up a fixture per parameter per test (~0.2 ms each,
    2 s at 10,000 checks) to hand over a value this item simply holds.
    """

    def __init__(self, *, check: Check, suite: SuiteFunction, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.suite = suite
        for tag in check.tags:
            self.add_marker(tag)

    def runtest(self) -> None:
        assert isinstance(self.parent, InventorySuite)
        self.suite(self.check, self.parent.run.conntriage)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,  # pytest's TracebackStyle, a private name
    ) -> str | TerminalRepr:
        # A failed check is shown as its triage, never a Python traceback: rendering
        # one only to replace it cost seconds with hundreds of endpoints down.
        if isinstance(excinfo.value, ConnectivityFailure):
            notes = self.stash.get(TRIAGE_NOTES_KEY, ())
            parent = self.parent
            texts = parent.run.texts if isinstance(parent, InventorySuite) else None
            return triage_repr(excinfo.value, notes, texts)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        # Where the check is defined: the inventory entry (0-based line, as pytest wants).
        return self.path, max(self.check.location.line - 1, 0), self.name


def check_of(item: pytest.Item, kinds: Iterable[Kind[Any]]) -> Check | None:
    """The inventory check `item` verifies: its own, or its `*_check` parameter's (one
    fixture per kind of `kinds`)."""
    if isinstance(item, InventoryCheck):
        return item.check
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    for kind in kinds:
        value = callspec.params.get(fixture_name(kind))
        # An empty parameter set leaves pytest's NOTSET sentinel in the callspec.
        if getattr(value, "kind", None) is kind:
            return value  # type: ignore[no-any-return]
    return None


def check_param(check: Check) -> Any:
    """`check` as a parameter of a user's test: its id and its tags as marks."""
    marks: list[pytest.MarkDecorator] = [getattr(pytest.mark, tag) for tag in check.tags]
    return pytest.param(check, id=check.id, marks=marks)


def unique_ids(ids: list[str]) -> list[str]:
    """`ids` made unique the way pytest's parametrize does, so node ids stay the same:
    a repeated id gets a counter, after "_" if it ends in a digit (`...:443_0`, `..._1`).

    Anything not printable is escaped first (`\\x1b`): an id reaches the terminal, JUnit
    and `-k`. The inventory refuses such names; this holds whatever made the id.
    """
    ids = [printable(id) for id in ids]
    if len(ids) == len(set(ids)):
        return ids
    resolved = list(ids)
    counts = Counter(resolved)
    # What `resolved` holds now, kept up to date: a set built per lookup was quadratic.
    current = Counter(resolved)
    suffixes: dict[str, int] = defaultdict(int)
    for index, id in enumerate(resolved):
        if counts[id] > 1:
            sep = "_" if id and id[-1].isdigit() else ""
            new_id = f"{id}{sep}{suffixes[id]}"
            while current[new_id] > 0:
                suffixes[id] += 1
                new_id = f"{id}{sep}{suffixes[id]}"
            current[id] -= 1
            current[new_id] += 1
            resolved[index] = new_id
            suffixes[id] += 1
    return resolved
