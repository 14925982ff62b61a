"""The run's state (engine, plan, triage summary) and the pytest hooks that use it."""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from . import children, junit
from .checks import Check, Plan
from .connections import HostPool
from .evaluate import Evaluator
from .extensions import Extensions
from .fixture import RESULT_KEY, ConnectivityFailure, Conntriage, call_result
from .heap import Settler, collector_paused
from .inventory import InventoryError, InventoryWarning, load_inventories
from .inventory.model import Inventory, PolicyOverride, Severity
from .junit_spool import JunitSpool
from .kinds.registry import KindRegistry
from .nodes import (
    TRIAGE_NOTES_KEY,
    InventorySuite,
    PassNote,
    TriageRepr,
    check_of,
    check_param,
    triage_repr,
)
from .overrides import overrides, policy_line
from .probe.engine import DEFAULT_CONCURRENCY, Engine
from .probe.limits import fit as fit_to_fd_limit
from .progress import ProgressTicker
from .progress import interval as progress_interval
from .pytest_internals import (
    index_teardown_reports,
    junit_xml,
    requesting_item,
    stderr_isatty,
    uncaptured_line_writer,
)
from .report.properties import PREFIX, essential_properties, properties, read
from .report.summary import TriageSummary
from .report.text import unavailable_line
from .report.validation import summary_lines
from .report.waiting import waited_phrase
from .result import crash_reason
from .runbook import RunbookError, load_runbook
from .runbook.model import Runbook
from .runbook.vocabulary import Vocabulary
from .shard import Shard, ShardError, parse
from .text_spool import TextSpool
from .xdist_support import WorkerQueue, XdistHooks, ansible_read, validated_digests

RUN_PLUGIN, XDIST_PLUGIN = "conntriage-run", "conntriage-xdist"


@dataclass(frozen=True)
class Settings:
    """Resolved once: command line wins over ini."""

    inventories: tuple[str, ...]
    runbooks: tuple[str, ...]
    concurrency: int
    validate: bool = False  # --conntriage-validate: collect only, touch no network
    dashboard: Path | None = None  # --conntriage-junit: where the dashboard report goes
    shard: Shard | None = None  # --conntriage-shard: this job's share of a split run
    # --conntriage-timeout/-retries/-wait (or ini): in place of the inventory's defaults.
    overrides: tuple[PolicyOverride, ...] = ()
    markdown: Path | None = None  # --conntriage-markdown: where the Markdown report goes
    json: Path | None = None  # --conntriage-json: where the JSON report goes
    by_service: bool = False  # the terminal's table of checks by service (-rA)

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        inventories = config.getoption("conntriage_inventory") or [
            str(p) for p in config.getini("conntriage_inventory")
        ]
        runbooks = config.getoption("runbook") or [
            str(p) for p in config.getini("conntriage_runbook")
        ]
        concurrency = config.getoption("conntriage_concurrency")
        if concurrency is None:
            try:
                concurrency = int(config.getini("conntriage_concurrency") or DEFAULT_CONCURRENCY)
            except ValueError as exc:
                raise pytest.UsageError(f"conntriage_concurrency: not a number ({exc})") from None
        if concurrency < 1:
            raise pytest.UsageError("--conntriage-concurrency must be at least 1")
        validate = bool(config.getoption("conntriage_validate"))
        if validate and not inventories:
            raise pytest.UsageError(
                "--conntriage-validate needs an inventory (--conntriage-inventory FILE)"
            )
        for report in REPORT_OPTIONS:
            if config.getoption(report) and not inventories:
                # The ini value alone stays quiet: a run without an inventory writes nothing.
                option = "--" + report.replace("_", "-")
                raise pytest.UsageError(
                    f"{option} needs an inventory (--conntriage-inventory FILE)"
                )
        by_service = bool(config.getoption("conntriage_by_service")) or "A" in str(
            config.getoption("reportchars", "") or ""
        )
        try:
            given = overrides(
                lambda name: config.getoption(f"conntriage_{name}"),
                lambda name: str(config.getini(f"conntriage_{name}")),
            )
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
        return cls(
            tuple(inventories),
            tuple(runbooks),
            concurrency,
            validate,
            _report_file(config, "conntriage_junit"),
            _shard(config, bool(inventories)),
            given,
            markdown=_report_file(config, "conntriage_markdown"),
            json=_report_file(config, "conntriage_json"),
            by_service=by_service,
        )


