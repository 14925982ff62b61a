"""The one outcome taxonomy shared by probes, triage rules, reports and JUnit properties."""

from __future__ import annotations

import errno
import re
import socket
from typing import ClassVar


class Outcome(str):
    """What one probe saw, named like nmap's reasons and OONI's failure strings.

    The core taxonomy is declared below; a check kind declares its own outcomes
    (`Outcome.declare`, listed in its `outcomes`), so the set is open. Each name is
    declared once and interned: `Outcome("refused") is Outcome.REFUSED`, and a name
    never declared is a ValueError, as an Enum's would be.
    """

    __slots__ = ()

    OPEN: ClassVar[Outcome]
    REFUSED: ClassVar[Outcome]
    TIMEOUT: ClassVar[Outcome]
    HOST_UNREACHABLE: ClassVar[Outcome]
    NET_UNREACHABLE: ClassVar[Outcome]
    ADMIN_PROHIBITED: ClassVar[Outcome]
    NO_ROUTE: ClassVar[Outcome]
    RESET: ClassVar[Outcome]
    RESOLVED: ClassVar[Outcome]
    DNS_NXDOMAIN: ClassVar[Outcome]
    DNS_NODATA: ClassVar[Outcome]
    DNS_SERVFAIL: ClassVar[Outcome]
    DNS_REFUSED: ClassVar[Outcome]
    DNS_TIMEOUT: ClassVar[Outcome]
    DNS_MISMATCH: ClassVar[Outcome]
    LISTENING: ClassVar[Outcome]
    NOT_LISTENING: ClassVar[Outcome]
    WRONG_INTERFACE: ClassVar[Outcome]
    ADMITTED: ClassVar[Outcome]
    BLOCKED: ClassVar[Outcome]
    ACTIVE: ClassVar[Outcome]
    INACTIVE: ClassVar[Outcome]
    PROBE_ERROR: ClassVar[Outcome]

    def __new__(cls, value: str) -> Outcome:
        found = _DECLARED.get(value)
        if found is None:
            raise ValueError(f"{value!r} is not a declared outcome")
        return found

    @classmethod
    def declare(cls, value: str, phrase: str, *, passes: bool = False) -> Outcome:
        """The outcome `value`, declared once per process: what a check of it is (a
        pass or a failure) and its phrase for the failure line. Declaring it again the
        same way returns the same object; differently, a ValueError."""
        if not _NAME.fullmatch(value):
            raise ValueError(f"outcome {value!r}: lower-case words joined by '-'")
        found = _DECLARED.get(value)
        if found is not None:
            if _MEANING[value] != (phrase, passes):
                raise ValueError(f"outcome {value!r} is already declared differently")
            return found
        made = str.__new__(cls, value)
        _DECLARED[value] = made
        _MEANING[value] = (phrase, passes)
        return made

    @property
    def value(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"<Outcome {str.__str__(self)}>"

    def __reduce__(self) -> tuple[type[Outcome], tuple[str]]:
        # Unpickled by name: the declaring module (a kind's) is imported there too.
        return (Outcome, (str.__str__(self),))

    @property
    def is_success(self) -> bool:
        """What a passing check sees: nothing for triage to explain."""
        return _MEANING[self][1]

    @property
    def is_dns(self) -> bool:
        return self.startswith("dns-")

    @property
    def describes(self) -> str:
        """A phrase for the failure line: "connection refused", "no answer (timeout)"."""
        return _MEANING[self][0]


_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_DECLARED: dict[str, Outcome] = {}
_MEANING: dict[str, tuple[str, bool]] = {}


def _core(value: str, phrase: str, *, passes: bool = False) -> Outcome:
    return Outcome.declare(value, phrase, passes=passes)


# The core taxonomy: what tcp, dns and the host checks see, and the probe's own failure.
# A kind's own outcomes (http's "http-status", ...) are declared by the kind.
Outcome.OPEN = _core("open", "connection established", passes=True)
Outcome.REFUSED = _core("refused", "connection refused")
Outcome.TIMEOUT = _core("timeout", "no answer (timed out)")
Outcome.HOST_UNREACHABLE = _core("host-unreachable", "host unreachable")
Outcome.NET_UNREACHABLE = _core("net-unreachable", "network unreachable")
Outcome.ADMIN_PROHIBITED = _core("admin-prohibited", "administratively prohibited")
Outcome.NO_ROUTE = _core("no-route", "no usable route (blackhole)")
Outcome.RESET = _core("reset", "connection reset")
Outcome.RESOLVED = _core("resolved", "name resolved", passes=True)
Outcome.DNS_NXDOMAIN = _core("dns-nxdomain", "name does not exist (NXDOMAIN)")
Outcome.DNS_NODATA = _core("dns-nodata", "name exists but has no A/AAAA records (NODATA)")
Outcome.DNS_SERVFAIL = _core("dns-servfail", "resolver failed (SERVFAIL)")
Outcome.DNS_REFUSED = _core("dns-refused", "resolver refused the query (REFUSED)")
Outcome.DNS_TIMEOUT = _core("dns-timeout", "resolver did not answer (timed out)")
Outcome.DNS_MISMATCH = _core("dns-mismatch", "name resolves to unexpected addresses")
Outcome.LISTENING = _core("listening", "something listens on the port", passes=True)
Outcome.NOT_LISTENING = _core("not-listening", "nothing listens on the port")
Outcome.WRONG_INTERFACE = _core("wrong-interface", "it listens, but not where clients connect")
Outcome.ADMITTED = _core("admitted", "the host firewall admits the port", passes=True)
Outcome.BLOCKED = _core("blocked", "the host firewall drops or rejects the port")
Outcome.ACTIVE = _core("active", "the unit is active", passes=True)
Outcome.INACTIVE = _core("inactive", "the unit is not active")
Outcome.PROBE_ERROR = _core("probe-error", "the probe could not run")

CORE: tuple[Outcome, ...] = tuple(_DECLARED.values())


# errno → outcome for a failed connect(). Measured in network namespaces on Linux: an
# ICMP admin-prohibited from a router arrives as EHOSTUNREACH, a `prohibit` route as
# EACCES, a `blackhole` route as EINVAL.
_ERRNO_OUTCOMES: dict[int, Outcome] = {
    errno.ECONNREFUSED: Outcome.REFUSED,
    errno.ETIMEDOUT: Outcome.TIMEOUT,
    errno.EHOSTUNREACH: Outcome.HOST_UNREACHABLE,
    errno.EHOSTDOWN: Outcome.HOST_UNREACHABLE,
    errno.ENETUNREACH: Outcome.NET_UNREACHABLE,
    errno.ENETDOWN: Outcome.NET_UNREACHABLE,
    errno.EACCES: Outcome.ADMIN_PROHIBITED,
    errno.EPERM: Outcome.ADMIN_PROHIBITED,
    errno.EINVAL: Outcome.NO_ROUTE,
    errno.ECONNRESET: Outcome.RESET,
    errno.ECONNABORTED: Outcome.RESET,
    errno.EPIPE: Outcome.RESET,
}


def classify_errno(code: int | None) -> Outcome:
    """Map a connect() errno to an outcome; local resource errors are PROBE_ERROR."""
    if code is None:
        return Outcome.PROBE_ERROR
    return _ERRNO_OUTCOMES.get(code, Outcome.PROBE_ERROR)


def errno_name(code: int | None) -> str:
    """ECONNREFUSED for 111; "" when there is no errno."""
    if code is None:
        return ""
    return errno.errorcode.get(code, str(code))


def address_family(address: str) -> socket.AddressFamily:
    """AF_INET6 for an IPv6 literal, AF_INET otherwise."""
    return socket.AF_INET6 if ":" in address else socket.AF_INET
