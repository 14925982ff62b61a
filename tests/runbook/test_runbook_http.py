"""The bundled http-endpoint entry: what it explains, and its curl step filled from facts."""

from __future__ import annotations

import pytest

from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.http import HTTP_MALFORMED, HTTP_STATUS, HTTP_TIMEOUT, TLS_ERROR
from pytest_conntriage.runbook import load_runbook
from pytest_conntriage.runbook.model import Runbook
from pytest_conntriage.triage import diagnose
from pytest_conntriage.triage.causes.http import HttpFacts
from pytest_conntriage.triage.model import Diagnosis, Facts

FACTS = Facts(
    address="127.0.0.2",
    port=8443,
    host="api.test",
    name="api.test",
    unit="api",
    own=HttpFacts(url="https://api.test:8443/healthz?full=1"),
)


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    return load_runbook([])


def diagnosis(runbook: Runbook, outcome: Outcome, facts: Facts = FACTS) -> Diagnosis:
    found = diagnose(outcome, facts, runbook)
    assert found is not None
    return found


@pytest.mark.parametrize(
    "outcome",
    [HTTP_STATUS, TLS_ERROR, HTTP_MALFORMED, HTTP_TIMEOUT],
)
def test_what_an_http_check_sees_once_connected_is_this_entrys(
    runbook: Runbook, outcome: Outcome
) -> None:
    assert diagnosis(runbook, outcome).entry_id == "http-endpoint"


@pytest.mark.parametrize("outcome", [Outcome.REFUSED, Outcome.TIMEOUT, Outcome.RESET])
def test_a_connect_failure_stays_the_tcp_entrys(runbook: Runbook, outcome: Outcome) -> None:
    assert diagnosis(runbook, outcome).entry_id == "tcp-connectivity"


def test_the_curl_step_is_the_check_itself_quoted_after_the_options(runbook: Runbook) -> None:
    found = diagnosis(runbook, HTTP_STATUS)
    commands = [d.command for d in found.diagnostics]
    assert commands[0] == "curl -v -- 'https://api.test:8443/healthz?full=1'"
    assert "journalctl -u api --since '30 minutes ago'" in commands


def test_a_private_ca_is_given_to_curl(runbook: Runbook) -> None:
    own = HttpFacts(url="https://api.test:443/", ca_file="/etc/my ca.pem")
    facts = Facts(host="api.test", port=443, own=own)
    found = diagnosis(runbook, TLS_ERROR, facts)
    assert found.diagnostics[0].command == (
        "curl -v --cacert '/etc/my ca.pem' -- https://api.test:443/"
    )


def test_without_a_url_no_half_made_curl_is_printed(runbook: Runbook) -> None:
    found = diagnosis(runbook, HTTP_STATUS, Facts(host="api.test", port=80))
    assert all("curl" not in d.command for d in found.diagnostics)
    steps = [s for c in found.causes for r in c.resolutions for s in r.steps]
    assert all("<" not in s.text and "curl" not in s.command for s in steps)
