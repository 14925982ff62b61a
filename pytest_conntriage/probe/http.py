"""The HTTP probe: one GET over TCP or TLS, and the pure reading of what came back.

The I/O is `exchange()`: connect (probe.tcp, so a failed connect is exactly a tcp
check's outcome), the TLS handshake, the request, and the response read up to the end
of its head: no body, a bounded number of bytes, all within one timeout. It returns
the raw facts (`Exchange`). What they mean is decided by pure functions over bytes
and exceptions, as h11 does: `read_head()` finds the response head, `tls_failure()`
names why a handshake failed, `judge()` turns an exchange into an Attempt.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import re
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .. import __version__
from ..outcome import Outcome, classify_errno
from .result import Attempt
from .tcp import open_connection

# The response head is read up to this many bytes (h11's default bound for one event):
# enough for any status line and ordinary headers, and a server sending endless
# headers cannot make the probe hold more.
MAX_HEAD_BYTES = 16 * 1024
# Interim (1xx) responses skipped before the final one: a server sending them forever
# is not answering.
MAX_INTERIM = 8
_READ_CHUNK = 4096
# A request target the probe sends as it is: an absolute path of visible ASCII, so
# inventory text can never add a header or a second request line.
_PATH = re.compile(r"/[\x21-\x7e]*")
_STATUS_LINE = re.compile(rb"HTTP/(\d)\.(\d) ([0-9]{3})(?: ([^\r\n]*))?")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
# Headers worth quoting in a failure: where a redirect points, who answered.
_SHOWN_HEADERS = ("location", "server")

# What a GET gets once the connection is made, the http kind's own outcomes (a failed
# connect is one of the core tcp outcomes, triaged like any tcp check's).
HTTP_OK = Outcome.declare("http-ok", "the expected HTTP status came back", passes=True)
HTTP_STATUS = Outcome.declare("http-status", "the server answered with another HTTP status")
TLS_ERROR = Outcome.declare("tls-error", "the TLS handshake failed")
HTTP_MALFORMED = Outcome.declare("http-malformed", "the answer is not an HTTP response")
HTTP_TIMEOUT = Outcome.declare("http-timeout", "connected, but no HTTP answer in time")
ANSWERS = (HTTP_OK, HTTP_STATUS, TLS_ERROR, HTTP_MALFORMED, HTTP_TIMEOUT)


# -- the request -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tls:
    """How the handshake is made: verified against the system's CAs, against `ca_file`
    instead, or (`verify=False`) not verified at all."""

    verify: bool = True
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """One GET: `path` on `vhost` (the Host header, and with TLS the name sent as SNI
    and required of the certificate), over TLS when `tls` is set."""

    path: str
    vhost: str  # a name or an IP literal, without port
    port: int
    tls: Tls | None = None

    def __post_init__(self) -> None:
        if not _PATH.fullmatch(self.path):
            raise ValueError(f"not an absolute path of visible ASCII: {self.path!r}")
        if not self.vhost or any(c in self.vhost for c in " \t\r\n/@"):
            raise ValueError(f"not a host name or address: {self.vhost!r}")

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    @property
    def authority(self) -> str:
        """The Host header: the port only when it is not the scheme's own (RFC 9110)."""
        host = f"[{self.vhost}]" if ":" in self.vhost else self.vhost
        default = 443 if self.tls is not None else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """ "https://api.example.com:8443/healthz": what curl is given."""
        host = f"[{self.vhost}]" if ":" in self.vhost else self.vhost
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    def encode(self) -> bytes:
        return (
            f"GET {self.path} HTTP/1.1\r\n"
            f"Host: {self.authority}\r\n"
            f"User-Agent: pytest-conntriage/{__version__}\r\n"
            "Accept: */*\r\n"
            "Connection: close\r\n"
            "\r\n"
        ).encode("ascii")


# -- the raw facts ---------------------------------------------------------------------


class Phase(str, enum.Enum):
    """How far an exchange got; the phase an error or timeout ended it in."""

    CONNECT = "connect"
    HANDSHAKE = "handshake"  # TLS
    REQUEST = "request"  # sending it
    RESPONSE = "response"  # reading the head
    DONE = "done"  # the head was read (or the server closed, or the cap was reached)


@dataclass(frozen=True, slots=True)
class Exchange:
    """What one GET did, undecided: the connect's attempt, how far it got, the bytes
    read, and what ended it early (an exception) if anything did."""

    request: Request
    connect: Attempt  # the TCP connect (probe.tcp): OPEN when it was established
    phase: Phase
    received: bytes = b""  # at most MAX_HEAD_BYTES
    closed: bool = False  # the server closed its side (EOF)
    error: BaseException | None = None  # what ended `phase`: ssl.SSLError, OSError, ...
    timed_out: bool = False  # the timeout ended `phase`
    elapsed_ms: float = 0.0
    tls_version: str = ""  # "TLSv1.3" once a handshake completed


