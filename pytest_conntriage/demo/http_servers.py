"""Loopback HTTP servers for tests and the demo: chosen answers, optional TLS, made certificates.

Each server answers every request on a path with the raw bytes the test chose (so a
test can send a wrong status, a malformed head, interim responses or no answer at all),
from a thread per connection, on a loopback address only. The certificates are made
here with `cryptography` (installed with paramiko): a private CA, and server
certificates signed by it (valid, expired, self-signed or for other names).
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# What a path answers unless the test says otherwise.
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


def response(status: int, reason: str = "", headers: Mapping[str, str] | None = None) -> bytes:
    """A complete response head with an empty body."""
    lines = [f"HTTP/1.1 {status} {reason}".rstrip(), "Content-Length: 0"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class HttpServer:
    """Answers `answers[path]` (raw bytes; None: read the request and never answer),
    then closes the connection (or, with `hold`, keeps it open until the server stops)."""

    def __init__(
        self,
        address: str = "127.0.0.1",
        answers: Mapping[str, bytes | None] | None = None,
        tls: ssl.SSLContext | None = None,
        hold: bool = False,
    ) -> None:
        self.address = address
        self.hold = hold  # keep each connection open after answering, until the end
        self.answers = dict(answers or {})
        self.tls = tls
        self.port = 0
        self.requests: list[bytes] = []  # each request head, as received
        self._sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> HttpServer:
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.address, 0))
        sock.listen(16)
        sock.settimeout(0.1)
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._spawn(self._accept, sock)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        with self._lock:
            for conn in self._open:
                conn.close()
        for thread in list(self._threads):
            thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self, sock: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._open.append(conn)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        stream = conn
        try:
            if self.tls is not None:
                # Takes the descriptor over from `conn`: closing `stream` closes it.
                stream = self.tls.wrap_socket(conn, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = stream.recv(4096)
                if not chunk:
                    return
                head += chunk
                if not head[:1].isalpha():
                    # Not a request line (a TLS ClientHello): refused at once, as
                    # nginx and most servers do, not after waiting for a line end.
                    stream.sendall(response(400, "Bad Request"))
                    return
            self.requests.append(head)
            path = head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else ""
            answer = self.answers.get(path, NOT_FOUND)
            if answer is None:
                self._stopping.wait(10)  # never answers; the test's end closes it
                return
            stream.sendall(answer)
            if self.hold:
                self._stopping.wait(10)
        except OSError:
            pass  # a failed handshake or a client gone: what the test is about
        finally:
            stream.close()
            conn.close()


class SilentListener:
    """Completes TCP handshakes (the kernel's accept queue) and never reads or answers."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.address = address
        self.port = 0
        self._sock: socket.socket | None = None

    def __enter__(self) -> SilentListener:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.address, 0))
        sock.listen(16)
        self.port = sock.getsockname()[1]
        self._sock = sock
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._sock is not None:
            self._sock.close()


@dataclass(frozen=True)
class Pki:
    """A private CA (its certificate at `ca_file`) that signs server certificates."""

    directory: Path
    ca_file: Path
    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate

    @classmethod
    def create(cls, directory: Path) -> Pki:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conntriage test CA")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        ca_file = directory / "ca.pem"
        ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(directory, ca_file, key, cert)

    def server_context(
        self,
        names: tuple[str, ...] = ("localhost",),
        addresses: tuple[str, ...] = ("127.0.0.1",),
        expired: bool = False,
        self_signed: bool = False,
        maximum_version: ssl.TLSVersion | None = None,
    ) -> ssl.SSLContext:
        """A server context whose certificate is for `names` and `addresses`."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (names or addresses)[0])])
        now = datetime.datetime.now(datetime.timezone.utc)
        start, end = (
            (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1))
            if expired
            else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=1))
        )
        alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
        issuer, signer = (subject, key) if self_signed else (self.ca_cert.subject, self.ca_key)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
        cert = builder.sign(signer, hashes.SHA256())
        stem = self.directory / f"server-{cert.serial_number:x}"
        cert_file, key_file = stem.with_suffix(".pem"), stem.with_suffix(".key")
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        if maximum_version is not None:
            context.maximum_version = maximum_version
        return context
