"""The real plugin against a Windows (winrm://) host faked at the evidence layer alone.

There is no Windows host here: testinfra's get_host gives, for a winrm:// spec, a host
whose run() answers the PowerShell batch with a fixture (tests/evidence/data/windows/,
written from the cmdlets' documented shapes), under the marker of the script it was
sent. Everything else is the real plugin's: the plan, the probes (real sockets on
loopback), the choice of the Windows batch, its reading, the judging, the triage and
the report.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from pytest_conntriage.demo.listeners import OpenListener, closed_port

FIXTURE = Path(__file__).parent / "data" / "windows" / "server2022.txt"

CONFTEST = '''
import base64
import re
from pathlib import Path
from types import SimpleNamespace

import testinfra

FIXTURE = Path(%(fixture)r)
OPEN_PORT = %(open_port)d
ASKED = []


class FakeWindowsHost:
    """A testinfra Host for winrm:// specs: answers the batch the plugin sends."""

    backend = SimpleNamespace(NAME="winrm")

    def run(self, command, *args):
        ASKED.append((command, args))
        prefix = "powershell.exe -NoLogo -NoProfile -NonInteractive -EncodedCommand "
        assert command.startswith(prefix) and not args, command[:80]
        script = base64.b64decode(command[len(prefix):]).decode("utf-16-le")
        marker = re.search(r"\\$M='(@@ct-[0-9a-f]{16}@@)'", script).group(1)
        text = FIXTURE.read_text().replace("@@ct-0123456789abcdef@@", marker)
        # The service listens on the port this test opened, on loopback.
        text = text.replace('"LocalPort":9090', '"LocalPort":%%d' %% OPEN_PORT)
        return SimpleNamespace(rc=0, stdout=text, stderr="")


_real = testinfra.get_host


def _get_host(spec, **kwargs):
    if spec.startswith("winrm://"):
        return FakeWindowsHost()
    return _real(spec, **kwargs)


def pytest_configure(config):
    testinfra.get_host = _get_host


def pytest_unconfigure(config):
    testinfra.get_host = _real
    assert ASKED, "the Windows host was never asked"
    assert len(ASKED) == 1, "one batch per host and unit"
'''


def test_a_winrm_host_is_read_by_the_windows_batch_and_triaged_for_windows(
    pytester: pytest.Pytester,
) -> None:
    with OpenListener("127.0.0.2") as listening:
        gone = closed_port("127.0.0.2")
        pytester.makeconftest(CONFTEST % {"fixture": str(FIXTURE), "open_port": listening.port})
        inventory = pytester.path / "inv.yml"
        inventory.write_text(
            textwrap.dedent(
                f"""\
                version: 1
                defaults: {{timeout: 2s}}
                hosts:
                  win-1: {{connection: "winrm://admin@win-1.example.test:5986"}}
                services:
                  api:
                    host: win-1
                    address: 127.0.0.2
                    ports: [{listening.port}, {gone}]
                    unit: ContosoApi
                """
            )
        )
        result = pytester.runpytest_inprocess(
            "--inventory", str(inventory), "-p", "no:cacheprovider", "-rA"
        )
    out = result.stdout.str()
    # tcp: the open port passes, the closed one is refused; listening: the fixture's
    # listener is on the open port only; firewall: loopback is not filtered (both
    # pass); service: Get-Service says Stopped.
    result.assert_outcomes(passed=4, failed=3)
    assert re.search(rf"PASSED .*test_listening\[api@win-1:{listening.port}\]", out), out
    assert re.search(rf"FAILED .*test_listening\[api@win-1:{gone}\]", out), out
    assert "unit ContosoApi on win-1 is inactive/Stopped" in out
    assert f"nothing listens on port {gone} on win-1 (Get-NetTCPConnection)" in out
    # The triage's commands are the Windows ones, with PowerShell-quoted values.
    assert "Restart-Service -Name 'ContosoApi'" in out
    assert f"Get-NetTCPConnection -State Listen -LocalPort '{gone}'" in out
    for linux in ("systemctl", "journalctl", "ss -tlnp", "iptables"):
        assert linux not in out, linux
    # What Windows does not give is unknown, and said so.
    assert "win-1: journal: not gathered on Windows" in out
