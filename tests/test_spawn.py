"""The spawn race pytest's environment updates cause is retried; real errors are not."""

from __future__ import annotations

import errno
from dataclasses import dataclass

import pytest

from pytest_conntriage.spawn import SPAWN_TRIES, run


@dataclass(frozen=True)
class Done:
    rc: int = 0
    stdout: str = "done"
    stderr: str = ""


DONE = Done()


class Flaky:
    def __init__(self, failures: int, code: int = errno.EFAULT) -> None:
        self.failures = failures
        self.code = code
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def run(self, command: str, *args: str) -> Done:
        self.calls.append((command, args))
        if len(self.calls) <= self.failures:
            raise OSError(self.code, "Bad address", "/bin/sh")
        return DONE


def test_a_transient_efault_is_tried_again() -> None:
    host = Flaky(failures=2)
    assert run(host, "echo %s", "x") is DONE
    assert host.calls == [("echo %s", ("x",))] * 3


def test_an_efault_that_persists_is_raised() -> None:
    host = Flaky(failures=SPAWN_TRIES)
    with pytest.raises(OSError, match="Bad address"):
        run(host, "true")
    assert len(host.calls) == SPAWN_TRIES


def test_other_errors_are_not_retried() -> None:
    host = Flaky(failures=1, code=errno.ENOENT)
    with pytest.raises(FileNotFoundError):
        run(host, "true")
    assert len(host.calls) == 1
