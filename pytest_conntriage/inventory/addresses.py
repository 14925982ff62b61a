"""The syntax of the addresses an inventory names: IP literals, DNS names, resolvers."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_address

from .model import Resolver

# Loose on purpose: underscores appear in real names (SRV-style, internal zones) and the
# resolver is the judge of what exists; this only catches what can never be a name.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_BRACKETED = re.compile(r"\[(?P<address>[^\]]+)\](?::(?P<port>[0-9]+))?")


# An IPv6 zone (`fe80::1%eth0`) names a network interface, as Linux allows them: at most
# 15 characters, no '/', ':' or white space; here also nothing a shell, a command line or
# a terminal could read as more than a name (no quotes, `$`, control characters, and no
# leading '-'). Python's ipaddress accepts any text after the '%'.
_SCOPE_ID = re.compile(r"(?!-)[A-Za-z0-9_.@-]{1,15}")


def canonical_ip(text: str) -> str | None:
    """The canonical form of an IP literal ("2001:DB8::1" → "2001:db8::1"), or None.

    None also for an IPv6 zone that is not an interface name or number (`fe80::1%$(x)`).
    """
    try:
        address = ip_address(text)
    except ValueError:
        return None
    scope = getattr(address, "scope_id", None)
    if scope is not None and (not _SCOPE_ID.fullmatch(scope) or scope in (".", "..")):
        return None
    return str(address)


def ip_problem(text: str) -> str:
    """Why `text` is not an IP literal (call only when canonical_ip(text) is None)."""
    address, percent, _ = text.partition("%")
    if percent and canonical_ip(address) is not None:
        return (
            f"'{text}': the zone after '%' must be a network interface name"
            " (letters, digits, '_', '.', '-', '@'; at most 15; e.g. fe80::1%eth0)"
        )
    return f"'{text}' is not an IP address"


def destination_problem(text: str) -> str | None:
    """Why the IP literal `text` cannot be a place to connect to, or None.

    The unspecified address (0.0.0.0, ::) connects to the local machine, not the host
    meant; multicast and broadcast addresses take no TCP connection.
    """
    address = ip_address(text)
    mapped = address.ipv4_mapped if isinstance(address, IPv6Address) else None
    plain = mapped or address
    if plain.is_unspecified:
        return f"'{text}' is the unspecified address: it connects to this machine, not a host"
    if isinstance(plain, IPv4Address) and plain in _THIS_NETWORK:
        return f"'{text}' is in 0.0.0.0/8, \"this network\": it connects to this machine"
    if plain.is_multicast:
        return f"'{text}' is a multicast address, not one host's"
    if plain == _BROADCAST:
        return f"'{text}' is the broadcast address, not one host's"
    return None


# 0.0.0.0/8 is "this network": Linux connects 0.x.y.z to the local machine too.
_THIS_NETWORK = IPv4Network("0.0.0.0/8")
_BROADCAST = IPv4Address("255.255.255.255")


def address_problem(text: str) -> str | None:
    """Why `text` is neither a DNS name nor an IP literal, or None when it is one."""
    if canonical_ip(text) is not None:
        return destination_problem(text)
    if "%" in text and canonical_ip(text.partition("%")[0]) is not None:
        return ip_problem(text)
    if text.startswith("[") and text.endswith("]") and canonical_ip(text[1:-1]):
        return f"'{text}': write IPv6 addresses without brackets"
    if "://" in text:
        return f"'{text}' is a URL; write only the name or IP address"
    if ":" in text:
        return f"'{text}' is not a DNS name or an IP address (ports go in 'ports')"
    if re.fullmatch(r"[0-9.]+", text):
        return f"'{text}' is not a valid IPv4 address"
    if not is_hostname(text):
        return f"'{text}' is not a DNS name or an IP address"
    return None


def is_hostname(text: str) -> bool:
    """A syntactically possible DNS name: dot-separated labels, optional trailing dot."""
    name = text[:-1] if text.endswith(".") else text
    if not name or len(name) > 253:
        return False
    return all(_LABEL.fullmatch(label) for label in name.split("."))


def parse_resolver(text: str) -> Resolver:
    """A resolver from "192.0.2.53", "192.0.2.53:5353", "2001:db8::53", "[2001:db8::53]:5353".

    Raises ValueError with a message for the user.
    """
    usage = "use an IP address, IP:port or [IPv6]:port"
    address = canonical_ip(text)
    if address is not None:
        return _resolver(text, address, 53)
    bracketed = _BRACKETED.fullmatch(text)
    if bracketed:
        address = canonical_ip(bracketed["address"])
        if address is None and "%" in bracketed["address"]:
            raise ValueError(ip_problem(bracketed["address"]))
        if address is None or not isinstance(ip_address(address), IPv6Address):
            raise ValueError(f"'{text}': brackets enclose an IPv6 address only ({usage})")
        return _resolver(text, address, _port(text, bracketed["port"] or "53"))
    host, colon, port = text.rpartition(":")
    if colon and canonical_ip(host) is not None and ":" not in host:
        return _resolver(text, str(ip_address(host)), _port(text, port))
    if "%" in text and canonical_ip(text.partition("%")[0]) is not None:
        raise ValueError(ip_problem(text))
    raise ValueError(f"'{text}' is not a resolver address ({usage})")


def _resolver(text: str, address: str, port: int) -> Resolver:
    problem = destination_problem(address)
    if problem:
        raise ValueError(problem.replace(f"'{address}'", f"'{text}'", 1))
    return Resolver(address, port)


def _port(text: str, port: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535:
        raise ValueError(f"'{text}': the port must be a number in 1-65535")
    return int(port)
