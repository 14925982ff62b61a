"""No value reaches a command as an option: every command the plugin runs, on a host or
here, is fed a value beginning with '-' and shown to take it as a value. The commands
are the real ones, run locally (nothing leaves this machine)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_conntriage.evidence import gather_host
from pytest_conntriage.evidence.batch import build_batch, split
from pytest_conntriage.evidence.client import gather_client
from pytest_conntriage.evidence.runner import LocalRunner, RunResult
from pytest_conntriage.evidence.unit import command_name, parse_ps, processes_of
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.remote import _connect_blocking
from tests.evidence.evidence_fakes import ToolRunner, Tools

SYSTEMCTL_HELP = "systemctl [OPTIONS...]"
JOURNALCTL_HELP = "journalctl [OPTIONS...]"


@pytest.mark.skipif(
    shutil.which("systemctl") is None or shutil.which("journalctl") is None,
    reason="needs systemd's systemctl and journalctl installed",
)
def test_a_unit_beginning_with_dashes_is_a_unit_to_systemctl_and_journalctl(
    tool_runner: Callable[..., ToolRunner],
) -> None:
    runner = tool_runner(systemd=True)  # root: a private /run that says systemd runs
    # Unprotected, the value is an option: these print their help.
    assert SYSTEMCTL_HELP in runner.run("systemctl show -p LoadState %s", "--help").stdout
    assert JOURNALCTL_HELP in runner.run("journalctl %s", "--help").stdout
    batch = build_batch("--help", sudo=False, collector_timeout=5)
    taken = split(runner.run(batch.command, *batch.args).stdout)
    assert taken.value("init") == "systemd"
    unit, journal = taken.section("unit"), taken.section("journal")
    assert unit is not None
    assert journal is not None
    assert SYSTEMCTL_HELP not in unit.stdout + unit.stderr
    assert JOURNALCTL_HELP not in journal.stdout + journal.stderr


# Runs the command only if it comes after `-n --`; says what it got otherwise.
SUDO = """\
[ "$1" = -n ] && [ "$2" = -- ] || { echo "sudo called as: sudo $*" >&2; exit 1; }
shift 2
exec "$@"
"""


def test_sudo_gets_the_command_after_dashes(
    tools: Tools, tool_runner: Callable[..., ToolRunner]
) -> None:
    tools.add("sudo", SUDO)
    evidence = gather_host(
        tool_runner(user="65534"), 8080, "127.0.0.1", "127.0.0.1", unit="-p", sudo=True
    )
    assert not [gap for gap in evidence.unavailable if "sudo called as" in gap[1]]
    # The root-only collectors ran through the fake sudo (as nobody, they still lack
    # root: nothing here needs them to succeed, only to have been called right).
    assert evidence.why_unavailable("listener processes") is None or "sudo" not in (
        evidence.why_unavailable("listener processes") or ""
    )


# `ps -ww -eo pid,etimes,args` on a host where pytest itself runs with `-p` options.
PS = """\
    PID ELAPSED COMMAND
      1    4096 /sbin/init
    700     900 nginx: master process /usr/sbin/nginx -g daemon off;
    701     900 nginx: worker process
    812      42 python3 /srv/listener.py --port 8080
    813      40 /usr/bin/python3 -m pytest -p no:cacheprovider -p xdist
    814      40 /usr/bin/python3 -W ignore /usr/local/bin/pytest -p -q
    815      10 -bash
    816       5 sh -c SCRIPT conntriage-evidence @@m@@ 5 0 -p
    817       5 python3 -c import time; time.sleep(60) -p
