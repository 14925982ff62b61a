"""Fixtures for the evidence tests: fake tools on PATH, a fake systemd host, the lab gate."""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.evidence.evidence_fakes import ToolRunner, Tools
from tests.lab import netlab


@pytest.fixture
def tools() -> Iterator[Tools]:
    path = Path(tempfile.mkdtemp(prefix="conntriage-evidence-"))
    path.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    try:
        yield Tools(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def tool_runner(tools: Tools) -> Callable[..., ToolRunner]:
    def make(
        timeout: float = 20.0, *, user: str | None = None, systemd: bool = False
    ) -> ToolRunner:
        if (user is not None or systemd) and os.geteuid() != 0:
            pytest.skip("needs root (to switch user / to make a mount namespace)")
        if systemd and shutil.which("unshare") is None:
            pytest.skip("needs unshare (util-linux)")
        return ToolRunner(tools, timeout, user=user, systemd=systemd)

    return make


# -- the lab ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lab_gate() -> None:
    """Skip (or, in CI as root, fail) when network namespaces cannot be made here."""
    reason = netlab.lab_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true" and os.geteuid() == 0:
            pytest.fail(f"the evidence lab tests must run in CI as root: {reason}", pytrace=False)
        pytest.skip(reason)


# Lab numbers far from tests/lab's own, so both can run in one session.
_numbers = itertools.count(900)


@pytest.fixture
def make_lab(lab_gate: None) -> Iterator[Callable[[], netlab.Lab]]:
    """Fresh client ── router ── server labs, torn down after the test whatever happens."""
    labs: list[netlab.Lab] = []

    def make() -> netlab.Lab:
        lab = netlab.Lab.build(f"{netlab.RUN_PREFIX}{next(_numbers)}-")
        labs.append(lab)
        return lab

    yield make
    problems: list[str] = []
    for lab in labs:
        try:
            lab.teardown()
        except netlab.LabError as exc:
            problems.append(str(exc))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
