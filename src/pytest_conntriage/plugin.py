"""pytest hooks and options only: the thin shell around inventory, checks, probes and triage."""

from __future__ import annotations

import gc
import importlib
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from _pytest._code.code import ReprFileLocation, TerminalRepr
from _pytest._io import TerminalWriter

from .api import RESULT_KEY, ConnectivityFailure, Conntriage
from .checks import (
    Check,
    CheckKind,
    DnsCheck,
    HostCheck,
    Plan,
    Resolutions,
    TcpCheck,
    lookups,
    plan,
)
from .evaluate import Evaluator
from .hosts import HostPool
from .inventory import InventoryError, load_inventories
from .inventory.model import Inventory, Resolver
from .probe.engine import DEFAULT_CONCURRENCY, Engine
from .probe.limits import fit as fit_to_fd_limit
from .pytest_compat import index_teardown_reports
from .report.properties import properties, read
from .report.summary import TriageSummary
from .report.text import failure_text
from .runbook import RunbookError, load_runbook
from .runbook.model import Runbook

SUITE_MODULE = "pytest_conntriage.suites.test_connectivity"
# The fixture names the built-in suite (and users' own tests) request to be
# parametrized with the inventory's checks.
CHECK_PARAMS = {
    "dns_check": CheckKind.DNS,
    "tcp_check": CheckKind.TCP,
    "closed_check": CheckKind.CLOSED,
    "idle_check": CheckKind.IDLE,
    "listening_check": CheckKind.LISTENING,
    "firewall_check": CheckKind.FIREWALL,
    "service_check": CheckKind.SERVICE,
}
WORKERINPUT_KEY = "conntriage_resolutions"


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
    parser.addini(
        "conntriage_inventory", "inventory files used when --inventory is not given", type="paths"
    )
    parser.addini("conntriage_runbook", "extra runbook files (see --runbook)", type="paths")
    parser.addini(
        "conntriage_concurrency", "probes in flight at once", default=str(DEFAULT_CONCURRENCY)
    )


@dataclass(frozen=True)
class Settings:
    """Resolved once: command line wins over ini."""

    inventories: tuple[str, ...]
    runbooks: tuple[str, ...]
    concurrency: int

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
        return cls(tuple(inventories), tuple(runbooks), concurrency)


def pytest_configure(config: pytest.Config) -> None:
    settings = Settings.from_config(config)
    try:
        inventory = load_inventories(settings.inventories) if settings.inventories else None
        runbook = load_runbook(settings.runbooks)
    except (InventoryError, RunbookError) as exc:
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
    return Conntriage(run.evaluator, lambda: run.current_item)


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
        return self._text if isinstance(self._text, str) else self._text()

    def toterminal(self, tw: TerminalWriter) -> None:
        tw.line(self.text)

    def __str__(self) -> str:
        return self.text


