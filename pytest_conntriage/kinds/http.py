"""The http kind: a GET of a path from each vantage to each port must answer an expected status.

Everything up to the connect is the tcp kind's (names resolved, every address tried,
the connect's outcome and its evidence and triage); after it, probe.http decides what
came back. A TLS failure's reason and an answered status are the check's own facts
(HttpFacts, in Facts.own; its placeholders {url} {ca_file} {status} {tls_error} are
the http runbook entry's): triage.causes.http weighs the http-endpoint entry's
causes from them, with no host evidence needed.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..checks import host_port
from ..inventory.addresses import address_problem
from ..inventory.model import LOCAL_VANTAGE, Inventory, Location
from ..outcome import Outcome
from ..probe.http import (
    ANSWERS,
    HTTP_OK,
    Request,
    Tls,
    answered_status,
    exchange,
    judge,
    tls_reason,
)
from ..probe.result import Attempt, ProbeResult
from ..triage.causes.http import HttpFacts
from ..triage.model import Facts
from .dns import ms
from .protocol import Investigation, ProbeContext, SectionReader
from .tcp import TcpCheck, TcpKind, service_checks

if TYPE_CHECKING:
    from ..marked_yaml import DocPath
    from .protocol import Kind


# The service key this kind owns (`http:`) and its definitions: the inventory schema's
# part that is the http kind's, beside this module.
SCHEMA = MappingProxyType(
    json.loads(Path(__file__).with_name("http.schema.json").read_text(encoding="utf-8"))
)


@dataclass(frozen=True, slots=True)
class HttpGet:
    """A GET a service must answer (inventory `http:`): `path` with one of `status`, on
    `port` (None: every port of the service), over TLS when `tls`."""

    path: str
    status: tuple[int, ...]
    location: Location
    port: int | None = None
    vhost: str | None = None  # the Host header and TLS name; None: the service's address
    tls: bool = False
    ca_file: str | None = None  # an absolute path: verify against it, not the system's CAs
    verify: bool = True  # False: any certificate is accepted


@dataclass(frozen=True, slots=True)
class HttpCheck(TcpCheck):
    """A tcp check's endpoint, and the GET made once connected."""

    get: HttpGet | None = None  # None only for the dataclass's sake: plan always sets it

    @property
    def request(self) -> Request:
        get = self._get
        tls = Tls(verify=get.verify, ca_file=get.ca_file) if get.tls else None
        return Request(get.path, get.vhost or self.target, self.port, tls)

    @property
    def _get(self) -> HttpGet:
        assert self.get is not None
        return self.get

    @property
    def id(self) -> str:
        """ "api:local->api.example.com:443/healthz": the tcp check's id and the path."""
        return f"{self.service}:{self.vantage}->{host_port(self.target, self.port)}{self._get.path}"


TCP_FIELDS = fields(TcpCheck)


