"""pytest hooks and options only: the thin shell around inventory, checks, probes and triage.

PYTEST_DONT_REWRITE: pytest rewrites the asserts of plugin modules, parsing this one
anew in every process that cannot cache bytecode (each xdist worker, too); its asserts
only narrow types.
"""

from __future__ import annotations

import gc
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import ReprFileLocation, TerminalRepr
from _pytest._io import TerminalWriter

from . import children, junit
from .checks import (
    Check,
    CheckKind,
    DnsCheck,
    HostCheck,
    Plan,
    TcpCheck,
    plan,
)
from .connections import HostPool
from .evaluate import Evaluator, crash_reason
from .fixture import RESULT_KEY, ConnectivityFailure, Conntriage
from .inventory import InventoryError, InventoryWarning, load_inventories
from .inventory.errors import printable
from .inventory.model import Inventory
from .probe.engine import DEFAULT_CONCURRENCY, Engine
from .probe.limits import fit as fit_to_fd_limit
from .pytest_compat import index_teardown_reports, parametrized_node_id
from .report.properties import PREFIX, essential_properties, properties, read
from .report.summary import TriageSummary
from .report.text import failure_text, unavailable_line
from .report.validation import summary_lines
from .runbook import RunbookError, load_runbook
from .runbook.model import Runbook

# The fixture names users' own tests request to be parametrized with the inventory's
# checks; their order is the order the built-in suite collects each file's checks in.
CHECK_PARAMS = {
    "dns_check": CheckKind.DNS,
    "tcp_check": CheckKind.TCP,
    "closed_check": CheckKind.CLOSED,
    "idle_check": CheckKind.IDLE,
    "listening_check": CheckKind.LISTENING,
    "firewall_check": CheckKind.FIREWALL,
    "service_check": CheckKind.SERVICE,
}
VALIDATED_KEY = "conntriage_validated"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conntriage", "connectivity checks and triage (pytest-conntriage)")
    group.addoption(
        "--inventory",
        action="append",
        default=[],
        metavar="FILE",
        help="inventory YAML to turn into connectivity checks; repeat to merge several",
    )
    group.addoption(
        "--runbook",
        action="append",
        default=[],
        metavar="FILE",
        help="extra runbook YAML whose entries add to or override the bundled ones",
    )
    group.addoption(
        "--conntriage-concurrency",
        type=int,
        default=None,
        metavar="N",
        help=f"probes in flight at once (default {DEFAULT_CONCURRENCY})",
    )
    group.addoption(
        "--conntriage-validate",
        action="store_true",
        help="only load and validate the inventory, collect its checks and print a summary"
        " per service: no DNS query, no connection (the pre-merge check for inventory"
        " changes); exit status 0, or 4 for a mistake",
    )
    parser.addini(
        "conntriage_inventory", "inventory files used when --inventory is not given", type="paths"
    )
    parser.addini("conntriage_runbook", "extra runbook files (see --runbook)", type="paths")
    parser.addini(
        "conntriage_concurrency", "probes in flight at once", default=str(DEFAULT_CONCURRENCY)
    )
    parser.addini(
        junit.INI,
        "where JUnit gets each check's conntriage.* properties: testsuite (valid under "
        "xunit2), testcase, or auto (testcase under junit_family=xunit1, else testsuite)",
        default=junit.AUTO,
    )


@dataclass(frozen=True)
class Settings:
    """Resolved once: command line wins over ini."""

    inventories: tuple[str, ...]
    runbooks: tuple[str, ...]
    concurrency: int
    validate: bool = False  # --conntriage-validate: collect only, touch no network

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        inventories = config.getoption("inventory") or [
            str(p) for p in config.getini("conntriage_inventory")
        ]
        runbooks = config.getoption("runbook") or [
            str(p) for p in config.getini("conntriage_runbook")
        ]
        concurrency = config.getoption("conntriage_concurrency")
        if concurrency is None:
            try:
                concurrency = int(config.getini("conntriage_concurrency"))
            except ValueError as exc:
                raise pytest.UsageError(f"conntriage_concurrency: not a number ({exc})") from None
        if concurrency < 1:
            raise pytest.UsageError("--conntriage-concurrency must be at least 1")
        validate = bool(config.getoption("conntriage_validate"))
        if validate and not inventories:
            raise pytest.UsageError("--conntriage-validate needs an inventory (--inventory FILE)")
        return cls(tuple(inventories), tuple(runbooks), concurrency, validate)


