"""The HTTP probe: the pure reading of responses and handshake errors as tables, then
real GETs against loopback servers (plain and TLS, with certificates made here)."""

from __future__ import annotations

import asyncio
import errno
import ssl
from pathlib import Path

import pytest

from pytest_conntriage.demo.http_servers import HttpServer, Pki, SilentListener, response
from pytest_conntriage.demo.listeners import closed_port
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.http import (
    HTTP_MALFORMED,
    HTTP_OK,
    HTTP_STATUS,
    HTTP_TIMEOUT,
    MAX_HEAD_BYTES,
    TLS_ERROR,
    Exchange,
    Malformed,
    Phase,
    Request,
    Tls,
    answered_status,
    exchange,
    judge,
    read_head,
    tls_failure,
    tls_reason,
)
from pytest_conntriage.probe.result import Attempt

# -- pure: the response head -----------------------------------------------------------

HEADS = [
    (b"HTTP/1.1 200 OK\r\n\r\n", 200, "OK"),
    (b"HTTP/1.0 503 Service Unavailable\r\nServer: x\r\n\r\n", 503, "Service Unavailable"),
    (b"HTTP/1.1 204\r\n\r\n", 204, ""),  # no reason phrase: h11 accepts it too
    (b"HTTP/1.1 200 OK\n\n", 200, "OK"),  # bare LF line ends
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n\r\n", 201, "Created"),
    (b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 200, "OK"),
    (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", 101, "Switching Protocols"),
]


@pytest.mark.parametrize(("data", "status", "reason"), HEADS)
def test_a_complete_head_gives_the_final_status(data: bytes, status: int, reason: str) -> None:
    head = read_head(data, final=False)
    assert head is not None
    assert (head.status, head.reason, head.complete) == (status, reason, True)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"HTT",
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 200 OK\r\nServer: x\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
    ],
)
def test_a_head_not_yet_complete_asks_for_more(data: bytes) -> None:
    assert read_head(data, final=False) is None


MALFORMED = [
    (b"", "closed the connection without answering"),
    (b"\x15\x03\x01\x00\x02\x02\x46", "does not start with a status line"),  # a TLS alert
    (b"SSH-2.0-OpenSSH_9.2\r\n", "does not start with a status line"),
    (b"HTTP/1.1 OK\r\n", "not a status line"),
    (b"HTTP/1.1 20 OK\r\n\r\n", "not a status line"),
    (b"HTTP/2.0 200 OK\r\n\r\n", "is not HTTP/1.x"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "not a header line"),
    (b"HTTP/1.1 200 OK\r\n : empty name\r\n\r\n", "not a header line"),
    (b"HTTP/1.1 100 Continue\r\n\r\n" * 9 + b"HTTP/1.1 200 OK\r\n\r\n", "interim"),
]


@pytest.mark.parametrize(("data", "words"), MALFORMED)
def test_what_is_not_an_http_head_says_why(data: bytes, words: str) -> None:
    with pytest.raises(Malformed, match=words):
        read_head(data, final=True)


def test_not_http_is_known_before_a_line_end_arrives() -> None:
    # A TLS server answering plain text sends an alert and may keep the connection:
    # waiting for a line end would turn a clear answer into a timeout.
    with pytest.raises(Malformed):
        read_head(b"\x15\x03", final=False)


def test_a_head_cut_short_by_the_cap_is_judged_by_its_status_line() -> None:
    data = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * MAX_HEAD_BYTES
    head = read_head(data, final=True)
    assert head is not None
    assert (head.status, head.complete) == (200, False)


def test_server_text_reaches_a_report_escaped_and_bounded() -> None:
    head = read_head(b"HTTP/1.1 302 \x1b[31mFound\r\nLocation: /x\x00\r\n\r\n", final=True)
    assert head is not None
    assert head.reason == "\\x1b[31mFound"
    assert head.header("location") == "/x\\x00"


# -- pure: the request -----------------------------------------------------------------


