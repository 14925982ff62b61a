"""The client's route to the target: `ip route get ADDRESS`, and when that fails, which
route (`ip route show match ADDRESS`) made it fail."""

from __future__ import annotations

import ipaddress

from .model import Route, RouteKind

# `ip route get` fails for the route types that refuse traffic; the kernel's errno names
# the type (measured in network namespaces).
_ERRORS = (
    ("No route to host", RouteKind.UNREACHABLE),
    ("Invalid argument", RouteKind.BLACKHOLE),
    ("Permission denied", RouteKind.PROHIBIT),
    ("Network is unreachable", RouteKind.NO_ROUTE),
)
_REFUSING = ("unreachable", "blackhole", "prohibit", "throw")


def parse_route_get(address: str, rc: int, stdout: str, stderr: str) -> Route:
    """`ip route get` output: "ADDR via GW dev DEV src SRC ..." or "local ADDR dev lo ...";
    on failure, its error line classified."""
    if rc != 0:
        error = _last_line(stderr) or f"exit {rc}"
        kind = next((k for text, k in _ERRORS if text in stderr), RouteKind.UNKNOWN)
        return Route(address, kind, error=error, text=stderr.strip())
    first = stdout.strip().splitlines()[0] if stdout.strip() else ""
    words = first.split()
    if not words:
        return Route(address, RouteKind.UNKNOWN, error="ip route get printed nothing")
    kind = RouteKind.UNICAST
    if words[0] in ("local", "broadcast", "multicast", "unicast", *_REFUSING):
        kind = {
            "local": RouteKind.LOCAL,
            "unreachable": RouteKind.UNREACHABLE,
            "blackhole": RouteKind.BLACKHOLE,
            "prohibit": RouteKind.PROHIBIT,
        }.get(words[0], RouteKind.UNICAST)
    return Route(
        address,
        kind,
        dev=_after(words, "dev"),
        gateway=_after(words, "via"),
        src=_after(words, "src"),
        text=stdout.strip(),
    )


def matching_route(stdout: str) -> str | None:
    """Among `ip route show match ADDRESS` lines, the one that decides: the longest
    prefix (ip lists every route containing the address)."""
    best: tuple[int, str] | None = None
    for line in stdout.splitlines():
        words = line.split()
        if not words:
            continue
        prefix = words[1] if words[0] in (*_REFUSING, "local", "unicast") else words[0]
        length = _prefix_length(prefix)
        if length is not None and (best is None or length > best[0]):
            best = (length, line.strip())
    return best[1] if best else None


def _prefix_length(prefix: str) -> int | None:
    if prefix == "default":
        return 0
    try:
        return ipaddress.ip_network(prefix, strict=False).prefixlen
    except ValueError:
        return None


def _after(words: list[str], key: str) -> str | None:
    try:
        return words[words.index(key) + 1]
    except (ValueError, IndexError):
        return None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
