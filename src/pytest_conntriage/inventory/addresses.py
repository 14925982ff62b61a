"""The syntax of the addresses an inventory names: IP literals, DNS names, resolvers."""

from __future__ import annotations

import re
from ipaddress import IPv6Address, ip_address

from .model import Resolver

# Loose on purpose: underscores appear in real names (SRV-style, internal zones) and the
# resolver is the judge of what exists; this only catches what can never be a name.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_BRACKETED = re.compile(r"\[(?P<address>[^\]]+)\](?::(?P<port>[0-9]+))?")


def canonical_ip(text: str) -> str | None:
    """The canonical form of an IP literal ("2001:DB8::1" → "2001:db8::1"), or None."""
    try:
        return str(ip_address(text))
    except ValueError:
        return None


def address_problem(text: str) -> str | None:
    """Why `text` is neither a DNS name nor an IP literal, or None when it is one."""
    if canonical_ip(text) is not None:
        return None
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
        return Resolver(address)
    bracketed = _BRACKETED.fullmatch(text)
    if bracketed:
        address = canonical_ip(bracketed["address"])
        if address is None or not isinstance(ip_address(address), IPv6Address):
            raise ValueError(f"'{text}': brackets enclose an IPv6 address only ({usage})")
        return Resolver(address, _port(text, bracketed["port"] or "53"))
    host, colon, port = text.rpartition(":")
    if colon and canonical_ip(host) is not None and ":" not in host:
        return Resolver(str(ip_address(host)), _port(text, port))
    raise ValueError(f"'{text}' is not a resolver address ({usage})")


def _port(text: str, port: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535:
        raise ValueError(f"'{text}': the port must be a number in 1-65535")
    return int(port)
