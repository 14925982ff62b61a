"""Inventory values are data, never code: hostile unit names and addresses go through the
real batch and come out inert (the marker file they try to create never appears)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_conntriage.evidence import gather_client, gather_host, read_batch, run_batch
from pytest_conntriage.evidence.firewall import Packet
from pytest_conntriage.evidence.runner import LocalRunner, TestinfraRunner
from tests.evidence.evidence_fakes import ToolRunner, Tools


def payloads(marker: Path) -> list[str]:
    touch = f"touch {marker}"
    return [
        f"app; {touch}",
        f"$({touch})",
        f"`{touch}`",
        f"app\n{touch}\n",
        f"app'; {touch}; echo '",
        f'app"; {touch}; echo "',
        f"app && {touch} #",
        f"app | {touch}",
        f"-x $({touch}) %s %% %(x)s",
        f"app\\'; {touch}",
        f"${{IFS}}{touch}",
    ]


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "pwned"


def test_the_runner_passes_args_verbatim(marker: Path) -> None:
    runner = LocalRunner(10)
    for payload in payloads(marker):
        result = runner.run("printf '%%s' %s", payload)
        assert result.stdout == payload
    assert not marker.exists()


def test_hostile_units_in_the_batch(marker: Path) -> None:
    for payload in payloads(marker):
        evidence = gather_host(LocalRunner(20), 8080, "127.0.0.1", "127.0.0.1", unit=payload)
        assert evidence.why_unavailable("batch") is None
    assert not marker.exists()


NUL_ARGV = """\
printf '%s\\0' "$@" > "$(dirname "$0")/$(basename "$0").argv"
echo ActiveState=failed
"""


def test_hostile_units_reach_systemctl_and_journalctl_as_one_argument(
    marker: Path, tools: Tools, tool_runner: Callable[..., ToolRunner]
) -> None:
    tools.add("systemctl", NUL_ARGV)
    tools.add("journalctl", NUL_ARGV)
    runner = tool_runner(systemd=True)
    for payload in payloads(marker):
        evidence = gather_host(runner, 8080, "127.0.0.1", "127.0.0.1", unit=payload, timeout=20)
        assert evidence.unit is not None
        assert evidence.unit.name == payload
        assert evidence.unit.active_state == "failed"
        shown = (tools.path / "systemctl.argv").read_text().split("\0")[:-1]
        assert shown[-2:] == ["--", payload]
        journal = (tools.path / "journalctl.argv").read_text().split("\0")[:-1]
        assert journal[0] == f"--unit={payload}"
    assert not marker.exists()


def test_hostile_units_through_testinfra(marker: Path) -> None:
    import testinfra

    runner = TestinfraRunner(testinfra.get_host("local://"), 20)
    for payload in payloads(marker):
        result = run_batch(runner, payload, sudo=True, timeout=20)
        evidence = read_batch(result, Packet(8080, "127.0.0.1", "127.0.0.1"), payload)
        assert evidence.why_unavailable("batch") is None
    assert not marker.exists()


def test_hostile_addresses(marker: Path) -> None:
    for payload in payloads(marker):
        client = gather_client(payload)
        assert client.route is None
        assert client.unavailable[0][0] == "route"
        # Addresses never enter the host's batch; one that is no IP is simply unknown.
        evidence = gather_host(LocalRunner(20), 8080, payload, payload)
        assert evidence.why_unavailable("batch") is None
    assert not marker.exists()


def test_the_payloads_bite_when_interpolated(marker: Path) -> None:
    # The control: formatted into a command instead of passed as an argument, they run.
    for payload in payloads(marker)[:3]:
        LocalRunner(10).run(f"echo {payload} >/dev/null")  # the mistake the batch never makes
        assert marker.exists()
        marker.unlink()