def test_the_request_is_one_bounded_get() -> None:
    request = Request("/healthz?full=1", "api.example.com", 8443, Tls())
    assert request.encode().startswith(
        b"GET /healthz?full=1 HTTP/1.1\r\nHost: api.example.com:8443\r\n"
    )
    assert b"Connection: close\r\n\r\n" in request.encode()
    assert request.url == "https://api.example.com:8443/healthz?full=1"
    assert Request("/", "2001:db8::1", 80).authority == "[2001:db8::1]"
    assert Request("/", "api.example.com", 443, Tls()).authority == "api.example.com"


@pytest.mark.parametrize(
    ("path", "vhost"),
    [
        ("healthz", "a"),
        ("/a b", "a"),
        ("/a\r\nX-Evil: 1", "a"),
        ("/é", "a"),
        ("/", "a b"),
        ("/", ""),
    ],
)
def test_inventory_text_cannot_add_to_the_request(path: str, vhost: str) -> None:
    with pytest.raises(ValueError, match="not"):
        Request(path, vhost, 80)


# -- pure: handshake failures ----------------------------------------------------------


def _verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    error.verify_code = code
    error.verify_message = message
    return error


def _ssl_error(reason: str, words: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] {words} (_ssl.c:1000)")
    error.reason = reason
    return error


TLS_FAILURES = [
    (_verify_error(10, "certificate has expired"), "certificate-expired", "has expired"),
    (_verify_error(18, "self-signed certificate"), "self-signed", "self-signed"),
    (_verify_error(20, "unable to get local issuer certificate"), "unknown-issuer", "issuer"),
    (
        _verify_error(62, "Hostname mismatch, certificate is not valid for 'x'."),
        "hostname-mismatch",
        "not valid for 'x'",
    ),
    (_verify_error(64, "IP address mismatch"), "hostname-mismatch", "IP address mismatch"),
    (_verify_error(99, "something new"), "certificate-invalid", "something new"),
    (_ssl_error("WRONG_VERSION_NUMBER", "wrong version number"), "not-tls", "wrong version"),
    (
        _ssl_error("TLSV1_ALERT_PROTOCOL_VERSION", "tlsv1 alert protocol version"),
        "protocol-version",
        "protocol version",
    ),
    (_ssl_error("UNSUPPORTED_PROTOCOL", "unsupported protocol"), "protocol-version", "unsup"),
    (
        _ssl_error("SSLV3_ALERT_HANDSHAKE_FAILURE", "sslv3 alert handshake failure"),
        "handshake-failure",
        "handshake failure",
    ),
    (
        _ssl_error("TLSV1_ALERT_UNRECOGNIZED_NAME", "unrecognized name"),
        "unrecognized-name",
        "unrecognized",
    ),
    (_ssl_error("SOMETHING_ELSE", "odd"), "handshake-failure", "odd"),
    (_ssl_error("NO_SHARED_CIPHER", "no shared cipher"), "no-shared-cipher", "cipher"),
    (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), "closed", "closed"),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "closed", "reset"),
]


@pytest.mark.parametrize(("error", "reason", "words"), TLS_FAILURES)
def test_a_failed_handshake_is_named(error: BaseException, reason: str, words: str) -> None:
    failure = tls_failure(error)
    assert failure.reason == reason
    assert words in failure.text
    assert "_ssl.c" not in failure.text


# -- pure: the verdict -----------------------------------------------------------------

REQUEST = Request("/healthz", "api.test", 8080)
OPEN = Attempt(Outcome.OPEN, 1.0, "127.0.0.2", 8080)


def _exchange(phase: Phase = Phase.DONE, received: bytes = b"", **facts: object) -> Exchange:
    return Exchange(REQUEST, OPEN, phase, received, **facts)  # type: ignore[arg-type]


