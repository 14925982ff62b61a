"""No password from a host spec ever appears in anything a run writes: the terminal (with
`-l`, `--tb=long`, `-rA`, `-vv` and testinfra's DEBUG log), the JUnit files (pytest's and
the dashboard report), an xdist run, and `.pytest_cache`, through every way a host spec
can go wrong."""

from __future__ import annotations

import contextlib
import json

import pytest

from pytest_conntriage.demo.listeners import closed_port

SECRET = "S3cretSentinel-7f3a"
LOUD = ("-l", "--tb=long", "-rA", "-p", "cacheprovider")

# A host spec that the loader must reject, each by a different path (schema, host-spec
# validation, the masking safety net for a value of the wrong type), literal or ${PW}.
LOAD_ERRORS = {
    "bad-timeout": f"connection: paramiko://deploy:{SECRET}@127.0.0.2:1?timeout=abc",
    "bad-controlpersist": f"connection: ssh://deploy:{SECRET}@127.0.0.2?controlpersist=xyz",
    "option-host": f"connection: ssh://deploy:{SECRET}@-oProxyCommand=x",
    "option-user": f"connection: ssh://-oX:{SECRET}@127.0.0.2",
    "unknown-parameter": f"connection: ssh://deploy:{SECRET}@h?ssh_cnofig=/x",
    "password-parameter": f"connection: ssh://deploy@h?password={SECRET}",
    "two-at-signs": f"connection: ssh://deploy:{SECRET}@x@h",
    "hash": f"connection: ssh://deploy:{SECRET}#x@h",
    "space": f"connection: 'ssh://deploy:{SECRET} Pw@h'",
    "space-from-env": "connection: ssh://deploy:${PW}@h",
    "env-bad-timeout": "connection: paramiko://deploy:${PW}@h?timeout=abc",
    "env-partly-written": "connection: ssh://deploy:S3cret${PW_TAIL}@h?timeout=abc",
    "not-a-mapping": None,  # hosts.web is the spec itself, not {connection: ...}
    "list": f"connection: [ssh://deploy:{SECRET}@h]",
}


def _load_error_inventory(case: str) -> str:
    entry = LOAD_ERRORS[case]
    host = f"  web: ssh://deploy:{SECRET}@h\n" if entry is None else f"  web:\n    {entry}\n"
    return "version: 1\nhosts:\n" + host


def everything(pytester: pytest.Pytester, result: pytest.RunResult) -> str:
    """Every text the run wrote: its terminal and every file under its directory."""
    texts = [result.stdout.str(), result.stderr.str()]
    for path in sorted(pytester.path.rglob("*")):
        if path.is_file() and path.suffix not in (".yml", ".py"):
            texts.append(f"--- {path}\n{path.read_bytes().decode('utf-8', 'replace')}")
    return "\n".join(texts)


# The loader refuses the file before any check, host or child exists: what it writes
# goes through sys.stdout and sys.stderr, which an in-process run captures (a
# subprocess costs a second of CPU each). One case runs as a user runs it, in a
# process of its own, for whatever only a real process writes.
LOAD_ERROR_RUNS = [pytest.param(case, "inprocess", id=case) for case in LOAD_ERRORS] + [
    pytest.param("env-partly-written", "subprocess", id="env-partly-written-subprocess")
]


@pytest.mark.parametrize(("case", "process"), LOAD_ERROR_RUNS)
def test_a_host_spec_the_loader_rejects_shows_no_password(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, case: str, process: str
) -> None:
    monkeypatch.setenv("PW", f"{SECRET} Pw" if case == "space-from-env" else SECRET)
    monkeypatch.setenv("PW_TAIL", SECRET[6:])
    (pytester.path / "inv.yml").write_text(_load_error_inventory(case))
    junit = pytester.path / "junit.xml"
    run = pytester.runpytest_subprocess if process == "subprocess" else pytester.runpytest_inprocess
    result = run("--inventory", "inv.yml", *LOUD, f"--junitxml={junit}")
    assert result.ret == 4, result.stdout.str() + result.stderr.str()
    errors = [line for line in result.stderr.lines if line.startswith("ERROR: inv.yml:")]
    assert len(errors) == 1, result.stderr.str()
    assert "***" in errors[0] or "is not a testinfra" in errors[0] or "expected" in errors[0]
    shown = everything(pytester, result)
    assert SECRET not in shown
    assert SECRET[6:] not in shown  # nor the part that came from the environment


