"""The one-batch script run for real (locally: nothing leaves this machine), with fake tools
standing in for hosts that lack a tool, refuse, hang, or run systemd."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_conntriage.evidence import gather_host, parse_batch
from pytest_conntriage.evidence.batch import build_batch, split
from pytest_conntriage.evidence.firewall import Packet
from pytest_conntriage.evidence.model import Action, Backend
from pytest_conntriage.evidence.runner import LocalRunner
from tests.evidence.evidence_fakes import ToolRunner, Tools

PACKET = Packet(8080, "127.0.0.1", "127.0.0.1")


def test_one_run_gathers_every_section() -> None:
    batch = build_batch("conntriage-test.service", sudo=False, collector_timeout=5)
    result = LocalRunner(30).run(batch.command, *batch.args)
    taken = split(result.stdout)
    assert result.rc == 0, result.stderr
    assert taken.found
    assert taken.complete
    names = [s.name for s in taken.sections]
    for name in ("netstat", "somaxconn", "uptime", "clock", "processes", "nft", "iptables"):
        assert name in names
    assert taken.value("init") in ("systemd", "other")
    uptime = taken.section("uptime")
    assert uptime is not None
    assert uptime.rc == 0
    assert float(uptime.stdout.split()[0]) > 0


def test_sections_keep_output_exactly(tools: Tools, tool_runner: Callable[..., ToolRunner]) -> None:
    tools.add("ss", "printf 'LISTEN 0 5 127.0.0.1:1 0.0.0.0:*'\necho oops >&2\nexit 0\n")
    tools.add("iptables-save", "printf 'line\\n\\n'\n")
    runner = tool_runner()
    batch = build_batch(None, sudo=False, collector_timeout=5)
    taken = split(runner.run(batch.command, *batch.args).stdout)
    listeners, saved = taken.section("listeners"), taken.section("iptables")
    assert listeners is not None
    assert saved is not None
    assert listeners.stdout == "LISTEN 0 5 127.0.0.1:1 0.0.0.0:*"  # no newline added
    assert listeners.stderr == "oops\n"
    assert saved.stdout == "line\n\n"
    assert saved.rc == 0


def test_split_tolerates_a_banner_and_a_cut() -> None:
    marker = "@@ct-0123456789abcdef@@"
    output = (
        "Welcome to web-1!\n"
        f"{marker} batch 1\n{marker} info uid 0\n"
        f"{marker} begin uptime\n12.5 3.0\n\n{marker} stderr uptime\n\n{marker} end uptime 0\n"
        f'{marker} begin nft\n{{"nftab'
    )
    taken = split(output)
    assert taken.found
    assert not taken.complete
    assert taken.value("uid") == "0"
    uptime, nft = taken.section("uptime"), taken.section("nft")
    assert uptime is not None
    assert uptime.stdout == "12.5 3.0\n"
    assert uptime.rc == 0
    assert nft is not None
    assert nft.rc is None
    assert not split("bash: sh: command not found\n").found


def test_missing_refusing_and_failing_tools_are_named(
    tools: Tools, tool_runner: Callable[..., ToolRunner]
) -> None:
    # ss that cannot show processes: the plain fallback runs.
    tools.add(
        "ss",
        'case "$1" in -Hltnp) echo "ss: invalid option" >&2; exit 1;; esac\n'
        "echo 'State Recv-Q Send-Q Local Address:Port Peer Address:Port'\n"
        "echo 'LISTEN 0 128 0.0.0.0:8080 0.0.0.0:*'\n",
    )
    tools.add(
        "iptables-save",
        "echo 'iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: "
        "Permission denied (you must be root)' >&2\nexit 4\n",
    )
    tools.add("nft", "echo 'not json'\n")
    tools.add("ps", "echo 'ps: unknown option etimes' >&2\nexit 1\n")
    evidence = gather_host(tool_runner(), 8080, "127.0.0.1", "127.0.0.1", timeout=20)
    assert [(x.address, x.port) for x in evidence.listeners] == [("0.0.0.0", 8080)]
    assert evidence.why_unavailable("listener processes") == "ss -p: exit 1: ss: invalid option"
    assert (evidence.why_unavailable("iptables") or "").startswith("needs root: iptables-save")
    assert (evidence.why_unavailable("nftables") or "").startswith("unreadable output: not JSON")
    assert evidence.why_unavailable("process ages") == "exit 1: ps: unknown option etimes"
    assert evidence.why_unavailable("batch") is None
    assert all(v.backend is not Backend.NFTABLES for v in evidence.firewall)


def test_a_hung_collector_times_out_and_the_rest_still_run(
    tools: Tools, tool_runner: Callable[..., ToolRunner]
) -> None:
    tools.add("nft", "exec sleep 30\n")
    started = time.monotonic()
    evidence = gather_host(tool_runner(), 8080, "127.0.0.1", "127.0.0.1", timeout=4)
    assert time.monotonic() - started < 10
    assert evidence.why_unavailable("nftables") == "timed out after 1 s"
    assert evidence.why_unavailable("batch") is None
    assert evidence.counters is not None  # gathered before the hang
    assert evidence.why_unavailable("ufw") is not None  # and the collectors after it ran


def test_a_batch_cut_short_keeps_what_it_has(
    tools: Tools,
    tool_runner: Callable[..., ToolRunner],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The batch's mktemp -d goes here: killed at the bound, it must still remove it.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tools.add("iptables-save", "exec sleep 30\n")
    evidence = gather_host(tool_runner(timeout=1.5), 8080, "127.0.0.1", "127.0.0.1", timeout=40)
    assert (evidence.why_unavailable("batch") or "").startswith("timed out after 1.5 s")
    assert evidence.uptime_s is not None  # gathered before the cut
    # Each piece it cut off or never reached is named, with the batch's own reason.
    assert evidence.why_unavailable("iptables") == (
        "cut off: the batch ended while it ran (timed out after 1.5 s)"
    )
    assert evidence.why_unavailable("nftables") == (
        "not reached: the batch ended early (timed out after 1.5 s)"
    )
    assert list(tmp_path.iterdir()) == []


def test_garbage_and_nothing_do_not_raise() -> None:
    assert parse_batch("", PACKET).unavailable == (("batch", "no batch output: it did not run"),)
    assert parse_batch("\x00\xff garbage\n" * 10, PACKET).why_unavailable("batch")
    marker = "@@ct-0123456789abcdef@@"
    odd = f"{marker} batch 1\n{marker} begin uptime\nforever\n\n{marker} stderr uptime\n\n"
    odd += f"{marker} end uptime 0\n{marker} end nothing x\n{marker} done\n"
    evidence = parse_batch(odd, PACKET)
    assert evidence.uptime_s is None
    assert evidence.why_unavailable("uptime") == "unreadable output: 'forever'"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the batch as another user")
def test_sudo_that_needs_a_password_is_reported(
    tools: Tools, tool_runner: Callable[..., ToolRunner]
) -> None:
    tools.add("sudo", "echo 'sudo: a password is required' >&2\nexit 1\n")
    evidence = gather_host(
        tool_runner(user="65534"), 8080, "127.0.0.1", "127.0.0.1", sudo=True, timeout=20
    )
    assert evidence.privileged is False
    why = evidence.why_unavailable("iptables") or ""
    assert why == "needs root, and sudo -n could not run it: sudo: a password is required"
    # ss fell back to the plain listing; everything that needs no root is there.
    assert evidence.why_unavailable("listener processes") is not None
    assert evidence.counters is not None
    assert evidence.uptime_s is not None


def test_without_root_or_sudo_the_gaps_say_why(tool_runner: Callable[..., ToolRunner]) -> None:
    evidence = gather_host(tool_runner(user="65534"), 8080, "127.0.0.1", "127.0.0.1", timeout=20)
    assert evidence.privileged is False
    assert (evidence.why_unavailable("iptables") or "").startswith("needs root")
    assert (evidence.why_unavailable("nftables") or "").startswith("needs root")
    assert evidence.why_unavailable("listener processes") == (
        "not root: ss names only the batch user's own processes (use sudo)"
    )


SYSTEMCTL = """\
printf '%s\\n' "$@" > "$(dirname "$0")/systemctl.argv"
cat <<EOF
MainPID={pid}
Result=exit-code
NRestarts=4
ExecMainStartTimestamp=Tue 2024-05-07 10:12:03 UTC
LoadState=loaded
ActiveState=active
SubState=running
ActiveEnterTimestampMonotonic=1000000
EOF
"""
JOURNALCTL = """\
printf '%s\\n' "$@" > "$(dirname "$0")/journalctl.argv"
echo "2024-05-07T10:12:01+0000 web-1 app[77]: bind: Address already in use"
echo "-- Boot 1234 --"
"""


def test_under_systemd_the_unit_and_its_journal_are_read(
    tools: Tools, tool_runner: Callable[..., ToolRunner]
) -> None:
    tools.add("systemctl", SYSTEMCTL.replace("{pid}", str(os.getpid())))
    tools.add("journalctl", JOURNALCTL)
    runner = tool_runner(systemd=True)
    evidence = gather_host(runner, 8080, "127.0.0.1", "127.0.0.1", unit="app.service", timeout=20)
    assert evidence.init == "systemd"
    unit = evidence.unit
    assert unit is not None
    assert unit.name == "app.service"
    assert (unit.active_state, unit.sub_state, unit.result, unit.n_restarts) == (
        "active",
        "running",
        "exit-code",
        4,
    )
    assert evidence.uptime_s is not None
    assert unit.started_ago_s is not None
    assert abs(unit.started_ago_s - (evidence.uptime_s - 1.0)) < 1.0
    assert evidence.journal == (
        "2024-05-07T10:12:01+0000 web-1 app[77]: bind: Address already in use",
    )
    # The unit's main process is aged from ps. (`processes` also holds the owners of
    # whatever listens on this machine: other tests' listeners, so not compared whole.)
    assert [p.pid for p in evidence.unit_processes] == [os.getpid()]
    assert os.getpid() in [p.pid for p in evidence.processes]
    argv = (tools.path / "systemctl.argv").read_text().splitlines()
    assert argv[0] == "show"
    assert argv[-2:] == ["--", "app.service"]
    assert (tools.path / "journalctl.argv").read_text().splitlines()[0] == "--unit=app.service"


def test_without_systemd_the_unit_is_a_named_gap() -> None:
    marker = "@@ct-0123456789abcdef@@"
    output = f"{marker} batch 1\n{marker} info init other\n{marker} done\n"
    evidence = parse_batch(output, PACKET, unit="app.service")
    assert evidence.unit is None
    assert evidence.why_unavailable("unit") == (
        "systemd is not PID 1 on the host: see process ages instead"
    )


def test_firewall_sections_become_verdicts() -> None:
    marker = "@@ct-0123456789abcdef@@"
    saved = (
        "# Generated by iptables-save v1.8.9 (nf_tables) on Tue Nov 24 18:09:16 2026\n*filter\n"
        ":INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 8080 -j DROP\nCOMMIT\n"
    )
    legacy = (
        "# Generated by iptables-save v1.8.9 on Tue Nov 24 18:09:16 2026\n*filter\n"
        ":INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j DROP\nCOMMIT\n"
    )

    def section(name: str, stdout: str, rc: int = 0) -> str:
        return (
            f"{marker} begin {name}\n{stdout}\n{marker} stderr {name}\n\n{marker} end {name} {rc}\n"
        )

    output = (
        f"{marker} batch 1\n"
        + section("iptables", saved)
        + section("iptables-legacy", legacy)
        + section("nft", '{"nftables": [{"table": {"family": "ip", "name": "filter"}}]}')
        + f"{marker} done\n"
    )
    evidence = parse_batch(output, PACKET)
    by_backend = {v.backend: v for v in evidence.firewall}
    assert by_backend[Backend.IPTABLES_NFT].action is Action.DROP
    assert by_backend[Backend.IPTABLES_LEGACY].action is Action.ACCEPT
    assert by_backend[Backend.IPTABLES_LEGACY].loaded
    # The nft ruleset holds only iptables-nft's own table: nothing of its own.
    assert not by_backend[Backend.NFTABLES].loaded
    assert evidence.mixed_backends
    assert evidence.firewall_effective is by_backend[Backend.IPTABLES_NFT]
