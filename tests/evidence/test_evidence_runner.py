"""The runners: testinfra's quoting, bounded runs, and failures reported, never raised."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytest_conntriage.evidence import gather_host
from pytest_conntriage.evidence import runner as runner_module
from pytest_conntriage.evidence.runner import LocalRunner, RunResult, TestinfraRunner, render


def test_render_quotes_like_testinfra() -> None:
    from testinfra.backend.base import BaseBackend

    args = ("a b", "$(x)", "it's", "%s", "")
    assert render("echo %s %s %s %s %s", args) == BaseBackend.quote("echo %s %s %s %s %s", *args)
    assert render("printf '%d'", ()) == "printf '%d'"  # no args: no formatting at all


def test_local_runner_returns_rc_stdout_stderr() -> None:
    result = LocalRunner(10).run("printf '%%s|' %s %s; echo err >&2; exit 3", "a b", "$HOME")
    assert result == RunResult(3, "a b|$HOME|", "err\n")


def test_local_runner_times_out_with_rc_124() -> None:
    started = time.monotonic()
    result = LocalRunner(0.5).run("echo early; sleep 30 & sleep 30")
    assert time.monotonic() - started < 5
    assert result.rc == 124
    assert result.stderr.startswith("timed out after 0.5 s")
    assert result.stdout == "early\n"  # what came before the bound is kept


def test_local_runner_without_the_namespace_tool() -> None:
    result = LocalRunner(5, netns="conntriage-no-such-namespace").run("true")
    assert result.rc != 0
    assert result.stderr


class _Result:
    def __init__(self, rc: int, stdout: str, stderr: str) -> None:
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


class RecordingHost:
    """A testinfra Host stand-in: records what it was asked, answers from a script."""

    def __init__(self, behaviour: Any = None) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.behaviour = behaviour

    def run(self, command: str, *args: str) -> Any:
        self.calls.append((command, args))
        if isinstance(self.behaviour, BaseException):
            raise self.behaviour
        if callable(self.behaviour):
            return self.behaviour()
        return _Result(0, "out", "")


def test_testinfra_runner_wraps_every_command_in_timeout() -> None:
    host = RecordingHost()
    result = TestinfraRunner(host, timeout=7.2).run("ss -ltn | grep %s", ":80 ")
    assert result == RunResult(0, "out", "")
    ((command, args),) = host.calls
    assert command == "timeout -- %s sh -c %s"
    # Three quarters of the bound on the host, in whole seconds; the rest is the transport's.
    assert args == ("6", "ss -ltn | grep ':80 '")


def test_testinfra_runner_turns_exceptions_into_rc_255() -> None:
    host = RecordingHost(ConnectionRefusedError(111, "Connection refused"))
    result = TestinfraRunner(host, timeout=5).run("true")
    assert result.rc == 255
    assert result.stderr == "ConnectionRefusedError: [Errno 111] Connection refused"


def test_testinfra_runner_gives_up_on_a_hung_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # A backend the plugin cannot bound itself (winrm, salt): given up on after GRACE_S.
    monkeypatch.setattr(runner_module, "GRACE_S", 0.2)
    host = RecordingHost(lambda: time.sleep(5))
    started = time.monotonic()
    result = TestinfraRunner(host, timeout=0.5).run("true")
    assert time.monotonic() - started < 3
    assert result == RunResult(124, "", "timed out after 0.5 s")


def test_gather_host_over_a_failing_transport() -> None:
    host = RecordingHost(OSError("ssh: connect to host web-1 port 22: Connection refused"))
    evidence = gather_host(TestinfraRunner(host, 5), 8080, "192.0.2.10", "198.51.100.7")
    assert evidence.unavailable == (
        ("batch", "OSError: ssh: connect to host web-1 port 22: Connection refused"),
    )
    assert evidence.listeners == ()
    assert evidence.firewall == ()
    # Nothing came back: every piece is unknown, for the transport's reason.
    assert evidence.why_unavailable("listeners") == evidence.why_unavailable("batch")
    assert evidence.why_unavailable("process ages") == evidence.why_unavailable("batch")


def test_gather_host_through_a_real_testinfra_host() -> None:
    import testinfra

    host = testinfra.get_host("local://")
    evidence = gather_host(TestinfraRunner(host, 30), 8080, "127.0.0.1", "127.0.0.1", timeout=20)
    assert evidence.why_unavailable("batch") is None, evidence.unavailable
    assert evidence.uptime_s is not None
    assert evidence.uptime_s > 0
    assert evidence.clock_epoch_s is not None
    assert abs(evidence.clock_epoch_s - time.time()) < 60
    assert evidence.counters is not None
    assert evidence.counters.somaxconn
