"""A team's plugin, as docs/extending.md shows one: the cause "host-in-maintenance",
decided from a flag file on the target host that its own collector reads.

- the runbook data: maintenance.yaml, joined to the bundled tcp-connectivity entry;
- the collector: constant sh code in every host's evidence batch; the flag file's path
  (`--maintenance-flag`) reaches it only as a positional argument;
- the rule: confirmed when the flag is there, ruled out when it is not; when the
  collector did not run, triage does not ask it and the cause stays as the outcome
  weighs it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_conntriage.evidence.batch import Collector
from pytest_conntriage.runbook.model import RunbookAddition
from pytest_conntriage.triage.rank import Finding
from pytest_conntriage.triage.rules import CauseRules
from pytest_conntriage.triage.seen import Seen

CAUSE = "host-in-maintenance"
COLLECTOR = "maintenance-flag"
DEFAULT_FLAG = "/etc/maintenance"
# $1 is the check's unit (unused here), $2 the flag file. Exit 0 only when it answered.
SCRIPT = """
if [ -e "$2" ]; then
  printf 'present\\n'
  head -c 300 -- "$2"
else
  printf 'absent\\n'
fi
"""


@dataclass(frozen=True)
class MaintenanceFlag:
    present: bool
    reason: str = ""


def parse_flag(stdout: str) -> MaintenanceFlag:
    first, _, rest = stdout.partition("\n")
    if first not in ("present", "absent"):
        raise ValueError(f"expected present or absent, got {first!r}")
    return MaintenanceFlag(first == "present", " ".join(rest.split()))


def decide(seen: Seen) -> Iterator[Finding]:
    # Asked only when the collector ran and was read on the target host (`needs`).
    flag = seen.collected(COLLECTOR).value
    assert isinstance(flag, MaintenanceFlag)
    host = seen.target.host
    if flag.present:
        said = f": {flag.reason}" if flag.reason else ""
        # What stopped the service: ranked before the service being down it explains.
        yield Finding(CAUSE, 100, f"{host}: the maintenance flag is set{said}", first=True)
    else:
        yield Finding(CAUSE, 0, f"{host}: no maintenance flag")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--maintenance-flag", default=DEFAULT_FLAG, help="the flag file's path")


def pytest_conntriage_add_runbooks(config: pytest.Config) -> Sequence[RunbookAddition]:
    here = Path(__file__).with_name("maintenance.yaml")
    return [RunbookAddition(str(here), to="tcp-connectivity")]


def pytest_conntriage_add_collectors(config: pytest.Config) -> Sequence[Collector]:
    path = str(config.getoption("maintenance_flag"))
    return [Collector(COLLECTOR, SCRIPT, parse_flag, args=(path,), bound_s=3.0)]


def pytest_conntriage_add_rules(config: pytest.Config) -> Sequence[CauseRules]:
    return [CauseRules("maintenance", (CAUSE,), from_evidence=decide, needs=(COLLECTOR,))]
