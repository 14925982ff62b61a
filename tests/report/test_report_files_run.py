"""`--conntriage-markdown`, `--conntriage-json` and the terminal's table of checks by
service (`-rA`, `--conntriage-by-service`): the real plugin writes all three, the same
serial and under xdist, and no crash in making them loses a failure. The documents'
own shape is tested in test_report_markdown.py and test_report_records.py; the
`inventory` fixture is in conftest.py."""

from __future__ import annotations

import importlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, NoReturn

import jsonschema
import pytest

from pytest_conntriage.report.json_report import schema

from .conftest import assert_refused_failure

VALIDATOR = jsonschema.Draft202012Validator(schema())
SUITES = ["web", "api", "legacy", "closed 127.0.0.3", "closed gone.test"]
TABLE = "conntriage: checks by service"


def run(pytester: pytest.Pytester, inventory: Path, *args: str) -> pytest.RunResult:
    """In-process, xdist's controller too: what is compared is the controller's own
    output and files (a controller in a subprocess costs ~1 s of CPU more)."""
    return pytester.runpytest_inprocess(
        "--inventory", str(inventory), "-p", "no:cacheprovider", *args
    )


def untimed(value: Any) -> Any:
    """`value` without what a clock decides: timing fields, and durations in texts."""
    if isinstance(value, dict):
        timing = {"duration_s", "elapsed_s", "elapsed_ms", "started", "finished"}
        return {k: untimed(v) for k, v in value.items() if k not in timing}
    if isinstance(value, list):
        return [untimed(item) for item in value]
    if isinstance(value, str):
        return re.sub(r"\d+(\.\d+)? ?(ms|s)\b", "<t>", value)
    return value