VERDICTS = [
    (_exchange(received=b"HTTP/1.1 200 OK\r\n\r\n"), HTTP_OK, "answered 200 OK"),
    (_exchange(received=b"HTTP/1.1 204 No Content\r\n\r\n"), HTTP_OK, "204"),
    (
        _exchange(received=b"HTTP/1.1 503 Service Unavailable\r\n\r\n"),
        HTTP_STATUS,
        "answered 503 Service Unavailable, expected 200 or 204",
    ),
    (
        _exchange(received=b"HTTP/1.1 301 Moved\r\nLocation: https://api.test/\r\n\r\n"),
        HTTP_STATUS,
        "Location: https://api.test/",
    ),
    (_exchange(received=b"", closed=True), HTTP_MALFORMED, "without answering"),
    (_exchange(received=b"\x15\x03\x01\x00\x02\x02\x46"), HTTP_MALFORMED, "not HTTP"),
    (_exchange(Phase.RESPONSE, timed_out=True), HTTP_TIMEOUT, "no complete answer"),
    (
        _exchange(Phase.RESPONSE, b"HTTP/1.1 200", timed_out=True),
        HTTP_TIMEOUT,
        "(12 bytes of it)",
    ),
    (_exchange(Phase.HANDSHAKE, timed_out=True), HTTP_TIMEOUT, "TLS handshake"),
    (
        _exchange(Phase.HANDSHAKE, error=_verify_error(10, "certificate has expired")),
        TLS_ERROR,
        "certificate-expired: certificate verify failed",
    ),
    (
        _exchange(Phase.RESPONSE, error=ConnectionResetError(errno.ECONNRESET, "reset by peer")),
        Outcome.RESET,
        "reset by peer during the response",
    ),
    (
        _exchange(Phase.REQUEST, error=BrokenPipeError(errno.EPIPE, "Broken pipe")),
        Outcome.RESET,
        "Broken pipe during the request",
    ),
    (
        _exchange(Phase.RESPONSE, error=_ssl_error("TLSV13_ALERT_CERTIFICATE_REQUIRED", "cert")),
        TLS_ERROR,
        "client-certificate",
    ),
]


@pytest.mark.parametrize(("exchanged", "outcome", "words"), VERDICTS)
def test_an_exchange_is_judged(exchanged: Exchange, outcome: Outcome, words: str) -> None:
    attempt = judge(exchanged, (200, 204))
    assert attempt.outcome is outcome
    assert words in attempt.detail
    assert (attempt.address, attempt.port) == ("127.0.0.2", 8080)


def test_the_status_and_the_tls_reason_are_read_back_from_the_verdict() -> None:
    ok = judge(_exchange(received=b"HTTP/1.1 200 OK\r\n\r\n"), (200,))
    other = judge(_exchange(received=b"HTTP/1.1 503 answered 200\r\n\r\n"), (200,))
    tls = judge(_exchange(Phase.HANDSHAKE, error=_verify_error(10, "certificate has expired")), ())
    assert (answered_status(ok), answered_status(other), answered_status(tls)) == (200, 503, None)
    assert (tls_reason(tls), tls_reason(other)) == ("certificate-expired", None)
    refused = Attempt(Outcome.REFUSED, 0.2, "127.0.0.2", 8080, errno.ECONNREFUSED)
    assert (answered_status(refused), tls_reason(refused)) == (None, None)


def test_a_handshake_errno_is_the_systems_never_openssls() -> None:
    # SSLError.errno is OpenSSL's error class (1 = SSL_ERROR_SSL): shown as an errno it
    # would read EPERM, which is the client's own firewall in this taxonomy.
    tls = judge(_exchange(Phase.HANDSHAKE, error=_ssl_error("WRONG_VERSION_NUMBER", "w")), (200,))
    assert tls.errno is None
    reset = judge(
        _exchange(Phase.HANDSHAKE, error=ConnectionResetError(errno.ECONNRESET, "r")), (200,)
    )
    assert (reset.outcome, reset.errno) == (TLS_ERROR, errno.ECONNRESET)


@pytest.mark.parametrize(
    "connect",
    [
        Attempt(Outcome.REFUSED, 0.2, "127.0.0.2", 8080, errno.ECONNREFUSED),
        Attempt(Outcome.TIMEOUT, 500.0, "127.0.0.2", 8080, errno.ETIMEDOUT),
        Attempt(Outcome.PROBE_ERROR, 0.0, "127.0.0.2", 8080, errno.EMFILE, "no socket"),
    ],
)
def test_a_failed_connect_is_the_tcp_attempt_itself(connect: Attempt) -> None:
    assert judge(Exchange(REQUEST, connect, Phase.CONNECT), (200,)) is connect


