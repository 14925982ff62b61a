"""The one outcome taxonomy shared by probes, triage rules, reports and JUnit properties."""

from __future__ import annotations

import errno
import socket
from enum import Enum


class Outcome(str, Enum):
    """What one probe saw, named like nmap's reasons and OONI's failure strings."""

    OPEN = "open"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    HOST_UNREACHABLE = "host-unreachable"
    NET_UNREACHABLE = "net-unreachable"
    ADMIN_PROHIBITED = "admin-prohibited"
    NO_ROUTE = "no-route"
    RESET = "reset"
    RESOLVED = "resolved"
    DNS_NXDOMAIN = "dns-nxdomain"
    DNS_NODATA = "dns-nodata"
    DNS_SERVFAIL = "dns-servfail"
    DNS_REFUSED = "dns-refused"
    DNS_TIMEOUT = "dns-timeout"
    DNS_MISMATCH = "dns-mismatch"
    # What a host check found on the target (listening, firewall, service checks).
    LISTENING = "listening"
    NOT_LISTENING = "not-listening"
    WRONG_INTERFACE = "wrong-interface"
    ADMITTED = "admitted"
    BLOCKED = "blocked"
    ACTIVE = "active"
    INACTIVE = "inactive"
    # What an HTTP GET got once the connection was made (a failed connect is one of the
    # TCP outcomes above, triaged like any tcp check's).
    HTTP_OK = "http-ok"
    HTTP_STATUS = "http-status"
    TLS_ERROR = "tls-error"
    HTTP_MALFORMED = "http-malformed"
    HTTP_TIMEOUT = "http-timeout"
    # The probe itself could not run (no file descriptor, no ephemeral port, ...): says
    # nothing about the target, so it must never be mistaken for a timeout of it.
    PROBE_ERROR = "probe-error"

    def __str__(self) -> str:
        return self.value

    @property
    def is_success(self) -> bool:
        """What a passing check sees: nothing for triage to explain."""
        return self in _SUCCESSES

    @property
    def is_dns(self) -> bool:
        return self.value.startswith("dns-")

    @property
    def describes(self) -> str:
        """A phrase for the failure line: "connection refused", "no answer (timeout)"."""
        return _PHRASES[self]


_SUCCESSES = frozenset(
    {
        Outcome.OPEN,
        Outcome.RESOLVED,
        Outcome.LISTENING,
        Outcome.ADMITTED,
        Outcome.ACTIVE,
        Outcome.HTTP_OK,
    }
)

_PHRASES: dict[Outcome, str] = {
    Outcome.OPEN: "connection established",
    Outcome.REFUSED: "connection refused",
    Outcome.TIMEOUT: "no answer (timed out)",
    Outcome.HOST_UNREACHABLE: "host unreachable",
    Outcome.NET_UNREACHABLE: "network unreachable",
    Outcome.ADMIN_PROHIBITED: "administratively prohibited",
    Outcome.NO_ROUTE: "no usable route (blackhole)",
    Outcome.RESET: "connection reset",
    Outcome.RESOLVED: "name resolved",
    Outcome.DNS_NXDOMAIN: "name does not exist (NXDOMAIN)",
    Outcome.DNS_NODATA: "name exists but has no A/AAAA records (NODATA)",
    Outcome.DNS_SERVFAIL: "resolver failed (SERVFAIL)",
    Outcome.DNS_REFUSED: "resolver refused the query (REFUSED)",
    Outcome.DNS_TIMEOUT: "resolver did not answer (timed out)",
    Outcome.DNS_MISMATCH: "name resolves to unexpected addresses",
    Outcome.LISTENING: "something listens on the port",
    Outcome.NOT_LISTENING: "nothing listens on the port",
    Outcome.WRONG_INTERFACE: "it listens, but not where clients connect",
    Outcome.ADMITTED: "the host firewall admits the port",
    Outcome.BLOCKED: "the host firewall drops or rejects the port",
    Outcome.ACTIVE: "the unit is active",
    Outcome.INACTIVE: "the unit is not active",
    Outcome.HTTP_OK: "the expected HTTP status came back",
    Outcome.HTTP_STATUS: "the server answered with another HTTP status",
    Outcome.TLS_ERROR: "the TLS handshake failed",
    Outcome.HTTP_MALFORMED: "the answer is not an HTTP response",
    Outcome.HTTP_TIMEOUT: "connected, but no HTTP answer in time",
    Outcome.PROBE_ERROR: "the probe could not run",
}

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
