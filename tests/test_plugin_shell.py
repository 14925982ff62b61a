"""The plugin's shell: inert without an inventory, and a good neighbour to other plugins."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

from pytest_conntriage.demo.listeners import OpenListener

# What the process looks like after a run: run in a subprocess, so nothing this test
# session has imported or frozen counts.
PROBE_CONFTEST = """
import gc, json, resource, signal, sys

def pytest_unconfigure(config):
    names = [name for name, _ in config.pluginmanager.list_name_plugin()]
    state = {
        "modules": sorted(m for m in sys.modules if m.startswith("pytest_conntriage")),
        "freeze": gc.get_freeze_count(),
        "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
        "sigterm": repr(signal.getsignal(signal.SIGTERM)),
        "plugins": [n for n in names if n and n.startswith("conntriage")],
        "libraries": sorted(
            {m.partition(".")[0] for m in sys.modules} & {"dns", "jsonschema"}
        ),
    }
    with open("state.json", "w") as f:
        json.dump(state, f)
"""

LOOPBACK_INVENTORY = """\
version: 1
defaults:
  timeout: 500ms
services:
  web:
    address: 127.0.0.2
    ports: [{port}]
"""


def run_state(pytester: pytest.Pytester, *args: str) -> dict[str, Any]:
    import json

    pytester.makeconftest(PROBE_CONFTEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert result.ret == 0, result.stdout.str()
    state: dict[str, Any] = json.loads((pytester.path / "state.json").read_text())
    return state


def test_without_an_inventory_the_plugin_registers_imports_and_changes_nothing(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    before = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    state = run_state(pytester)
    # The entry point and the one module it needs to place --inventory; nothing below.
    # (and hookspec.py: the hooks' specs, which pluggy needs before any plugin uses them)
    assert state["modules"] == [
        "pytest_conntriage",
        "pytest_conntriage.hookspec",
        "pytest_conntriage.plugin",
        "pytest_conntriage.pytest_internals",
    ]
    assert state["plugins"] == ["conntriage"]  # the entry point, no run
    assert state["freeze"] == 0
    assert str(tuple(state["nofile"])) == before
    assert state["sigterm"] == "<Handlers.SIG_DFL: 0>"


def test_with_an_inventory_the_run_is_registered(pytester: pytest.Pytester) -> None:
    # The other side of the test above: the same probe sees a run when there is one.
    with OpenListener("127.0.0.2") as web:
        pytester.makefile(".yml", inv=LOOPBACK_INVENTORY.format(port=web.port))
        state = run_state(pytester, "--conntriage-inventory", "inv.yml")
    assert "pytest_conntriage.run" in state["modules"]
    assert set(state["plugins"]) >= {"conntriage-run", "conntriage-xdist"}
    assert state["freeze"] != 0
    # A valid inventory of addresses alone: nothing asks a resolver and no document
    # violates its schema, so neither dnspython nor jsonschema is imported.
    assert state["libraries"] == []


def test_collection_pauses_the_collector_and_freezes_what_it_built(
    pytester: pytest.Pytester,
) -> None:
    # The garbage collector's passes skip what loading and collection build (the
    # inventory, checks, items), which lives until the end anyway; it runs again
    # for the tests.
    pytester.makeconftest(
        """
import gc
seen = []

def pytest_collection_modifyitems(items):
    seen.append(gc.isenabled())

def pytest_runtest_setup(item):
    seen.extend([gc.isenabled(), gc.get_freeze_count()])

def pytest_unconfigure(config):
    with open("seen.txt", "w") as f:
        f.write(repr(seen))
"""
    )
    with OpenListener("127.0.0.2") as web:
        pytester.makefile(".yml", inv=LOOPBACK_INVENTORY.format(port=web.port))
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--inventory", "inv.yml")
    result.assert_outcomes(passed=1)
    collecting, testing, frozen = ast.literal_eval((pytester.path / "seen.txt").read_text())
    assert (collecting, testing) == (False, True)
    assert frozen > 0


def test_the_fixture_without_an_inventory_starts_the_run_it_needs(
    pytester: pytest.Pytester,
) -> None:
    with OpenListener("127.0.0.2") as web:
        pytester.makepyfile(
            f"""
            def test_open(conntriage):
                conntriage.expect_open("127.0.0.2", {web.port}, timeout=0.5)
            """
        )
        state = run_state(pytester, f"--junitxml={pytester.path / 'junit.xml'}")
    assert "conntriage-run" in state["plugins"]
    # The test that started the run still has its check on its JUnit testcase.
    assert "conntriage.outcome" in (pytester.path / "junit.xml").read_text()


OTHER_INVENTORY_PLUGIN = """
def pytest_addoption(parser):
    parser.getgroup("other").addoption("--inventory", dest="other_inventory", default=None)
"""
SHOW_OTHER = """
def test_other(pytestconfig):
    print("other inventory:", pytestconfig.getoption("other_inventory"))
