"""The inventory's hosts as testinfra connections: opened on first use, one per host per
process (each xdist worker has its own), reused for the whole run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from .inventory import hostspec
from .inventory.model import DEFAULT_EVIDENCE_TIMEOUT_S, Host
from .transport import bound


class HostUnavailable(Exception):
    """A host's connection could not be opened; the message names no password."""


class HostPool:
    """Lazily opened testinfra hosts by inventory alias, each bounded by `timeout`
    seconds per command, connect and auth included (see .transport)."""

    def __init__(
        self, hosts: Mapping[str, Host], timeout: float = DEFAULT_EVIDENCE_TIMEOUT_S
    ) -> None:
        self.timeout = timeout
        self._hosts = dict(hosts)
        self._open: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._secrets = tuple(
            sorted(
                {s for h in hosts.values() for s in hostspec.secrets(h.connection)},
                key=len,
                reverse=True,
            )
        )
        if self._secrets:
            _RedactingFilter.install(self._secrets)

    def __contains__(self, alias: object) -> bool:
        return alias in self._hosts

    def __repr__(self) -> str:
        return f"HostPool({', '.join(self._hosts)})"

    def windows(self, alias: str) -> bool:
        """Whether `alias` is reached over testinfra's winrm backend: a Windows host,
        whose evidence is the PowerShell batch (evidence/windows_batch.py)."""
        try:
            return hostspec.parse(self._hosts[alias].connection).connection == "winrm"
        except ValueError:  # checked at load time; a spec that cannot be read is not one
            return False

    def sudo(self, alias: str) -> bool:
        """Whether the inventory lets commands that need root use `sudo -n` there."""
        return self._hosts[alias].sudo

    def shell(self, alias: str) -> Any:
        """The testinfra Host for `alias` (its `run(command, *args)` quotes the args).

        Opened without testinfra's own sudo: only the commands that need root are run
        with `sudo -n` (see `sudo`), so nothing ever waits for a password prompt.
        Raises HostUnavailable, with the passwords masked, if testinfra cannot open it:
        its own exception would carry the spec, and its frames every host's spec.
        """
        with self._lock:
            opened = self._open.get(alias)
            if opened is None:
                opened = self._open[alias] = self._connect(alias)
            return opened

    def _connect(self, alias: str) -> Any:
        import testinfra  # here, not at import: collection must not pay for it

        try:
            return bound(testinfra.get_host(self._hosts[alias].connection), self.timeout)
        except Exception as exc:  # any backend's failure, reported masked
            said = self.redact(f"{type(exc).__name__}: {exc}")
        # Raised outside the handler: no chained traceback through testinfra's frames.
        raise HostUnavailable(f"cannot open host {alias}: {said}")

    def redact(self, text: str) -> str:
        """`text` with every secret of every host spec replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, hostspec.MASK)
        return text


def secrets_of(spec: str) -> tuple[str, ...]:
    """The passwords a testinfra host spec carries (in its userinfo or query)."""
    return hostspec.secrets(spec)


def display(spec: str) -> str:
    """A host spec safe to print: passwords replaced by ***."""
    return hostspec.masked(spec)


class _RedactingFilter(logging.Filter):
    """Masks passwords in testinfra's log records: at DEBUG it logs every command it
    runs, and the ssh backend's is `sshpass -p PASSWORD ssh ...`."""

    _installed: _RedactingFilter | None = None

    def __init__(self) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()

    @classmethod
    def install(cls, secrets: tuple[str, ...]) -> None:
        """Mask `secrets` too (once installed, for the rest of the process)."""
        if cls._installed is None:
            cls._installed = cls()
            logging.getLogger("testinfra").addFilter(cls._installed)
        known = set(cls._installed.secrets) | set(secrets)
        cls._installed.secrets = tuple(sorted(known, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a bad record is logging's problem, not ours
            return True
        for secret in self.secrets:
            text = text.replace(secret, hostspec.MASK)
        record.msg, record.args = text, None
        return True
