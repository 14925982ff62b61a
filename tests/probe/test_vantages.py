"""A vantage's connects in one batch: the far-side script, what its output means, and
the run's batching (one command per vantage per batch), over testinfra's local://
backend (the same host.run path as ssh://) against loopback listeners."""

from __future__ import annotations

import asyncio
import errno
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_conntriage.connections import HostPool
from pytest_conntriage.demo.listeners import FullQueueListener, OpenListener, closed_port
from pytest_conntriage.inventory.model import Host, Location
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe import batch_script
from pytest_conntriage.probe.batch_script import Endpoint
from pytest_conntriage.probe.engine import Engine
from pytest_conntriage.probe.icmp import read_unreachable
from pytest_conntriage.probe.result import Attempt
from pytest_conntriage.probe.tcp import ConnectFailure, classify, connect_once
from pytest_conntriage.probe.vantages import VantageBatches, run_batch
from pytest_conntriage.spawn import CommandHost, CommandResult

LOCAL_HOST = Host("web", "local://", False, Location("inv.yml", 1, 1))

# -- what the output means (pure) ---------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM,
     errno.ECONNRESET, errno.EADDRNOTAVAIL, errno.EINVAL, -2],
)  # fmt: skip
def test_a_far_errno_is_decided_as_a_local_connect_is(code: int) -> None:
    line = {"i": 0, "r": "errno", "ms": 1.5, "e": code, "s": "said", "icmp": None}
    far = batch_script.attempt(line, "web", ("10.0.0.2", 443, 1.0))
    near = classify(ConnectFailure("10.0.0.2", 443, 1.5, code, "said"))
    assert (far.outcome, far.errno, far.address, far.port) == (
        near.outcome, code, "10.0.0.2", 443,
    )  # fmt: skip
    assert far.detail.endswith("from web")


def test_a_far_icmp_error_says_what_the_errno_cannot() -> None:
    # A router's admin-prohibited arrives as EHOSTUNREACH: the ICMP message tells it apart.
    line = {"i": 0, "r": "errno", "ms": 3, "e": errno.EHOSTUNREACH, "s": "No route to host",
            "icmp": [4, 3, 13, "10.0.0.1"]}  # fmt: skip
    far = batch_script.attempt(line, "web", ("10.0.0.2", 443, 1.0))
    error = read_unreachable(4, 3, 13, "10.0.0.1")
    near = classify(ConnectFailure("10.0.0.2", 443, 3.0, errno.EHOSTUNREACH, "x", error))
    assert far.outcome is near.outcome is Outcome.ADMIN_PROHIBITED
    assert far.icmp == error
    assert far.detail == f"{error}, from web"


def test_a_batch_cut_off_keeps_what_it_printed_and_the_rest_is_a_probe_error() -> None:
    endpoints: list[Endpoint] = [("10.0.0.2", p, 1.0) for p in (1, 2, 3)]
    stdout = (
        '{"n": 3, "c": 512}\n'
        '{"i": 1, "r": "timeout", "ms": 1000.2}\n'
        '{"i": 0, "r": "open", "ms": 0.4}\n'
        '{"i": 2, "r": "err'  # killed mid-line
    )
    output = batch_script.read_output(stdout)
    assert (output.count, sorted(output.lines), output.ended) == (3, [0, 1], False)
    found = batch_script.attempts(output, "web", endpoints, "cut off at 12 s")
    assert [a.outcome for a in found] == [Outcome.OPEN, Outcome.TIMEOUT, Outcome.PROBE_ERROR]
    assert found[2].detail == "vantage web did not report this probe: cut off at 12 s"
    assert found[1].errno == errno.ETIMEDOUT


def test_an_unreadable_line_is_a_probe_error_never_a_pass() -> None:
    found = batch_script.attempt({"i": 0, "r": "?"}, "web", ("10.0.0.2", 1, 1.0))
    assert found.outcome is Outcome.PROBE_ERROR
    assert "unreadable" in found.detail


def test_the_far_bound_covers_every_wave_of_connects() -> None:
    endpoints: list[Endpoint] = [("10.0.0.2", p, 1.5) for p in range(1, 1001)]
    assert batch_script.far_bound(endpoints, 512) == 3 + 2  # two waves of 1.5 s, python
    assert json.loads(batch_script.request(endpoints[:1], 8)) == {
        "c": 8, "p": [["10.0.0.2", 1, 1.5]],
    }  # fmt: skip


