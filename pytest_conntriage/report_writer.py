"""`--conntriage-markdown FILE`, `--conntriage-json FILE` and the terminal's table of checks
by service (`-rA`, `--conntriage-by-service`): the hooks that make one record per check
and write the reports at the end of the session (report/ builds them).

Registered by the run only when one of them is asked for. The process that runs a
check (an xdist worker, or a serial run) puts what the check is and what its run gave on
its reports as plain data (report/record.py), which xdist carries to the controller; the
controller, or a serial run, completes each check's record when its last phase is
reported, counts it by service, and keeps it on disk (report/spool.py) until the
reports are written: memory holds no record and no triage text, however many checks.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import pytest

from .checks import Check
from .fixture import call_result
from .inventory.model import Inventory
from .nodes import TriageRepr
from .report import json_report, markdown
from .report.dashboard import COLLECTION_SUITE, UNOWNED_SUITE, SuiteIndex
from .report.properties import read
from .report.record import (
    STATUSES,
    Record,
    check_part,
    complete,
    redacted,
    result_part,
    top_cause,
    unavailable_triage,
)
from .report.services import ServiceTally, table_lines
from .report.spool import RecordSpool
from .report.text import unavailable_line
from .result import crash_reason
from .run import ConntriageRun

# The report attribute that carries a check's record parts: pytest keeps a report's
# extra attributes, and xdist sends them from a worker to the controller.
PART_ATTRIBUTE = "conntriage_record"
# Each item's position in the whole collection, before any deselection or reordering.
ORDER_KEY = pytest.StashKey[int]()
UNFINISHED = "did not finish: the run ended while it ran"

XFAIL_PREFIX = "expected failure: "  # an xfail's message: this, then its reason


@dataclass(frozen=True)
class Wanted:
    """Which reports the run writes."""

    markdown: Path | None = None
    json: Path | None = None
    table: bool = False  # the terminal's table of checks by service

    @property
    def detailed(self) -> bool:
        """Whether records need what the checks' runs gave (the table needs counts only)."""
        return self.markdown is not None or self.json is not None


@dataclass(slots=True)
class _Pending:
    """A check whose last phase has not been reported yet."""

    check: Record
    status: str = "passed"
    message: str | None = None
    duration: float = 0.0
    result: Record | None = None
    props: dict[str, str] = field(default_factory=dict)
    called: bool = False  # its call (or what xdist reports for a crashed worker) came
    triage_failed: bool = False  # the check itself failed (not a test's own assert)