def table(result: pytest.RunResult) -> list[str]:
    """The terminal's table: the lines after its heading, up to the next line of pytest's."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if TABLE in line) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(("conntriage:", "=")))
    return lines[start:end]


def test_serial_and_xdist_write_the_same_three_reports(
    pytester: pytest.Pytester, inventory: Path
) -> None:
    seen = {}
    for mode, extra in (("serial", ()), ("xdist", ("-n", "2"))):
        markdown, report = pytester.path / f"{mode}.md", pytester.path / f"{mode}.json"
        result = run(
            pytester,
            inventory,
            f"--conntriage-markdown={markdown}",
            f"--conntriage-json={report}",
            "-rA",
            *extra,
        )
        result.assert_outcomes(passed=2, failed=3, skipped=1)
        result.stdout.fnmatch_lines(
            [
                f"conntriage: JSON report written to {report}",
                f"conntriage: Markdown report written to {markdown}",
            ]
        )
        document = json.loads(report.read_text(encoding="utf-8"))
        VALIDATOR.validate(document)
        seen[mode] = (
            untimed(document),
            untimed(markdown.read_text(encoding="utf-8")),
            table(result),
        )
    assert seen["serial"] == seen["xdist"]

    document = json.loads((pytester.path / "xdist.json").read_text(encoding="utf-8"))
    assert (document["format"], document["version"]) == ("pytest-conntriage-report", 1)
    run_info = document["run"]
    assert run_info["totals"] == {
        "checks": 6, "passed": 2, "failed": 3, "error": 0, "skipped": 1, "warned": 0
    }  # fmt: skip
    assert (run_info["exit_status"], run_info["interrupted"], run_info["complete"]) == (
        1,
        False,
        True,
    )
    assert run_info["inventories"] == [str(inventory)]
    assert [s["name"] for s in document["services"]] == SUITES
    assert document["services"][0]["tags"] == ["edge", "prod"]
    checks = document["checks"]
    # Collection order (dns checks first), each with its place in the whole collection.
    assert [c["order"] for c in checks] == list(range(6))
    assert [(c["suite"], c["kind"], c["status"], c["outcome"]) for c in checks] == [
        ("legacy", "dns", "failed", "dns-nxdomain"),
        ("web", "tcp", "passed", "open"),
        ("api", "tcp", "failed", "refused"),
        ("legacy", "tcp", "failed", "dns-nxdomain"),
        ("closed 127.0.0.3", "closed", "passed", "refused"),
        ("closed gone.test", "closed", "skipped", "dns-nxdomain"),
    ]
    web, api = checks[1], checks[2]
    # A pass is recorded as fully as a failure, less the triage.
    assert web["id"] == f"{inventory.name}::{web['name']}"
    assert (web["vantage"], web["target"], web["message"], web["triage"]) == (
        "local", "127.0.0.2", None, None
    )  # fmt: skip
    (attempt,) = web["probe"]["attempts"]
    assert (attempt["outcome"], attempt["address"]) == ("open", "127.0.0.2")
    assert web["duration_s"] >= 0
    assert attempt["elapsed_ms"] >= 0
    assert api["message"].startswith("refused: connection refused by 127.0.0.3:")
    assert api["probe"]["attempts"][0]["errno"] == "ECONNREFUSED"
    triage = api["triage"]
    assert (triage["entry"], triage["error"]) == ("tcp-connectivity", None)
    top = triage["causes"][0]
    assert (top["id"], top["verdict"]) == ("service-down", "likely")
    assert top["evidence"]
    assert top["fix"][0]["steps"]
    assert {c["verdict"] for c in triage["causes"]} <= {
        "confirmed",
        "likely",
        "possible",
        "ruled out",
    }
    assert "gone.test" in checks[5]["message"]

    text = (pytester.path / "xdist.md").read_text(encoding="utf-8")
    assert text.startswith(f"### ❌ Connectivity: 3 of 6 checks failed (`{inventory}`)\n")
    assert "| ✅ | `web` | 1 | 1 | 0 | `open` |  |" in text
    assert "| ❌ | `api` | 1 | 0 | 1 | `refused` | `service-down` |" in text
    assert "| ❌ | `legacy` | 2 | 0 | 2 | `dns-nxdomain` | `dns-wrong-host` ×2 |" in text
    assert text.count("<details>") == 3
    assert "— likely: <code>service-down</code></summary>" in text
    assert "**Top cause** (likely): The service is not running — `service-down`" in text

    rows = table(result)
    assert rows[0].split() == [
        "service",
        "checks",
        "passed",
        "failed",
        "skipped",
        "worst",
        "top",
        "cause",
    ]
    assert [row.split("  ")[0] for row in rows[1:]] == SUITES
    assert rows[2].split() == ["api", "1", "0", "1", "0", "FAILED", "refused", "service-down"]


def test_only_whats_asked_for_is_written_and_order_keys_survive_deselection(
    pytester: pytest.Pytester, inventory: Path
) -> None:
    report = pytester.path / "out" / "report.json"  # its directory is made
    result = run(pytester, inventory, "-k", "not web", f"--conntriage-json={report}")
    assert TABLE not in result.stdout.str()
    assert "Markdown report" not in result.stdout.str()
    checks = json.loads(report.read_text(encoding="utf-8"))["checks"]
    # The key is the check's place in the whole collection: shards merge by it.
    assert [c["order"] for c in checks] == [0, 2, 3, 4, 5]
    result = run(pytester, inventory, "-m", "edge", "--conntriage-by-service")
    # Only the selected service, and no file.
    assert [row.split() for row in table(result)[1:]] == [["web", "1", "1", "0", "0", "open"]]
    assert not list(pytester.path.glob("*.md"))


def test_the_options_need_an_inventory(pytester: pytest.Pytester) -> None:
    for option in ("--conntriage-json=r.json", "--conntriage-markdown=r.md"):
        result = pytester.runpytest(option)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        name = option.partition("=")[0]
        result.stderr.fnmatch_lines([f"*{name} needs an inventory (--conntriage-inventory FILE)*"])
    # The table alone is no reason to start: without an inventory the plugin stays inert.
    assert pytester.runpytest("--conntriage-by-service").ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_report_that_cannot_be_written_says_so_in_one_line(
    pytester: pytest.Pytester, inventory: Path
) -> None:
    (pytester.path / "taken").write_text("a file, not a directory")
    result = run(
        pytester,
        inventory,
        "--conntriage-json=taken/report.json",
        "--conntriage-markdown=taken/report.md",
    )
    result.assert_outcomes(passed=2, failed=3, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    taken = pytester.path / "taken"
    result.stdout.fnmatch_lines(
        [
            f"conntriage: JSON report not written: {taken}: Not a directory",
            f"conntriage: Markdown report not written: {taken}: Not a directory",
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert [p.name for p in pytester.path.iterdir() if p.name.endswith(".tmp")] == []


# stage → (module, function replaced, the api check's triage error, the Markdown's line)
STAGES = {
    # Reading the triage for the record, on the process that ran the check.
    "causes": (
        "pytest_conntriage.report.record",
        "_causes",
        "triage unavailable: report: RuntimeError: injected into causes",
    ),
    # Making the record's part at all.
    "part": (
        "pytest_conntriage.report_writer",
        "result_part",
        "triage unavailable: report: RuntimeError: injected into part",
    ),
    # Rendering the failure in Markdown (the JSON has its triage).
    "markdown": ("pytest_conntriage.report.markdown", "_body", None),
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_crash_in_making_a_report_leaves_every_failure_in_it(
    pytester: pytest.Pytester, inventory: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    module, name, error = STAGES[stage]

    def injected(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError(f"injected into {stage}")

    monkeypatch.setattr(importlib.import_module(module), name, injected)
    markdown, report, junit = (pytester.path / n for n in ("r.md", "r.json", "junit.xml"))
    result = run(
        pytester,
        inventory,
        f"--conntriage-markdown={markdown}",
        f"--conntriage-json={report}",
        f"--junitxml={junit}",
    )
    # The terminal and the JUnit file: the failure, its outcome, its triage.
    result.assert_outcomes(passed=2, failed=3, skipped=1)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["FAILED *test_tcp[[]api:local->127.0.0.3:*] - refused: *"])
    (case,) = [c for c in ET.parse(junit).getroot().iter("testcase") if "api:" in c.get("name", "")]
    assert_refused_failure(case)
    # The reports: every check, the failed one failed with its outcome and the reason.
    document = json.loads(report.read_text(encoding="utf-8"))
    VALIDATOR.validate(document)
    assert document["run"]["complete"] is True
    statuses = [(c["suite"], c["status"]) for c in document["checks"]]
    assert statuses.count(("api", "failed")) == 1
    assert len(statuses) == 6
    (api,) = [c for c in document["checks"] if c["suite"] == "api"]
    assert api["outcome"] == "refused"
    text = markdown.read_text(encoding="utf-8")
    assert text.count("<details>") == 3
    assert "❌ <code>test_tcp[api:local-&gt;127.0.0.3:" in text
    if error is not None:
        assert api["triage"]["error"] == error
        assert api["triage"]["causes"] == []
        assert f"\n{error.replace('_', chr(92) + '_')}\n" in text
    else:
        assert api["triage"]["causes"]
        line = "triage unavailable: Markdown: RuntimeError: injected into markdown"
        assert text.count(line) == 3


def test_records_that_cannot_be_kept_make_the_reports_say_they_are_incomplete(
    pytester: pytest.Pytester, inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def injected(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("injected into complete")

    monkeypatch.setattr(
        importlib.import_module("pytest_conntriage.report_writer"), "complete", injected
    )
    markdown, report = pytester.path / "r.md", pytester.path / "r.json"
    result = run(
        pytester, inventory, f"--conntriage-markdown={markdown}", f"--conntriage-json={report}"
    )
    result.assert_outcomes(passed=2, failed=3, skipped=1)
    reason = "report: RuntimeError: injected into complete"
    result.stdout.fnmatch_lines(
        [f"conntriage: JSON report written to {report} (incomplete: {reason})"]
    )
    document = json.loads(report.read_text(encoding="utf-8"))
    VALIDATOR.validate(document)
    assert (document["run"]["complete"], document["run"]["error"]) == (False, reason)
    assert "> ⚠️ Some checks may be missing" in markdown.read_text(encoding="utf-8")


def test_an_interrupted_run_shows_the_check_it_stopped_in_as_an_error(
    pytester: pytest.Pytester, inventory: Path
) -> None:
    pytester.makeconftest(
        "def pytest_runtest_call(item):\n"
        "    if item.name.startswith('test_tcp[api:'):\n"
        "        raise KeyboardInterrupt\n"
    )
    markdown, report = pytester.path / "r.md", pytester.path / "r.json"
    result = pytester.runpytest(
        "--inventory",
        str(inventory),
        "-p",
        "no:cacheprovider",
        f"--conntriage-markdown={markdown}",
        f"--conntriage-json={report}",
        no_reraise_ctrlc=True,  # the interrupt is the inner run's, not this test's
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    document = json.loads(report.read_text(encoding="utf-8"))
    VALIDATOR.validate(document)
    assert document["run"]["interrupted"] is True
    assert [(c["suite"], c["status"]) for c in document["checks"]] == [
        ("legacy", "failed"), ("web", "passed"), ("api", "error")
    ]  # fmt: skip
    assert document["checks"][2]["message"] == "did not finish: the run ended while it ran"
    text = markdown.read_text(encoding="utf-8")
    assert "> ⚠️ The run was interrupted: checks that had not run yet are not listed." in text
    assert "❌ <code>test_tcp[api:local-&gt;127.0.0.3:" in text