# -- pure: the response head -----------------------------------------------------------


class Malformed(ValueError):
    """Bytes that are not an HTTP/1.x response head; str() says what is wrong."""


@dataclass(frozen=True, slots=True)
class Head:
    """A response's status line and the headers a failure quotes."""

    status: int
    reason: str
    version: str  # "HTTP/1.1"
    headers: tuple[tuple[str, str], ...] = ()  # (lowercased name, value) of _SHOWN_HEADERS
    complete: bool = True  # False: the cap or EOF came before the end of the headers

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


def read_head(data: bytes, final: bool) -> Head | None:
    """The final response head in `data`, skipping interim (1xx) ones; None while more
    bytes are needed. `final`: no more will come (EOF, or MAX_HEAD_BYTES read), so a
    head cut short is judged by its status line alone. Raises Malformed.
    """
    rest = data
    for _ in range(MAX_INTERIM + 1):
        end = _HEAD_END.search(rest)
        if end is None:
            return _cut_short(rest, final)
        head = _parse_head(rest[: end.start()])
        # 101 Switching Protocols ends the exchange; the others announce the real answer.
        if not 100 <= head.status <= 199 or head.status == 101:
            return head
        rest = rest[end.end() :]
    raise Malformed(f"more than {MAX_INTERIM} interim (1xx) responses")


def _cut_short(data: bytes, final: bool) -> Head | None:
    # Not a status line as soon as the bytes say so: a TLS alert or another protocol's
    # banner need not wait for a line end that may never come.
    _check_prefix(data)
    line_end = _LINE_END.search(data)
    if line_end is None:
        if not final:
            return None
        if not data:
            raise Malformed("the server closed the connection without answering")
        raise Malformed(f"no complete status line: {_quote(data)}")
    head = _parse_head(data[: line_end.start()])
    if not final:
        return None
    return Head(head.status, head.reason, head.version, head.headers, complete=False)


def _check_prefix(data: bytes) -> None:
    expected = b"HTTP/"
    start = data[: len(expected)]
    if not expected.startswith(start):
        raise Malformed(f"does not start with a status line: {_quote(data)}")


def _parse_head(head: bytes) -> Head:
    lines = _LINE_END.split(head)
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise Malformed(f"not a status line: {_quote(lines[0])}")
    major, minor, status, reason = match.groups()
    if major != b"1":
        raise Malformed(f"HTTP/{major.decode()}.{minor.decode()} is not HTTP/1.x")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise Malformed(f"not a header line: {_quote(line)}")
        key = name.decode("latin-1").lower()
        if key in _SHOWN_HEADERS:
            headers.append((key, _printable(value.strip())))
    return Head(
        status=int(status),
        reason=_printable(reason or b""),
        version=f"HTTP/{major.decode()}.{minor.decode()}",
        headers=tuple(headers),
    )


def _printable(raw: bytes, limit: int = 200) -> str:
    """Server text for a report: non-printable characters escaped, long text cut."""
    text = raw.decode("latin-1")
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def _quote(raw: bytes, limit: int = 40) -> str:
    return repr(raw[:limit]) + ("…" if len(raw) > limit else "")


# -- pure: why a handshake failed ------------------------------------------------------

# OpenSSL's X509_V_ERR_* codes a person can act on, in the words of the runbook's causes.
_VERIFY_REASONS = {
    9: "certificate-not-yet-valid",
    10: "certificate-expired",
    18: "self-signed",
    19: "self-signed",  # a self-signed root in the chain that is not trusted
    20: "unknown-issuer",
    21: "unknown-issuer",
    2: "unknown-issuer",
    62: "hostname-mismatch",
    64: "hostname-mismatch",  # X509_V_ERR_IP_ADDRESS_MISMATCH
    23: "certificate-revoked",
}
# OpenSSL's reason codes (ssl.SSLError.reason) for handshakes that failed on terms.
_SSL_REASONS = {
    "WRONG_VERSION_NUMBER": "not-tls",
    "HTTP_REQUEST": "not-tls",
    "PACKET_LENGTH_TOO_LONG": "not-tls",
    "RECORD_LAYER_FAILURE": "not-tls",
    "UNSUPPORTED_PROTOCOL": "protocol-version",
    "TLSV1_ALERT_PROTOCOL_VERSION": "protocol-version",
    "NO_PROTOCOLS_AVAILABLE": "protocol-version",
    "TLSV1_ALERT_INAPPROPRIATE_FALLBACK": "protocol-version",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "handshake-failure",
    "NO_SHARED_CIPHER": "no-shared-cipher",
    "NO_CIPHERS_AVAILABLE": "no-shared-cipher",
    "TLSV1_ALERT_UNRECOGNIZED_NAME": "unrecognized-name",
    "TLSV1_UNRECOGNIZED_NAME": "unrecognized-name",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "client-certificate",
    "SSLV3_ALERT_BAD_CERTIFICATE": "client-certificate",
    "TLSV1_ALERT_UNKNOWN_CA": "client-certificate",
}


