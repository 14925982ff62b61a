"""The http kind through the real plugin: an inventory's GETs against loopback servers.

A pass, a status mismatch, a TLS verification failure and a refused connect (triaged
with the tcp kind's host evidence), each with its outcome and top cause in the failure
text and in the JUnit properties; then the kind's pure parts (plan, ids, findings) as
tables.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_conntriage.demo.http_servers import HttpServer, Pki, response
from pytest_conntriage.demo.listeners import closed_port
from pytest_conntriage.inventory.model import Inventory, Location, Policy, Service
from pytest_conntriage.kinds.http import KIND, HttpCheck, HttpGet
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.http import HTTP_STATUS, HTTP_TIMEOUT, TLS_ERROR
from pytest_conntriage.probe.result import Attempt
from pytest_conntriage.report.properties import junit_properties
from pytest_conntriage.triage.causes.http import HttpFacts, from_check
from pytest_conntriage.triage.model import Facts

HERE = Location("inv.yml", 1, 1)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    """A plain server on 127.0.0.2, a TLS one on 127.0.0.1 with a private CA's certificate,
    and the CA's file."""
    pki = Pki.create(tmp_path)
    plain_answers = {"/healthz": response(200, "OK"), "/bad": response(503, "Service Unavailable")}
    with (
        HttpServer("127.0.0.2", plain_answers) as plain,
        HttpServer("127.0.0.1", {"/": response(200, "OK")}, pki.server_context()) as tls,
    ):
        yield plain.port, tls.port, pki.ca_file


def heading(name: str) -> str:
    """The failure's heading line as an fnmatch pattern (a `[` would start a set)."""
    return "*_ " + name.replace("[", "[[]") + " _*"


