"""The DNS probe: ask one resolver (or resolve as applications do) and classify the answer.

dnspython is imported by the first query that needs it: a run whose inventory names no
DNS name and no resolver never pays for importing it (~0.1-0.2 s).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from ..inventory.model import Resolver
from ..outcome import Outcome
from .result import Attempt

if TYPE_CHECKING:
    import dns.name

SYSTEM = "system"
RESOLV_CONF = "/etc/resolv.conf"


@cache
def _rcode_outcomes() -> dict[int, Outcome]:
    import dns.rcode

    return {
        dns.rcode.NXDOMAIN: Outcome.DNS_NXDOMAIN,
        dns.rcode.SERVFAIL: Outcome.DNS_SERVFAIL,
        dns.rcode.REFUSED: Outcome.DNS_REFUSED,
    }


# When A and AAAA fail differently, the more telling failure is reported.
_FAILURE_ORDER = (
    Outcome.DNS_NXDOMAIN,
    Outcome.DNS_SERVFAIL,
    Outcome.DNS_REFUSED,
    Outcome.DNS_TIMEOUT,
    Outcome.DNS_NODATA,
)
_GAI_OUTCOMES = {
    socket.EAI_NONAME: Outcome.DNS_NXDOMAIN,
    socket.EAI_AGAIN: Outcome.DNS_TIMEOUT,
    socket.EAI_FAIL: Outcome.DNS_SERVFAIL,
}
if hasattr(socket, "EAI_NODATA"):
    _GAI_OUTCOMES[socket.EAI_NODATA] = Outcome.DNS_NODATA


async def ask_resolver(name: str, resolver: Resolver, timeout: float) -> Attempt:
    """Query `resolver` for A and AAAA of `name`; RESOLVED with the sorted addresses."""
    import dns.name

    started = time.perf_counter()
    qname = dns.name.from_text(name)
    answers = await asyncio.gather(
        *(_query(qname, rdtype, resolver, timeout) for rdtype in ("A", "AAAA"))
    )
    elapsed = (time.perf_counter() - started) * 1000.0
    addresses = sorted({a for outcome, found, _ in answers if outcome is None for a in found})
    if addresses:
        return Attempt(Outcome.RESOLVED, elapsed, str(resolver), answers=tuple(addresses))
    failures: dict[Outcome, str] = {}
    for outcome, _, detail in answers:  # A before AAAA: the A query's detail is kept
        failures.setdefault(outcome or Outcome.DNS_NODATA, detail)
    worst = next(o for o in _FAILURE_ORDER if o in failures)
    return Attempt(worst, elapsed, str(resolver), detail=failures[worst])


async def _query(
    qname: dns.name.Name, rdtype: str, resolver: Resolver, timeout: float
) -> tuple[Outcome | None, list[str], str]:
    """(None, addresses, "") on an answer with records, else (failure, [], detail)."""
    import dns.asyncquery
    import dns.exception
    import dns.message
    import dns.rcode
    import dns.rdatatype

    query = dns.message.make_query(qname, rdtype)
    where = f"{rdtype} from {resolver}"
    try:
        response, _ = await dns.asyncquery.udp_with_fallback(
            query, resolver.address, timeout=timeout, port=resolver.port
        )
    except dns.exception.Timeout:
        return Outcome.DNS_TIMEOUT, [], f"no answer to {where} within {timeout:g} s"
    except ConnectionRefusedError:
        return Outcome.DNS_TIMEOUT, [], f"{resolver} refused the connection (no DNS server)"
    except (OSError, dns.exception.DNSException) as exc:
        return Outcome.DNS_SERVFAIL, [], f"{where}: {exc}"
    rcode = response.rcode()
    outcomes = _rcode_outcomes()
    if rcode in outcomes:
        return outcomes[rcode], [], f"rcode {dns.rcode.to_text(rcode)} for {where}"
    if rcode != dns.rcode.NOERROR:
        return Outcome.DNS_SERVFAIL, [], f"rcode {dns.rcode.to_text(rcode)} for {where}"
    wanted = dns.rdatatype.from_text(rdtype)
    found = [rd.to_text() for rrset in response.answer if rrset.rdtype == wanted for rd in rrset]
    if not found:
        return None, [], f"NOERROR with no {rdtype} records from {resolver}"
    return None, found, ""


async def resolve_system(name: str, timeout: float, resolv_conf: str = RESOLV_CONF) -> Attempt:
    """Resolve as applications do (getaddrinfo: /etc/hosts counts, then DNS).

    On failure, the configured nameservers are asked directly, so that "does not
    resolve" can say NXDOMAIN, SERVFAIL or REFUSED instead of getaddrinfo's vague error.
    """
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(name, None, type=socket.SOCK_STREAM), timeout
        )
    except (asyncio.TimeoutError, TimeoutError):
        elapsed = (time.perf_counter() - started) * 1000.0
        return Attempt(Outcome.DNS_TIMEOUT, elapsed, SYSTEM, detail="getaddrinfo timed out")
    except socket.gaierror as exc:
        gai_outcome = _GAI_OUTCOMES.get(exc.errno or 0, Outcome.DNS_SERVFAIL)
        detail = f"getaddrinfo: {exc.strerror}"
        remaining = max(0.1, timeout - (time.perf_counter() - started))
        asked = await _ask_configured(name, remaining, resolv_conf)
        elapsed = (time.perf_counter() - started) * 1000.0
        if asked is not None and asked.outcome is not Outcome.RESOLVED:
            return Attempt(asked.outcome, elapsed, SYSTEM, detail=f"{detail}; {asked.detail}")
        return Attempt(gai_outcome, elapsed, SYSTEM, detail=detail)
    elapsed = (time.perf_counter() - started) * 1000.0
    addresses = sorted({str(info[4][0]) for info in infos})
    return Attempt(Outcome.RESOLVED, elapsed, SYSTEM, answers=tuple(addresses))


async def _ask_configured(name: str, timeout: float, resolv_conf: str) -> Attempt | None:
    """Ask the first nameserver of `resolv_conf`; None when there is none to ask."""
    import dns.exception
    import dns.resolver

    try:
        configured = dns.resolver.Resolver(filename=resolv_conf)
    except (OSError, dns.exception.DNSException):
        return None
    nameservers: Sequence[str] = [str(ns) for ns in configured.nameservers]
    if not nameservers:
        return None
    return await ask_resolver(name, Resolver(nameservers[0], configured.port), timeout)