# Hosts that load but cannot be used, each failing a different way at run time: a
# refused paramiko login, a backend testinfra cannot open at all (winrm without
# pywinrm: get_host raises), and ssh with a password (sshpass, logged by testinfra at
# DEBUG with the password in its argv).
def _runtime_inventory(port: int) -> str:
    hosts = {
        "jump": f"paramiko://deploy:{SECRET}@127.0.0.2:{port}?timeout=2",
        "win": f"winrm://deploy:{SECRET}@127.0.0.2:{port}",
        "pw": "ssh://deploy:${PW}@127.0.0.2:" + str(port) + "?timeout=2&controlpersist=0",
    }
    lines = ["version: 1", "defaults:", "  timeout: 1s", "hosts:"]
    for alias, spec in hosts.items():
        lines += [f"  {alias}:", f"    connection: {json.dumps(spec)}"]
    lines.append("services:")
    for alias in hosts:
        lines += [
            f"  on-{alias}:",
            "    address: 127.0.0.3",
            f"    ports: [{port}]",
            f"    from: [local, {alias}]",
            f"    host: {alias}",
            "    unit: app",
        ]
    return "\n".join(lines) + "\n"


# A user's own test that fails with the checks and the fixture in its locals (`-l`).
USER_TEST = """
def test_mine(tcp_check, conntriage):
    hosts = conntriage
    assert tcp_check is None
"""


@pytest.mark.parametrize("mode", ["serial", "xdist"])
def test_a_host_that_fails_at_run_time_shows_no_password(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("PW", SECRET)
    port = closed_port("127.0.0.2")
    (pytester.path / "inv.yml").write_text(_runtime_inventory(port))
    pytester.makepyfile(test_user=USER_TEST)
    junit = pytester.path / "junit.xml"
    extra = ("-n", "2") if mode == "xdist" else ("--log-level=DEBUG", "-vv")
    dashboard = pytester.path / "dashboard.xml"  # --conntriage-junit: swept too
    # And the Markdown and JSON reports, with the table of checks by service (-rA).
    reports = (f"--conntriage-markdown={pytester.path / 'r.md'}", "--conntriage-json=r.json")
    result = pytester.runpytest_subprocess(
        "--inventory",
        "inv.yml",
        "inv.yml",
        "test_user.py",
        *LOUD,
        f"--junitxml={junit}",
        f"--conntriage-junit={dashboard}",
        *reports,
        *extra,
        timeout=300,
    )
    shown = everything(pytester, result)
    assert result.ret == 1, shown[-4000:]
    # Every failure path was taken: a vantage that cannot log in, one testinfra cannot
    # open, evidence hosts of both kinds, and the user's own failing test.
    assert "vantage jump could not run the probe" in shown
    assert "cannot open host win: RuntimeError: You must install the pywinrm" in shown
    # The batch's gap is one line, in the transport's words.
    assert "  win: batch: cannot open host win: RuntimeError: You must install" in shown
    assert "test_mine[" in shown
    assert (pytester.path / ".pytest_cache").is_dir()  # swept too
    assert "vantage jump could not run the probe" in dashboard.read_text()
    assert "vantage jump could not run the probe" in (pytester.path / "r.json").read_text()
    assert "conntriage: checks by service" in shown
    assert SECRET not in shown


def test_testinfras_debug_log_of_the_sshpass_command_is_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # testinfra logs every command it runs at DEBUG; for ssh:// with a password that is
    # `sshpass -p PASSWORD ssh ...` (whether or not sshpass is installed).
    from pytest_conntriage.connections import HostPool
    from pytest_conntriage.inventory.model import Host, Location

    port = closed_port("127.0.0.2")
    spec = f"ssh://deploy:{SECRET}@127.0.0.2:{port}?timeout=2&controlpersist=0"
    pool = HostPool({"pw": Host("pw", spec, False, Location("inv.yml", 1, 1))})
    # ssh is refused (with sshpass installed, testinfra raises): only the log matters.
    with caplog.at_level("DEBUG", logger="testinfra"), contextlib.suppress(RuntimeError):
        pool.shell("pw").run("true")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "sshpass -p" in logged  # the line that carried it was logged ...
    assert SECRET not in logged  # ... masked
    assert SECRET not in caplog.text