def test_gets_pass_fail_and_are_triaged_in_text_and_junit(
    pytester: pytest.Pytester, servers: tuple[int, int, Path]
) -> None:
    plain, tls, ca_file = servers
    gone = closed_port("127.0.0.3")
    inventory = pytester.path / "inv.yml"
    inventory.write_text(
        "version: 1\n"
        "defaults: {timeout: 2s}\n"
        "hosts:\n  me: {connection: 'local://'}\n"
        "services:\n"
        "  web:\n"
        f"    address: 127.0.0.2\n    ports: [{plain}]\n"
        "    http:\n      - {path: /healthz}\n      - {path: /bad}\n"
        "  secure:\n"
        f"    address: 127.0.0.1\n    ports: [{tls}]\n"
        "    http:\n"
        f"      - {{path: /, tls: {{ca: '{ca_file}'}}}}\n"
        "      - {path: /system-cas, tls: true}\n"
        "  gone:\n"
        f"    address: 127.0.0.3\n    ports: [{gone}]\n    host: me\n    http: {{path: /}}\n"
    )
    junit = pytester.path / "junit.xml"
    # The host checks of `me` read this machine's own firewall: not this test's subject.
    only = ("-k", "test_http or test_tcp")
    result = pytester.runpytest_inprocess(
        "--inventory", str(inventory), f"--junitxml={junit}", "-p", "no:cacheprovider", *only
    )
    # tcp: web and secure pass, gone refused; http: two pass, three fail.
    result.assert_outcomes(passed=4, failed=4, deselected=2)
    result.stdout.fnmatch_lines(
        [
            heading(f"test_http[web:local->127.0.0.2:{plain}/bad]"),
            f"http local -> GET http://127.0.0.2:{plain}/bad, service web",
            "  outcome: http-status — *answered 503 Service Unavailable, expected 200 after *",
            "*1. [[]likely] The application runs but reports itself unhealthy (app-unhealthy)",
            f"*$ curl -v -- http://127.0.0.2:{plain}/bad",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            heading(f"test_http[secure:local->127.0.0.1:{tls}/system-cas]"),
            "  outcome: tls-error — *unknown-issuer: certificate verify failed: *",
            "*1. [[]confirmed] The client does not trust the certificate's issuer"
            " (certificate-untrusted)",
            f"*why: the TLS handshake with https://127.0.0.1:{tls}/system-cas failed:"
            " unknown-issuer",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            heading(f"test_http[gone:local->127.0.0.3:{gone}/]"),
            f"  outcome: refused — connection refused by 127.0.0.3:{gone} after *",
            "Likely causes (tcp-connectivity: TCP connection refused or timed out):",
            # The tcp kind's evidence, gathered on the service's host as for a tcp check.
            "*1. [[]confirmed] The service is not running (service-down)",
            f"*why: me: nothing listens on port {gone} (ss -ltn)",
            f"*$ nc -zv 127.0.0.3 {gone}",
        ]
    )
    root = ET.parse(junit).getroot()
    properties = junit_properties(root)
    # testcase name → its <failure>'s type; a passed check has none.
    failures = {
        case.get("name", ""): found.get("type", "")
        for case in root.iter("testcase")
        if (found := case.find("failure")) is not None
    }

    def case(name: str) -> tuple[dict[str, str], str | None]:
        # By the test's name alone: its classname is where it was collected from.
        [found] = [p for key, p in properties.items() if key.endswith(f"::{name}")]
        return found, failures.get(name)

    ok, passed = case(f"test_http[web:local->127.0.0.2:{plain}/healthz]")
    assert passed is None
    assert (ok["check"], ok["outcome"], ok["status"]) == ("http", "http-ok", "200")
    assert ok["url"] == f"http://127.0.0.2:{plain}/healthz"
    assert case(f"test_http[secure:local->127.0.0.1:{tls}/]")[0]["outcome"] == "http-ok"

    status, failure = case(f"test_http[web:local->127.0.0.2:{plain}/bad]")
    assert (status["outcome"], status["status"], status["top_cause"]) == (
        "http-status",
        "503",
        "app-unhealthy",
    )
    assert failure == "http-status"

    handshake, failure = case(f"test_http[secure:local->127.0.0.1:{tls}/system-cas]")
    assert (handshake["outcome"], handshake["tls_error"], handshake["top_cause"]) == (
        "tls-error",
        "unknown-issuer",
        "certificate-untrusted",
    )
    assert failure == "tls-error"

    refused, failure = case(f"test_http[gone:local->127.0.0.3:{gone}/]")
    assert (refused["outcome"], refused["top_cause"]) == ("refused", "service-down")
    assert "status" not in refused
    assert "tls_error" not in refused
    assert failure == "refused"


# -- the kind's pure parts -------------------------------------------------------------


def _service(http: tuple[HttpGet, ...], vantages: tuple[str, ...] = ("local",)) -> Service:
    return Service(
        "api", "api.example.com", (80, 443), Policy(), vantages, HERE, sections=(("http", http),)
    )


def _inventory(*services: Service) -> Inventory:
    from pytest_conntriage.inventory.model import Defaults

    return Inventory(("inv.yml",), Defaults(), {}, services, ())


def test_one_check_per_vantage_and_port_with_ids_from_the_inventory_alone() -> None:
    every_port = HttpGet("/healthz", (200,), HERE)
    one_port = HttpGet("/", (301,), HERE, port=80)
    checks = list(KIND.plan(_inventory(_service((every_port, one_port), ("local", "web-1")))))
    assert [c.id for c in checks] == [
        "api:local->api.example.com:80/healthz",
        "api:local->api.example.com:443/healthz",
        "api:web-1->api.example.com:80/healthz",
        "api:web-1->api.example.com:443/healthz",
        "api:local->api.example.com:80/",
        "api:web-1->api.example.com:80/",
    ]
    assert all(isinstance(c, HttpCheck) and c.kind is KIND for c in checks)


