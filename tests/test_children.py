"""No process of ours outlives its bound or the run: timeouts, kill_all, and the real
plugin ended normally, by SIGINT (Ctrl-C) and by SIGTERM, checked against /proc."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_conntriage import children
from pytest_conntriage.evidence import TestinfraRunner, gather_host
from pytest_conntriage.evidence.runner import reason
from pytest_conntriage.transport import bound

TAG_VARIABLE = "CONNTRIAGE_TEST_TAG"


def tagged(tag: str) -> list[str]:
    """Processes whose environment carries `tag`: every process a run started inherits
    it, wherever it was re-parented to. Their "pid command" lines."""
    found = []
    needle = f"{TAG_VARIABLE}={tag}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_bytes()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if needle in environ.split(b"\0") and stat.rsplit(b")", 1)[1].split()[0] != b"Z":
            found.append(f"{entry} {command.decode(errors='replace').strip()}")
    return found


@pytest.fixture
def tag(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh tag in this process's environment; processes still carrying it at the end
    are reported and killed (by PID), so a failure leaves nothing behind either."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(TAG_VARIABLE, value)
    yield value
    for line in tagged(value):
        os.kill(int(line.split()[0]), signal.SIGKILL)


def test_a_timeout_kills_the_whole_session(tag: str) -> None:
    done = children.run(["sh", "-c", "echo early; sleep 30 & sleep 31 & wait"], 0.5)
    assert done.timed_out
    assert done.rc == children.TIMED_OUT
    assert done.stdout == b"early\n"
    assert tagged(tag) == []


def test_kill_all_ends_what_runs_and_starts_nothing_more(tag: str) -> None:
    results: list[children.Finished] = []
    worker = threading.Thread(target=lambda: results.append(children.run(["sleep", "30"], 60)))
    worker.start()
    while not tagged(tag):  # the command is running
        time.sleep(0.01)
    children.kill_all()
    worker.join(10)
    assert not worker.is_alive()
    assert results[0].timed_out
    assert tagged(tag) == []
    refused = children.run(["true"], 5)
    assert refused.rc == children.NOT_RUN
    assert b"ending" in refused.stderr


def test_a_killed_batch_leaves_no_temporary_files(
    tag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch keeps each collector's stderr in a mktemp -d directory; killed at the
    # bound it still removes it (SIGTERM first: its trap runs).
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    host = bound(_local_host(), 1.0)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ss").write_text("#!/bin/sh\nexec sleep 30\n")
    (fake / "ss").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    evidence = gather_host(TestinfraRunner(host, 1.0), 8080, "127.0.0.1", "127.0.0.1", timeout=40)
    assert evidence.why_unavailable("batch") is not None
    assert list(scratch.iterdir()) == []
    assert tagged(tag) == []


def _local_host() -> object:
    import testinfra

    return testinfra.get_host("local://")


def test_a_bounded_testinfra_host_is_killed_at_its_bound(tag: str) -> None:
    host = bound(_local_host(), 1.0)
    result = TestinfraRunner(host, 1.0).run("sleep 30 & sleep 31")
    # On the host, coreutils' timeout (3/4 of the bound, whole seconds: 1 s) or, for a
    # hung transport, the local kill at the bound: either way within it, nothing left.
    assert result.rc in (children.TIMED_OUT, children.NOT_RUN)
    assert tagged(tag) == []


def test_a_hung_transport_is_one_line_timed_out(tag: str) -> None:
    # The local kill: `timeout` on the host never gets to act (it is the transport
    # that hangs), here a command that ignores the TERM coreutils' timeout sends.
    host = bound(_local_host(), 1.0)
    result = TestinfraRunner(host, 1.0).run("trap '' TERM; sleep 30 & wait; sleep 30")
    assert (result.rc, result.stdout, result.stderr.strip()) == (
        children.NOT_RUN,
        "",
        "timed out after 1 s",
    )
    assert tagged(tag) == []


# -- one line per reason ---------------------------------------------------------------


class _CommandResult:
    """The shape of testinfra's CommandResult, as its ssh backend raises it."""

    def __init__(self, rc: int, stdout: str, stderr: str) -> None:
        self.rc, self.stdout, self.stderr = rc, stdout, stderr

    def __repr__(self) -> str:
        return f"CommandResult(command=b'{'x' * 3500}', exit_status={self.rc})"