class ReportWriter:
    """Records every check's phases as they are reported; writes the reports once."""

    def __init__(
        self,
        wanted: Wanted,
        inventory: Inventory,
        redact: Callable[[str], str],
        is_worker: bool,
        check_of: Callable[[pytest.Item], Check | None],
        shard: str = "",
    ) -> None:
        self.wanted = wanted
        self.shard = shard  # "2/4" in a sharded run: the merge checks none is missing
        self.inventory = inventory
        self.redact = redact
        self.is_worker = is_worker
        self.check_of = check_of
        self.index = SuiteIndex(inventory)
        self.tally = ServiceTally([suite.name for suite in self.index.suites])
        self.spool = RecordSpool()
        self.pending: dict[str, _Pending] = {}
        self.collection_errors: set[str] = set()
        self.started = datetime.now().astimezone()
        self.error = ""  # why a record may be missing: the reports say so
        self.said: list[str] = []  # the terminal's lines about the files

    @classmethod
    def for_run(cls, run: ConntriageRun, wanted: Wanted) -> ReportWriter:
        assert run.inventory is not None
        shard = str(run.settings.shard or "")
        return cls(wanted, run.inventory, run.hosts.redact, run.is_worker, run.check_of, shard)

    # -- where a check is made and run (an xdist worker, or a serial run) ------------

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(
        self, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        # Before any plugin deselects (-k, -m, shards) or reorders: the same key for a
        # check in every worker and every shard of the same inventory.
        for index, item in enumerate(items):
            item.stash[ORDER_KEY] = index
        return (yield)

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # outside the run's, which drops the result
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        result = call_result(item, call)
        report = yield
        try:
            part = self._part(item, call.when, result)
        except Exception as exc:  # the check is recorded all the same, with the reason
            part = {"error": crash_reason("report", exc)}
        if part is not None:
            setattr(report, PART_ATTRIBUTE, part)
        return report

    def _part(self, item: pytest.Item, when: str, result: Any) -> Record | None:
        if when == "setup":
            check = self.check_of(item)
            if check is None:
                return None  # not a check: not in these reports
            suite = self.index.suite_of(check.service, check.location)
            return {"order": item.stash.get(ORDER_KEY, -1), **check_part(check, suite)}
        if when == "call" and result is not None and self.wanted.detailed:
            return result_part(result, triage=not result.passed)
        return None

    # -- where the records are kept (the controller, or a serial run) ---------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        try:
            self._phase(report)
        except Exception as exc:
            self._lost(report.nodeid, crash_reason("report", exc))
        # Kept on disk now; the report itself lives on in pytest's terminal stats.
        report.__dict__.pop(PART_ATTRIBUTE, None)

    def _phase(self, report: pytest.TestReport) -> None:
        nodeid = report.nodeid
        part = getattr(report, PART_ATTRIBUTE, None)
        pending = self.pending.get(nodeid)
        if pending is None:
            if not isinstance(part, dict) or report.when != "setup":
                return  # not a check's
            pending = self.pending[nodeid] = _Pending(part)
        pending.duration += float(report.duration or 0.0)
        if report.when == "call":
            pending.props = read(report.user_properties)
            pending.triage_failed = isinstance(report.longrepr, TriageRepr)
            if isinstance(part, dict):
                pending.result = part
        if report.when != "setup" or not report.passed:
            pending.called = True
        status, message = _status(report)
        if STATUSES.index(status) > STATUSES.index(pending.status):
            pending.status, pending.message = status, message
        if report.when == "teardown":
            del self.pending[nodeid]
            self._keep(nodeid, pending)

    def _keep(self, nodeid: str, pending: _Pending) -> None:
        check, result = pending.check, pending.result
        # A part that could not be made says why instead: the record stands without it.
        crashed = [str(part["error"]) for part in (check, result) if part and "error" in part]
        if result is not None and "outcome" not in result:
            result = None
        if result is None and pending.status == "failed" and pending.triage_failed:
            why = crashed[0] if crashed else "report: the check's run was not recorded"
            result = {"triage": unavailable_triage(why)}
        record = complete(
            nodeid,
            int(check.get("order", -1)),
            pending.status,
            pending.message,
            pending.duration,
            check,
            result,
            outcome=pending.props.get("outcome"),
        )
        if pending.props.get("severity") == "warn" and record["status"] == "skipped":
            # severity: warn: the check failed and the gate did not: counted as a warning.
            said = str(record["message"] or record["outcome"])
            record["warning"] = f"severity warn: {said.removeprefix(XFAIL_PREFIX)}"
        if not record["suite"]:  # what the check is could not be read: listed all the same
            record["suite"] = UNOWNED_SUITE
            if crashed and not record["message"]:
                record["message"] = unavailable_line(crashed[0])
        self._add(record, pending.props.get("top_cause"))

    def _add(self, record: Record, top: str | None = None) -> None:
        cause = top_cause(record)
        self.tally.add(
            record["suite"],
            record["status"],
            record["outcome"],
            cause["id"] if cause else top,
            warned=bool(record.get("warning")),
        )
        if self.wanted.detailed:
            line = json_report.dumps(redacted(record, self.redact))
            failed = record["status"] in ("failed", "error")
            self.spool.add(record["order"], line.encode("utf-8"), marked=failed)

    def _lost(self, nodeid: str, reason: str) -> None:
        """A check whose record could not be made: kept as what is certain, or counted."""
        try:
            pending = self.pending.pop(nodeid, None)
            status = pending.status if pending else "error"
            record = complete(nodeid, -1, status, unavailable_line(reason), 0.0)
            record["suite"] = pending.check.get("suite", "") if pending else ""
            self._add(record)
        except Exception as exc:
            self.error = self.error or crash_reason("report", exc)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A file that failed to collect holds checks that never ran: not all clear. Each
        # xdist worker reports it: once is enough.
        if self.is_worker or not report.failed or report.nodeid in self.collection_errors:
            return
        self.collection_errors.add(report.nodeid)
        try:
            lines = str(report.longrepr).strip().splitlines()
            message = "collection failed" + (f": {lines[-1].strip()}" if lines else "")
            record = complete(report.nodeid, -1, "error", message, 0.0)
            record["suite"] = COLLECTION_SUITE
            self._add(record)
        except Exception as exc:
            self.error = self.error or crash_reason("report", exc)

    # -- the end: the files, the terminal ------------------------------------------

    def pytest_sessionfinish(self, exitstatus: int | pytest.ExitCode) -> None:
        if self.is_worker:
            return
        for nodeid, pending in list(self.pending.items()):
            # Set up, never finished: the run ended while it ran. Not a pass.
            del self.pending[nodeid]
            if not pending.called:
                pending.status, pending.message = "error", UNFINISHED
            try:
                self._keep(nodeid, pending)
            except Exception as exc:
                self._lost(nodeid, crash_reason("report", exc))
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        try:
            if self.wanted.json is not None:
                self._write("JSON", self.wanted.json, lambda s: self._json(s, exitstatus))
            if self.wanted.markdown is not None:
                self._write(
                    "Markdown", self.wanted.markdown, lambda s: self._markdown(s, interrupted)
                )
        finally:
            self.spool.close()

    def _write(self, what: str, path: Path, write: Callable[[TextIO], None]) -> None:
        try:
            replace_file(path, write)
        except Exception as exc:
            self.said.append(f"conntriage: {what} report not written: {self.redact(_why(exc))}")
            return
        said = f"conntriage: {what} report written to {path}"
        if self.error:
            said += f" (incomplete: {self.redact(self.error)})"
        self.said.append(said)

    def _json(self, stream: TextIO, exitstatus: int | pytest.ExitCode) -> None:
        from . import __version__

        finished = datetime.now().astimezone()
        totals = self.tally.totals()
        run: Record = {
            "tool": "pytest-conntriage",
            "tool_version": str(__version__),
            "started": self.started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "duration_s": round((finished - self.started).total_seconds(), 3),
            "inventories": list(self.inventory.sources),
            "exit_status": int(exitstatus),
            "interrupted": exitstatus == pytest.ExitCode.INTERRUPTED,
            "complete": not self.error,
            "error": self.error or None,
            "shard": self.shard or None,
            "totals": {
                "checks": totals["checks"],
                "passed": totals["passed"],
                "failed": totals["failed"],
                "error": totals["error"],
                "skipped": totals["skipped"],
                "warned": totals["warned"],
            },
        }
        services = json_report.services(self.index.suites)
        lines = (line.decode("utf-8") for line in self.spool.in_order())
        json_report.write(
            stream, redacted(run, self.redact), redacted(services, self.redact), lines
        )

    def _markdown(self, stream: TextIO, interrupted: bool) -> None:
        notes = []
        if interrupted:
            notes.append("The run was interrupted: checks that had not run yet are not listed.")
        if self.error:
            notes.append(f"Some checks may be missing: {self.error}")
        totals = self.tally.totals()
        markdown.write(
            stream,
            self.tally.rows(),
            self._failures(),
            totals["failed"] + totals["error"],
            inventories=[self.redact(source) for source in self.inventory.sources],
            notes=[self.redact(note) for note in notes],
        )

    def _failures(self) -> Iterator[Record]:
        import json

        for line in self.spool.in_order(marked=True):
            yield json.loads(line)

    @pytest.hookimpl(trylast=True)  # after the "connectivity triage" section
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.wanted.table:
            terminalreporter.write_sep("=", "conntriage: checks by service")
            try:
                lines = table_lines(self.tally.rows())
            except Exception as exc:  # the failures above stand; only the table is lost
                lines = [unavailable_line(crash_reason("table", exc))]
            for line in lines:
                terminalreporter.write_line(self.redact(line))
        for line in self.said:
            terminalreporter.write_line(line)


def _status(report: pytest.TestReport) -> tuple[str, str | None]:
    """The status a phase's report gives its check, and the one line that says why."""
    if report.passed:
        return "passed", None
    if report.skipped:
        reason = getattr(report, "wasxfail", None)
        if reason is not None:
            return "skipped", XFAIL_PREFIX.rstrip(": ") + (f": {reason}" if reason else "")
        return "skipped", _skip_reason(report.longrepr)
    message = _failure_line(report.longrepr)
    if report.when == "call":
        return "failed", message
    return "error", f"error at {report.when}: {message}"


def _failure_line(longrepr: object) -> str:
    crash = getattr(longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    if isinstance(message, str) and message:
        return message.splitlines()[0]
    lines = str(longrepr).strip().splitlines()
    return lines[-1] if lines else ""


def _skip_reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr) if longrepr else "skipped"


def _why(exc: BaseException) -> str:
    """One line: "/ci/out/report.json: Permission denied"."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return crash_reason("writing", exc)


def replace_file(path: Path, write: Callable[[TextIO], None]) -> None:
    """`write` into `path`, which holds either the whole new text or what it held
    before: a reader never sees half a file, and a failed run leaves no temporary file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file where its directory should be: say that
        raise NotADirectoryError(
            errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path.parent)
        ) from None
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as stream:
            write(stream)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
