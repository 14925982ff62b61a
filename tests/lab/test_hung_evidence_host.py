"""A hung evidence host, both ways (its ssh port drops packets; sshd accepts and the
session never answers), over ssh and paramiko: the run is bounded by the inventory's
evidence_timeout, says why in one line, and however it ends (normally, Ctrl-C, SIGTERM)
no process of ours is left."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lab import netlab
from tests.lab.netlab import CLIENT, SERVER, SERVER_IP, SERVER_MGMT_IP
from tests.lab.scenarios import PORT

pytestmark = pytest.mark.lab

TAG_VARIABLE = "CONNTRIAGE_TEST_TAG"


def _tagged(tag: str) -> list[str]:
    """Live processes whose environment carries `tag` (everything the run started
    inherits it, wherever it was re-parented to): "pid command" lines."""
    found = []
    needle = f"{TAG_VARIABLE}={tag}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError):
            continue
        if needle in environ and state != b"Z":
            found.append(f"{entry} {command.decode(errors='replace').strip()}")
    return found


def _kill_tagged(tag: str) -> None:
    for line in _tagged(tag):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line.split()[0]), signal.SIGKILL)


def _inventory(connection: str, evidence: str) -> str:
    return "\n".join(
        [
            "version: 1",
            "defaults:",
            "  timeout: 1s",
            f"  evidence_timeout: {evidence}",
            "hosts:",
            "  server:",
            f"    connection: {json.dumps(connection)}",
            "services:",
            "  svc:",
            f"    address: {SERVER_IP}",
            f"    ports: [{PORT}]",  # nothing listens: refused at once, then evidence
            "    host: server",
            "",
        ]
    )


def _default_sigint() -> None:
    """In the child: SIGINT as a terminal gives it. A shell that starts a job in the
    background (CI runners do) leaves SIGINT ignored, and an ignored SIGINT is
    inherited: the run would never see the Ctrl-C this test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class HungHost:
    """A lab whose evidence host hangs one way, and the real plugin run against it."""

    def __init__(self, lab: netlab.Lab, hang: str, backend: str) -> None:
        self.lab = lab
        extra = ["ForceCommand sleep 600"] if hang == "session" else []
        ssh = lab.sshd(SERVER, SERVER_MGMT_IP, extra=extra)
        if hang == "dropped":
            lab.iptables(SERVER, "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP")
        self.connection = f"{backend}://{ssh.host_alias}?ssh_config={ssh.config}"
        self.tag = uuid.uuid4().hex

    def start(self, evidence: str) -> subprocess.Popen[str]:
        work = self.lab.tmp / "plugin"
        work.mkdir(exist_ok=True)
        inventory = work / "inventory.yml"
        inventory.write_text(_inventory(self.connection, evidence))
        argv = self.lab.plugin_argv(inventory, work / "junit.xml")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env[TAG_VARIABLE] = self.tag
        return subprocess.Popen(
            argv,
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_default_sigint,
        )

    def evidence_in_progress(self) -> bool:
        """The client has a connection to the server's sshd open or opening."""
        done = self.lab.run(CLIENT, "ss", "-Htn", "dport", "=", ":22", check=False)
        return bool(done.stdout.strip())


@pytest.fixture(params=["ssh", "paramiko"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["dropped", "session"])
def hang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def hung(make_lab: Callable[[], netlab.Lab], hang: str, backend: str) -> HungHost:
    return HungHost(make_lab(), hang, backend)


def _reason(hang: str, backend: str) -> str:
    """The one line the report gives for the batch, in the transport's words."""
    if hang == "session":
        return "timed out after 3 s"
    if backend == "ssh":
        # ConnectTimeout is half the bound: ssh says it before the kill.
        return f"ssh: connect to host {SERVER_MGMT_IP} port 22: Connection timed out"
    return "TimeoutError: timed out"


def test_a_hung_host_costs_its_bound_and_says_why_in_one_line(
    hung: HungHost, hang: str, backend: str
) -> None:
    run = hung.start("3s")
    try:
        output, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
        left = _tagged(hung.tag)
        _kill_tagged(hung.tag)
    assert run.returncode == 1, output
    assert left == []
    batch = [line for line in output.splitlines() if line.startswith("  server: batch: ")]
    assert batch == [f"  server: batch: {_reason(hang, backend)}"], output[-3000:]
    assert "CommandResult" not in output


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_an_interrupted_run_leaves_no_process(hung: HungHost, sig: signal.Signals) -> None:
    run = hung.start("60s")
    try:
        while not hung.evidence_in_progress():
            assert run.poll() is None, run.communicate()[0]
            time.sleep(0.05)
        sent = time.monotonic()
        run.send_signal(sig)
        output, _ = run.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
        left = _tagged(hung.tag)
        _kill_tagged(hung.tag)
    # `ip netns exec` execs pytest: the signal and the exit status are pytest's own.
    if sig == signal.SIGTERM:
        assert run.returncode == -signal.SIGTERM, output
    else:
        assert run.returncode == 2, output  # pytest's "interrupted"
    assert left == []
    # A generous bound under load: the evidence bound here is 60 s, ending takes ~1 s.
    assert took < 15, took
