"""A team's plugin adds a check kind (tests/plugins/banner_kind.py and banner.yaml)
through pytest_conntriage_add_kinds, touching no file of the package: its own inventory
key, outcomes, runbook entry and placeholders, run through the real plugin on loopback."""

from __future__ import annotations

import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import pytest

from pytest_conntriage.inventory.schema import inventory_schema
from pytest_conntriage.kinds.protocol import KindDefaults
from pytest_conntriage.kinds.registry import BUILT_IN
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.report.properties import junit_properties
from pytest_conntriage.runbook import RunbookError, load_runbook
from pytest_conntriage.runbook.vocabulary import Vocabulary

PLUGINS = Path(__file__).parent / "plugins"


class Greeter:
    """A loopback server that sends each client one line, then closes."""

    def __init__(self, line: bytes) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._line = line
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return  # closed
            with client:
                client.sendall(self._line)

    def close(self) -> None:
        self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=10)


@pytest.fixture
def greeters() -> Iterator[tuple[Greeter, Greeter]]:
    smtp, ssh = Greeter(b"220 mail.test ESMTP ready\r\n"), Greeter(b"SSH-2.0-OpenSSH_9.6\r\n")
    yield smtp, ssh
    smtp.close()
    ssh.close()


def run(pytester: pytest.Pytester, inventory: str, *args: str) -> pytest.RunResult:
    pytester.syspathinsert(PLUGINS)
    path = pytester.makefile(".yml", inventory=inventory)
    return pytester.runpytest("-p", "banner_kind", "--inventory", str(path), *args)


def test_a_plugins_kind_runs_end_to_end_with_its_own_key_outcome_and_cause(
    pytester: pytest.Pytester, greeters: tuple[Greeter, Greeter]
) -> None:
    smtp, ssh = greeters
    junit = pytester.path / "junit.xml"
    result = run(
        pytester,
        f"""
        version: 1
        services:
          mail:
            address: 127.0.0.1
            ports: [{smtp.port}, {ssh.port}]
            timeout: 5s
            banner: {{expect: "220 "}}
        """,
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=3, failed=1)  # a tcp check per port, and the banners
    cases = junit_properties(ET.parse(junit).getroot())
    [passed] = [v for k, v in cases.items() if f":{smtp.port}]" in k and "test_banner[" in k]
    [failed] = [v for k, v in cases.items() if f":{ssh.port}]" in k and "test_banner[" in k]
    assert passed["outcome"] == "banner-ok"
    assert failed["outcome"] == "banner-mismatch"
    assert failed["banner"] == "SSH-2.0-OpenSSH_9.6"
    assert failed["top_cause"] == "another-daemon"
    output = result.stdout.str()
    # The runbook's words, filled from the kind's own facts and the core ones.
    assert (
        f"Another daemon answers on port {ssh.port}: it greets with SSH-2.0-OpenSSH_9.6" in output
    )
    assert "Stop whatever greets with SSH-2.0-OpenSSH_9.6 on 127.0.0.1" in output
    assert f"nc -w 3 -- 127.0.0.1 {ssh.port}" in output


def test_a_mistake_in_a_plugins_key_is_told_at_its_line_and_column(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        version: 1
        services:
          mail:
            address: 127.0.0.1
            ports: [25]
            banner: {expct: "220 "}
        """,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*inventory.yml:6:14: unknown key 'expct' in services.mail.banner"
            " (did you mean 'expect'?)"
        ]
    )


def test_a_value_the_kind_reads_is_told_at_its_line_and_column(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        version: 1
        services:
          mail:
            address: 127.0.0.1
            ports: [25]
            banner:
              expect: "220\\nHELO"
        """,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*inventory.yml:7:15: services.mail.banner.expect: a banner is one line*"]
    )


def test_without_the_plugin_its_key_is_unknown(pytester: pytest.Pytester) -> None:
    path = pytester.makefile(
        ".yml",
        inventory="version: 1\nservices:\n  mail:\n    address: 127.0.0.1\n"
        "    ports: [25]\n    banner: {expect: x}\n",
    )
    result = pytester.runpytest("--inventory", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*inventory.yml:6:5: *unknown key 'banner'*"])


class Grabby(KindDefaults):
    """A kind that claims a key another kind owns."""

    name = "grabby"
    inventory_schema = MappingProxyType({"properties": {"http": {"type": "object"}}})


def test_a_kind_cannot_claim_a_key_another_kind_owns() -> None:
    with pytest.raises(
        ValueError, match="check kind 'grabby': the service key 'http' is kind 'http''s"
    ):
        inventory_schema((*BUILT_IN, Grabby()))  # type: ignore[arg-type]


GREETING_MISMATCH = Outcome.declare("greeting-mismatch", "the server greets otherwise")


class Greeting(KindDefaults):
    """A kind with an outcome and a placeholder of its own, for a runbook to use."""

    name = "greeting"
    outcomes = (GREETING_MISMATCH,)
    placeholders = MappingProxyType({"greeting": "another greeting"})


class Mute(Greeting):
    """The same outcome, and no placeholder."""

    name = "mute"
    placeholders = MappingProxyType({})


def test_a_runbook_names_a_kinds_outcome_and_placeholders_only_in_a_run_with_it(
    tmp_path: Path,
) -> None:
    text = (PLUGINS / "banner.yaml").read_text()
    for word in ("banner-mismatch", "{banner}", "{expected}"):
        text = text.replace(word, "greeting-mismatch" if "-" in word else "{greeting}")
    path = tmp_path / "team.yaml"
    path.write_text(text)
    # Only the kinds' outcomes and placeholders are read: these two need nothing else.
    greeting = Vocabulary.of([Greeting()])  # type: ignore[list-item]
    mute = Vocabulary.of([Mute()])  # type: ignore[list-item]
    [entry] = load_runbook([str(path)], bundled=False, vocabulary=greeting).entries
    assert entry.outcomes == {GREETING_MISMATCH}
    unknown = r"team\.yaml:\d+:\d+: unknown outcome 'greeting-mismatch'"
    with pytest.raises(RunbookError, match=unknown):
        load_runbook([str(path)], bundled=False)
    with pytest.raises(RunbookError, match=r"team\.yaml:9:\d+: unknown placeholder \{greeting\}"):
        load_runbook([str(path)], bundled=False, vocabulary=mute)