"""


@pytest.mark.parametrize("where", ["-p plugin, loaded before this one", "conftest, after it"])
def test_another_plugins_inventory_option_is_left_to_it(
    pytester: pytest.Pytester, where: str
) -> None:
    with OpenListener("127.0.0.2") as web:
        pytester.makefile(".yml", inv=LOOPBACK_INVENTORY.format(port=web.port))
        pytester.makepyfile(test_other=SHOW_OTHER)
        args = ["-s", "-v", "--inventory", "hosts.ini", "--conntriage-inventory", "inv.yml"]
        if where.startswith("-p"):
            pytester.makepyfile(other_plugin=OTHER_INVENTORY_PLUGIN)
            pytester.syspathinsert()
            args = ["-p", "other_plugin", *args]
        else:
            pytester.makeconftest(OTHER_INVENTORY_PLUGIN)
        result = pytester.runpytest_subprocess(*args, "inv.yml", "test_other.py")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*inv.yml::test_tcp[[]web:*PASSED*", "*other inventory: hosts.ini*"]
    )


def test_the_short_inventory_option_is_ours_when_free(pytester: pytest.Pytester) -> None:
    with OpenListener("127.0.0.2") as web:
        pytester.makefile(".yml", inv=LOOPBACK_INVENTORY.format(port=web.port))
        result = pytester.runpytest_subprocess("--inventory", "inv.yml", "-v")
    result.assert_outcomes(passed=1)
    help_text = pytester.runpytest_subprocess("--help").stdout.str()
    assert "--conntriage-inventory=FILE" in help_text
    assert "--inventory=FILE" in help_text


@pytest.fixture(scope="module")
def pytest_ansible_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pytest-ansible, installed from the package index into a directory of its own (put
    on PYTHONPATH: this venv is not touched). Only what this environment lacks: ansible-core
    is a dev dependency (hosts_from), pytest and xdist stay this environment's own."""
    target = tmp_path_factory.mktemp("pytest-ansible")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
            str(target),
            "pytest-ansible",
            "ansible-compat",
            "subprocess-tee",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if install.returncode != 0:
        pytest.skip(f"pytest-ansible could not be installed: {install.stderr[-500:]}")
    return target


def test_beside_pytest_ansible_pytest_starts_and_the_long_option_runs_checks(
    pytester: pytest.Pytester, pytest_ansible_dir: Path
) -> None:
    env = dict(os.environ, PYTHONPATH=str(pytest_ansible_dir))
    with OpenListener("127.0.0.2") as web:
        pytester.makefile(".yml", inv=LOOPBACK_INVENTORY.format(port=web.port))
        pytester.makepyfile(
            test_ansible_option="""
            def test_ansible_has_inventory(pytestconfig):
                print("ansible inventory:", pytestconfig.getoption("ansible_inventory"))
            """
        )
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-v",
                "-s",
                "--inventory",
                "hosts.ini",
                "--conntriage-inventory",
                "inv.yml",
                "inv.yml",
                "test_ansible_option.py",
            ],
            cwd=pytester.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    # pytest-ansible's plugin was loaded (it has the option), and pytest ran the checks.
    assert "ansible inventory: hosts.ini" in out
    assert re.search(r"inv\.yml::test_tcp\[web:local->127\.0\.0\.2:\d+\] PASSED", out), out


UNRELATED_TEST = (
    "def test_unrelated():\n    raise AssertionError('not part of the inventory run')\n"
)
TEAM_CHECK = """
from pytest_conntriage.kinds.tcp import TcpCheck
from pytest_conntriage.fixture import Conntriage


def test_answers_within_budget(tcp_check: TcpCheck, conntriage: Conntriage) -> None:
    result = conntriage.verify(tcp_check)
    assert result.passed
"""


def test_the_inventory_alone_runs_its_suites_and_the_teams_own_checks(
    pytester: pytest.Pytester,
) -> None:
    """No path given: the built-in suites and the modules of ini conntriage_suites run,
    not the unrelated tests under testpaths."""
    with OpenListener("127.0.0.2") as web:
        pytester.makefile(".yml", inv=LOOPBACK_INVENTORY.format(port=web.port))
        pytester.makeini("[pytest]\ntestpaths = tests\nconntriage_suites = checks\n")
        (pytester.path / "tests").mkdir()
        (pytester.path / "tests" / "test_unrelated.py").write_text(UNRELATED_TEST)
        (pytester.path / "checks").mkdir()
        (pytester.path / "checks" / "test_latency.py").write_text(TEAM_CHECK)
        result = pytester.runpytest_subprocess("--inventory", "inv.yml", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            f"inv.yml::test_tcp[[]web:local->127.0.0.2:{web.port}[]] PASSED*",
            f"checks/test_latency.py::test_answers_within_budget[[]web:local->127.0.0.2:{web.port}[]]"
            " PASSED*",
        ]
    )
    assert "test_unrelated" not in result.stdout.str()


def test_given_paths_pytest_runs_those_and_the_inventory_when_named(
    pytester: pytest.Pytester,
) -> None:
    with OpenListener("127.0.0.2") as web:
        pytester.makefile(".yml", inv=LOOPBACK_INVENTORY.format(port=web.port))
        pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
        only_mine = pytester.runpytest_subprocess("--inventory", "inv.yml", "test_mine.py")
        both = pytester.runpytest_subprocess("--inventory", "inv.yml", "inv.yml", "test_mine.py")
    only_mine.assert_outcomes(passed=1)
    both.assert_outcomes(passed=2)


def test_the_built_in_suites_run_as_ordinary_test_modules_too(pytester: pytest.Pytester) -> None:
    """`pytest --inventory inv.yml <the suites' directory>`: the same checks, collected by
    pytest from the suite modules, under the suites' own ids."""
    suites = Path(str(import_module("pytest_conntriage.suites").__file__)).parent
    with OpenListener("127.0.0.2") as web:
        pytester.makefile(".yml", inv=LOOPBACK_INVENTORY.format(port=web.port))
        result = pytester.runpytest_subprocess(
            "--inventory", "inv.yml", str(suites / "test_tcp.py"), "-v", "-p", "no:cacheprovider"
        )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"*test_tcp.py::test_tcp[[]web:local->127.0.0.2:{web.port}[]] PASSED*"]
    )