def pytest_configure(config: pytest.Config) -> None:
    settings = Settings.from_config(config)
    try:
        # An xdist worker reads the files the controller has just validated.
        validated = getattr(config, "workerinput", {}).get(VALIDATED_KEY, ())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InventoryWarning)
            inventory = (
                load_inventories(settings.inventories, validated=validated)
                if settings.inventories
                else None
            )
        runbook = load_runbook(settings.runbooks)
        # In pytest's warnings summary, where -W and filterwarnings apply to them.
        for warning in caught:
            config.issue_config_time_warning(warning.message, stacklevel=2)  # type: ignore[arg-type]
    except (InventoryError, RunbookError, InventoryWarning) as exc:
        raise pytest.UsageError(str(exc)) from None
    if inventory is not None:
        for tag in sorted(
            {t for s in inventory.services for t in s.tags}
            | {t for c in inventory.closed for t in c.tags}
        ):
            config.addinivalue_line("markers", f"{tag}: inventory tag")
        # The built-in suite is collected under each inventory file (see InventorySuite),
        # so test ids, locations and JUnit class names name the inventory, not a path
        # inside site-packages.
        for source in inventory.sources:
            if source not in config.args:
                config.args.append(source)
        if settings.validate:
            # The inventory's own checks, collected and never run: no probe is started,
            # and planning needs no DNS answer. Other test files are not even imported.
            config.option.collectonly = True
            config.args[:] = list(inventory.sources)
    config.pluginmanager.register(
        ConntriageRun(config, settings, inventory, runbook), "conntriage-run"
    )


@pytest.fixture(scope="session")
def conntriage(pytestconfig: pytest.Config) -> Conntriage:
    """Verify inventory checks or ad-hoc endpoints; a failure shows the runbook triage."""
    # Session-scoped: a function-scoped fixture that asks for `request` costs pytest
    # ~0.15 ms a test to set up (10,000 checks: 1.5 s); the test running is tracked by
    # the run instead.
    run = pytestconfig.pluginmanager.get_plugin("conntriage-run")
    assert isinstance(run, ConntriageRun)
    return run.conntriage


class TriageRepr(TerminalRepr):
    """A failure shown as a diagnosis, not a traceback; `reprcrash` feeds JUnit's message.

    The triage text is rendered when something shows it (the FAILURES section, JUnit,
    an xdist worker sending the report), not kept: at 10,000 failing checks the texts
    alone were 57 MB, and with `--tb=no` nothing ever reads them.
    """

    def __init__(self, message: str, text: str | Callable[[], str], path: str, lineno: int) -> None:
        self.reprcrash = ReprFileLocation(path, lineno, message)
        self._text = text

    @property
    def text(self) -> str:
        if isinstance(self._text, str):
            return self._text
        try:
            return self._text()
        except Exception as exc:  # rendered inside pytest's reporting: never raise there
            reason = unavailable_line(crash_reason("rendering", exc))
            return f"{self.reprcrash.message}\n{reason}"

    def toterminal(self, tw: TerminalWriter) -> None:
        tw.line(self.text)

    def __str__(self) -> str:
        return self.text


