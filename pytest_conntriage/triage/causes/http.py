"""The http-endpoint entry's causes: what an http check's own answer proves or points at.

The facts are the check's own (HttpFacts, made by the http kind): the status the server
answered and, for a failed TLS handshake, the reason the TLS library gave. The library's
verdict on a certificate or a protocol is evidence read, not a guess (100: confirmed); a
generic handshake failure (the server's catch-all alert, or an error nothing names) and
an unknown SNI name only point (a weight); a close during the handshake, a revoked or
otherwise invalid certificate bear on no one cause, so the outcome's weights stand. (The
entry's not-ready cause is the tcp entry's too, and triage.causes.service decides it.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from ...outcome import Outcome
from ...probe.http import HTTP_STATUS, TLS_ERROR
from ..model import Facts, template
from ..rank import Finding
from ..rules import CauseRules

APP_UNHEALTHY = "app-unhealthy"
WRONG_PATH_OR_VHOST = "wrong-path-or-vhost"
PROXY_NO_BACKEND = "proxy-no-backend"
OVERLOADED = "overloaded"
WRONG_PROTOCOL = "wrong-protocol"
CERTIFICATE_EXPIRED = "certificate-expired"
CERTIFICATE_UNTRUSTED = "certificate-untrusted"
CERTIFICATE_NAME_MISMATCH = "certificate-name-mismatch"
TLS_VERSION_OR_CIPHER = "tls-version-or-cipher"

# A handshake's reason → the cause it bears on, and how sure it makes it.
_TLS = {
    "certificate-expired": (CERTIFICATE_EXPIRED, 100),
    "certificate-not-yet-valid": (CERTIFICATE_EXPIRED, 100),
    "self-signed": (CERTIFICATE_UNTRUSTED, 100),
    "unknown-issuer": (CERTIFICATE_UNTRUSTED, 100),
    "hostname-mismatch": (CERTIFICATE_NAME_MISMATCH, 100),
    "protocol-version": (TLS_VERSION_OR_CIPHER, 100),
    "no-shared-cipher": (TLS_VERSION_OR_CIPHER, 100),
    "client-certificate": (TLS_VERSION_OR_CIPHER, 100),
    "not-tls": (WRONG_PROTOCOL, 100),
    "handshake-failure": (TLS_VERSION_OR_CIPHER, 60),
    "unrecognized-name": (CERTIFICATE_NAME_MISMATCH, 60),
}


@dataclass(frozen=True, slots=True)
class HttpFacts:
    """An http check's own facts (Facts.own): the values of the http kind's placeholders,
    and what its causes are decided from."""

    # The http kind's placeholders (HttpKind.placeholders), each with what prose says
    # when its value is not known.
    words: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "url": "the URL",
            "ca_file": "the CA file",
            "status": "another status",
            "tls_error": "a TLS error",
        }
    )

    url: str  # the GET: "https://api.example.com:443/healthz"
    ca_file: str | None = None  # the CA file verified against, if not the system's
    status: int | None = None  # the HTTP status the server answered
    tls_error: str | None = None  # why the handshake failed (probe.http's word)

    def values(self) -> dict[str, str]:
        return {
            name: str(value) for name in self.words if (value := getattr(self, name)) is not None
        }


def from_check(outcome: Outcome, facts: Facts) -> tuple[Finding, ...]:
    own = facts.own
    if not isinstance(own, HttpFacts):
        return ()
    if outcome is TLS_ERROR and own.tls_error is not None:
        bears = _TLS.get(own.tls_error)
        if bears is None:
            return ()
        line = template("the TLS handshake with {url} failed: {tls_error}")
        return (Finding(bears[0], bears[1], line),)
    status = own.status
    if outcome is not HTTP_STATUS or status is None:
        return ()
    if status in (502, 504):
        said = "{url} answered {status}: a proxy that reached no backend"
        return (Finding(PROXY_NO_BACKEND, 90, template(said)),)
    if status == 500:
        said = "{url} answered {status}: the application failed internally"
        return (Finding(APP_UNHEALTHY, 85, template(said)),)
    if status in (404, 410, 421) or 300 <= status <= 399:
        said = "{url} answered {status}: not served as asked"
        return (Finding(WRONG_PATH_OR_VHOST, 85, template(said)),)
    if status in (401, 403):
        said = "{url} answered {status}: it wants credentials the check does not send"
        return (Finding(WRONG_PATH_OR_VHOST, 70, template(said)),)
    return ()


RULES = CauseRules(
    name="http",
    causes=(
        APP_UNHEALTHY,
        WRONG_PATH_OR_VHOST,
        PROXY_NO_BACKEND,
        OVERLOADED,
        WRONG_PROTOCOL,
        CERTIFICATE_EXPIRED,
        CERTIFICATE_UNTRUSTED,
        CERTIFICATE_NAME_MISMATCH,
        TLS_VERSION_OR_CIPHER,
    ),
    from_check=from_check,
)