def test_the_request_follows_the_get() -> None:
    get = HttpGet("/h", (200,), HERE, port=8443, vhost="www.example.com", tls=True)
    [check] = KIND.plan(_inventory(_service((get,))))
    assert isinstance(check, HttpCheck)
    assert check.request.url == "https://www.example.com:8443/h"
    own = KIND.facts(check, Attempt(HTTP_STATUS, 1.0, "192.0.2.1", 8443)).own
    assert own == HttpFacts(url="https://www.example.com:8443/h", status=None)


def test_a_remote_vantage_never_passes_on_a_connect() -> None:
    import asyncio

    [check] = KIND.plan(_inventory(_service((HttpGet("/", (200,), HERE, port=80),), ("web-1",))))
    attempt = asyncio.run(KIND._attempt_at(check, "192.0.2.1", None))  # type: ignore[arg-type]
    assert attempt.outcome is Outcome.PROBE_ERROR
    assert not KIND.judge(check, attempt)


def _facts(attempt: Attempt) -> tuple[Outcome, Facts]:
    [check] = KIND.plan(_inventory(_service((HttpGet("/", (200,), HERE, port=80),))))
    return attempt.outcome, KIND.facts(check, attempt)


def _tls(reason: str) -> Attempt:
    return Attempt(TLS_ERROR, 1.0, "127.0.0.1", 443, None, f"{reason}: words")


def _status(status: int) -> Attempt:
    detail = f"GET http://a:80/ answered {status} X, expected 200"
    return Attempt(HTTP_STATUS, 1.0, "127.0.0.1", 80, None, detail)


FINDINGS = [
    (_tls("certificate-expired"), [("certificate-expired", 100)]),
    (_tls("certificate-not-yet-valid"), [("certificate-expired", 100)]),
    (_tls("self-signed"), [("certificate-untrusted", 100)]),
    (_tls("unknown-issuer"), [("certificate-untrusted", 100)]),
    (_tls("hostname-mismatch"), [("certificate-name-mismatch", 100)]),
    (_tls("protocol-version"), [("tls-version-or-cipher", 100)]),
    (_tls("not-tls"), [("wrong-protocol", 100)]),
    (_tls("no-shared-cipher"), [("tls-version-or-cipher", 100)]),
    # The server's catch-all alert, or an error nothing names: it points, it proves not.
    (_tls("handshake-failure"), [("tls-version-or-cipher", 60)]),
    (_tls("unrecognized-name"), [("certificate-name-mismatch", 60)]),
    (_tls("certificate-revoked"), []),
    # A close during the handshake proves no one cause: the weights stand.
    (_tls("closed"), []),
    (_status(502), [("proxy-no-backend", 90)]),
    (_status(500), [("app-unhealthy", 85)]),
    (_status(404), [("wrong-path-or-vhost", 85)]),
    (_status(301), [("wrong-path-or-vhost", 85)]),
    (_status(403), [("wrong-path-or-vhost", 70)]),
    (_status(503), []),
    (Attempt(HTTP_TIMEOUT, 1.0, "127.0.0.1", 80), []),
    (Attempt(Outcome.REFUSED, 1.0, "127.0.0.1", 80), []),
]


@pytest.mark.parametrize(("attempt", "expected"), FINDINGS)
def test_what_the_answer_itself_proves(attempt: Attempt, expected: list[tuple[str, int]]) -> None:
    # The kind's facts, read by the http rule module as triage reads them.
    assert [(f.cause, f.score) for f in from_check(*_facts(attempt))] == expected


def test_the_failure_line_names_the_address_only_when_the_url_does_not() -> None:
    get = HttpGet("/h", (200,), HERE, port=80)
    [by_name] = KIND.plan(_inventory(_service((get,))))
    detail = "GET http://api.example.com:80/h answered 503 X, expected 200"
    attempt = Attempt(HTTP_STATUS, 2.0, "192.0.2.1", 80, None, detail)
    assert KIND.explain(by_name, attempt) == f"{detail} from 192.0.2.1:80 after 2.0 ms"
    by_address = replace(by_name, target="192.0.2.1")
    assert KIND.explain(by_address, attempt) == f"{detail} after 2.0 ms"
