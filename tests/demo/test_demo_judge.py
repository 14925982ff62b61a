"""The demo's judging of what ran against what it intended (pure: hand-made records)."""

from __future__ import annotations

from pathlib import Path

from pytest_conntriage.demo.intended import Intent, Judgement, Record, judge, read_records

REFUSED = Intent("tcp", "api", 8081, "refused", "wrong-port-or-interface", True, "bound elsewhere")
NXDOMAIN = Intent("dns", "legacy", None, "dns-nxdomain", "dns-wrong-host", False, "deleted")
EXPOSED = Intent("closed", "127.0.0.2", 9090, "open", None, False, "admin port reachable")
INTENTS = (REFUSED, NXDOMAIN, EXPOSED)


def failed(intent: Intent, **changes: object) -> Record:
    """The record of `intent`'s check failing exactly as intended, with `changes`."""
    fields: dict[str, object] = {
        "nodeid": f"demo.yml::test_{intent.kind}[{intent.subject}]",
        "kind": intent.kind,
        "subject": intent.subject,
        "port": intent.port,
        "status": "failed",
        "outcome": intent.outcome,
        "top_cause": intent.top_cause,
        "top_verdict": _verdict(intent),
        "confirmed": (intent.top_cause,) if intent.confirmed and intent.top_cause else (),
    }
    fields.update(changes)
    return Record(**fields)  # type: ignore[arg-type]


def _verdict(intent: Intent) -> str | None:
    if intent.top_cause is None:
        return None
    return "confirmed" if intent.confirmed else "likely"


def passed(kind: str, subject: str, port: int | None, outcome: str = "open") -> Record:
    return Record(f"demo.yml::test_{kind}[{subject}]", kind, subject, port, "passed", outcome)


def problems(*records: Record) -> list[str]:
    return judge(records, INTENTS).problems


def test_failures_as_intended_and_passes_have_no_problems() -> None:
    judgement = judge(
        [failed(REFUSED), failed(NXDOMAIN), failed(EXPOSED), passed("tcp", "web", 8080)], INTENTS
    )
    assert judgement.problems == []
    assert judgement.any_failed
    assert judgement.not_run == ()


def test_a_wrong_top_cause_is_a_problem_even_with_the_right_outcome() -> None:
    assert problems(failed(REFUSED, top_cause="service-down", top_verdict="likely")) == [
        "tcp api:8081: expected top cause wrong-port-or-interface, got refused; "
        "top cause service-down [likely]"
    ]


def test_the_right_top_cause_only_likely_where_evidence_proves_it() -> None:
    assert problems(failed(REFUSED, top_verdict="likely", confirmed=())) == [
        "tcp api:8081: expected wrong-port-or-interface confirmed by the evidence, got [likely]"
    ]


def test_a_second_confirmed_cause_contradicts_the_first() -> None:
    record = failed(REFUSED, confirmed=("wrong-port-or-interface", "service-down"))
    assert problems(record) == ["tcp api:8081: also confirmed, contradicting it: service-down"]


def test_no_runbook_cause_is_what_an_exposed_port_must_show() -> None:
    record = failed(EXPOSED, top_cause="host-firewall", top_verdict="likely")
    assert problems(record) == [
        "closed 127.0.0.2:9090: expected top cause no runbook cause, got open; "
        "top cause host-firewall [likely]"
    ]


def test_a_wrong_outcome_and_a_pass_where_a_failure_was_intended() -> None:
    assert problems(failed(NXDOMAIN, outcome="dns-timeout")) == [
        "dns legacy: expected outcome dns-nxdomain, got dns-timeout"
    ]
    assert problems(passed("tcp", "api", 8081)) == [
        "tcp api:8081: expected to fail with refused, but it passed (open)"
    ]


def test_checks_without_an_intent_must_pass() -> None:
    record = Record("id", "tcp", "web", 8080, "failed", "timeout", "host-firewall", "likely")
    assert problems(record) == [
        "tcp web:8080: expected to pass, got timeout; top cause host-firewall [likely]"
    ]


def test_a_firewall_check_may_say_it_cannot_read_the_rules() -> None:
    unreadable = Record(
        "id", "firewall", "api", 8081, "failed", "probe-error",
        detail="the firewall rules of loopback could not be read: iptables: needs root",
    )  # fmt: skip
    judgement = judge([unreadable], INTENTS)
    assert judgement.problems == []
    assert judgement.judged[0].note.startswith("its rules cannot be read here")
    no_host = Record("id", "firewall", "api", 8081, "failed", "probe-error", detail="no evidence")
    assert problems(no_host) == [
        "firewall api:8081: expected to pass, got probe-error; no runbook cause"
    ]
    blocked = Record("id", "firewall", "api", 8081, "failed", "blocked")
    assert problems(blocked) == [
        "firewall api:8081: expected to pass, got blocked; no runbook cause"
    ]


def test_a_skipped_check_is_a_problem() -> None:
    skipped = Record("id", "closed", "127.0.0.2", 9090, "skipped")
    assert problems(skipped) == [
        "closed 127.0.0.2:9090: skipped, but the demo means every check to run"
    ]


def test_only_what_ran_is_judged_and_the_rest_listed() -> None:
    judgement = judge([failed(NXDOMAIN)], INTENTS)
    assert [j.record.kind for j in judgement.judged] == ["dns"]
    assert judgement.not_run == (REFUSED, EXPOSED)
    assert judgement.problems == []


def test_intended_faults_come_first_in_the_demos_order() -> None:
    records = [passed("tcp", "web", 8080), failed(EXPOSED), failed(REFUSED)]
    judgement = judge(records, INTENTS)
    assert [j.record.subject for j in judgement.judged] == ["api", "127.0.0.2", "web"]


def test_records_round_trip_through_the_file(tmp_path: Path) -> None:
    records = [failed(REFUSED, unavailable=("loopback: iptables: needs root",)), failed(EXPOSED)]
    path = tmp_path / "checks.jsonl"
    path.write_text("".join(r.to_json() + "\n" for r in records))
    assert read_records(str(path)) == records
    assert read_records(str(tmp_path / "none.jsonl")) == []
    assert judge([], INTENTS) == Judgement((), INTENTS)
