"""A small authoritative DNS server on loopback (UDP and TCP), for tests and the demo."""

from __future__ import annotations

import selectors
import socket
import struct
import threading
from collections.abc import Mapping, Sequence
from enum import Enum
from types import TracebackType

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from ..outcome import address_family


class Behaviour(str, Enum):
    """What the server does for a name instead of answering it."""

    NXDOMAIN = "nxdomain"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    DROP = "drop"  # never answer: the client times out
    NODATA = "nodata"


class LoopbackDnsServer:
    """Answers A/AAAA from `records`; `behaviours` per name; anything else NXDOMAIN."""

    def __init__(
        self,
        address: str = "127.0.0.1",
        port: int = 0,
        records: Mapping[str, Sequence[str]] | None = None,
        behaviours: Mapping[str, Behaviour] | None = None,
    ) -> None:
        self.address = address
        self.port = port
        self.records = {_key(k): list(v) for k, v in (records or {}).items()}
        self.behaviours = {_key(k): v for k, v in (behaviours or {}).items()}
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def where(self) -> str:
        return f"{self.address}:{self.port}"

    def start(self) -> LoopbackDnsServer:
        family = address_family(self.address)
        for _ in range(20):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            udp.bind((self.address, self.port))
            port = udp.getsockname()[1]
            tcp = socket.socket(family, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.address, port))
            except OSError:
                udp.close()
                tcp.close()
                if self.port:
                    raise
                continue
            tcp.listen(64)
            self.port, self._udp, self._tcp = port, udp, tcp
            break
        else:
            raise OSError(f"no port free for both UDP and TCP on {self.address}")
        self._thread = threading.Thread(target=self._serve, name="loopback-dns", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()
        self._udp = self._tcp = None

    def __enter__(self) -> LoopbackDnsServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _serve(self) -> None:
        assert self._udp is not None
        assert self._tcp is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._udp, selectors.EVENT_READ)
            selector.register(self._tcp, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.1):
                    if key.fileobj is self._udp:
                        self._serve_udp(self._udp)
                    else:
                        self._serve_tcp(self._tcp)

    def _serve_udp(self, sock: socket.socket) -> None:
        try:
            wire, peer = sock.recvfrom(65535)
        except OSError:
            return
        answer = self.answer(wire)
        if answer is not None:
            sock.sendto(answer, peer)

    def _serve_tcp(self, sock: socket.socket) -> None:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(1.0)
            try:
                size = struct.unpack("!H", _read(conn, 2))[0]
                answer = self.answer(_read(conn, size))
                if answer is not None:
                    conn.sendall(struct.pack("!H", len(answer)) + answer)
            except (OSError, struct.error):
                return

    def answer(self, wire: bytes) -> bytes | None:
        """The response to one query in wire format; None to stay silent."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        question = query.question[0]
        name = _key(question.name.to_text())
        behaviour = self.behaviours.get(name)
        if behaviour is Behaviour.DROP:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if behaviour in _RCODES:
            response.set_rcode(_RCODES[behaviour])
        elif behaviour is Behaviour.NODATA:
            pass
        elif name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            family = {dns.rdatatype.A: ".", dns.rdatatype.AAAA: ":"}.get(question.rdtype)
            found = [a for a in self.records[name] if family and (":" in a) == (family == ":")]
            if found:
                rrset = dns.rrset.from_text_list(
                    question.name, 60, dns.rdataclass.IN, question.rdtype, found
                )
                response.answer.append(rrset)
        return response.to_wire()


_RCODES = {
    Behaviour.NXDOMAIN: dns.rcode.NXDOMAIN,
    Behaviour.SERVFAIL: dns.rcode.SERVFAIL,
    Behaviour.REFUSED: dns.rcode.REFUSED,
}


def _key(name: str) -> str:
    return name.lower().rstrip(".")


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data