class InventorySuite(pytest.Module):
    """The built-in suite collected under an inventory file: `prod.yml::test_tcp[...]`.

    The file itself is YAML; the test functions come from the suite module shipped in
    the package, parametrized with the checks that file defines.
    """

    def _getobj(self) -> ModuleType:
        return importlib.import_module(SUITE_MODULE)

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        # A check kind this file has none of leaves an "empty parameter set" test: it is
        # not a test of anything, so it is not collected (nor counted) at all.
        return [
            node
            for node in super().collect()
            if not (isinstance(node, pytest.Item) and check_of(node) is None)
        ]


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
        self.hosts = HostPool(inventory.hosts if inventory else {})
        self.evaluator = Evaluator(self.engine, runbook, self.hosts)
        self.summary = TriageSummary()
        self._plan: Plan | None = None
        self._resolutions: Resolutions | None = None
        self._prefetched: set[int] = set()
        self.current_item: pytest.Item | None = None
        self.is_worker = hasattr(config, "workerinput")
        self.inventory_paths = frozenset(
            Path(source).resolve() for source in (inventory.sources if inventory else ())
        )

    # -- planning ---------------------------------------------------------------

    @property
    def resolutions(self) -> Resolutions:
        if self._resolutions is None:
            assert self.inventory is not None
            shipped = getattr(self.config, "workerinput", {}).get(WORKERINPUT_KEY)
            if shipped is not None:
                self._resolutions = _unpack(shipped)
            else:
                policy = self.inventory.defaults.policy
                self._resolutions = self.evaluator.resolve_all(lookups(self.inventory), policy)
        return self._resolutions

    @property
    def plan(self) -> Plan:
        if self._plan is None:
            self._plan = (
                plan(self.inventory, self.resolutions) if self.inventory else Plan((), (), ())
            )
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
            return InventorySuite.from_parent(parent, path=file_path)
        return None

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        # Under an inventory file: the checks that file defines. In a user's own test
        # asking for `tcp_check` and the like: every check of the run.
        suite = metafunc.definition.parent
        only = suite.path.resolve() if isinstance(suite, InventorySuite) else None
        for name, kind in CHECK_PARAMS.items():
            if name not in metafunc.fixturenames:
                continue
            checks = [
                c
                for c in self.plan
                if c.kind is kind and (only is None or Path(c.location.path).resolve() == only)
            ]
            metafunc.parametrize(name, [_param(c) for c in checks])

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # Start every selected probe now, so the run costs about one timeout. A worker
        # only learns which tests are its own as they arrive: see pytest_runtest_protocol.
        if not self.is_worker and not self.config.option.collectonly:
            self._prefetch(session.items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        self.current_item = item
        if self.is_worker:
            self._prefetch(_queued_on_worker(self.config, item))

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
        item.user_properties.extend(properties(result))
        # Reported: the result lives on in the report alone (and in the engine's memo).
        if RESULT_KEY in item.stash:
            del item.stash[RESULT_KEY]
        if not isinstance(failure, ConnectivityFailure):
            return None  # pytest's own report; it copies item.user_properties
        # Built here, not by pytest, so no Python traceback is rendered only to be
        # replaced: with hundreds of endpoints down that cost seconds.
        where = result.check.location
        return pytest.TestReport(
            item.nodeid,
            item.location,
            dict.fromkeys(item.keywords, 1),
            "failed",
            TriageRepr(str(failure.msg), partial(failure_text, result), where.path, where.line),
            "call",
            [(f"Captured {key} {when}", text) for when, key, text in item._report_sections],
            call.duration,
            call.start,
            call.stop,
            user_properties=item.user_properties,
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_report_to_serializable(self, report: pytest.TestReport) -> Generator[None, Any, Any]:
        data = yield
        if isinstance(report.longrepr, TriageRepr):
            crash = report.longrepr.reprcrash
            data["conntriage_repr"] = [
                crash.message,
                report.longrepr.text,
                crash.path,
                crash.lineno,
            ]
        return data

    @pytest.hookimpl(wrapper=True)
    def pytest_report_from_serializable(self, data: dict[str, Any]) -> Generator[None, Any, Any]:
        repr_args = data.pop("conntriage_repr", None)
        report = yield
        if repr_args is not None:
            report.longrepr = TriageRepr(*repr_args)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.failed and not self.is_worker:
            props = read(report.user_properties)
            if props:
                self.summary.add(report.nodeid, props)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        # Before the terminal reporter's summary, which runs in its own sessionfinish.
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            index_teardown_reports(reporter)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summary:
            terminalreporter.write_sep("=", "connectivity triage")
            for line in self.summary.lines():
                terminalreporter.write_line(line)

    def pytest_unconfigure(self) -> None:
        self.engine.close()
        # Nothing is left to collect: freezing the heap spares the interpreter's exit a
        # final sweep over every report and result (4 s of 21 s at 10,000 checks).
        gc.freeze()

    # -- pytest-xdist -------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        # Names are resolved once, here, and shipped to the workers: every worker must
        # collect the same test ids, which round-robin DNS would not guarantee.
        if self.inventory is not None:
            node.workerinput[WORKERINPUT_KEY] = _pack(self.resolutions)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if self.inventory is None or config.getvalue("dist") != "load":
            return None
        from .xdist_scheduling import UpfrontScheduling

        return UpfrontScheduling(config, log)


def check_of(item: pytest.Item) -> Check | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    for name in CHECK_PARAMS:
        value = callspec.params.get(name)
        # An empty parameter set leaves pytest's NOTSET sentinel in the callspec.
        if isinstance(value, (DnsCheck, TcpCheck, HostCheck)):
            return value
    return None


def _param(check: Check) -> Any:
    marks: list[pytest.MarkDecorator] = [getattr(pytest.mark, tag) for tag in check.tags]
    return pytest.param(check, id=check.id, marks=marks)


def _queued_on_worker(config: pytest.Config, current: pytest.Item) -> list[pytest.Item]:
    """The items queued on this xdist worker: those it will run next.

    xdist has no hook for "tests arrived", so this reads the worker's queue; if its
    shape ever changes, the worker falls back to probing each test as it runs.
    """
    items = [current]
    for plugin in config.pluginmanager.get_plugins():
        queue = getattr(getattr(plugin, "torun", None), "lock", None)
        if type(plugin).__name__ != "WorkerInteractor" or queue is None:
            continue
        session_items = plugin.session.items
        with queue() as indices:
            pending = [i for i in indices if isinstance(i, int)]
        items += [session_items[i] for i in pending if 0 <= i < len(session_items)]
    return items


def _pack(resolutions: Resolutions) -> list[list[Any]]:
    return [
        [name, [[r.address, r.port] for r in resolvers], list(addresses)]
        for (name, resolvers), addresses in resolutions.items()
    ]


def _unpack(packed: list[list[Any]]) -> Resolutions:
    return {
        (name, tuple(Resolver(a, p) for a, p in resolvers)): tuple(addresses)
        for name, resolvers, addresses in packed
    }
