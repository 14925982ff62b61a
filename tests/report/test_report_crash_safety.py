"""A bug anywhere in triage or reporting never hides a failure.

Each test plants an exception in one stage of the real plugin (a conftest replaces
the stage's function in the pytest run, and in its xdist workers) and reads what a
user and a dashboard get: the check still FAILED with its outcome, in the terminal
and in the JUnit file, and one line "triage unavailable: <why>" where the triage was.
"""

from __future__ import annotations

import importlib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NoReturn

import pytest
import xmlschema

from pytest_conntriage.demo.listeners import closed_port

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).with_name("junit-10.xsd")))

# stage → (module, function replaced, the stage named in the "triage unavailable" line)
STAGES = {
    # The client's route, gathered for every failed tcp check from this machine.
    "evidence": ("pytest_conntriage.evidence.collector", "gather_client", "evidence"),
    "ranking": ("pytest_conntriage.triage", "ranked", "ranking"),
    # Filling happens as the text is rendered and as the properties are read.
    "filling": ("pytest_conntriage.triage.fill", "prose", "rendering"),
    "rendering": ("pytest_conntriage.report.text", "_cause_lines", "rendering"),
    "JUnit properties": ("pytest_conntriage.run", "properties", "JUnit properties"),
}

INJECT = """\
import importlib

def _injected(*args, **kwargs):
    raise RuntimeError("injected into {stage}")

setattr(importlib.import_module({module!r}), {name!r}, _injected)
"""


def run_with_bug(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, stage: str, *args: str
) -> tuple[pytest.RunResult, str, ET.Element]:
    """Serial: the stage is replaced in this process for one in-process run (and put
    back after the test). With workers: a conftest replaces it in each worker, in a
    subprocess run, so the replacement never outlives that run."""
    module, name, _ = STAGES[stage]
    if args:
        pytester.makeconftest(INJECT.format(stage=stage, module=module, name=name))
    else:

        def injected(*args: object, **kwargs: object) -> NoReturn:
            raise RuntimeError(f"injected into {stage}")

        monkeypatch.setattr(importlib.import_module(module), name, injected)
    port = closed_port("127.0.0.3")
    inventory = pytester.path / "inventory.yml"
    inventory.write_text(
        f"version: 1\nservices:\n  api:\n    address: 127.0.0.3\n    ports: [{port}]\n"
    )
    junit = pytester.path / "junit.xml"
    run = pytester.runpytest_subprocess if args else pytester.runpytest_inprocess
    result = run(
        "--inventory", str(inventory), f"--junitxml={junit}", "-p", "no:cacheprovider", *args
    )
    test_id = f"test_tcp[api:local->127.0.0.3:{port}]"
    SCHEMA.validate(str(junit))  # what a strict consumer reads is still a valid file
    (case,) = [c for c in ET.parse(junit).getroot().iter("testcase") if c.get("name") == test_id]
    return result, test_id, case


# Every stage serially; under xdist, the two whose result crosses from the worker in
# different shapes (the failure text, the properties). The others are caught by the
# same code on a worker as serially, before anything crosses.
CASES = [
    *(pytest.param(stage, [], id=f"{stage}-serial") for stage in STAGES),
    *(
        pytest.param(stage, ["-n", "1"], id=f"{stage}-xdist")
        for stage in ("rendering", "JUnit properties")
    ),
]


@pytest.mark.parametrize(("stage", "workers"), CASES)
def test_a_crash_in_a_stage_leaves_the_failure_and_its_outcome(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, stage: str, workers: list[str]
) -> None:
    result, test_id, case = run_with_bug(pytester, monkeypatch, stage, *workers)
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    result.assert_outcomes(failed=1)
    line = f"triage unavailable: {STAGES[stage][2]}: RuntimeError: injected into {stage}"
    # The terminal: the failure with its outcome and the one line.
    failed = f"FAILED inventory.yml::{test_id} - refused: "
    assert any(line.startswith(failed) for line in result.stdout.lines), output
    result.stdout.fnmatch_lines(["  outcome: refused — connection refused by 127.0.0.3:*"])
    assert line in result.stdout.lines, output
    # The JUnit file: a <failure> whose message names the outcome, the line in its body.
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("refused: connection refused by 127.0.0.3:")
    assert failure.get("type") == "refused"
    body = failure.text or ""
    assert "  outcome: refused — connection refused by 127.0.0.3:" in body
    assert line in body.splitlines()
    assert "Traceback" not in body


def test_without_a_bug_the_same_run_has_its_triage(pytester: pytest.Pytester) -> None:
    # The control: the seam used above, left alone, gives the full triage.
    pytester.makeconftest("")
    port = closed_port("127.0.0.3")
    inventory = Path(pytester.path / "inventory.yml")
    inventory.write_text(
        f"version: 1\nservices:\n  api:\n    address: 127.0.0.3\n    ports: [{port}]\n"
    )
    result = pytester.runpytest_inprocess("--inventory", str(inventory), "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "triage unavailable" not in result.stdout.str()
    result.stdout.fnmatch_lines(["Likely causes *", "Next diagnostics:"])
