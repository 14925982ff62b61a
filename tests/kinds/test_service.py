"""The service kind's judgment, from hand-made unit states and process tables."""

from __future__ import annotations

import pytest

from pytest_conntriage.evidence.model import HostEvidence, ProcessAge, UnitState
from pytest_conntriage.kinds.service import read_service
from pytest_conntriage.outcome import Outcome

from .hostmade import SERVICE

NGINX = (ProcessAge(41, 3600, "nginx: master"), ProcessAge(42, 12, "nginx: worker"))
CASES = [
    pytest.param(
        HostEvidence(init="systemd", unit=UnitState("nginx", "loaded", "active", "running")),
        Outcome.ACTIVE, "unit nginx on web-1 is active/running",
        id="systemd says active",
    ),
    pytest.param(
        HostEvidence(
            init="systemd", unit=UnitState("nginx", "loaded", "failed", "failed", "exit-code")
        ),
        Outcome.INACTIVE, "unit nginx on web-1 is failed/failed (result exit-code)",
        id="systemd says failed, and why",
    ),
    pytest.param(
        HostEvidence(
            init="systemd", unit=UnitState("nginx", "loaded", "activating", None, "success")
        ),
        Outcome.INACTIVE, "unit nginx on web-1 is activating",
        id="still starting is not active yet",
    ),
    pytest.param(
        HostEvidence(init="systemd", unavailable=(("unit", "systemctl: timed out"),)),
        Outcome.PROBE_ERROR, "the state of nginx on web-1 could not be read: systemctl: timed out",
        id="systemd whose unit could not be read is no verdict",
    ),
    pytest.param(
        HostEvidence(init="systemd"),
        Outcome.PROBE_ERROR,
        "the state of nginx on web-1 could not be read: systemctl said nothing",
        id="systemd that said nothing is no verdict",
    ),
    pytest.param(
        HostEvidence(init="windows", unit=UnitState("nginx", "loaded", "inactive", "Stopped")),
        Outcome.INACTIVE, "unit nginx on web-1 is inactive/Stopped",
        id="Windows: Get-Service says stopped",
    ),
    pytest.param(
        HostEvidence(init="windows", unavailable=(("unit", "Access is denied."),)),
        Outcome.PROBE_ERROR, "the state of nginx on web-1 could not be read: Access is denied.",
        id="Windows whose service could not be read is no verdict",
    ),
    pytest.param(
        HostEvidence(init="other", unit_processes=NGINX),
        Outcome.ACTIVE,
        "2 process(es) of nginx run on web-1, the youngest (pid 42) for 12 s (no systemd: ps)",
        id="no systemd: its processes run",
    ),
    pytest.param(
        HostEvidence(init="other"),
        Outcome.INACTIVE, "no process of nginx runs on web-1 (no systemd: ps)",
        id="no systemd and no process of it",
    ),
    pytest.param(
        HostEvidence(init="other", unavailable=(("process ages", "ps: not installed"),)),
        Outcome.PROBE_ERROR, "the process table of web-1 could not be read",
        id="no systemd and no process table is no verdict, never inactive",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("evidence", "outcome", "detail"), CASES)
def test_a_unit_is_active_by_systemd_or_by_its_processes(
    evidence: HostEvidence, outcome: Outcome, detail: str
) -> None:
    assert read_service(SERVICE, evidence) == (outcome, detail)


def test_a_service_check_is_named_by_its_unit() -> None:
    assert SERVICE.id == "api@web-1:nginx"
    assert SERVICE.kind.describe(SERVICE) == "service on api@web-1:nginx, service api"