"""


@pytest.mark.parametrize(
    ("unit", "pids"),
    [
        ("-p", []),
        ("-q", []),
        ("xdist", []),
        ("no:cacheprovider", []),
        ("nginx", [700, 701]),
        ("nginx.service", [700, 701]),
        ("listener", [812]),
        ("pytest", [813, 814]),
        ("bash", [815]),
        ("python3", [817]),
        ("sh", []),  # only the evidence batch itself runs as sh here
    ],
)
def test_a_unit_matches_a_command_name_never_another_word(unit: str, pids: list[int]) -> None:
    assert [p.pid for p in processes_of(parse_ps(PS), unit)] == pids


def test_command_names() -> None:
    assert command_name("/usr/sbin/sshd -D") == "sshd"
    assert command_name("sshd: root@pts/0") == "sshd"
    assert command_name("node /srv/app/server.js") == "server.js"
    assert command_name("java -Xmx1g -jar /opt/app.jar") == "app.jar"
    assert command_name("python3 -- -p") == "-p"
    assert command_name("python3") == "python3"
    assert command_name("") == ""


def test_a_unit_named_like_an_option_is_not_found_in_this_machines_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Real: the batch's ps on this machine, with a process whose argv holds "-p" running
    # now, and a COLUMNS that would cut command lines short without `-ww`.
    monkeypatch.setenv("COLUMNS", "40")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-p"])
    try:
        batch = build_batch("-p", sudo=False, collector_timeout=5)
        section = split(LocalRunner(30).run(batch.command, *batch.args).stdout).section("processes")
        assert section is not None
        table = parse_ps(section.stdout)
        assert child.pid in table
        assert table[child.pid].command.split()[-1] == "-p"
        assert processes_of(table, "-p") == ()
    finally:
        child.kill()
        child.wait()


class _Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def run(self, command: str, *args: str) -> RunResult:
        self.calls.append((command, *args))
        return LocalRunner(10).run(command, *args)


@pytest.mark.parametrize("address", ["-h", "--help", "-4"])
def test_ip_route_get_is_only_ever_given_an_ip_literal(address: str) -> None:
    # `ip route get` takes no `--`: what reaches it must be an address, so a value like
    # an option never runs it at all.
    runner = _Recording()
    evidence = gather_client(address, runner=runner)
    assert runner.calls == []
    assert evidence.route is None
    assert evidence.unavailable == (("route", f"not an IP address: {address!r}"),)
    real = gather_client("127.0.0.1", runner=runner)
    assert real.route is not None
    assert runner.calls[0] == ("ip route get %s", "127.0.0.1")


def _without_python(tmp_path: Path) -> LocalRunner:
    """A runner whose PATH has sh, bash and timeout but no python3."""
    for tool in ("sh", "bash", "timeout"):
        found = shutil.which(tool)
        assert found is not None
        (tmp_path / tool).symlink_to(found)
    return _PathRunner(str(tmp_path))


class _PathRunner(LocalRunner):
    def __init__(self, path: str) -> None:
        super().__init__(15)
        self.path = path

    def run(self, command: str, *args: str) -> RunResult:
        return super().run("PATH=%s; export PATH; " + command, self.path, *args)


@pytest.mark.parametrize("address", ["-V", "--help", "-c"])
@pytest.mark.parametrize("interpreter", ["python3", "bash"])
def test_the_remote_probe_takes_an_address_like_an_option_as_its_address(
    tmp_path: Path, address: str, interpreter: str
) -> None:
    shell = LocalRunner(15) if interpreter == "python3" else _without_python(tmp_path)
    attempt = _connect_blocking(shell, "v", address, 9, 1.0)
    # Taken as an option, python3 would print its version or usage and bash would run
    # `-c`; as the address, the connect fails on the name.
    assert "Python 3" not in attempt.detail
    assert "usage" not in attempt.detail.lower()
    if interpreter == "bash":
        # bash ran the script with the address as $0: /dev/tcp/-V/9 is EINVAL.
        assert attempt.outcome is not Outcome.OPEN
        assert attempt.detail == "from v (bash)", attempt
    else:
        assert attempt.outcome is Outcome.PROBE_ERROR, attempt
        assert "errno -" in attempt.detail  # the script ran, and getaddrinfo refused it


def test_the_batch_hands_its_one_inventory_value_only_after_dashes() -> None:
    # The unit is the only inventory value the batch gets ($4, as UNIT). Wherever it is
    # expanded as an operand, `--` precedes it or it is glued to its option.
    from pytest_conntriage.evidence.batch import SCRIPT

    uses = [line.strip() for line in SCRIPT.splitlines() if "$UNIT" in line]
    assert uses, "the unit is not used at all?"
    for use in uses:
        if use.startswith(("M=$1", "if [")):
            continue  # the assignment and the test whether it is set
        if 'sh -c "$e_code" "$e_name" "$UNIT"' in use:
            continue  # a plugin collector's $1: after `sh -c CODE NAME`, never an option
        assert '-- "$UNIT"' in use or '"--unit=$UNIT"' in use, use