def test_ssh_failure_is_its_first_stderr_line_not_a_repr() -> None:
    stderr = "ssh: connect to host web-1 port 22: Connection timed out\r\nmore noise\n"
    said = reason(RuntimeError(_CommandResult(255, "", stderr)))
    assert said == "ssh: connect to host web-1 port 22: Connection timed out"


def test_other_failures_are_named_in_one_short_line() -> None:
    assert reason(TimeoutError("timed out after 10 s")) == "timed out after 10 s"
    assert reason(ConnectionResetError(104, "Connection reset by peer")) == (
        "ConnectionResetError: [Errno 104] Connection reset by peer"
    )
    assert reason(RuntimeError(_CommandResult(255, "", ""))) == "exit 255 without a message"
    assert len(reason(ValueError("y" * 5000 + "\nz"))) == 300


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the ssh client")
def test_a_refused_ssh_host_reports_ssh_s_own_words(tmp_path: Path) -> None:
    import testinfra

    # Port 1 on loopback: nothing listens, the refusal is immediate.
    config = tmp_path / "ssh_config"
    config.write_text("BatchMode yes\nStrictHostKeyChecking no\nUserKnownHostsFile /dev/null\n")
    host = bound(testinfra.get_host(f"ssh://127.0.0.1:1?ssh_config={config}"), 5.0)
    evidence = gather_host(TestinfraRunner(host, 5.0), 8080, "127.0.0.1", "127.0.0.1")
    assert evidence.unavailable == (
        ("batch", "ssh: connect to host 127.0.0.1 port 1: Connection refused"),
    )


# -- the real plugin, ended three ways -----------------------------------------------------

_INVENTORY = """\
version: 1
defaults:
  timeout: 1s
  evidence_timeout: {evidence}
hosts:
  here:
    connection: "local://"
services:
  api:
    address: 127.0.0.1
    ports: [{port}]
    host: here
"""


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again once the socket is: refused


def _default_sigint() -> None:
    """In the child: SIGINT as a terminal gives it. A shell that starts a job in the
    background (CI runners do) leaves SIGINT ignored, and an ignored SIGINT is
    inherited: the run would never see the Ctrl-C this test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _plugin(tmp_path: Path, tag: str, evidence: str) -> subprocess.Popen[str]:
    """The real plugin on an inventory whose evidence host hangs in `ss`."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ss").write_text("#!/bin/sh\nexec sleep 300\n")
    (fake / "ss").chmod(0o755)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(_INVENTORY.format(evidence=evidence, port=_closed_port()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update({TAG_VARIABLE: tag, "PATH": f"{fake}:{env['PATH']}"})
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "--inventory",
        str(inventory),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",
    ]
    return subprocess.Popen(
        [*argv, "-q"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_default_sigint,
    )


def _wait_for_the_hang(run: subprocess.Popen[str], tag: str) -> None:
    while not any(line.split(maxsplit=1)[1:] == ["sleep 300"] for line in tagged(tag)):
        assert run.poll() is None, run.communicate()[0]
        time.sleep(0.02)


def test_a_run_that_ends_normally_leaves_no_process(tmp_path: Path, tag: str) -> None:
    run = _plugin(tmp_path, tag, "2s")
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 1, output
    assert "here: batch: timed out after" in output or "here: listeners: " in output, output
    assert tagged(tag) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_run_that_is_interrupted_leaves_no_process(
    tmp_path: Path, tag: str, sig: signal.Signals
) -> None:
    run = _plugin(tmp_path, tag, "60s")
    try:
        _wait_for_the_hang(run, tag)
        sent = time.monotonic()
        run.send_signal(sig)
        output, _ = run.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    if sig == signal.SIGTERM:
        assert run.returncode == -signal.SIGTERM, output
    else:
        assert run.returncode == 2, output  # pytest's "interrupted"
        assert "KeyboardInterrupt" in output, output
    # Generous under load; the 1 s is measured by the closing note, not here.
    assert took < 10, took
    assert tagged(tag) == []


def test_without_an_inventory_sigterm_is_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import signal

        from pytest_conntriage.children import _on_sigterm

        def test_sigterm_is_not_ours():
            assert signal.getsignal(signal.SIGTERM) is not _on_sigterm
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