# -- real GETs on loopback -------------------------------------------------------------


def get(address: str, request: Request, timeout: float = 2.0, expected: int = 200) -> Attempt:
    return judge(asyncio.run(exchange(address, request, timeout)), (expected,))


def test_the_expected_status_passes_and_the_request_is_what_was_asked() -> None:
    with HttpServer("127.0.0.2", {"/healthz": response(200, "OK")}) as server:
        attempt = get("127.0.0.2", Request("/healthz", "api.test", server.port))
    assert attempt.outcome is HTTP_OK
    assert attempt.detail == f"GET http://api.test:{server.port}/healthz answered 200 OK"
    assert server.requests[0].startswith(
        f"GET /healthz HTTP/1.1\r\nHost: api.test:{server.port}\r\n".encode()
    )


def test_another_status_is_a_status_mismatch() -> None:
    answers = {"/healthz": response(503, "Service Unavailable", {"Server": "edge"})}
    with HttpServer("127.0.0.2", answers) as server:
        attempt = get("127.0.0.2", Request("/healthz", "127.0.0.2", server.port))
        missing = get("127.0.0.2", Request("/nope", "127.0.0.2", server.port))
    assert attempt.outcome is HTTP_STATUS
    assert "answered 503 Service Unavailable, expected 200; Server: edge" in attempt.detail
    assert missing.outcome is HTTP_STATUS
    assert "404 Not Found" in missing.detail


def test_a_closed_port_is_refused_as_tcp_says() -> None:
    attempt = get("127.0.0.3", Request("/", "127.0.0.3", closed_port("127.0.0.3")))
    assert attempt.outcome is Outcome.REFUSED
    assert attempt.errno == errno.ECONNREFUSED


def test_a_server_that_never_answers_times_out_within_the_timeout() -> None:
    with SilentListener("127.0.0.2") as listener:
        attempt = get("127.0.0.2", Request("/", "127.0.0.2", listener.port), timeout=0.3)
    assert attempt.outcome is HTTP_TIMEOUT
    assert 250 <= attempt.elapsed_ms < 1500


def test_a_tls_server_that_never_answers_times_out_in_the_handshake() -> None:
    with SilentListener("127.0.0.2") as listener:
        request = Request("/", "127.0.0.2", listener.port, Tls())
        attempt = get("127.0.0.2", request, timeout=0.3)
    assert attempt.outcome is HTTP_TIMEOUT
    assert "TLS handshake" in attempt.detail
    assert attempt.elapsed_ms < 1500


def test_an_application_that_hangs_after_the_request_times_out() -> None:
    with HttpServer("127.0.0.2", {"/slow": None}) as server:
        attempt = get("127.0.0.2", Request("/slow", "127.0.0.2", server.port), timeout=0.3)
    assert attempt.outcome is HTTP_TIMEOUT
    assert "no complete answer" in attempt.detail


def test_a_server_closing_without_an_answer_is_malformed() -> None:
    with HttpServer("127.0.0.2", {"/": b""}) as server:
        attempt = get("127.0.0.2", Request("/", "127.0.0.2", server.port))
    assert attempt.outcome is HTTP_MALFORMED
    assert "without answering" in attempt.detail


def test_endless_headers_are_read_only_up_to_the_cap() -> None:
    endless = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * (4 * MAX_HEAD_BYTES) + b"\r\n\r\n"
    with HttpServer("127.0.0.2", {"/": endless}) as server:
        attempt = get("127.0.0.2", Request("/", "127.0.0.2", server.port))
    assert attempt.outcome is HTTP_OK


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.create(tmp_path_factory.mktemp("pki"))


