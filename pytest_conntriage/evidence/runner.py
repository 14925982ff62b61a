"""The one narrow interface to a host: run a command, get rc/stdout/stderr, never hang.

The shape is testinfra's `host.run(command, *args)`: each arg is shell-quoted into the
`%s` placeholders of `command` (so with args, a literal percent sign is written `%%`).
Values that come from an inventory travel only as args, never inside `command`.
"""

from __future__ import annotations

import math
import shlex
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .. import children
from ..children import NOT_RUN, TIMED_OUT
from ..spawn import CommandHost
from ..spawn import run as spawn_safely
from ..transport import deadline

# Share of a remote run's bound its command gets on the host (coreutils' timeout): the
# rest is for connect and auth, so a slow command still returns what it wrote.
REMOTE_SHARE = 0.75
# Seconds past the bound before a backend the plugin cannot bound itself (winrm, salt,
# ansible) is given up on; its thread is a daemon and is left behind. Longer than a
# bounded host's own end (killed at the bound, its session's grace, then its output
# drained), so that one is never cut short by this wait.
GRACE_S = children.KILL_GRACE_S + children.DRAIN_S + 0.5
# A transport's reason is one line; a longer one is cut here.
REASON_CHARS = 300

__all__ = [
    "NOT_RUN",
    "TIMED_OUT",
    "LocalRunner",
    "RunResult",
    "Runner",
    "TestinfraRunner",
    "WinRMRunner",
]


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
    (`ip netns exec NS`, for the lab). Bounded by `timeout`: past it the whole session
    is killed (see ..children) and the result is rc 124, stderr "timed out after N s"."""

    def __init__(self, timeout: float, netns: str | None = None) -> None:
        self.timeout = timeout
        self.netns = netns

    def run(self, command: str, *args: str) -> RunResult:
        argv = ["sh", "-c", render(command, args)]
        if self.netns is not None:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        done = children.run(argv, self.timeout)
        out, err = _text(done.stdout), _text(done.stderr).strip()
        if done.timed_out:
            said = f"timed out after {self.timeout:g} s"
            return RunResult(TIMED_OUT, out, f"{said}\n{err}" if err else said)
        return RunResult(done.rc, out, _text(done.stderr))


class TestinfraRunner:
    """Adapts a testinfra Host (ssh, paramiko, local, docker, ...) to `Runner`.

    `timeout` bounds each run whole: connect, auth and the command. The command runs
    under the host's `timeout N` (coreutils, N = 3/4 of it) so a hung one ends there
    and what it wrote comes back; a host bounded by ..transport.bound is killed
    locally at `timeout`; any other backend is given up on GRACE_S later. Any
    exception the host raises becomes rc 255 with its one-line reason: never raises.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, host: CommandHost, timeout: float) -> None:
        self.host = host
        self.timeout = timeout

    def run(self, command: str, *args: str) -> RunResult:
        full = self.wrap(command, args)
        box: list[RunResult] = []

        def call() -> None:
            with deadline(self.timeout):
                box.append(self._call(*full))

        worker = threading.Thread(target=call, name="conntriage-evidence", daemon=True)
        worker.start()
        worker.join(self.timeout + GRACE_S)
        if not box:
            # The thread is left behind: a blocked read in a backend we cannot bound.
            return RunResult(TIMED_OUT, "", f"timed out after {self.timeout:g} s")
        return box[0]

    def wrap(self, command: str, args: Sequence[str]) -> tuple[str, ...]:
        """What is sent to testinfra's `run`: the command under the host's `timeout`."""
        remote = whole_seconds(self.timeout * REMOTE_SHARE)
        # The command is expanded here and handed to a fresh `sh -c` as one quoted arg:
        # `timeout` must wrap all of it, compound commands included.
        return ("timeout -- %s sh -c %s", str(remote), render(command, args))

    def _call(self, command: str, *args: str) -> RunResult:
        try:
            done = spawn_safely(self.host, command, *args)
            return RunResult(int(done.rc), str(done.stdout), str(done.stderr))
        except TimeoutError as exc:  # paramiko's connect or our channel deadline
            return RunResult(TIMED_OUT, "", reason(exc))
        except Exception as exc:  # transport, auth, decoding: all reported, none raised
            return RunResult(NOT_RUN, "", reason(exc))


class WinRMRunner(TestinfraRunner):
    """A testinfra `winrm://` host as a Runner: the command goes to the host's WinRM
    shell (cmd.exe) as it is, with no `sh` or `timeout` around it (Windows has
    neither); the bound is kept here alone, GRACE_S past `timeout`. Takes no args:
    testinfra's winrm quoting is not cmd.exe's, so nothing may need quoting."""

    __test__ = False

    def wrap(self, command: str, args: Sequence[str]) -> tuple[str, ...]:
        if args:
            raise ValueError("a winrm command takes no args: encode its values into it")
        return (command,)


def reason(exc: BaseException) -> str:
    """A transport failure in one line, in the transport's own words.

    testinfra's ssh backend raises RuntimeError(CommandResult) when ssh exits 255: its
    repr quotes the whole command (the batch script, kilobytes); ssh's own first stderr
    line ("ssh: connect to host ... port 22: Connection timed out") is the reason.
    """
    result = exc.args[0] if len(exc.args) == 1 else None
    stderr = getattr(result, "stderr", None) if result is not None else None
    if isinstance(stderr, str) and hasattr(result, "rc"):
        said = first_line(stderr) or first_line(str(getattr(result, "stdout", "") or ""))
        return _cut(said or f"exit {result.rc} without a message")  # type: ignore[union-attr]
    text = first_line(str(exc))
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) and text.startswith("timed out after"):
        return _cut(text)
    return _cut(f"{name}: {text}" if text else name)


def first_line(text: str) -> str:
    """The first line of `text` that is not blank, stripped."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _cut(text: str) -> str:
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")
