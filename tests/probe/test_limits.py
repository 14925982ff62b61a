"""The engine fits the open-file limit: raised where allowed, else in-flight probes capped."""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pytest_conntriage.probe.limits import FDS_PER_COMMAND, OTHER_FDS, RESERVED_FDS, fit


@pytest.fixture
def restore_limit() -> Iterator[tuple[int, int]]:
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield saved
    resource.setrlimit(resource.RLIMIT_NOFILE, saved)


def test_enough_descriptors_changes_nothing(restore_limit: tuple[int, int]) -> None:
    _, hard = restore_limit
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    budget = fit(256)
    assert (budget.concurrency, budget.soft_limit, budget.note, budget.commands) == (
        256,
        1024,
        "",
        None,
    )


def test_the_soft_limit_is_raised_towards_the_hard_one(restore_limit: tuple[int, int]) -> None:
    _, hard = restore_limit
    if hard != resource.RLIM_INFINITY and hard < 256 + RESERVED_FDS:
        pytest.skip(f"the hard open-file limit here ({hard}) is too low to raise to")
    resource.setrlimit(resource.RLIMIT_NOFILE, (100, hard))
    budget = fit(256)
    assert budget.concurrency == 256
    raised = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    # The reserve comes on top of what this process has open already.
    assert raised >= 256 + RESERVED_FDS
    assert budget.note == f"raised the open-file limit 100 → {raised}"


def test_a_low_hard_limit_caps_concurrency_and_says_so() -> None:
    # Lowering a hard limit cannot be undone in this process: do it in a child.
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (100, 164))\n"
        "from pytest_conntriage.probe.limits import fit\n"
        "b = fit(256)\n"
        "print(b.concurrency, b.soft_limit)\n"
        "print(b.note)\n"
        "print(b.commands)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    numbers, note, commands = out.stdout.splitlines()
    # Evidence commands at once, each with its pipes, fit in the reserve beside DNS.
    assert int(commands) * FDS_PER_COMMAND + OTHER_FDS <= RESERVED_FDS
    assert int(commands) >= 1
    concurrency, soft = map(int, numbers.split())
    # The reserve, and what the interpreter has open (stdin, stdout, stderr at least).
    assert (soft, concurrency <= 164 - RESERVED_FDS - 3) == (164, True)
    assert note.startswith(f"concurrency capped at {concurrency} by the open-file limit (164,")


def test_a_very_low_hard_limit_shrinks_the_reserve_not_the_probes_to_one() -> None:
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
        "from pytest_conntriage.probe.limits import fit\n"
        "print(fit(256).concurrency)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # A flat 64-descriptor reserve would leave a single probe in flight.
    assert 16 <= int(out.stdout) <= 64 - 16
