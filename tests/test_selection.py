"""Inventory checks are named from the inventory alone, so pytest's own selection and
rerun options work on them: `-k <service>`, `-k <tag>`, `-m <tag>`, `--lf`, `--ff`, `--sw`.

Every inventory here uses IP literals: collecting it asks no resolver.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_conntriage.demo.listeners import OpenListener, closed_port


@pytest.fixture
def inventory(pytester: pytest.Pytester) -> Iterator[dict[str, int]]:
    """api passes; billing and web fail (nothing listens); api and web are tagged edge."""
    with OpenListener("127.0.0.2") as api:
        ports = {
            "api": api.port,
            "billing": closed_port("127.0.0.2"),
            "web": closed_port("127.0.0.3"),
        }
        (pytester.path / "inventory.yml").write_text(
            "version: 1\ndefaults:\n  timeout: 500ms\nservices:\n"
            f"  api:\n    address: 127.0.0.2\n    ports: [{ports['api']}]\n    tags: [edge]\n"
            f"  billing:\n    address: 127.0.0.2\n    ports: [{ports['billing']}]\n"
            "    tags: [payments]\n"
            f"  web:\n    address: 127.0.0.3\n    ports: [{ports['web']}]\n    tags: [edge]\n"
        )
        yield ports


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("--inventory", "inventory.yml", "-v", *args)


def ran(result: pytest.RunResult) -> list[str]:
    """The ids of the checks that ran, in the order they ran."""
    return [
        line.split("::")[1].split(" ")[0]
        for line in result.outlines
        if line.startswith("inventory.yml::") and (" PASSED" in line or " FAILED" in line)
    ]


def test_k_selects_a_service_by_its_name(
    pytester: pytest.Pytester, inventory: dict[str, int]
) -> None:
    result = run(pytester, "-k", "api")
    result.assert_outcomes(passed=1)
    assert ran(result) == [f"test_tcp[api:local->127.0.0.2:{inventory['api']}]"]


def test_k_selects_a_tag(pytester: pytest.Pytester, inventory: dict[str, int]) -> None:
    result = run(pytester, "-k", "payments")
    result.assert_outcomes(failed=1)
    assert ran(result) == [f"test_tcp[billing:local->127.0.0.2:{inventory['billing']}]"]


def test_m_selects_a_tag(pytester: pytest.Pytester, inventory: dict[str, int]) -> None:
    result = run(pytester, "-m", "edge", "--strict-markers")
    result.assert_outcomes(passed=1, failed=1)
    assert [i.split(":")[0] for i in ran(result)] == ["test_tcp[api", "test_tcp[web"]


def test_lf_reruns_only_the_failed_checks(
    pytester: pytest.Pytester, inventory: dict[str, int]
) -> None:
    first = run(pytester)
    first.assert_outcomes(passed=1, failed=2)
    again = run(pytester, "--lf")
    again.assert_outcomes(failed=2)
    again.stdout.fnmatch_lines(["run-last-failure: rerun previous 2 failures*"])
    assert ran(again) == [
        f"test_tcp[billing:local->127.0.0.2:{inventory['billing']}]",
        f"test_tcp[web:local->127.0.0.3:{inventory['web']}]",
    ]


def test_ff_runs_the_failed_checks_first(
    pytester: pytest.Pytester, inventory: dict[str, int]
) -> None:
    run(pytester).assert_outcomes(passed=1, failed=2)
    again = run(pytester, "--ff")
    again.assert_outcomes(passed=1, failed=2)
    again.stdout.fnmatch_lines(["run-last-failure: rerun previous 2 failures first*"])
    assert [i.split(":")[0] for i in ran(again)] == [
        "test_tcp[billing",
        "test_tcp[web",
        "test_tcp[api",
    ]


def test_sw_stops_at_a_failure_and_resumes_from_it(
    pytester: pytest.Pytester, inventory: dict[str, int]
) -> None:
    first = run(pytester, "--sw")
    first.assert_outcomes(passed=1, failed=1)
    assert [i.split(":")[0] for i in ran(first)] == ["test_tcp[api", "test_tcp[billing"]
    # Resumes at the check that failed, skipping the ones before it.
    again = run(pytester, "--sw")
    again.assert_outcomes(failed=1, deselected=1)
    assert [i.split(":")[0] for i in ran(again)] == ["test_tcp[billing"]
