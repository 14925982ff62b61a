"""Every process the plugin starts, so that none outlives the run.

Each command runs in a session of its own (its shell, ssh, coreutils' `timeout`, and
whatever they start), registered while it runs. Past its deadline the whole session is
killed; when the run ends (normally, by Ctrl-C, by SIGTERM) `kill_all` kills every
session still registered and refuses to start new ones. Blocking host work runs on
daemon threads (`in_thread`), so an abandoned one never holds up the interpreter's exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

# Exit codes for the runner's own failures, as coreutils' timeout and ssh use them.
TIMED_OUT = 124
NOT_RUN = 255
# Seconds to collect what a killed session wrote before its pipes are closed.
DRAIN_S = 1.0
# Seconds a killed session gets between SIGTERM (its traps clean up) and SIGKILL: only a
# session that ignores SIGTERM waits it out whole. 0.5 s was too short for a shell's
# trap to run on a loaded machine (load 20 on 2 cores), leaving its temporary files.
KILL_GRACE_S = 2.0
# Host work (evidence batches, remote probes) running at once on daemon threads.
THREADS = 32

_lock = threading.Lock()
_sessions: set[int] = set()
_closers: list[Callable[[], object]] = []
_ending = threading.Event()


@dataclass(frozen=True)
class Finished:
    """What one bounded command did; `timed_out` when it was killed at its deadline."""

    rc: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False


def run(
    argv: Sequence[str] | str,
    timeout: float,
    *,
    shell: bool = False,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> Finished:
    """Run `argv` in a session of its own for at most `timeout` seconds; never raises.

    Past the deadline, or when the run ends meanwhile, every process of the session is
    killed (rc 124, `timed_out`); what it wrote until then is kept. A command that cannot
    start is rc 127. `stdin` is written to it (else it reads /dev/null). `env` replaces
    the environment (default: a snapshot of this process's), `cwd` the directory.
    """
    if _ending.is_set():
        return Finished(NOT_RUN, b"", b"not started: the test run is ending")
    try:
        popen = subprocess.Popen(
            argv,
            shell=shell,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # A session of its own: the shell's children (ssh, timeout's command) are
            # found and killed with it, and a terminal's Ctrl-C reaches only pytest.
            start_new_session=True,
            # A snapshot: pytest rewrites os.environ between test phases, and a child
            # reading the live one mid-change fails with EFAULT (see .shell).
            env=dict(os.environ if env is None else env),
            cwd=cwd,
        )
    except OSError as exc:
        return Finished(127, b"", f"cannot run {_name(argv)}: {exc}".encode())
    with _lock:
        _sessions.add(popen.pid)
    try:
        if _ending.is_set():  # kill_all ran between the check above and the register
            kill_session(popen.pid)
        out, err = popen.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_session(popen.pid)
        out, err = _drain(popen)
        return Finished(TIMED_OUT, out, err, timed_out=True)
    finally:
        with _lock:
            _sessions.discard(popen.pid)
    if _ending.is_set() and popen.returncode < 0:
        return Finished(TIMED_OUT, out, err + b"\nkilled: the test run is ending", True)
    return Finished(popen.returncode, out, err)


def _drain(popen: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    try:
        return popen.communicate(timeout=DRAIN_S)
    except subprocess.TimeoutExpired as exc:  # something escaped the session, holds a pipe
        popen.kill()
        for pipe in (popen.stdout, popen.stderr):
            if pipe is not None:
                pipe.close()
        popen.wait()
        return _bytes(exc.stdout), _bytes(exc.stderr)


def kill_session(sid: int, grace: float = KILL_GRACE_S) -> None:
    """End every process of the session `sid` started: SIGTERM first, so a shell's
    traps remove its temporary files, then SIGKILL after `grace` seconds for what is
    left. Its process group is not enough: coreutils' timeout moves itself and its
    command into a group of their own."""
    kill_sessions([sid], grace)


def kill_sessions(sids: Sequence[int], grace: float = KILL_GRACE_S) -> None:
    """kill_session for several sessions at once, within one grace period."""
    members = {sid: [sid, *session_members(sid)] for sid in sids}
    for pids in members.values():
        _signal_all(pids, signal.SIGTERM)
    ends = time.monotonic() + grace
    for sid in sids:
        while time.monotonic() < ends and session_members(sid):
            time.sleep(0.01)
        _signal_all([sid, *session_members(sid)], signal.SIGKILL)


def _signal_all(pids: Sequence[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def session_members(sid: int) -> list[int]:
    """The pids of the live processes in session `sid` (read from /proc)."""
    members: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    wanted = str(sid).encode()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command name: state, ppid, pgrp, session. A zombie is gone already.
        if len(fields) > 3 and fields[3] == wanted and fields[0] != b"Z":
            members.append(int(entry))
    return members


def on_end(close: Callable[[], object]) -> None:
    """Call `close` (closing a paramiko client, say) when the run ends."""
    with _lock:
        _closers.append(close)


def kill_all() -> None:
    """The run is ending: kill every session still running, close what registered a
    closer, and start nothing more. Safe to call twice, and from a signal handler."""
    _ending.set()
    with _lock:
        sessions = list(_sessions)
        closers = list(_closers)
        _closers.clear()
    kill_sessions(sessions)
    for close in closers:
        with contextlib.suppress(Exception):
            close()


def reset() -> None:
    """Allow new commands again (a new run in the same process: pytester's inline runs)."""
    _ending.clear()


def ending() -> bool:
    """Whether the run is ending (kill_all was called since the last reset)."""
    return _ending.is_set()


_previous_sigterm: Any = None


def handle_sigterm() -> None:
    """On SIGTERM, kill our sessions first, then die of SIGTERM as before (or call the
    handler that was there). Only from the main thread; elsewhere nothing is changed."""
    global _previous_sigterm
    if threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGTERM)
    if current is _on_sigterm:
        return
    _previous_sigterm = current
    signal.signal(signal.SIGTERM, _on_sigterm)


def restore_sigterm() -> None:
    """Put back the SIGTERM handler `handle_sigterm` replaced."""
    global _previous_sigterm
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, _previous_sigterm or signal.SIG_DFL)
    _previous_sigterm = None


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    kill_all()
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
# Host work at once for loops created from now on: THREADS, or fewer when the
# open-file limit is low (each command holds its pipes; see probe/limits.py).
_threads = THREADS


