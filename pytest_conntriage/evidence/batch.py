"""One shell script per host that gathers every fact in a single round trip, and the
splitting of its output back into one section per collector.

The script is a constant: nothing is ever formatted into it. What varies (the section
marker, the per-collector bound, sudo, the unit name) reaches it as positional
arguments, which the runner shell-quotes; inside, they are only ever expanded in double
quotes. Each collector runs under `timeout`, its stdout, stderr and exit status are
captured separately, and a missing tool is reported as exit 127 "not installed".

Plugins add collectors of their own (`Collector`, through the
`pytest_conntriage_add_collectors` hook): each one's code is a constant of the plugin
and travels, like every value, as a positional argument; the script runs it with
`sh -c CODE NAME UNIT ARGS...`, so the code, too, is never formatted into anything.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .runner import whole_seconds
from .unit import BATCH_NAME

# $1 marker, $2 seconds per collector, $3 "1" to use sudo -n for root-only collectors,
# $4 the systemd unit ("" for none). No value can become an option: every command that
# takes operands gets `--` before them, and the unit (the one value from the inventory,
# which systemd allows to begin with '-': "-.mount") goes after `--` to systemctl and
# inside `--unit=` to journalctl.
SCRIPT = r"""
M=$1 T=$2 WANT_SUDO=$3 UNIT=$4
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"
LC_ALL=C
export PATH LC_ALL
printf '%s batch 1\n' "$M"
UID_NOW=$(id -u 2>/dev/null)
SUDO=no
if [ "$UID_NOW" = 0 ]; then SUDO=root
elif [ "$WANT_SUDO" = 1 ]; then
  if command -v -- sudo >/dev/null 2>&1; then SUDO=yes; else SUDO=missing; fi
fi
printf '%s info uid %s\n%s info sudo %s\n' "$M" "$UID_NOW" "$M" "$SUDO"
printf '%s info bound %s\n' "$M" "$T"
TMP=$(mktemp -d 2>/dev/null) || TMP=
trap 'if [ -n "$TMP" ]; then rm -rf -- "$TMP"; fi' EXIT
trap 'exit 124' TERM INT HUP

# collect NAME root|- COMMAND [ARG...]
collect() {
  name=$1 need=$2
  shift 2
  printf '%s begin %s\n' "$M" "$name"
  if ! command -v -- "$1" >/dev/null 2>&1; then
    printf '\n%s stderr %s\n%s: not installed\n' "$M" "$name" "$1"
    printf '\n%s end %s 127\n' "$M" "$name"
    return 127
  fi
  if [ "$need" = root ] && [ "$SUDO" = yes ]; then set -- sudo -n -- "$@"; fi
  if [ -n "$TMP" ]; then
    timeout -- "$T" "$@" 2>"$TMP/err" </dev/null
    rc=$?
    printf '\n%s stderr %s\n' "$M" "$name"
    cat -- "$TMP/err"
  else
    timeout -- "$T" "$@" 2>/dev/null </dev/null
    rc=$?
    printf '\n%s stderr %s\n(not captured: no temporary directory)\n' "$M" "$name"
  fi
  printf '\n%s end %s %s\n' "$M" "$name" "$rc"
  return $rc
}

if ! collect listeners root ss -Hltnp; then
  if command -v -- ss >/dev/null 2>&1; then
    collect listeners-plain - ss -ltn
  else
    collect proc-net-tcp - cat -- /proc/net/tcp /proc/net/tcp6
  fi
fi
collect netstat - cat -- /proc/net/netstat
collect somaxconn - cat -- /proc/sys/net/core/somaxconn
collect uptime - cat -- /proc/uptime
collect clock - date +%s
if [ -d /run/systemd/system ]; then INIT=systemd; else INIT=other; fi
printf '%s info init %s\n' "$M" "$INIT"
if [ "$INIT" = systemd ] && [ -n "$UNIT" ]; then
  collect unit - systemctl show -p LoadState -p ActiveState -p SubState -p Result \
    -p NRestarts -p MainPID -p ActiveEnterTimestampMonotonic -p ExecMainStartTimestamp \
    -- "$UNIT"
  collect journal root journalctl "--unit=$UNIT" -n 20 --no-pager -o short-iso
