"""One shell script per host that gathers every fact in a single round trip, and the
splitting of its output back into one section per collector.

The script is a constant: nothing is ever formatted into it. What varies (the section
marker, the per-collector bound, sudo, the unit name) reaches it as positional
arguments, which the runner shell-quotes; inside, they are only ever expanded in double
quotes. Each collector runs under `timeout`, its stdout, stderr and exit status are
captured separately, and a missing tool is reported as exit 127 "not installed".
"""

from __future__ import annotations

import re
import secrets
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
printf '%s done\n' "$M"
"""

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


def build_batch(unit: str | None, sudo: bool, collector_timeout: float) -> Batch:
    """The batch for one host; `unit` goes in as an argument, so it cannot be code."""
    marker = f"@@ct-{secrets.token_hex(8)}@@"
    args = (
        marker,
        str(whole_seconds(collector_timeout)),
        "1" if sudo else "0",
        unit or "",
    )
    # `sh -c SCRIPT NAME ARGS`: the script sees the args as $1.. and never as text.
    return Batch(f"sh -c %s {BATCH_NAME} %s %s %s %s", (SCRIPT, *args), marker)


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
