"""The demo end to end, as a user runs it: `python -m pytest_conntriage.demo -- ARGS`.

Each run gets a network namespace of its own with only loopback: the demo's services
use fixed addresses and ports, which another run of the suite on the same machine may
hold at the same moment. Its pytest cache goes to the test's own directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_conntriage.demo.__main__ import DEFAULT_INVENTORY

RUN_TIMEOUT_S = 300  # a bound on a hang, not a timing assertion


@pytest.fixture(scope="session")
def netns() -> list[str]:
    """The command prefix that runs a command in a fresh network namespace, lo up."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs unshare and ip (util-linux, iproute2) for a private loopback")
    flags = "-n" if os.geteuid() == 0 else "-rn"  # rootless: a user namespace too
    prefix = ["unshare", flags, "--", "sh", "-c", 'ip link set lo up && exec "$@"', "netns"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace: {probe.stderr.strip()}")
    return prefix


@dataclass
class DemoRun:
    code: int
    out: str


def run_demo(
    netns: list[str], cwd: Path, *pytest_args: str, inventory: Path | None = None
) -> DemoRun:
    command = [*netns, sys.executable, "-m", "pytest_conntriage.demo"]
    if inventory is not None:
        command += ["--inventory", str(inventory)]
    env = {**os.environ, "XDG_CACHE_HOME": str(cwd / "cache")}
    # The outer run's own left out; no hypothesis plugin (tests/conftest.py says why).
    env["PYTEST_ADDOPTS"] = "-p no:hypothesispytest"
    # A session of its own: on a hang, the demo and its pytest are killed together.
    proc = subprocess.Popen(
        [*command, "--", *pytest_args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"the demo did not end within {RUN_TIMEOUT_S} s:\n{out}")
    return DemoRun(proc.returncode, out)


def judged_section(out: str) -> str:
    """The demo's own report after pytest's output."""
    start = out.find("demo: what each check that ran")
    assert start >= 0, out
    return out[start:]


@pytest.fixture(scope="module")
def whole_run(netns: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoRun]:
    """The demo run whole, once for the tests that read it (each run is ~2 s of CPU),
    and the directory whose cache keeps its failures."""
    cwd = tmp_path_factory.mktemp("whole-run")
    return cwd, run_demo(netns, cwd, "--tb=short")


def test_every_check_and_its_top_cause_as_intended(whole_run: tuple[Path, DemoRun]) -> None:
    _, run = whole_run
    assert run.code == 0, run.out
    # The host's evidence, read on loopback, behind the two faults only it can tell.
    assert "loopback: port 8081 is bound, but not on 127.0.0.3: " in run.out
    assert "loopback: the accept queue of 127.0.0.4:8082 is full: Recv-Q 1 over its backlog 0" in (
        run.out
    )
    report = judged_section(run.out)
    assert "NOT INTENDED" not in report
    for line in (
        "tcp api:8081: refused; top cause wrong-port-or-interface [confirmed]",
        "listening api:8081: wrong-interface; top cause wrong-port-or-interface [confirmed]",
        "tcp queue:8082: timeout; top cause backlog-full [confirmed]",
        "dns billing: dns-mismatch; top cause dns-wrong-host [confirmed]",
        "tcp billing:8083: refused; top cause dns-wrong-host [confirmed]",
        "dns legacy: dns-nxdomain; top cause dns-wrong-host [likely]",
        "tcp legacy:8084: dns-nxdomain; top cause dns-wrong-host [likely]",
        "closed 127.0.0.2:9090: open; no runbook cause",
    ):
        assert f"  as intended  {line}\n" in report
    assert "not run" not in report
    assert "every check that ran (15) passed or failed exactly as intended" in report


def test_a_k_selection_is_judged_alone(netns: list[str], tmp_path: Path) -> None:
    run = run_demo(netns, tmp_path, "-k", "8081")
    assert run.code == 0, run.out
    report = judged_section(run.out)
    assert "tcp api:8081: refused" in report
    assert "dns billing" not in report.split("not run")[0]
    not_run = next(line for line in report.splitlines() if "not run" in line)
    assert "tcp queue" in not_run
    assert "dns billing" in not_run
    assert "tcp api" not in not_run
    # tcp, listening and firewall checks of api's port; nothing else
    assert "every check that ran (3) passed or failed exactly as intended" in report


def test_lf_reruns_the_intended_failures_and_judges_those(
    netns: list[str], whole_run: tuple[Path, DemoRun]
) -> None:
    cwd, first = whole_run  # the first run, whose failures the demo's cache kept
    assert first.code == 0, first.out
    failed = pytest_counts(first.out)["failed"]
    run = run_demo(netns, cwd, "--lf", "--tb=no")
    assert run.code == 0, run.out
    assert "run-last-failure:" in run.out  # the demo's cache kept the first run's failures
    assert not (cwd / ".pytest_cache").exists()  # ... where it was told to
    ran = pytest_counts(run.out)
    report = judged_section(run.out)
    count = ran.get("failed", 0) + ran.get("passed", 0)
    assert f"every check that ran ({count}) passed or failed exactly as intended" in report
    # --lf works on inventory checks: pytest drops the rest at collection (or deselects
    # them), so only last run's failures run, and only they are judged.
    assert f"rerun previous {failed} failures" in run.out
    assert ran.get("failed") == failed, ran
    assert "passed" not in ran, ran
    assert " passed: " not in report  # the checks that passed last time did not run


def pytest_counts(out: str) -> dict[str, int]:
    """pytest's closing tally: {"failed": 7, "passed": 4}."""
    last = [line for line in out.splitlines() if " in " in line and "failed" in line][-1]
    words = last.strip("= ").split(" in ")[0].split(", ")
    return {w.split()[1]: int(w.split()[0]) for w in words}


def test_xdist_and_the_users_own_junit_file(netns: list[str], tmp_path: Path) -> None:
    # What .gitlab-ci.yml's connectivity gate runs.
    junit = tmp_path / "connectivity.xml"
    run = run_demo(netns, tmp_path, "-n", "2", f"--junitxml={junit}")
    assert run.code == 0, run.out
    assert "2 workers [15 items]" in run.out
    assert "every check that ran (15) passed or failed exactly as intended" in run.out
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert len(cases) == 15
    failures = sum(1 for c in cases if c.find("failure") is not None)
    assert failures == pytest_counts(run.out)["failed"] >= 8


def test_a_check_that_does_not_fail_as_intended_is_reported(
    netns: list[str], tmp_path: Path
) -> None:
    # api "fixed": the demo's intended refusal does not happen, and the demo says so.
    inventory = tmp_path / "fixed.yml"
    text = DEFAULT_INVENTORY.read_text()
    bound_elsewhere = "    address: 127.0.0.3  "
    assert bound_elsewhere in text
    inventory.write_text(text.replace(bound_elsewhere, "    address: 127.0.0.2  "))
    run = run_demo(netns, tmp_path, "-k", "8081", inventory=inventory)
    assert run.code == 1, run.out
    assert "NOT INTENDED tcp api:8081: passed" in run.out
    assert "demo: UNEXPECTED (pytest exit 1):" in run.out  # listening api still fails
    assert "tcp api:8081: expected to fail with refused, but it passed" in run.out