fi
collect processes - ps -ww -eo pid,etimes,args
if ! collect addresses - ip -o addr show; then collect addresses-plain - hostname -I; fi
collect iptables root iptables-save
collect iptables-legacy root iptables-legacy-save
collect ip6tables root ip6tables-save
collect ip6tables-legacy root ip6tables-legacy-save
collect nft root nft -j list ruleset
collect nft-text root nft -a list ruleset
collect ufw root ufw status verbose
collect firewalld - firewall-cmd --state

# A plugin's collector: NAME ROOT BOUND CODE N, then its N args. It runs as
# `sh -c CODE NAME UNIT ARG...` under its own bound; only its first N args are its own.
extra() {
  e_name=$1 e_need=$2 e_bound=$3 e_code=$4 e_n=$5
  shift 5
  e_total=$# e_i=0
  while [ "$e_i" -lt "$e_total" ]; do
    e_arg=$1
    shift
    if [ "$e_i" -lt "$e_n" ]; then set -- "$@" "$e_arg"; fi
    e_i=$((e_i + 1))
  done
  e_all=$T T=$e_bound
  collect "$e_name" "$e_need" sh -c "$e_code" "$e_name" "$UNIT" "$@"
  T=$e_all
}
shift 4
while [ "$#" -ge 5 ]; do
  x_n=$5
  extra "$@"
  shift $((5 + x_n))
done
printf '%s done\n' "$M"
"""

# The sections (and gap names) of the built-in collectors: a plugin's must differ.
BUILTIN_SECTIONS = frozenset(
    {
        *("batch", "listeners", "listeners-plain", "proc-net-tcp", "listener processes"),
        *("netstat", "listen counters", "somaxconn", "uptime", "clock", "unit", "journal"),
        *("processes", "process ages", "addresses", "addresses-plain", "host addresses"),
        *("iptables", "iptables-legacy", "ip6tables", "ip6tables-legacy", "nft", "nft-text"),
        *("nftables", "ufw", "firewalld", "firewall"),
    }
)
_COLLECTOR_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
# A plugin's collector gets at most this long, and never more than a built-in one.
MAX_COLLECTOR_BOUND_S = 30.0


@dataclass(frozen=True)
class Collector:
    """A plugin's evidence collector, run in every host's batch (see the module doc).

    `script` is constant `sh` code, run as `sh -c SCRIPT NAME UNIT ARGS...`: `$1` is the
    check's unit ("" for none), `$2`... are `args`. Exit status 0 means it answered;
    anything else leaves its facts unknown. `parse` turns its stdout into the facts a
    rule reads (`HostFacts.collected(name)`); it raises ValueError for output it cannot
    read, which also leaves them unknown.
    """

    name: str  # its section in the batch output: lowercase letters, digits, "-"
    script: str
    parse: Callable[[str], object]
    args: tuple[str, ...] = ()
    bound_s: float = 5.0  # seconds it may run (capped by the batch's share per collector)
    root: bool = False  # run under `sudo -n` when the batch user is not root

    def __post_init__(self) -> None:
        if not _COLLECTOR_NAME.fullmatch(self.name):
            raise ValueError(
                f"collector name {self.name!r}: use 1-40 lowercase letters, digits and '-'"
            )
        if not 0 < self.bound_s <= MAX_COLLECTOR_BOUND_S:
            raise ValueError(
                f"collector {self.name}: bound_s {self.bound_s} is not within "
                f"0-{MAX_COLLECTOR_BOUND_S:g} s"
            )
        if any(not isinstance(a, str) or "\0" in a for a in self.args):
            raise ValueError(f"collector {self.name}: args must be strings without NUL")


def check_collectors(collectors: Iterable[Collector]) -> None:
    """Raise ValueError when two collectors, or one and a built-in, share a name."""
    seen: set[str] = set()
    for collector in collectors:
        if not isinstance(collector, Collector):
            raise ValueError(f"not a Collector: {collector!r}")
        if collector.name in BUILTIN_SECTIONS or collector.name in seen:
            raise ValueError(f"collector name {collector.name!r} is already taken")
        seen.add(collector.name)


_MARKER = re.compile(r"^(@@ct-[0-9a-f]{16}@@) batch \S+$", re.MULTILINE)


@dataclass(frozen=True)
class Batch:
    """A command and its args for `Runner.run(command, *args)`."""

    command: str
    args: tuple[str, ...]
    marker: str


@dataclass(frozen=True)
class Section:
    """One collector's output. rc None: it started but never finished (the batch was
    cut short)."""

    name: str
    stdout: str
    stderr: str
    rc: int | None


@dataclass(frozen=True)
class BatchOutput:
    """The batch's output taken apart."""

    found: bool  # the batch's first line was seen at all
    complete: bool  # ... and its last
    sections: tuple[Section, ...]
    info: tuple[tuple[str, str], ...]  # ("uid", "0"), ("sudo", "yes"), ("init", "systemd")

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def value(self, key: str) -> str | None:
        return next((v for k, v in self.info if k == key), None)