def limit_threads(count: int) -> None:
    """Run at most `count` pieces of host work at once on loops created from now on."""
    global _threads
    _threads = max(1, min(count, THREADS))


async def in_thread(work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` on a daemon thread, awaited on the running loop.

    Unlike asyncio.to_thread, whose executor threads the interpreter joins at exit, an
    abandoned daemon thread (a host that hangs, the run interrupted) never delays the
    end of the run. At most THREADS run at once per loop.
    """
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(_threads)
    async with slots:
        future: asyncio.Future[T] = loop.create_future()

        def settle(value: T | None, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)  # type: ignore[arg-type]

        def body() -> None:
            try:
                value = work(*args)
            except BaseException as exc:  # handed to the awaiting coroutine
                _deliver(loop, settle, None, exc)
            else:
                _deliver(loop, settle, value, None)

        threading.Thread(target=body, name="conntriage-host", daemon=True).start()
        return await future


def _deliver(
    loop: asyncio.AbstractEventLoop,
    settle: Callable[[Any, BaseException | None], None],
    value: Any,
    error: BaseException | None,
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
        loop.call_soon_threadsafe(settle, value, error)


def _name(argv: Sequence[str] | str) -> str:
    return argv if isinstance(argv, str) else (argv[0] if argv else "")


def _bytes(data: bytes | str | None) -> bytes:
    if isinstance(data, str):
        return data.encode()
    return data or b""
