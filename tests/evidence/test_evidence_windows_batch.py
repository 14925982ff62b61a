"""The Windows batch's text: what reaches cmd.exe and PowerShell, and how the unit is
quoted. No PowerShell runs here: the quoting is checked against PowerShell's own rule
for single-quoted strings (about_Quoting_Rules; its tokenizer takes ' and U+2018..U+201B
alike as single quotes, two in a row as one literal quote)."""

from __future__ import annotations

import base64
import re

import pytest

from pytest_conntriage.evidence.runner import NOT_RUN, RunResult, WinRMRunner
from pytest_conntriage.evidence.windows_batch import (
    MAX_COMMAND_CHARS,
    POWERSHELL,
    build_windows_batch,
    run_windows_batch,
)
from pytest_conntriage.powershell import literal as ps_literal

QUOTES = "'\u2018\u2019\u201a\u201b"

HOSTILE = [
    "nginx",
    "x'; Remove-Item -Recurse -Force C:\\ ; '",
    "a\u2019; Stop-Computer; \u2018b",  # typographic quotes close a PowerShell string too
    "''''",
    "$(Stop-Computer)",
    "`$env:COMPUTERNAME`n",
    '"; calc; "',
    "multi\r\nline'\n#",
    "-Name",
    "%COMSPEC% & whoami | more ^",
    "\u00fcber' + 'dienst",
]


def scan_single_quoted(text: str) -> tuple[str, str]:
    """PowerShell's reading of a single-quoted string at the start of `text`: its value,
    and what follows the closing quote."""
    assert text[0] in QUOTES
    value, i = [], 1
    while i < len(text):
        c = text[i]
        if c in QUOTES:
            if i + 1 < len(text) and text[i + 1] in QUOTES:
                value.append(c)
                i += 2
                continue
            return "".join(value), text[i + 1 :]
        value.append(c)
        i += 1
    raise AssertionError("unterminated string")


@pytest.mark.parametrize("unit", HOSTILE)
def test_the_unit_is_one_literal_and_nothing_else(unit: str) -> None:
    batch = build_windows_batch(unit)
    start = batch.script.index("$U=") + len("$U=")
    value, rest = scan_single_quoted(batch.script[start:])
    assert value == unit
    assert rest.startswith(";$L=@()\n")
    # The script apart from the literal is the constant one.
    assert batch.script.count("$U") == build_windows_batch("x").script.count("$U")


@pytest.mark.parametrize("unit", HOSTILE)
def test_cmd_exe_sees_only_base64(unit: str) -> None:
    batch = build_windows_batch(unit)
    assert batch.command.startswith(POWERSHELL)
    payload = batch.command[len(POWERSHELL) :]
    assert re.fullmatch(r"[A-Za-z0-9+/]+=*", payload)  # no % ^ & | < > " for cmd.exe
    assert base64.b64decode(payload).decode("utf-16-le") == batch.script
    assert len(batch.command) <= MAX_COMMAND_CHARS
    assert batch.command.isascii()  # testinfra sends it without asking for an encoding


def test_no_unit_is_null_not_an_empty_name() -> None:
    script = build_windows_batch(None).script
    assert "$U=$null;" in script
    assert "if($U -ne $null){S service" in script


def test_the_marker_is_fresh_and_hex() -> None:
    one, two = build_windows_batch("a"), build_windows_batch("a")
    assert one.marker != two.marker
    assert re.fullmatch(r"@@ct-[0-9a-f]{16}@@", one.marker)
    assert f"$M='{one.marker}'" in one.script


def test_what_cannot_be_sent_is_not_sent() -> None:
    class Refuses:
        def run(self, command: str, *args: str) -> RunResult:
            raise AssertionError("nothing may be run")

    nul = run_windows_batch(Refuses(), "a\x00b")
    assert nul.rc == NOT_RUN
    assert "NUL" in nul.stderr
    long = run_windows_batch(Refuses(), "x" * 2000)
    assert long.rc == NOT_RUN
    assert "cmd.exe takes 8191" in long.stderr
    with pytest.raises(ValueError, match="NUL"):
        ps_literal("\x00")


def test_every_section_is_collected_and_the_filters_come_from_the_active_store() -> None:
    script = build_windows_batch("svc").script
    for name in ("os", "listeners", "processes", "profiles", "setting", "rules", "service"):
        assert f"S {name} {{" in script
    assert script.count("-PolicyStore ActiveStore") == 4
    assert "ConvertTo-Json -InputObject @(& $b) -Depth 4 -Compress" in script
    assert "Get-NetTCPConnection -State Listen" in script


class FakeWinRMHost:
    """testinfra's Host.run shape, recording what it was asked."""

    def __init__(self, result: RunResult | Exception) -> None:
        self.result = result
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def run(self, command: str, *args: str) -> RunResult:
        self.asked.append((command, args))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_the_winrm_runner_sends_the_command_as_it_is() -> None:
    host = FakeWinRMHost(RunResult(0, "out", ""))
    batch = build_windows_batch("svc")
    assert WinRMRunner(host, 5.0).run(batch.command) == RunResult(0, "out", "")
    assert host.asked == [(batch.command, ())]  # no `timeout`, no `sh -c`, no args


def test_the_winrm_runner_reports_a_transport_failure_in_one_line() -> None:
    failing = FakeWinRMHost(ConnectionError("HTTPSConnectionPool(host='w', port=5986): refused"))
    result = WinRMRunner(failing, 5.0).run("powershell.exe")
    assert result.rc == NOT_RUN
    assert result.stderr == "ConnectionError: HTTPSConnectionPool(host='w', port=5986): refused"
    with pytest.raises(ValueError, match="no args"):
        WinRMRunner(failing, 5.0).run("cmd %s", "arg")