def test_tls_with_the_ca_given_passes(pki: Pki) -> None:
    with HttpServer("127.0.0.1", {"/": response(200, "OK")}, pki.server_context()) as server:
        request = Request("/", "localhost", server.port, Tls(ca_file=str(pki.ca_file)))
        attempt = get("127.0.0.1", request)
        by_address = get("127.0.0.1", Request("/", "127.0.0.1", server.port, request.tls))
    assert attempt.outcome is HTTP_OK
    assert attempt.detail.startswith(f"GET https://localhost:{server.port}/ answered 200")
    assert by_address.outcome is HTTP_OK  # the certificate names 127.0.0.1 too


def test_tls_against_the_system_cas_fails_verification_for_a_private_ca(pki: Pki) -> None:
    with HttpServer("127.0.0.1", {"/": response(200, "OK")}, pki.server_context()) as server:
        attempt = get("127.0.0.1", Request("/", "localhost", server.port, Tls()))
    assert attempt.outcome is TLS_ERROR
    assert attempt.detail.startswith("unknown-issuer: certificate verify failed")


def test_tls_without_verification_passes_anything(pki: Pki) -> None:
    context = pki.server_context(self_signed=True, expired=True)
    with HttpServer("127.0.0.1", {"/": response(200, "OK")}, context) as server:
        attempt = get("127.0.0.1", Request("/", "other.test", server.port, Tls(verify=False)))
    assert attempt.outcome is HTTP_OK


@pytest.mark.parametrize(
    ("options", "vhost", "reason"),
    [
        ({"expired": True}, "localhost", "certificate-expired"),
        ({"self_signed": True}, "localhost", "self-signed"),
        ({}, "other.test", "hostname-mismatch"),
        ({"names": (), "addresses": ("127.0.0.9",)}, "127.0.0.1", "hostname-mismatch"),
    ],
)
def test_a_certificate_that_fails_verification_says_why(
    pki: Pki, options: dict[str, object], vhost: str, reason: str
) -> None:
    context = pki.server_context(**options)  # type: ignore[arg-type]
    with HttpServer("127.0.0.1", {"/": response(200, "OK")}, context) as server:
        request = Request("/", vhost, server.port, Tls(ca_file=str(pki.ca_file)))
        attempt = get("127.0.0.1", request)
    assert attempt.outcome is TLS_ERROR
    assert attempt.detail.startswith(f"{reason}: certificate verify failed")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_an_old_protocol_version_is_a_tls_error(pki: Pki) -> None:
    # OpenSSL 3 refuses TLS 1.1 at its default security level on both sides: the
    # server offers only it, the client cannot agree.
    context = pki.server_context(maximum_version=ssl.TLSVersion.TLSv1_1)
    with HttpServer("127.0.0.1", {"/": response(200, "OK")}, context) as server:
        request = Request("/", "localhost", server.port, Tls(ca_file=str(pki.ca_file)))
        attempt = get("127.0.0.1", request)
    assert attempt.outcome is TLS_ERROR
    assert attempt.detail.startswith("protocol-version: ")


def test_tls_to_a_plain_http_port_is_not_tls() -> None:
    with HttpServer("127.0.0.2", {"/": response(200, "OK")}) as server:
        attempt = get("127.0.0.2", Request("/", "127.0.0.2", server.port, Tls()))
    assert attempt.outcome is TLS_ERROR
    assert attempt.detail.startswith("not-tls: ")


def test_a_tls_alert_to_plain_http_is_malformed_at_once() -> None:
    # What some TLS servers answer a plain request with (others reset): a fatal alert,
    # and the connection kept open. Judged on its first bytes, not after the timeout.
    alert = b"\x15\x03\x01\x00\x02\x02\x46"
    with HttpServer("127.0.0.2", {"/": alert}, hold=True) as server:
        attempt = get("127.0.0.2", Request("/", "127.0.0.2", server.port), timeout=5)
    assert attempt.outcome is HTTP_MALFORMED
    assert "does not start with a status line: b'\\x15\\x03" in attempt.detail
    assert attempt.elapsed_ms < 2000


def test_a_ca_file_that_cannot_be_read_is_a_probe_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    attempt = get("127.0.0.3", Request("/", "x.test", 1, Tls(ca_file=str(missing))))
    assert attempt.outcome is Outcome.PROBE_ERROR
    assert f"cannot load {missing}" in attempt.detail