def build_batch(
    unit: str | None,
    sudo: bool,
    collector_timeout: float,
    collectors: Iterable[Collector] = (),
) -> Batch:
    """The batch for one host; `unit` goes in as an argument, so it cannot be code, and
    so does each plugin collector's code with its args."""
    marker = f"@@ct-{secrets.token_hex(8)}@@"
    args = [marker, str(whole_seconds(collector_timeout)), "1" if sudo else "0", unit or ""]
    for c in collectors:
        bound = whole_seconds(min(c.bound_s, collector_timeout))
        args += [c.name, "root" if c.root else "-", str(bound), c.script, str(len(c.args))]
        args += c.args
    # `sh -c SCRIPT NAME ARGS`: the script sees the args as $1.. and never as text.
    command = " ".join(("sh -c %s", BATCH_NAME, *("%s" for _ in args)))
    return Batch(command, (SCRIPT, *args), marker)


def split(output: str) -> BatchOutput:
    """Sections by collector; tolerant of a banner before and a cut-off end."""
    head = _MARKER.search(output)
    if head is None:
        return BatchOutput(False, False, (), ())
    marker = head.group(1)
    body = output[head.end() + 1 :]
    sections: list[Section] = []
    info: list[tuple[str, str]] = []
    complete = False
    name: str | None = None
    part = ""
    chunks: dict[str, list[str]] = {"stdout": [], "stderr": []}
    for line in body.split("\n"):
        if not line.startswith(marker + " "):
            if name is not None:
                chunks[part].append(line)
            continue
        words = line[len(marker) + 1 :].split(" ")
        kind = words[0]
        if kind == "info" and len(words) >= 2:
            info.append((words[1], " ".join(words[2:])))
        elif kind == "begin" and len(words) == 2:
            name, part, chunks = words[1], "stdout", {"stdout": [], "stderr": []}
        elif kind == "stderr" and name is not None:
            part = "stderr"
        elif kind == "end" and name is not None and len(words) == 3:
            rc = int(words[2]) if words[2].isdigit() else None
            sections.append(_section(name, chunks, rc))
            name = None
        elif kind == "done":
            complete = True
    if name is not None:  # cut off inside a collector
        sections.append(_section(name, chunks, None))
    return BatchOutput(True, complete, tuple(sections), tuple(info))


def _section(name: str, chunks: dict[str, list[str]], rc: int | None) -> Section:
    # The script writes a newline of its own before each marker, so joining the lines
    # gives back exactly what the collector wrote, with or without a final newline.
    return Section(name, "\n".join(chunks["stdout"]), "\n".join(chunks["stderr"]), rc)
