"""The waiting gates' line and the phrase of a check that passed after waiting: pure
words, and the rate limit, on a clock the test moves itself."""

from __future__ import annotations

import asyncio

import pytest

from pytest_conntriage.demo.listeners import closed_port
from pytest_conntriage.inventory.model import Policy
from pytest_conntriage.outcome import Outcome
from pytest_conntriage.probe.progress import WATCH, Pending, WaitBoard, Watch
from pytest_conntriage.probe.result import Attempt, ProbeResult
from pytest_conntriage.probe.retry import with_retries
from pytest_conntriage.probe.tcp import connect_once
from pytest_conntriage.progress import LOG_INTERVAL_S, TERMINAL_INTERVAL_S, ProgressTicker, interval
from pytest_conntriage.report.waiting import outcome_runs, progress_line, waited_phrase


def probe(*outcomes: Outcome, elapsed: float = 12.43) -> ProbeResult:
    return ProbeResult(tuple(Attempt(o, 1.0) for o in outcomes), elapsed)


def test_the_phrase_names_the_end_the_time_and_what_came_before() -> None:
    assert waited_phrase(probe(*[Outcome.REFUSED] * 7, Outcome.OPEN)) == (
        "open after 12.4 s (refused ×7)"
    )
    mixed = probe(Outcome.TIMEOUT, Outcome.TIMEOUT, Outcome.REFUSED, Outcome.OPEN, elapsed=3.0)
    assert waited_phrase(mixed) == "open after 3.0 s (timeout ×2, refused)"
    assert waited_phrase(probe(Outcome.OPEN)) == ""  # the first attempt passed: nothing waited


def test_outcome_runs_count_repeats_in_order() -> None:
    outcomes = [Outcome.REFUSED, Outcome.REFUSED, Outcome.TIMEOUT, Outcome.REFUSED]
    assert outcome_runs(outcomes) == "refused ×2, timeout, refused"
    assert outcome_runs([]) == ""


def test_the_progress_line_names_each_gate_its_attempts_last_outcome_and_time_left() -> None:
    pending = [
        Pending("api:local->10.0.0.2:443", deadline=110.0, attempts=7, last=Outcome.REFUSED),
        Pending("db:local->10.0.0.3:5432", deadline=100.5, attempts=1, last=Outcome.TIMEOUT),
        Pending("late:local->10.0.0.4:80", deadline=130.0),
    ]
    assert progress_line(pending, now=100.0) == (
        "conntriage: waiting for 3 checks: api:local->10.0.0.2:443 (7 attempts, last refused,"
        " 10.0 s left); db:local->10.0.0.3:5432 (1 attempt, last timeout, 0.5 s left);"
        " late:local->10.0.0.4:80 (first attempt, 30.0 s left)"
    )
    # Past its deadline a gate is about to give up: never a negative time left.
    assert "0.0 s left" in progress_line(pending[:1], now=200.0)
    assert progress_line([], now=1.0) == ""


def test_a_long_list_of_gates_is_cut_short() -> None:
    pending = [Pending(f"s{i}:local->10.0.0.{i}:80", 10.0) for i in range(7)]
    line = progress_line(pending, now=0.0)
    assert line.startswith("conntriage: waiting for 7 checks: s0:")
    assert line.endswith("; and 3 more")
    assert "s4:" not in line


def test_the_board_holds_only_gates_still_waiting() -> None:
    board = WaitBoard()
    first = board.begin("a", 5.0)
    board.begin("b", 6.0)
    board.attempted(first, Outcome.REFUSED)
    board.attempted(first, Outcome.TIMEOUT)
    assert board.pending() == [
        Pending("a", 5.0, 2, Outcome.TIMEOUT),
        Pending("b", 6.0, 0, None),
    ]
    board.end(first)
    board.attempted(first, Outcome.OPEN)  # an ended gate stays ended
    assert [p.label for p in board.pending()] == ["b"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lines_come_at_most_once_per_interval_and_only_while_something_waits() -> None:
    board, clock = WaitBoard(), Clock()
    lines: list[str] = []
    ticker = ProgressTicker(board, lines.append, 10.0, clock)
    ticker.tick()  # nothing waits: nothing to say
    token = board.begin("gate:local->127.0.0.1:8080", deadline=clock.now + 60)
    ticker.tick()  # the waiting starts now: a first line only once it lasted an interval
    for _ in range(99):  # ten seconds of wake-ups, 0.1 s apart, minus one
        clock.now += 0.1
        ticker.tick()
    assert lines == []
    clock.now += 0.1
    board.attempted(token, Outcome.REFUSED)
    ticker.tick()
    assert lines == ["conntriage: waiting for 1 check: gate:local->127.0.0.1:8080"
                     " (1 attempt, last refused, 50.0 s left)"]  # fmt: skip
    for _ in range(50):  # five more seconds: still the one line
        clock.now += 0.1
        ticker.tick()
    assert len(lines) == 1
    clock.now += 5.0
    ticker.tick()
    assert len(lines) == 2
    # The gate is done; a new one starting later waits a full interval again.
    board.end(token)
    ticker.tick()
    board.begin("other:local->127.0.0.1:8081", deadline=clock.now + 60)
    ticker.tick()
    clock.now += 9.9
    ticker.tick()
    assert len(lines) == 2
    clock.now += 0.1
    ticker.tick()
    assert len(lines) == 3
    assert "other:" in lines[2]
    assert all("\r" not in line and "\x1b" not in line for line in lines)


def test_the_interval_is_the_ini_value_or_by_terminal() -> None:
    assert interval("", isatty=True) == TERMINAL_INTERVAL_S
    assert interval("", isatty=False) == LOG_INTERVAL_S
    assert interval(" 2.5 ", isatty=False) == 2.5
    for bad in ("0", "-1", "soon", "inf", "nan"):
        with pytest.raises(ValueError, match="seconds"):
            interval(bad, isatty=False)


def test_a_wait_is_on_the_board_while_it_lasts_and_a_plain_retry_is_not() -> None:
    board = WaitBoard()
    port = closed_port("127.0.0.1")
    seen: list[list[Pending]] = []

    async def attempt() -> Attempt:
        seen.append(board.pending())  # what the board says before each attempt
        result = await connect_once("127.0.0.1", port, 0.5)
        # The service "comes up" once the third attempt was refused.
        return result if len(seen) < 4 else Attempt(Outcome.OPEN, 0.1)

    async def gate(policy: Policy) -> ProbeResult:
        WATCH.set(Watch(board, "gate:local->127.0.0.1:1"))
        return await with_retries(attempt, policy, lambda a: a.outcome is Outcome.OPEN)

    result = asyncio.run(gate(Policy(timeout=0.5, wait=60.0)))
    assert [a.outcome for a in result.attempts] == [Outcome.REFUSED] * 3 + [Outcome.OPEN]
    assert [(p.label, p.attempts, p.last) for [p] in seen] == [
        ("gate:local->127.0.0.1:1", 0, None),
        ("gate:local->127.0.0.1:1", 1, Outcome.REFUSED),
        ("gate:local->127.0.0.1:1", 2, Outcome.REFUSED),
        ("gate:local->127.0.0.1:1", 3, Outcome.REFUSED),
    ]
    assert board.pending() == []  # done: off the board
    seen.clear()
    asyncio.run(gate(Policy(timeout=0.5, retries=3)))  # retries alone are no gate
    assert seen == [[], [], [], []]
