"""A kind from outside the built-in ones runs through the evaluator and the report as
they are: nothing there asks which kind a check is, only the check's kind itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from pytest_conntriage.evaluate import Evaluator
from pytest_conntriage.inventory.model import Inventory, Location, Policy
from pytest_conntriage.kinds.protocol import KindDefaults, ProbeContext
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.engine import Engine
from pytest_conntriage.probe.result import Attempt, ProbeResult
from pytest_conntriage.report.properties import properties
from pytest_conntriage.report.text import failure_message, failure_text
from pytest_conntriage.runbook import load_runbook
from pytest_conntriage.triage.model import Facts

if TYPE_CHECKING:
    from pytest_conntriage.kinds.protocol import Kind


DEFAULT_POLICY = Policy()
WHERE = Location("team.yml", 7, 3)


@dataclass(frozen=True, slots=True)
class EchoCheck:
    """Passes when its probe says what the check expects."""

    kind: EchoKind
    target: str
    says: Outcome
    policy: Policy = DEFAULT_POLICY
    location: Location = WHERE
    tags: tuple[str, ...] = ()
    service: str | None = "echo"

    @property
    def id(self) -> str:
        return f"{self.service}:{self.target}"


class EchoKind(KindDefaults):
    """A team's own kind: its probe answers with the outcome the check names."""

    name = "echo"

    def plan(self, inventory: Inventory) -> Iterator[EchoCheck]:
        yield from ()

    async def probe(self, check: EchoCheck, context: ProbeContext) -> ProbeResult:
        async def attempt() -> Attempt:
            return Attempt(check.says, 0.5, check.target, 7, detail="echoed")

        return ProbeResult((await context.engine.bounded(attempt()),), 0.001)

    def judge(self, check: EchoCheck, attempt: Attempt) -> bool:
        return attempt.outcome is Outcome.OPEN

    def facts(self, check: EchoCheck, attempt: Attempt) -> Facts:
        return Facts(address=attempt.address, port=7, host=check.target, service=check.service)

    def describe(self, check: EchoCheck) -> str:
        return f"echo {check.target}, service {check.service}"

    def explain(self, check: EchoCheck, attempt: Attempt) -> str:
        return f"{check.target} said {attempt.outcome.value} ({attempt.detail})"

    def properties(self, check: EchoCheck, attempt: Attempt) -> list[tuple[str, str]]:
        return [("address", attempt.address), ("port", "7"), ("echoed", attempt.detail)]

    def unexplained(self, check: EchoCheck, outcome: Outcome) -> str:
        return f"The echo runbook has no entry for {outcome.value}."


KIND = EchoKind()

if TYPE_CHECKING:
    _: Kind[EchoCheck] = KIND


@pytest.fixture
def evaluator() -> Iterator[Evaluator]:
    engine = Engine(concurrency=4)
    yield Evaluator(engine, load_runbook([]))
    engine.close()


def test_a_passing_check_of_a_new_kind_passes(evaluator: Evaluator) -> None:
    result = evaluator.submit(EchoCheck(KIND, "127.0.0.2", Outcome.OPEN)).result(timeout=10)
    assert result.passed
    assert result.diagnosis is None


def test_a_failing_check_of_a_new_kind_is_triaged_and_reported_in_its_own_words(
    evaluator: Evaluator,
) -> None:
    check = EchoCheck(KIND, "127.0.0.2", Outcome.REFUSED)
    result = evaluator.submit(check).result(timeout=10)
    assert not result.passed
    assert result.diagnosis is not None  # the runbook's refused entry, filled from its facts
    assert result.triage_error == ""
    assert failure_message(result).startswith("refused: 127.0.0.2 said refused (echoed) — ")
    text = failure_text(result)
    assert text.splitlines()[:3] == [
        "echo 127.0.0.2, service echo",
        "  defined at team.yml:7:3",
        "  outcome: refused — 127.0.0.2 said refused (echoed)",
    ]
    pairs, crashed = properties(result)
    assert crashed == ""
    assert pairs[:5] == [
        ("conntriage.check", "echo"),
        ("conntriage.outcome", "refused"),
        ("conntriage.address", "127.0.0.2"),
        ("conntriage.port", "7"),
        ("conntriage.echoed", "echoed"),
    ]


def test_an_outcome_no_runbook_entry_explains_gets_the_kinds_own_words(
    evaluator: Evaluator,
) -> None:
    check = EchoCheck(KIND, "127.0.0.2", Outcome.LISTENING)  # no runbook entry explains it
    result = evaluator.submit(check).result(timeout=10)
    assert not result.passed
    assert result.diagnosis is None
    assert failure_text(result).splitlines()[-1] == ("The echo runbook has no entry for listening.")