class InventorySuite(pytest.File):
    """An inventory file collected as the built-in suite: `prod.yml::test_tcp[...]`.

    pytest's own shape for tests from a non-Python file: the file yields one item per
    check it defines, in the order dns, tcp, closed, idle, listening, firewall, service.
    """

    def __init__(self, *, run: ConntriageRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run

    def collect(self) -> list[InventoryCheck]:
        checks = self.run.checks_defined_in(self.path)
        items = []
        for kind in CHECK_PARAMS.values():
            of_kind = [c for c in checks if c.kind is kind]
            for check, id in zip(of_kind, unique_ids([c.id for c in of_kind]), strict=True):
                base = f"test_{kind.value}"
                node_id = parametrized_node_id(self, base, id)
                items.append(
                    InventoryCheck.from_parent(self, name=f"{base}[{id}]", check=check, **node_id)
                )
        return items


class InventoryCheck(pytest.Item):
    """One check of the inventory as a test; it passes when the check does.

    Not a parametrized function: a function's parameters are fixtures, and pytest
    sets up a fixture per parameter per test (~0.2 ms each, 2 s at 10,000 checks) to
    hand over a value this item simply holds.
    """

    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        for tag in check.tags:
            self.add_marker(tag)

    def runtest(self) -> None:
        assert isinstance(self.parent, InventorySuite)
        self.parent.run.conntriage.verify(self.check)

    def reportinfo(self) -> tuple[Path, int, str]:
        # Where the check is defined: the inventory entry (0-based line, as pytest wants).
        return self.path, max(self.check.location.line - 1, 0), self.name


class ConntriageRun:
    """The run's state (engine, plan, triage summary) and the hooks that use it."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        inventory: Inventory | None,
        runbook: Runbook,
    ) -> None:
        self.config = config
        self.settings = settings
        self.inventory = inventory
        self.fds = fit_to_fd_limit(settings.concurrency)
        self.engine = Engine(self.fds.concurrency)
        self.hosts = (
            HostPool(inventory.hosts, inventory.defaults.evidence_timeout)
            if inventory
            else HostPool({})
        )
        # Every process the run starts ends with it: at unconfigure, and on SIGTERM. The
        # handler only with an inventory: without one the plugin changes nothing global.
        children.reset()
        if inventory is not None:
            children.handle_sigterm()
        self.evaluator = Evaluator(self.engine, runbook, self.hosts)
        self.summary = TriageSummary()
        self.validated_checks: list[Check] = []  # collected under --conntriage-validate
        self._plan: Plan | None = None
        self._prefetched: set[int] = set()
        self.worker_queue = WorkerQueue(config)
        self.current_item: pytest.Item | None = None
        self.conntriage = Conntriage(self.evaluator, lambda: self.current_item)
        self._by_file: dict[Path, list[Check]] | None = None
        self.is_worker = hasattr(config, "workerinput")
        self.junit_properties = junit.placement_setting(config)
        self.junit_error = ""
        self.inventory_paths = frozenset(
            Path(source).resolve() for source in (inventory.sources if inventory else ())
        )

    # -- planning ---------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        if self._plan is None:
            # From the inventory alone: collecting needs no DNS answer (see checks.py).
            self._plan = plan(self.inventory) if self.inventory else Plan((), (), ())
            # One vantage: no failure has another vantage's view to report.
            self.evaluator.compare_vantages = len(self._plan.vantages) > 1
        return self._plan

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        if self.inventory is None:
            return []
        p = self.plan
        policy = self.inventory.defaults.policy
        return [
            f"conntriage: inventory {', '.join(self.inventory.sources)}: {len(p)} checks "
            f"({len(p.dns)} dns, {len(p.tcp)} tcp, {len(p.closed)} closed"
            + (f", {len(p.idle)} idle" if p.idle else "")
            + (f", {len(p.host)} on hosts" if p.host else "")
            + "); "
            f"timeout {policy.timeout:g}s, retries {policy.retries}, wait {policy.wait:g}s; "
            f"concurrency {self.engine.concurrency}; vantages: {', '.join(p.vantages) or 'none'}"
        ] + ([f"conntriage: {self.fds.note}"] if self.fds.note else [])

    # -- collection -------------------------------------------------------------

    def pytest_collect_file(
        self, file_path: Path, parent: pytest.Collector
    ) -> pytest.Collector | None:
        if file_path.resolve() in self.inventory_paths:
            return InventorySuite.from_parent(parent, path=file_path, run=self)
        return None

    def checks_defined_in(self, path: Path) -> list[Check]:
        """The checks of the plan that inventory file `path` defines, in plan order."""
        if self._by_file is None:
            self._by_file = {}
            resolved: dict[str, Path] = {}
            for check in self.plan:
                where = check.location.path
                if where not in resolved:
                    resolved[where] = Path(where).resolve()
                self._by_file.setdefault(resolved[where], []).append(check)
        return self._by_file.get(path.resolve(), [])

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        # A user's own test asking for `tcp_check` and the like: every check of the run.
        for name, kind in CHECK_PARAMS.items():
            if name in metafunc.fixturenames:
                checks = [c for c in self.plan if c.kind is kind]
                metafunc.parametrize(name, [_param(c) for c in checks])

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # Start every selected probe now, so the run costs about one timeout. A worker
        # only learns which tests are its own as they arrive: see pytest_runtest_protocol.
        if self.settings.validate:
            self.validated_checks = [c for c in map(check_of, session.items) if c is not None]
        if not self.is_worker and not self.config.option.collectonly:
            self.summary.collected(item.nodeid for item in session.items)
            self._prefetch(session.items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        if self.is_worker:
            self._prefetch(self.worker_queue.new_items(item))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # The test in progress, for the session-scoped fixture: set in setup, which
        # every run protocol calls (a plugin may take over pytest_runtest_protocol).
        self.current_item = item

    def pytest_runtest_logfinish(self) -> None:
        self.current_item = None

    def _prefetch(self, items: Iterable[pytest.Item]) -> None:
        for item in items:
            if id(item) in self._prefetched:
                continue
            self._prefetched.add(id(item))
            check = check_of(item)
            if check is not None and not item.get_closest_marker("skip"):
                self.evaluator.prefetch(check)

    # -- reporting --------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> pytest.TestReport | None:
        if call.when != "call":
            return None
        excinfo = call.excinfo
        failure = excinfo.value if excinfo is not None else None
        # The failing check's own result: a test may verify several.
        result = (
            failure.result
            if isinstance(failure, ConnectivityFailure)
            else item.stash.get(RESULT_KEY, None)
        )
        if result is None:
            return None
        try:
            props, crashed = properties(result)
        except Exception as exc:  # it guards itself; this is the last line of defence
            props, crashed = essential_properties(result), crash_reason("JUnit properties", exc)
        # Reported: the result lives on in the report alone (and in the engine's memo).
        if RESULT_KEY in item.stash:
            del item.stash[RESULT_KEY]
        # The properties go on this report only, not on the item: pytest's junitxml
        # would write the item's inside the testcase, which junit-10.xsd forbids
        # (pytest_runtest_logreport puts them where the JUnit file allows them).
        if isinstance(failure, ConnectivityFailure):
            # Built here, not by pytest, so no Python traceback is rendered only to be
            # replaced: with hundreds of endpoints down that cost seconds.
            try:
                return self._failure_report(item, call, failure, props, crashed)
            except Exception:
                pass  # pytest's own report below: the failure and its message stand
        report = pytest.TestReport.from_item_and_call(item, call)  # what pytest's does
        report.user_properties.extend(props)
        return report

    def _failure_report(
        self,
        item: pytest.Item,
        call: pytest.CallInfo[None],
        failure: ConnectivityFailure,
        props: list[tuple[str, str]],
        crashed: str,
    ) -> pytest.TestReport:
        result = failure.result
        text = partial(failure_text, result, (crashed,) if crashed else ())
        where = result.check.location
        return pytest.TestReport(
            # pytest 9's structured node id, as its own reports carry (JUnit pairs this
            # report with the item's teardown by it); pytest 8 has the string only.
            getattr(item, "id", item.nodeid),
            item.location,
            dict.fromkeys(item.keywords, 1),
            "failed",
            TriageRepr(str(failure.msg), text, where.path, where.line),
            "call",
            [(f"Captured {key} {when}", text) for when, key, text in item._report_sections],
            call.duration,
            call.start,
            call.stop,
            user_properties=[*item.user_properties, *props],
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_report_to_serializable(self, report: pytest.TestReport) -> Generator[None, Any, Any]:
        data = yield
        if isinstance(report.longrepr, TriageRepr) and isinstance(data.get("longrepr"), str):
            # pytest already sends the text (str(longrepr)); rendering it again would
            # cost a second triage per failure.
            crash = report.longrepr.reprcrash
            data["conntriage_repr"] = [str(crash.message), str(crash.path), int(crash.lineno)]
        return data

    @pytest.hookimpl(wrapper=True)
    def pytest_report_from_serializable(self, data: dict[str, Any]) -> Generator[None, Any, Any]:
        crash = data.pop("conntriage_repr", None)
        report = yield
        if isinstance(crash, list) and len(crash) == 3 and isinstance(report.longrepr, str):
            message, path, lineno = crash
            report.longrepr = TriageRepr(str(message), report.longrepr, str(path), int(lineno))
        return report

    @pytest.hookimpl(trylast=True)  # after junitxml has opened the testcase
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or self.is_worker:
            return
        props = read(report.user_properties)
        if not props:
            return
        if report.failed:
            self.summary.add(report.nodeid, props)
        # A failure of the check itself (not of a test's own assert after it passed).
        failure_type = props.get("outcome") if isinstance(report.longrepr, TriageRepr) else None
        try:
            pairs = [(f"{PREFIX}{name}", value) for name, value in props.items()]
            junit.write(self.config, self.junit_properties, report, pairs, failure_type)
        except Exception as exc:  # pytest's own testcase and <failure> stand as written
            self.junit_error = crash_reason("JUnit properties", exc)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.settings.validate and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            session.exitstatus = pytest.ExitCode.OK  # a valid inventory that defines no checks
        # Before the terminal reporter's summary, which runs in its own sessionfinish.
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            index_teardown_reports(reporter)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.settings.validate and self.inventory is not None:
            terminalreporter.write_sep("=", "conntriage: the inventory is valid")
            for line in summary_lines(self.inventory, self.validated_checks):
                terminalreporter.write_line(line)
        if self.junit_error:
            terminalreporter.write_line(
                f"conntriage: JUnit properties not written: {self.junit_error}"
            )
        if self.summary:
            terminalreporter.write_sep("=", "connectivity triage")
            try:
                lines = self.summary.lines()
            except Exception as exc:  # the failures above stand; only the grouping is lost
                lines = [unavailable_line(crash_reason("summary", exc))]
            for line in lines:
                terminalreporter.write_line(line)

    def pytest_unconfigure(self) -> None:
        # First, so threads blocked on a host (ssh, paramiko) return and the engine's
        # tasks end at once: Ctrl-C ends the run without waiting for any host.
        children.kill_all()
        children.restore_sigterm()
        self.engine.close()
        # Nothing is left to collect: freezing the heap spares the interpreter's exit a
        # final sweep over every report and result (4 s of 21 s at 10,000 checks).
        gc.freeze()

    # -- pytest-xdist -------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        # Every worker collects the same ids from the same files (ids never depend on
        # DNS); it need not validate what the controller has just validated.
        if self.inventory is not None:
            node.workerinput[VALIDATED_KEY] = list(self.inventory.digests)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.summary.collected(ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if self.inventory is None or config.getvalue("dist") != "load":
            return None
        from .xdist_scheduling import UpfrontScheduling

        return UpfrontScheduling(config, log)


def check_of(item: pytest.Item) -> Check | None:
    if isinstance(item, InventoryCheck):
        return item.check
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    for name in CHECK_PARAMS:
        value = callspec.params.get(name)
        # An empty parameter set leaves pytest's NOTSET sentinel in the callspec.
        if isinstance(value, (DnsCheck, TcpCheck, HostCheck)):
            return value
    return None


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


def _param(check: Check) -> Any:
    marks: list[pytest.MarkDecorator] = [getattr(pytest.mark, tag) for tag in check.tags]
    return pytest.param(check, id=check.id, marks=marks)


class WorkerQueue:
    """The tests queued on this xdist worker that it has not seen yet: those it will run.

    xdist has no hook for "tests arrived", so this reads the worker's queue (a deque of
    item indices; xdist appends what it sends, the worker pops from the front). Only
    the entries after the last one seen are new: reading from the end back to it keeps
    this O(new) per test, not O(queue). If the queue's shape ever changes, the worker
    falls back to probing each test as it runs.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._seen: set[int] = set()
        self._interactor: Any = None

    def new_items(self, current: pytest.Item) -> list[pytest.Item]:
        interactor = self._find()
        queue = getattr(getattr(interactor, "torun", None), "lock", None)
        if queue is None:
            return [current]
        fresh: list[int] = []
        with queue() as indices:
            for index in reversed(indices):
                if not isinstance(index, int):
                    continue  # xdist's shutdown marker
                if index in self._seen:
                    break
                fresh.append(index)
        self._seen.update(fresh)
        session_items = interactor.session.items
        return [current] + [
            session_items[i] for i in reversed(fresh) if 0 <= i < len(session_items)
        ]

    def _find(self) -> Any:
        if self._interactor is None:
            self._interactor = next(
                (
                    p
                    for p in self.config.pluginmanager.get_plugins()
                    if type(p).__name__ == "WorkerInteractor"
                ),
                False,
            )
        return self._interactor or None