@dataclass(frozen=True, slots=True)
class TlsFailure:
    """Why a TLS handshake failed: a stable reason word and the library's own words."""

    reason: str  # "certificate-expired", "hostname-mismatch", "not-tls", ...
    text: str  # "certificate verify failed: certificate has expired"


def tls_failure(error: BaseException) -> TlsFailure:
    """Name why the handshake that raised `error` failed."""
    if isinstance(error, ssl.SSLCertVerificationError):
        code = error.verify_code
        message = error.verify_message or "certificate verify failed"
        reason = _VERIFY_REASONS.get(code, "certificate-invalid")
        return TlsFailure(reason, f"certificate verify failed: {message} (X509 error {code})")
    if isinstance(error, ssl.SSLEOFError):
        return TlsFailure("closed", "the server closed the connection during the handshake")
    if isinstance(error, ssl.SSLError):
        reason = _SSL_REASONS.get(str(error.reason or ""), "handshake-failure")
        return TlsFailure(reason, _ssl_words(error))
    if isinstance(error, (ConnectionResetError, BrokenPipeError)):
        return TlsFailure("closed", "the server reset the connection during the handshake")
    if isinstance(error, OSError):
        return TlsFailure("handshake-failure", f"{error.strerror or error}")
    return TlsFailure("handshake-failure", f"{type(error).__name__}: {error}")


def _ssl_words(error: ssl.SSLError) -> str:
    # "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:992)" → the middle words.
    text = str(error.args[1] if len(error.args) > 1 else error)
    text = re.sub(r"^\[[^\]]*\]\s*", "", text)
    return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", text) or str(error.reason or "ssl error")


# -- pure: the verdict -----------------------------------------------------------------


def judge(exchange: Exchange, expected: Sequence[int]) -> Attempt:
    """What `exchange` means for a check that wants one of the `expected` statuses.

    A failed connect is its own attempt, unchanged: refused, timeout, unreachable, ...
    with its ICMP error, as a tcp check would report it.
    """
    if exchange.connect.outcome is not Outcome.OPEN:
        return exchange.connect
    asked = f"GET {exchange.request.url}"
    if exchange.timed_out:
        if exchange.phase is Phase.HANDSHAKE:
            return _attempt(
                exchange, HTTP_TIMEOUT, "connected, but the TLS handshake got no answer"
            )
        partial = f" ({len(exchange.received)} bytes of it)" if exchange.received else ""
        return _attempt(
            exchange, HTTP_TIMEOUT, f"connected, but no complete answer to {asked}{partial}"
        )
    if exchange.error is not None:
        return _broken(exchange, exchange.error)
    try:
        head = read_head(exchange.received, final=True)
    except Malformed as exc:
        return _attempt(exchange, HTTP_MALFORMED, f"the answer to {asked} is not HTTP: {exc}")
    assert head is not None  # final=True never asks for more
    got = f"{head.status} {head.reason}".rstrip()
    if head.status in expected:
        return _attempt(exchange, HTTP_OK, f"{asked} answered {got}")
    shown = "".join(f"; {name.title()}: {value}" for name, value in head.headers)
    wanted = " or ".join(str(s) for s in expected)
    return _attempt(exchange, HTTP_STATUS, f"{asked} answered {got}, expected {wanted}{shown}")


_ANSWERED = re.compile(r" answered ([0-9]{3})\b")


def answered_status(attempt: Attempt) -> int | None:
    """The status an http attempt got back (http-ok, http-status); None for any other.

    Read from the detail judge() wrote: the one place that format is made.
    """
    if attempt.outcome not in (HTTP_OK, HTTP_STATUS):
        return None
    found = _ANSWERED.search(attempt.detail)
    return int(found.group(1)) if found else None


def tls_reason(attempt: Attempt) -> str | None:
    """The reason word of a tls-error attempt ("certificate-expired"); None for others."""
    if attempt.outcome is not TLS_ERROR:
        return None
    return attempt.detail.partition(": ")[0] or None