def _shard(config: pytest.Config, inventory: bool) -> Shard | None:
    given = config.getoption("conntriage_shard")
    if given is None:
        return None
    if not inventory:
        raise pytest.UsageError(
            "--conntriage-shard needs an inventory (--conntriage-inventory FILE)"
        )
    try:
        return parse(str(given), os.environ)
    except ShardError as exc:
        raise pytest.UsageError(str(exc)) from None


# The report files' options, each with an ini value of the same name.
REPORT_OPTIONS = ("conntriage_junit", "conntriage_markdown", "conntriage_json")


def _report_file(config: pytest.Config, name: str) -> Path | None:
    """The file of report option `name` (from where pytest was started), else its ini
    value's (from the ini file's directory)."""
    given = config.getoption(name)
    if given:
        return Path(given).absolute()
    written = str(config.getini(name)).strip()
    if not written:
        return None
    return (config.inipath.parent if config.inipath else config.rootpath) / written


def run_kinds(extensions: Extensions) -> KindRegistry:
    """The built-in kinds and the plugins': names unique, and each service key of the
    inventory schema owned by one kind (else ExtensionError)."""
    from .extensions import ExtensionError
    from .inventory.schema import inventory_schema

    try:
        kinds = KindRegistry.with_added([extensions.kinds])
        inventory_schema(kinds)
    except ValueError as exc:
        raise ExtensionError(str(exc)) from None
    return kinds


def start(config: pytest.Config, settings: Settings) -> ConntriageRun:
    """Load the inventory and runbook (a mistake: exit 4), register the run and its hooks."""
    from .builtin import extensions_of
    from .extensions import ExtensionError

    try:
        # What every plugin adds through hookspec.py's hooks, gathered once per process:
        # before the inventory, whose check kinds may come from a plugin.
        extensions = extensions_of(config)
        kinds = run_kinds(extensions)
        # An xdist worker reads the files the controller has just validated.
        validated = validated_digests(config)
        # Loading builds what the run keeps to its end: the collector's passes over it
        # only cost (the YAML loader pauses it too).
        with warnings.catch_warnings(record=True) as caught, collector_paused():
            warnings.simplefilter("always", InventoryWarning)
            inventory = (
                load_inventories(
                    settings.inventories,
                    validated=validated,
                    ansible_read=ansible_read(config),
                    overrides=settings.overrides,
                    kinds=tuple(kinds),
                )
                if settings.inventories
                else None
            )
        # What the runbooks may name: the outcomes and placeholders of the run's kinds.
        runbook = load_runbook(
            [*extensions.runbooks, *settings.runbooks],
            bundled=False,
            vocabulary=Vocabulary.of(kinds),
        )
        # In pytest's warnings summary, where -W and filterwarnings apply to them.
        for warning in caught:
            config.issue_config_time_warning(warning.message, stacklevel=2)  # type: ignore[arg-type]
    except (InventoryError, RunbookError, InventoryWarning, ExtensionError) as exc:
        raise pytest.UsageError(str(exc)) from None
    if inventory is not None:
        for tag in sorted(
            {t for s in inventory.services for t in s.tags}
            | {t for c in inventory.closed for t in c.tags}
        ):
            config.addinivalue_line("markers", f"{tag}: inventory tag")
        # The built-in suites are collected under each inventory file (see
        # InventorySuite), so test ids, locations and JUnit class names name the
        # inventory, not a path inside site-packages.
        if settings.validate:
            # The inventory's own checks, collected and never run: no probe is started,
            # and planning needs no DNS answer. Other test files are not even imported.
            config.option.collectonly = True
            config.args[:] = list(inventory.sources)
        elif config.args_source is not pytest.Config.ArgsSource.ARGS:
            # `pytest --inventory prod.yml`: its checks (and the team's own check
            # modules, ini conntriage_suites), not every test under testpaths or the
            # rootdir. Given paths, pytest runs those: name the inventory to include it.
            own = [str(path) for path in config.getini("conntriage_suites")]
            config.args[:] = [*inventory.sources, *own]
    run = ConntriageRun(config, settings, inventory, runbook, extensions)
    config.pluginmanager.register(run, RUN_PLUGIN)
    config.pluginmanager.register(run.xdist_hooks, XDIST_PLUGIN)
    if settings.shard is not None and inventory is not None:
        from .shard_hooks import ShardHooks  # only for a run split across jobs

        config.pluginmanager.register(ShardHooks(run, settings.shard), "conntriage-shard")
    if settings.dashboard is not None and inventory is not None and not settings.validate:
        from .dashboard_writer import DashboardWriter  # only for a run that writes one

        config.pluginmanager.register(
            DashboardWriter.for_run(run, settings.dashboard), "conntriage-dashboard"
        )
    wanted = settings.markdown or settings.json or settings.by_service
    if wanted and inventory is not None and not settings.validate:
        from .report_writer import ReportWriter, Wanted  # only for a run that writes one

        reports = Wanted(settings.markdown, settings.json, settings.by_service)
        config.pluginmanager.register(ReportWriter.for_run(run, reports), "conntriage-reports")
    return run


