"""No inventory value becomes an option, end to end through the plugin: a host spec like
an ssh option is refused before anything runs, and a unit named like an option is
matched against command names only (here, through the real `local://` backend)."""

from __future__ import annotations

import json

import pytest

from pytest_conntriage.demo.listeners import closed_port


@pytest.mark.parametrize(
    "connection",
    [
        "ssh://-oProxyCommand=touch$IFS.x",
        "ssh://%2DoProxyCommand=touch$IFS.x",
        "ssh://-oProxyCommand=touch$IFS.x@127.0.0.2",
        "paramiko://127.0.0.2?ssh_config=-oProxyCommand=touch$IFS.x",
        "docker://--privileged",
    ],
)
@pytest.mark.parametrize("use", ["vantage", "host"])
def test_a_host_spec_like_an_option_is_refused_before_anything_runs(
    pytester: pytest.Pytester, connection: str, use: str
) -> None:
    port = closed_port("127.0.0.2")
    placed = "    from: [local, web]\n" if use == "vantage" else "    host: web\n"
    (pytester.path / "inv.yml").write_text(
        "version: 1\nhosts:\n  web:\n"
        f"    connection: {json.dumps(connection)}\n"
        f"services:\n  s:\n    address: 127.0.0.2\n    ports: [{port}]\n{placed}"
    )
    result = pytester.runpytest_inprocess("--inventory", "inv.yml")
    assert result.ret == 4
    errors = [line for line in result.stderr.lines if line.startswith("ERROR: ")]
    assert len(errors) == 1, result.stderr.str()
    assert errors[0].startswith("ERROR: inv.yml:4:17: hosts.web.connection: "), errors[0]
    assert "would be read as an option" in errors[0]
    assert not (pytester.path / ".x").exists()


def test_a_unit_named_like_an_option_is_not_found_in_pytests_own_argv(
    pytester: pytest.Pytester,
) -> None:
    # Without systemd, the service check looks for a process named after the unit. The
    # pytest that runs this has `-p` in its argv (`-p no:cacheprovider` below): a unit
    # named `-p` must not match it, nor any other word of any command line.
    port = closed_port("127.0.0.2")
    (pytester.path / "inv.yml").write_text(
        "version: 1\nhosts:\n  me:\n    connection: local://\n"
        f"services:\n  s:\n    address: 127.0.0.2\n    ports: [{port}]\n"
        "    host: me\n    unit: '-p'\n"
    )
    # In a subprocess: the command lines searched must include this pytest's own.
    result = pytester.runpytest_subprocess(
        "--inventory", "inv.yml", "-p", "no:cacheprovider", "-k", "test_service", "-rA"
    )
    result.assert_outcomes(failed=1, deselected=3)
    result.stdout.fnmatch_lines(["*test_service[[]s@me:-p[]]*inactive*"])
