"""How long the service has been up: its systemd unit, its journal, and process ages."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from .model import ProcessAge, UnitState

# The name the evidence batch runs under ($0 of its `sh -c`): see batch.build_batch.
BATCH_NAME = "conntriage-evidence"


def parse_systemctl_show(name: str, text: str, uptime_s: float | None) -> UnitState:
    """`systemctl show UNIT -p ...` (KEY=value lines, in systemd's order, not ours).

    "Started N seconds ago" comes from ActiveEnterTimestampMonotonic, which counts from
    boot like /proc/uptime does: their difference needs no time zone and no clock sync.
    """
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    monotonic = _int(values.get("ActiveEnterTimestampMonotonic"))
    started_ago = None
    if monotonic and uptime_s is not None:  # 0: it never became active since boot
        started_ago = max(0.0, round(uptime_s - monotonic / 1e6, 1))
    main_pid = _int(values.get("MainPID"))
    return UnitState(
        name=name,
        load_state=values.get("LoadState") or None,
        active_state=values.get("ActiveState") or None,
        sub_state=values.get("SubState") or None,
        result=values.get("Result") or None,
        n_restarts=_int(values.get("NRestarts")),
        main_pid=main_pid or None,  # 0: no main process
        exec_main_start=values.get("ExecMainStartTimestamp") or None,
        active_enter_monotonic_us=monotonic,
        started_ago_s=started_ago,
    )


def parse_journal(text: str, limit: int = 20) -> tuple[str, ...]:
    """The journal's lines, without journalctl's "-- No entries --" style notes."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("-- ")]
    return tuple(lines[-limit:])


def parse_ps(text: str) -> dict[int, ProcessAge]:
    """`ps -ww -eo pid,etimes,args` by pid (-ww: command lines are never cut to the
    COLUMNS of the environment); the header and unreadable lines are skipped."""
    table: dict[int, ProcessAge] = {}
    for line in text.splitlines():
        words = line.split(None, 2)
        if len(words) >= 2 and words[0].isdigit() and words[1].isdigit():
            pid = int(words[0])
            table[pid] = ProcessAge(pid, int(words[1]), words[2] if len(words) == 3 else "")
    return table


def ages_of(table: dict[int, ProcessAge], pids: Iterable[int]) -> tuple[ProcessAge, ...]:
    """The processes among `pids` that ps knew, each once, in the order asked."""
    return tuple(table[pid] for pid in dict.fromkeys(pids) if pid in table)


def processes_of(table: dict[int, ProcessAge], unit: str) -> tuple[ProcessAge, ...]:
    """Without systemd, the processes that are the unit: those whose command name is it.

    Only the command name is compared, exactly (with a file extension allowed): unit
    `nginx` matches `nginx: master process /usr/sbin/nginx`, unit `listener` matches
    `python3 /srv/listener.py`. Never any other word of the command line: a unit named
    `-p` must not match a `pytest -p no:cacheprovider` that happens to run there.
    """
    wanted = unit.removesuffix(".service")
    found = []
    for process in table.values():
        if BATCH_NAME in process.command:
            continue  # the evidence batch itself, which carries the unit as an argument
        name = command_name(process.command)
        if name and (name == wanted or name.split(".", 1)[0] == wanted):
            found.append(process)
    return tuple(found)


# Programs that are named by what they run: `python3 /srv/listener.py` is "listener".
_INTERPRETER = re.compile(r"(python|perl|ruby|node|php|java|bash|sh|dash|ash)[0-9.]*")
# Their options that take the next word as a value, not as the script.
_OPTION_WITH_VALUE = frozenset({"-W", "-X", "-I", "-e", "-r", "-cp", "-classpath"})


def command_name(command: str) -> str:
    """A process's command name, from its `ps args` line: its program's file name
    (`/usr/sbin/nginx` → nginx, `nginx: master process` → nginx, a login shell's `-bash`
    → bash), or for an interpreter the script or module it runs (`python3
    /srv/listener.py` → listener.py, `python3 -m app.main` → app.main). "" for none."""
    words = command.split()
    if not words:
        return ""
    program = words[0].rstrip(":").rsplit("/", 1)[-1].lstrip("-")
    if not _INTERPRETER.fullmatch(program):
        return program
    rest = iter(words[1:])
    for word in rest:
        if word in ("-m", "-jar"):
            return next(rest, "").rsplit("/", 1)[-1]
        if word == "-c":  # code on the command line: no script to name it by
            return program
        if word == "--":
            return next(rest, "").rsplit("/", 1)[-1]
        if word in _OPTION_WITH_VALUE:
            next(rest, None)
        elif not word.startswith("-"):
            return word.rsplit("/", 1)[-1]
    return program


def parse_ip_addr(text: str) -> tuple[str, ...]:
    """The addresses of `ip -o addr show`: "2: eth0    inet 10.0.0.2/24 brd ..." lines."""
    found = []
    for line in text.splitlines():
        words = line.split()
        for kind, value in itertools.pairwise(words):
            if kind in ("inet", "inet6"):
                found.append(value.split("/", 1)[0])
    return tuple(dict.fromkeys(found))


def parse_uptime(text: str) -> float | None:
    """Seconds since boot: the first number of /proc/uptime."""
    words = text.split()
    try:
        return float(words[0]) if words else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isdigit() else None