def start_for_fixture(request: pytest.FixtureRequest) -> ConntriageRun:
    """The run of a session without an inventory whose test has just asked for `conntriage`."""
    run = start(request.config, Settings.from_config(request.config))
    # The run's own setup hook has missed the test being set up now.
    run.current_item = requesting_item(request)
    if not run.is_worker:
        run.summary.collected(item.nodeid for item in request.session.items)
    return run


class ConntriageRun:
    """The run's state (engine, plan, triage summary) and the hooks that use it."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        inventory: Inventory | None,
        runbook: Runbook,
        extensions: Extensions | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.inventory = inventory
        self.fds = fit_to_fd_limit(settings.concurrency)
        children.limit_threads(self.fds.commands or children.THREADS)
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
        self.evaluator = Evaluator(self.engine, runbook, self.hosts, extensions=extensions)
        # The run's check kinds, in collection order: the built-in ones, then those of
        # plugins (hookspec pytest_conntriage_add_kinds).
        self.kinds = KindRegistry.with_added([extensions.kinds] if extensions else [])
        self.summary = TriageSummary()
        self.validated_checks: list[Check] = []  # collected under --conntriage-validate
        self._plan: Plan | None = None
        self._prefetched: set[int] = set()
        self.worker_queue = WorkerQueue(config)
        self.xdist_hooks = XdistHooks(self)
        self.current_item: pytest.Item | None = None
        # The waiting gates' line, made when first needed: the terminal reporter is
        # configured after this plugin.
        self.is_worker = hasattr(config, "workerinput")
        self.progress_interval = self._progress_interval()
        self.progress: ProgressTicker | None = None
        self.conntriage = Conntriage(self.evaluator, lambda: self.current_item, self._tick)
        self._by_file: dict[Path, list[Check]] | None = None
        self.junit_properties = junit.placement_setting(config)
        self.junit_error = ""
        self.junit_spool: JunitSpool | None = None
        # Each failure's triage text, rendered once for every writer that shows it
        # (text_spool.py): on a run that writes a JUnit file, from its session start.
        self.texts: TextSpool | None = None
        # What the finished tests leave (reports, results) frozen as the run goes: on a
        # run of an inventory's checks, not a project's own tests using the fixture.
        self.settler = Settler(enabled=inventory is not None)
        # Services whose failed checks are reported as xfail (inventory `severity: warn`).
        self.warn_only = frozenset(
            s.name for s in (inventory.services if inventory else ()) if s.severity is Severity.WARN
        )
        self.inventory_paths = frozenset(
            Path(source).resolve() for source in (inventory.sources if inventory else ())
        )

    def _progress_interval(self) -> str:
        """The ini's interval, checked now: a mistake stops the run before it starts."""
        text = str(self.config.getini("conntriage_progress_interval"))
        try:
            progress_interval(text, isatty=False)
        except ValueError as exc:
            raise pytest.UsageError(f"conntriage_progress_interval: {exc}") from None
        return text

    def _tick(self) -> None:
        """The main thread waits for a result: show the gates waiting, now and then."""
        if self.progress is None:
            if self.config.get_verbosity() < 0:
                return  # -q asks for quiet
            # A worker writes to standard error, which xdist's workers share with the
            # controller: each worker's gates on lines of their own, "[gw0] ...".
            write = uncaptured_line_writer(self.config)
            if write is None:
                return
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            isatty = stderr_isatty() if self.is_worker else bool(getattr(reporter, "isatty", False))
            every = progress_interval(self.progress_interval, isatty)
            self.progress = ProgressTicker(self.evaluator.waits, write, every)
        self.progress.tick()

    # -- planning ---------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        if self._plan is None:
            # From the inventory alone: collecting needs no DNS answer (see checks.py).
            self._plan = self.kinds.plan(self.inventory) if self.inventory else Plan()
            # One vantage: no failure has another vantage's view to report.
            self.evaluator.compare_vantages = len(self._plan.vantages) > 1
        return self._plan

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        if self.inventory is None:
            return []
        p = self.plan
        return [
            f"conntriage: inventory {', '.join(self.inventory.sources)}: {len(p)} checks "
            f"({', '.join(f'{len(c)} {k}' for k, c in p.by_kind.items() if c)}); "
            f"concurrency {self.engine.concurrency}; vantages: {', '.join(p.vantages) or 'none'}",
            f"conntriage: {policy_line(self.inventory.defaults)}",
        ] + ([f"conntriage: {self.fds.note}"] if self.fds.note else [])

    # -- collection -------------------------------------------------------------

    def check_of(self, item: pytest.Item) -> Check | None:
        return check_of(item, self.kinds)

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
        for name, kind in self.kinds.by_fixture.items():
            if name in metafunc.fixturenames:
                checks = self.plan.of(kind.name)
                metafunc.parametrize(name, [check_param(c) for c in checks])

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self) -> Generator[None, object, object]:
        # Collection builds the run's checks and items, none of them garbage: the
        # collector's passes over them grew faster than the run (at 100,000 checks
        # ~45% of collection's time). Paused while collecting; what collection built
        # is frozen in pytest_collection_finish.
        with collector_paused():
            return (yield)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # Start every selected probe now, so the run costs about one timeout. A worker
        # only learns which tests are its own as they arrive: see pytest_runtest_protocol.
        if self.settings.validate:
            self.validated_checks = [c for c in map(self.check_of, session.items) if c is not None]
        if not self.is_worker and not self.config.option.collectonly:
            self.summary.collected(item.nodeid for item in session.items)
        # The inventory, the checks and the items live until the run ends: frozen, the
        # collector's passes during the run no longer walk them. Before the first probe
        # starts, so no probe's short-lived cycle is frozen with them.
        gc.freeze()
        if not self.is_worker and not self.config.option.collectonly:
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
        self.settler.test_finished()

    def _prefetch(self, items: Iterable[pytest.Item]) -> None:
        # The remote vantages' first batches go once all of these are queued.
        with self.evaluator.gathering():
            for item in items:
                if id(item) in self._prefetched:
                    continue
                self._prefetched.add(id(item))
                check = self.check_of(item)
                if check is not None and not item.get_closest_marker("skip"):
                    self.evaluator.prefetch(check)

    # -- reporting --------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        if call.when != "call":
            return (yield)
        failure = call.excinfo.value if call.excinfo is not None else None
        result = call_result(item, call)
        if result is None:
            return (yield)
        try:
            props, crashed = properties(result)
        except Exception as exc:  # it guards itself; this is the last line of defence
            props, crashed = essential_properties(result), crash_reason("JUnit properties", exc)
        # Reported: the result lives on in the report alone (and in the engine's memo).
        if RESULT_KEY in item.stash:
            del item.stash[RESULT_KEY]
        if crashed:
            item.stash[TRIAGE_NOTES_KEY] = (crashed,)  # read by InventoryCheck.repr_failure
        report = yield
        # The properties go on this report only, not on the item (nor the list the
        # report shares with it): pytest's junitxml writes the item's inside the
        # testcase, which junit-10.xsd forbids (pytest_runtest_logreport puts them
        # where the JUnit file allows them).
        report.user_properties = [*report.user_properties, *props]
        if isinstance(failure, ConnectivityFailure) and not isinstance(report.longrepr, TriageRepr):
            # A user's own test: pytest rendered the failure's one-line message (it is
            # raised with pytrace=False, so no traceback); the triage, rendered when
            # shown, replaces it.
            report.longrepr = triage_repr(failure, (crashed,) if crashed else (), self.texts)
        if isinstance(failure, ConnectivityFailure) and report.failed:
            if failure.result.check.service in self.warn_only:
                # severity: warn: this check's own failure is reported, as an xfail
                # with its one-line message, and does not fail the run. Nothing else
                # is: a crash, a user's own assert, a check that passed.
                report.outcome = "skipped"
                report.wasxfail = str(failure.msg)
                report.user_properties = [*report.user_properties, (f"{PREFIX}severity", "warn")]
        elif report.passed and result.passed and len(result.result.attempts) > 1:
            # The short summary's line (-rA): "PASSED <id> - open after 12.4 s (refused ×7)".
            path, lineno = str(report.location[0]), int(report.location[1] or 0)
            report.longrepr = PassNote(waited_phrase(result.result), path, lineno)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_report_to_serializable(self, report: pytest.TestReport) -> Generator[None, Any, Any]:
        data = yield
        if isinstance(report.longrepr, TriageRepr) and isinstance(data.get("longrepr"), str):
            # pytest already sends the text (str(longrepr)); rendering it again would
            # cost a second triage per failure.
            crash = report.longrepr.reprcrash
            data["conntriage_repr"] = [str(crash.message), str(crash.path), int(crash.lineno)]
        elif isinstance(report.longrepr, PassNote):
            crash = report.longrepr.reprcrash
            data["conntriage_note"] = [str(crash.message), str(crash.path), int(crash.lineno)]
        return data

    @pytest.hookimpl(wrapper=True)
    def pytest_report_from_serializable(self, data: dict[str, Any]) -> Generator[None, Any, Any]:
        crash = data.pop("conntriage_repr", None)
        note = data.pop("conntriage_note", None)
        report = yield
        if isinstance(crash, list) and len(crash) == 3 and isinstance(report.longrepr, str):
            message, path, lineno = crash
            report.longrepr = TriageRepr(str(message), report.longrepr, str(path), int(lineno))
        elif isinstance(note, list) and len(note) == 3:
            message, path, lineno = note
            report.longrepr = PassNote(str(message), str(path), int(lineno))
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
        elif report.skipped and props.get("severity") == "warn":
            self.summary.add(report.nodeid, props, warn=True)
        # A failure of the check itself (not of a test's own assert after it passed).
        failure_type = props.get("outcome") if isinstance(report.longrepr, TriageRepr) else None
        try:
            pairs = [(f"{PREFIX}{name}", value) for name, value in props.items()]
            spool = self.junit_spool.add_property if self.junit_spool is not None else None
            junit.write(self.config, self.junit_properties, report, pairs, failure_type, spool)
        except Exception as exc:  # pytest's own testcase and <failure> stand as written
            self.junit_error = crash_reason("JUnit properties", exc)

    def pytest_sessionstart(self) -> None:
        # pytest's JUnit writer exists once every plugin is configured: from here its
        # finished testcases go to disk as the run goes (junit_spool.py).
        xml = junit_xml(self.config)
        if not self.is_worker and (xml is not None or self.settings.dashboard is not None):
            # A failure's text is then shown at least twice: the file, the terminal.
            self.texts = TextSpool()
        if xml is not None and not self.is_worker:
            spool = JunitSpool(xml)
            # `-p no:conntriage-junit-spool` leaves LogXML as it is.
            if self.config.pluginmanager.register(spool, "conntriage-junit-spool"):
                self.junit_spool = spool
            else:
                spool.close()

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
            for line in summary_lines(
                self.inventory, self.validated_checks, [k.name for k in self.kinds]
            ):
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
        if self.texts is not None:  # a text shown from here on is rendered again
            self.texts.close()
        # Nothing is left to collect: freezing the heap spares the interpreter's exit a
        # final sweep over every report and result (4 s of 21 s at 10,000 checks).
        gc.freeze()
