"""Listen-queue counters: TcpExt ListenOverflows/ListenDrops from /proc/net/netstat, and
net.core.somaxconn."""

from __future__ import annotations


def parse_netstat(text: str) -> dict[str, int]:
    """The TcpExt counters by name. /proc/net/netstat pairs a line of names with a line of
    values under the same prefix; a pair whose lengths differ is unreadable and skipped."""
    lines = [line.split() for line in text.splitlines() if line.startswith("TcpExt:")]
    counters: dict[str, int] = {}
    for names, values in zip(lines[0::2], lines[1::2], strict=False):
        if len(names) != len(values):
            continue
        for name, value in zip(names[1:], values[1:], strict=True):
            if value.isdigit():
                counters[name] = int(value)
    return counters


def parse_int(text: str) -> int | None:
    """A sysctl file's single integer, or None."""
    word = text.strip()
    return int(word) if word.isdigit() else None
