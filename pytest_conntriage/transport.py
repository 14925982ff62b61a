"""testinfra hosts bounded by the plugin's evidence timeout, whatever their backend.

testinfra's command backends (local, ssh, safe-ssh, docker, podman, kubectl, lxc,
openshift, chroot) start every command through `run_local`: a shell without a session of
its own, waited for without a timeout. Here that one method is replaced, per backend
instance, by `children.run`: a session of its own, killed at the deadline and when the run
ends. ssh's ConnectTimeout is lowered to half the bound, so a dropped port is reported in
ssh's own words before the kill, and its ControlPersist master is not started: it would
daemonize out of our session and outlive the run. paramiko runs in this process: its
connect, banner, auth and channel timeouts come from the bound, and its client is closed
when the run ends.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from . import children

# Share of the bound that connecting (TCP, banner, auth) may take on its own, so the
# transport's own reason ("Connection timed out") arrives before the deadline kills it.
CONNECT_SHARE = 0.5

_deadline = threading.local()


def connect_timeout(bound: float) -> int:
    """Whole seconds for connect/auth (ssh's ConnectTimeout takes only whole seconds)."""
    return max(1, math.floor(bound * CONNECT_SHARE))


class deadline:
    """Within `with deadline(seconds):`, commands this thread runs through a bounded host
    are killed after `seconds` (default: the host's own bound)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        self.saved = getattr(_deadline, "seconds", None)
        _deadline.seconds = self.seconds

    def __exit__(self, *exc: object) -> None:
        _deadline.seconds = self.saved


class feeding:
    """Within `with feeding(data):`, the next commands this thread runs through a bounded
    host read `data` on their standard input (ssh and paramiko hand it to the remote
    command; a backend that attaches no stdin, `docker exec` without -i, gives it none).
    Data so passed is never command-line text: no quoting, no length limit."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __enter__(self) -> None:
        self.saved = getattr(_deadline, "stdin", None)
        _deadline.stdin = self.data

    def __exit__(self, *exc: object) -> None:
        _deadline.stdin = self.saved


def bound(host: Any, timeout: float) -> Any:
    """Bound testinfra `host` (a testinfra.host.Host) by `timeout` seconds per command,
    connect and auth included; the same host, returned for convenience."""
    backend = host.backend
    name = getattr(backend, "NAME", "")
    if name in ("ssh", "safe-ssh"):
        backend.timeout = min(int(getattr(backend, "timeout", 10)), connect_timeout(timeout))
        backend.controlpersist = 0
    if name == "paramiko":
        _bound_paramiko(backend, timeout)
        return host
    if hasattr(backend, "run_local"):

        def run_local(command: str, *args: str) -> Any:
            return _run_local(backend, timeout, command, *args)

        backend.run_local = run_local
    return host


def _run_local(backend: Any, default: float, command: str, *args: str) -> Any:
    seconds = getattr(_deadline, "seconds", None) or default
    cmd = backend.encode(backend.quote(command, *args))
    done = children.run(cmd, seconds, shell=True, stdin=getattr(_deadline, "stdin", None))
    if done.timed_out:
        # 255, ssh's own failure status, not 124: coreutils' timeout on the host says
        # 124 of the command it ran, which a remote probe reads as the target's timeout.
        # Killed here, it was the transport (connect, auth, a hung session).
        said = f"timed out after {seconds:g} s\n".encode()
        return backend.result(children.NOT_RUN, cmd, done.stdout, said + done.stderr)
    return backend.result(done.rc, cmd, done.stdout, done.stderr)


def _bound_paramiko(backend: Any, timeout: float) -> None:
    from testinfra.backend.paramiko import ParamikoBackend

    class BoundedParamiko(ParamikoBackend):  # type: ignore[misc]
        """testinfra's paramiko backend with every wait bounded."""

        @property
        def client(self) -> Any:  # the parent's cached_property, with timeouts
            opened = self.__dict__.get("_bounded_client")
            if opened is None:
                opened = _paramiko_client(self, connect_timeout(timeout))
                self.__dict__["_bounded_client"] = opened
            return opened

        @client.deleter
        def client(self) -> None:
            stale = self.__dict__.pop("_bounded_client", None)
            if stale is not None:
                stale.close()

        def _exec_command(self, command: bytes) -> tuple[int, bytes, bytes]:
            seconds = getattr(_deadline, "seconds", None) or timeout
            return _exec_bounded(self, command, seconds)

    backend.__class__ = BoundedParamiko


def _paramiko_client(backend: Any, limit: int) -> Any:
    """testinfra's own paramiko client (ssh_config, keys, host key policy), connected
    with every paramiko timeout set to `limit` seconds."""
    import paramiko
    from testinfra.backend.paramiko import ParamikoBackend

    class Deferred(paramiko.SSHClient):  # type: ignore[misc]
        """Records testinfra's connect arguments instead of connecting."""

        def connect(self, *args: Any, **kwargs: Any) -> None:
            self.deferred = (args, kwargs)

    build = ParamikoBackend.__dict__["client"].func
    with _CLASS_SWAP:  # testinfra calls paramiko.SSHClient(): ours, only while it builds
        original, paramiko.SSHClient = paramiko.SSHClient, Deferred
        try:
            client = build(backend)
        finally:
            paramiko.SSHClient = original
    args, kwargs = client.deferred
    kwargs["timeout"] = min(kwargs.get("timeout") or limit, limit)
    kwargs.update(banner_timeout=limit, auth_timeout=limit, channel_timeout=limit)
    children.on_end(client.close)  # a read blocked on it ends when the run does
    paramiko.SSHClient.connect(client, *args, **kwargs)
    return client


def _exec_bounded(backend: Any, command: bytes, seconds: float) -> tuple[int, bytes, bytes]:
    """One command on a paramiko channel, given up on after `seconds` (TimeoutError)."""
    ends = time.monotonic() + seconds
    transport = backend.client.get_transport()
    assert transport is not None
    chan = transport.open_session(timeout=max(0.1, ends - time.monotonic()))
    try:
        if backend.get_pty:
            chan.get_pty()
        chan.settimeout(max(0.1, ends - time.monotonic()))
        chan.exec_command(command)
        data = getattr(_deadline, "stdin", None)
        if data is not None:
            chan.sendall(data)
        chan.shutdown_write()  # EOF: the command reads no more than it was given
        out, err = bytearray(), bytearray()
        while True:
            busy = False
            if chan.recv_ready():
                out += chan.recv(65536)
                busy = True
            if chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
                busy = True
            # sshd sends the exit status after the last data: once it is in, all is.
            if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                return chan.recv_exit_status(), bytes(out), bytes(err)
            if chan.closed or not transport.is_active():
                raise EOFError("the connection closed before the command ended")
            if time.monotonic() >= ends:
                raise CutOff(f"timed out after {seconds:g} s", bytes(out))
            if not busy:
                time.sleep(POLL_S)
    finally:
        chan.close()


class CutOff(TimeoutError):
    """A paramiko command killed at its deadline, with what it wrote until then."""

    def __init__(self, message: str, stdout: bytes) -> None:
        super().__init__(message)
        self.stdout = stdout


# Seconds between looks at a paramiko channel that has nothing new.
POLL_S = 0.02

_CLASS_SWAP = threading.Lock()