# -- the real script over a real host ---------------------------------------------------


class Counting:
    """A host that counts the commands run through it (round trips), then runs them;
    `wrap` rewrites each command around the real one (a cut-off transport)."""

    def __init__(self, inner: Any, wrap: str = "%s") -> None:
        self.inner = inner
        self.wrap = wrap
        self.commands = 0

    def run(self, command: str, *args: str) -> CommandResult:
        self.commands += 1
        result: CommandResult = self.inner.run(self.wrap.replace("%s", command, 1), *args)
        return result


class CountingPool(HostPool):
    """The run's host pool with each host wrapped in Counting."""

    def __init__(self, wrap: str = "%s") -> None:
        super().__init__({"web": LOCAL_HOST}, timeout=30)
        self.wrap = wrap
        self.counted: dict[str, Counting] = {}

    def shell(self, alias: str) -> Any:
        if alias not in self.counted:
            self.counted[alias] = Counting(super().shell(alias), self.wrap)
        return self.counted[alias]


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine()
    yield engine
    engine.close()


@pytest.fixture
def targets() -> Iterator[list[Endpoint]]:
    """An open port, a refused one and one that never answers (a full accept queue)."""
    with OpenListener("127.0.0.2") as web, FullQueueListener("127.0.0.4") as queue:
        yield [
            ("127.0.0.2", web.port, 1.0),
            ("127.0.0.3", closed_port("127.0.0.3"), 1.0),
            ("127.0.0.4", queue.port, 1.0),
            ("127.0.0.2", closed_port("127.0.0.2"), 1.0),
        ]


def _locally(engine: Engine, endpoints: list[Endpoint]) -> list[Outcome]:
    async def all_of() -> list[Attempt]:
        return await asyncio.gather(*(connect_once(*e) for e in endpoints))

    return [a.outcome for a in engine.run(all_of)]


def test_a_vantage_runs_all_its_announced_connects_in_one_command(
    engine: Engine, targets: list[Endpoint]
) -> None:
    pool = CountingPool()
    batches = VantageBatches(engine, pool)
    many = targets * 5  # the same endpoint from several checks: connected to once

    async def checks() -> list[Attempt]:
        return await asyncio.gather(*(batches.connect("web", *e) for e in many))

    with batches.gathering():
        for endpoint in many:
            batches.announce("web", *endpoint)
        running = engine.submit("checks", checks)
    found = running.result(timeout=120)
    assert pool.counted["web"].commands == 1
    assert batches.commands("web") == 1
    expected = _locally(engine, targets)
    assert expected == [Outcome.OPEN, Outcome.REFUSED, Outcome.TIMEOUT, Outcome.REFUSED]
    assert [a.outcome for a in found] == expected * 5
    assert all(a.detail == "from web" for a in found), found


def test_a_retry_connects_again_in_a_later_batch(engine: Engine, targets: list[Endpoint]) -> None:
    pool = CountingPool()
    batches = VantageBatches(engine, pool)
    refused = targets[1]
    with batches.gathering():
        batches.announce("web", *refused)
    first = engine.run(lambda: batches.connect("web", *refused))
    again = engine.run(lambda: batches.connect("web", *refused, fresh=True))
    assert first.outcome is again.outcome is Outcome.REFUSED
    assert pool.counted["web"].commands == 2


def test_a_batch_cut_off_gives_its_printed_results_and_probe_errors_for_the_rest(
    engine: Engine, targets: list[Endpoint]
) -> None:
    # The transport ends after the header and one result line, as coreutils' timeout on
    # the vantage ends a batch at its bound (exit 124).
    pool = CountingPool(wrap="{ %s; } | head -n 2; exit 124")
    batches = VantageBatches(engine, pool)

    async def checks() -> list[Attempt]:
        return await asyncio.gather(*(batches.connect("web", *e) for e in targets))

    with batches.gathering():
        for endpoint in targets:
            batches.announce("web", *endpoint)
        running = engine.submit("checks", checks)
    found = running.result(timeout=120)
    assert pool.counted["web"].commands == 1
    reported = [a for a in found if a.outcome is not Outcome.PROBE_ERROR]
    assert len(reported) == 1, found
    expected = dict(zip(targets, _locally(engine, targets), strict=True))
    for endpoint, attempt in zip(targets, found, strict=True):
        if attempt.outcome is Outcome.PROBE_ERROR:
            assert "did not report this probe: the batch was cut off at its bound" in (
                attempt.detail
            )
        else:
            assert attempt.outcome is expected[endpoint]