class HttpKind(TcpKind):
    name = "http"
    # What an http check sees once connected (the http-endpoint entry's outcomes). Any
    # other outcome is a connect's (or a name's), triaged as the tcp kind does.
    outcomes = ANSWERS
    # The values its runbook entry's templates may use besides the core ones.
    placeholders = HttpFacts.words

    inventory_schema = SCHEMA

    def read_section(
        self, key: str, raw: Any, service: Mapping[str, Any], reader: SectionReader
    ) -> tuple[HttpGet, ...]:
        """The service's GETs; two that would GET the same path on the same port (and so
        have one test id) are a mistake at the second."""
        entries: list[tuple[DocPath, dict[str, Any]]] = (
            [((), raw)] if isinstance(raw, dict) else [((i,), e) for i, e in enumerate(raw)]
        )
        gets: list[HttpGet] = []
        seen: dict[tuple[int, str], DocPath] = {}
        for where, entry in entries:
            get = _get(where, entry, reader)
            for port in (get.port,) if get.port is not None else tuple(service["ports"]):
                first = seen.setdefault((port, get.path), where)
                if first != where:
                    line = reader.location(first).line
                    reader.fail(
                        where,
                        f"a second GET of {get.path} on port {port} (the first is at line"
                        f" {line}): give it another path or port",
                    )
            gets.append(get)
        return tuple(gets)

    def plan(self, inventory: Inventory) -> Iterator[HttpCheck]:
        for service in inventory.services:
            gets = service.section("http")
            if not isinstance(gets, tuple):
                continue
            for get in gets:
                ports = None if get.port is None else (get.port,)
                # The tcp kind's check of the same endpoint, and the GET made once connected.
                for check in service_checks(service, self, ports=ports, location=get.location):
                    yield HttpCheck(**{f.name: getattr(check, f.name) for f in TCP_FIELDS}, get=get)

    # -- probing -----------------------------------------------------------------------

    async def connect(self, check: TcpCheck, address: str, context: ProbeContext) -> Attempt:
        assert isinstance(check, HttpCheck)
        get = check._get
        exchanged = await context.engine.bounded(
            exchange(address, check.request, check.policy.timeout)
        )
        return judge(exchanged, get.status)

    async def _attempt_at(
        self, check: TcpCheck, address: str, context: ProbeContext, fresh: bool = False
    ) -> Attempt:
        if check.vantage != LOCAL_VANTAGE:
            # Never a pass on a mere connect: the tcp check from there covers that.
            detail = (
                f"a GET from vantage {check.vantage} is not supported yet (only from the"
                " machine running pytest); its tcp check tests the connect from there"
            )
            return Attempt(Outcome.PROBE_ERROR, 0.0, address, check.port, None, detail)
        return await self.connect(check, address, context)

    def _endpoint_key(self, check: TcpCheck) -> tuple[object, ...]:
        # What makes the probe: the GET as much as the endpoint.
        assert isinstance(check, HttpCheck)
        return (*super()._endpoint_key(check), check.get)

    def announce(self, check: TcpCheck, context: ProbeContext) -> None:
        pass  # no GET is made from a remote vantage (above)

    def endpoint(self, check: TcpCheck) -> tuple[str, Hashable] | None:
        return None  # a GET from a remote vantage is not made: nothing to compare with

    # -- deciding ----------------------------------------------------------------------

    def judge(self, check: TcpCheck, attempt: Attempt) -> bool:
        return attempt.outcome is HTTP_OK

    # -- on failure --------------------------------------------------------------------

    async def investigate(
        self, check: TcpCheck, result: ProbeResult, context: ProbeContext
    ) -> Investigation:
        final = result.final
        if final.outcome not in ANSWERS:
            # The connect failed (or the name did not resolve): exactly a tcp failure.
            return await super().investigate(check, result, context)
        return Investigation()  # the answer's own facts are weighed by triage.causes.http

    def facts(self, check: TcpCheck, attempt: Attempt) -> Facts:
        assert isinstance(check, HttpCheck)
        request = check.request
        tls = request.tls
        own = HttpFacts(
            url=request.url,
            ca_file=tls.ca_file if tls is not None and tls.verify else None,
            status=answered_status(attempt),
            tls_error=tls_reason(attempt),
        )
        return replace(super().facts(check, attempt), own=own)

    # -- words -------------------------------------------------------------------------

    def describe(self, check: TcpCheck) -> str:
        assert isinstance(check, HttpCheck)
        text = f"{self.name} {check.vantage} -> GET {check.request.url}"
        return text + (f", service {check.service}" if check.service else "")

    def explain(self, check: TcpCheck, attempt: Attempt) -> str:
        if attempt.outcome not in ANSWERS:
            return super().explain(check, attempt)
        assert isinstance(check, HttpCheck)
        errno = f" ({attempt.errno_name})" if attempt.errno_name else ""
        took = f" after {ms(attempt.elapsed_ms)}{errno}"
        if attempt.address and attempt.address != check.request.vhost:
            # The URL names the host; which of its addresses answered is news.
            took = f" from {host_port(attempt.address, attempt.port or check.port)}{took}"
        return attempt.detail + took

    def properties(self, check: TcpCheck, attempt: Attempt) -> list[tuple[str, str]]:
        assert isinstance(check, HttpCheck)
        pairs = [*super().properties(check, attempt), ("url", check.request.url)]
        status = answered_status(attempt)
        if status is not None:
            pairs.append(("status", str(status)))
        reason = tls_reason(attempt)
        if reason is not None:
            pairs.append(("tls_error", reason))
        return pairs


def _get(path: DocPath, raw: dict[str, Any], reader: SectionReader) -> HttpGet:
    status = raw.get("status", 200)
    tls = raw.get("tls", False)
    options: dict[str, Any] = tls if isinstance(tls, dict) else {}
    vhost = raw.get("vhost")
    if vhost is not None and address_problem(vhost):
        reader.fail((*path, "vhost"), f"'{vhost}' is not a DNS name or an IP address")
    verify = bool(options.get("verify", True))
    ca_file = None
    if "ca" in options:
        where = (*path, "tls", "ca")
        if not verify:
            reader.fail(where, "a CA file is not used when verify is false: give one or the other")
        # Relative to the inventory, as a team keeps its CA beside it; the file must be
        # there now, not when the first check runs.
        ca = Path(reader.source).parent / options["ca"]
        ca_file = str(ca.resolve())
        if not ca.is_file():
            reader.fail(where, f"no CA file at {ca_file}")
    return HttpGet(
        path=raw.get("path", "/"),
        status=tuple(status) if isinstance(status, list) else (int(status),),
        location=reader.location(path),
        port=raw.get("port"),
        vhost=vhost,
        tls=tls is not False,
        ca_file=ca_file,
        verify=verify,
    )


KIND = HttpKind()

if TYPE_CHECKING:
    _: Kind[TcpCheck] = KIND
