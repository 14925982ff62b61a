"""The inventory's hosts as testinfra connections: opened on first use, one per host per
process (each xdist worker has its own), reused for the whole run."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .inventory.model import Host

# Query parameters of a host spec whose values are secrets.
_SECRET_PARAMS = frozenset({"password", "passphrase", "ssh_password", "winrm_password"})


class HostPool:
    """Lazily opened testinfra hosts by inventory alias."""

    def __init__(self, hosts: Mapping[str, Host]) -> None:
        self._hosts = dict(hosts)
        self._open: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._secrets = tuple(s for h in hosts.values() for s in secrets_of(h.connection))

    def __contains__(self, alias: object) -> bool:
        return alias in self._hosts

    def sudo(self, alias: str) -> bool:
        """Whether the inventory lets commands that need root use `sudo -n` there."""
        return self._hosts[alias].sudo

    def shell(self, alias: str) -> Any:
        """The testinfra Host for `alias` (its `run(command, *args)` quotes the args).

        Opened without testinfra's own sudo: only the commands that need root are run
        with `sudo -n` (see `sudo`), so nothing ever waits for a password prompt.
        """
        with self._lock:
            opened = self._open.get(alias)
            if opened is None:
                import testinfra  # here, not at import: collection must not pay for it

                host = self._hosts[alias]
                opened = testinfra.get_host(host.connection)
                self._open[alias] = opened
            return opened

    def redact(self, text: str) -> str:
        """`text` with every secret of every host spec replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def secrets_of(spec: str) -> tuple[str, ...]:
    """The passwords a testinfra host spec carries (in its userinfo or query)."""
    try:
        parts = urlsplit(spec)
    except ValueError:
        return ()
    found = [parts.password] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k in _SECRET_PARAMS and v]
    return tuple(found)


def display(spec: str) -> str:
    """A host spec safe to print: passwords replaced by ***."""
    shown = re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", spec)
    for secret in secrets_of(spec):
        shown = shown.replace(secret, "***")
    return shown