def test_an_address_like_an_option_reaches_the_script_as_data(engine: Engine) -> None:
    pool = HostPool({"web": LOCAL_HOST}, timeout=30)
    found = run_batch(pool.shell("web"), "web", [("-V", 9, 1.0), ("--help", 9, 1.0)], 8, 30)
    assert found is not None
    for attempt in found:
        assert attempt.outcome is Outcome.PROBE_ERROR, attempt
        assert "Python" not in attempt.detail
        assert "usage" not in attempt.detail.lower()


def test_a_vantage_without_python3_is_probed_check_by_check(
    engine: Engine, tmp_path: Path, targets: list[Endpoint]
) -> None:
    for tool in ("sh", "bash", "timeout"):
        found = shutil.which(tool)
        assert found is not None
        (tmp_path / tool).symlink_to(found)
    pool = CountingPool(wrap=f"PATH={tmp_path}; export PATH; %s")
    shell: CommandHost = pool.shell("web")
    assert run_batch(shell, "web", targets, 8, 30) is None
    batches = VantageBatches(engine, pool)
    refused = targets[1]
    first = engine.run(lambda: batches.connect("web", *refused))
    assert first.outcome is Outcome.REFUSED
    assert first.detail == "from web (bash)"  # today's per-check path, bash's /dev/tcp


class _Ran:
    def __init__(self, rc: int, stdout: str, stderr: str) -> None:
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


class _SshKilled:
    """testinfra's ssh backend: exit 255 (how a command killed at its deadline ends,
    see transport.py) is raised as RuntimeError(result), the output inside."""

    def __init__(self, stdout: str) -> None:
        self.stdout = stdout

    def run(self, command: str, *args: str) -> CommandResult:
        raise RuntimeError(_Ran(255, self.stdout, "timed out after 6 s\n"))


def test_a_batch_killed_under_testinfras_ssh_keeps_what_it_printed() -> None:
    endpoints: list[Endpoint] = [("10.0.0.2", p, 1.0) for p in (1, 2)]
    printed = '{"n": 2, "c": 8}\n{"i": 1, "r": "errno", "ms": 0.3, "e": 111, "s": "x"}\n'
    found = run_batch(_SshKilled(printed), "web", endpoints, 8, 6)
    assert found is not None
    assert [a.outcome for a in found] == [Outcome.PROBE_ERROR, Outcome.REFUSED]
    assert "the batch was cut off at its bound of 6 s" in found[0].detail
    # Killed before the script said anything: the transport's words, for every check.
    nothing = run_batch(_SshKilled(""), "web", endpoints, 8, 6)
    assert nothing is not None
    said = "vantage web could not run the probe: timed out after 6 s"
    assert {a.detail for a in nothing} == {said}


class _Says:
    def __init__(self, rc: int, stdout: str = "", stderr: str = "") -> None:
        self.result = _Ran(rc, stdout, stderr)

    def run(self, command: str, *args: str) -> CommandResult:
        return self.result


def test_a_batch_python3_could_not_run_goes_one_by_one() -> None:
    endpoints: list[Endpoint] = [("10.0.0.2", 1, 1.0)]
    # Ended by the vantage's own `timeout` before a word (stdin never came), too old a
    # python3 to parse the script, or input the transport did not pass on: one by one.
    for said in (_Says(124), _Says(1, "", "SyntaxError: invalid syntax"), _Says(0, '{"n": 0}\n')):
        assert run_batch(said, "web", endpoints, 8, 6) is None
    # Without python3 there the command says so.
    assert run_batch(_Says(0, batch_script.NO_PYTHON + "\n"), "web", endpoints, 8, 6) is None
    # The transport's own failure (ssh's 255) is every check's probe-error, in its words.
    refused = _Says(255, "", "ssh: connect to host w port 22: Connection refused\n")
    found = run_batch(refused, "web", endpoints, 8, 6)
    assert found is not None
    assert found[0].outcome is Outcome.PROBE_ERROR
    assert found[0].detail == (
        "vantage web could not run the probe: ssh: connect to host w port 22: Connection refused"
    )
