"""The one narrow interface to a host: run a command, get rc/stdout/stderr, never hang.

The shape is testinfra's `host.run(command, *args)`: each arg is shell-quoted into the
`%s` placeholders of `command` (so with args, a literal percent sign is written `%%`).
Values that come from an inventory travel only as args, never inside `command`.
"""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..shell import Host
from ..shell import run as spawn_safely

# Seconds on top of a command's own bound for the transport (ssh connect, auth, ...)
# before a remote run is given up on locally.
TRANSPORT_SLACK_S = 10.0
# Exit codes the runners use for their own failures, like coreutils' timeout and ssh.
TIMED_OUT = 124
NOT_RUN = 255


@dataclass(frozen=True)
class RunResult:
    """What one command did."""

    rc: int
    stdout: str
    stderr: str


class Runner(Protocol):
    """A host that runs shell commands: testinfra's `host.run(command, *args)`."""

    def run(self, command: str, *args: str) -> RunResult: ...


def render(command: str, args: Sequence[str]) -> str:
    """`command` with each arg shell-quoted into its `%s`, exactly as testinfra does it."""
    if not args:
        return command
    return command % tuple(shlex.quote(arg) for arg in args)


def whole_seconds(timeout: float) -> int:
    """A bound for coreutils' `timeout`, which older versions only take in whole seconds."""
    return max(1, math.ceil(timeout))


class LocalRunner:
    """Runs commands on this machine with `sh -c`, or inside a network namespace
    (`ip netns exec NS`, for the lab). Bounded by `timeout`: past it the whole process
    group is killed and the result is rc 124, stderr "timed out after Ns"."""

    def __init__(self, timeout: float, netns: str | None = None) -> None:
        self.timeout = timeout
        self.netns = netns

    def run(self, command: str, *args: str) -> RunResult:
        argv = ["sh", "-c", render(command, args)]
        if self.netns is not None:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        try:
            # A session of its own, so a timeout can kill the shell's children too: they
            # hold the pipes open, and waiting for them would defeat the bound.
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                # A snapshot: pytest rewrites os.environ between test phases, and a child
                # reading the live one mid-change fails with EFAULT (see ..shell).
                env=dict(os.environ),
            )
        except OSError as exc:
            return RunResult(127, "", f"cannot run {argv[0]}: {exc}")
        try:
            out, err = popen.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_session(popen.pid)
            try:
                out, err = popen.communicate(timeout=2.0)
            except subprocess.TimeoutExpired as exc:  # something escaped and holds a pipe
                popen.kill()
                out, err = _bytes(exc.stdout), _bytes(exc.stderr)
            said = f"timed out after {self.timeout:g}s"
            partial = _text(err).strip()
            return RunResult(TIMED_OUT, _text(out), f"{said}\n{partial}" if partial else said)
        return RunResult(popen.returncode, _text(out), _text(err))


class TestinfraRunner:
    """Adapts a testinfra Host (ssh, paramiko, local, docker, ...) to `Runner`.

    Every command runs under the host's `timeout N` (coreutils), so a hung command ends
    there; a hung transport is given up on here after N + TRANSPORT_SLACK_S seconds (rc
    124). Any exception the host raises becomes rc 255 with its text: never raises.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, host: Host, timeout: float) -> None:
        self.host = host
        self.timeout = timeout

    def run(self, command: str, *args: str) -> RunResult:
        bound = whole_seconds(self.timeout)
        # The command is expanded here and handed to a fresh `sh -c` as one quoted arg:
        # `timeout` must wrap all of it, compound commands included.
        full = ("timeout -- %s sh -c %s", str(bound), render(command, args))
        box: list[RunResult] = []

        def call() -> None:
            box.append(self._call(*full))

        worker = threading.Thread(target=call, name="conntriage-evidence", daemon=True)
        worker.start()
        worker.join(bound + TRANSPORT_SLACK_S)
        if not box:
            # The thread is left behind: a blocked ssh read cannot be interrupted.
            waited = bound + TRANSPORT_SLACK_S
            return RunResult(TIMED_OUT, "", f"timed out after {waited:g}s (no answer from host)")
        return box[0]

    def _call(self, command: str, *args: str) -> RunResult:
        try:
            done = spawn_safely(self.host, command, *args)
            return RunResult(int(done.rc), str(done.stdout), str(done.stderr))
        except Exception as exc:  # transport, auth, decoding: all reported, none raised
            return RunResult(NOT_RUN, "", f"{type(exc).__name__}: {exc}")


def _kill_session(sid: int) -> None:
    """SIGKILL every process of the session `sid` started. Its process group is not
    enough: coreutils' timeout moves itself and its command into a group of their own."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(sid, signal.SIGKILL)
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command name: state, ppid, pgrp, session.
        if len(fields) > 3 and fields[3] == str(sid).encode():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry), signal.SIGKILL)


def _bytes(data: bytes | str | None) -> bytes:
    if isinstance(data, str):
        return data.encode()
    return data or b""


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")