def _broken(exchange: Exchange, error: BaseException) -> Attempt:
    """What ended the exchange early: a failed handshake, or a connection that broke
    while the request was sent or the answer read."""
    if exchange.phase is Phase.HANDSHAKE or isinstance(error, ssl.SSLError):
        failure = tls_failure(error)
        # An SSLError's errno is OpenSSL's error class, not the system's.
        code = None if isinstance(error, ssl.SSLError) else getattr(error, "errno", None)
        return _attempt(exchange, TLS_ERROR, f"{failure.reason}: {failure.text}", code)
    if isinstance(error, OSError):
        code = error.errno
        outcome = classify_errno(code)
        if outcome is Outcome.PROBE_ERROR:
            # Connected, so the target was reached: whatever broke it came from there.
            outcome = Outcome.RESET
        words = error.strerror or str(error) or type(error).__name__
        return _attempt(
            exchange, outcome, f"connected, then {words} during the {exchange.phase.value}", code
        )
    return _attempt(
        exchange, Outcome.PROBE_ERROR, f"the probe failed: {type(error).__name__}: {error}"
    )


def _attempt(exchange: Exchange, outcome: Outcome, detail: str, code: int | None = None) -> Attempt:
    connect = exchange.connect
    return Attempt(outcome, exchange.elapsed_ms, connect.address, connect.port, code, detail)


# -- the I/O ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def tls_context(tls: Tls) -> ssl.SSLContext:
    """The client context for `tls`, made once per process (loading CAs is costly).

    Raises OSError or ssl.SSLError for a CA file that cannot be read.
    """
    context = ssl.create_default_context(cafile=tls.ca_file)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


async def exchange(address: str, request: Request, timeout: float) -> Exchange:
    """GET `request` from `address`, all of it (connect, handshake, request, response
    head) within `timeout` seconds. Never raises: what went wrong is in the Exchange.
    """
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    context: ssl.SSLContext | None = None
    if request.tls is not None:
        try:
            context = tls_context(request.tls)
        except OSError as exc:  # ssl.SSLError is one
            where = request.tls.ca_file or "the system's CA certificates"
            detail = f"cannot load {where}: {exc.strerror or exc}"
            failed = Attempt(Outcome.PROBE_ERROR, 0.0, address, request.port, None, detail)
            return Exchange(request, failed, Phase.CONNECT)
    connected, sock = await open_connection(address, request.port, timeout)
    if sock is None:
        return Exchange(request, connected, Phase.CONNECT, elapsed_ms=connected.elapsed_ms)
    phase = Phase.HANDSHAKE if context is not None else Phase.REQUEST
    writer: asyncio.StreamWriter | None = None
    received = bytearray()
    try:
        reader, opened = await asyncio.wait_for(
            asyncio.open_connection(
                sock=sock,
                ssl=context,
                server_hostname=request.vhost if context is not None else None,
                # The deadline below bounds it; asyncio's own would only race it.
                ssl_handshake_timeout=timeout + 1.0 if context is not None else None,
            ),
            _left(deadline),
        )
        writer = opened
        tls_version = ""
        if context is not None:
            ssl_object = opened.get_extra_info("ssl_object")
            tls_version = (ssl_object.version() or "") if ssl_object is not None else ""
        phase = Phase.REQUEST
        opened.write(request.encode())
        await asyncio.wait_for(opened.drain(), _left(deadline))
        phase = Phase.RESPONSE
        closed = False
        while len(received) < MAX_HEAD_BYTES:
            chunk = await asyncio.wait_for(
                reader.read(min(_READ_CHUNK, MAX_HEAD_BYTES - len(received))), _left(deadline)
            )
            if not chunk:
                closed = True
                break
            received += chunk
            try:
                if read_head(bytes(received), final=False) is not None:
                    break
            except Malformed:
                break  # judged as such; no need to wait for more
        return Exchange(
            request,
            connected,
            Phase.DONE,
            bytes(received),
            closed=closed,
            elapsed_ms=_ms_since(started),
            tls_version=tls_version,
        )
    except (asyncio.TimeoutError, TimeoutError):
        elapsed = _ms_since(started)
        return Exchange(
            request, connected, phase, bytes(received), timed_out=True, elapsed_ms=elapsed
        )
    except OSError as exc:  # ssl.SSLError is one
        elapsed = _ms_since(started)
        return Exchange(request, connected, phase, bytes(received), error=exc, elapsed_ms=elapsed)
    finally:
        if writer is not None:
            # abort, not close: a TLS close waits for the peer's close_notify, and a
            # server that stopped answering must not hold the probe past its timeout.
            writer.transport.abort()
        else:
            sock.close()


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
