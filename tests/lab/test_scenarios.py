"""Every scenario of the fault table, judged by running the real plugin in the lab."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.lab import netlab
from tests.lab.scenarios import SCENARIOS, Row, Scenario, apply, judge, with_host_access

pytestmark = pytest.mark.lab


def _param(scenario: Scenario) -> object:
    marks = []
    if scenario.pending:
        # Runs, and must fail: the day the plugin can judge it, XPASS(strict) says so.
        marks.append(pytest.mark.xfail(strict=True, reason=f"pending: {scenario.pending}"))
    return pytest.param(scenario, id=scenario.id, marks=marks)


@pytest.mark.parametrize("access", ["client", "host"])
@pytest.mark.parametrize("scenario", [_param(s) for s in SCENARIOS])
def test_scenario(
    scenario: Scenario,
    access: str,
    make_lab: Callable[[], netlab.Lab],
    record_rows: Callable[[list[Row]], None],
) -> None:
    """`client`: the plugin sees only what the client sees. `host`: it may also log into
    the server over ssh (on the management network, untouched by the faults), and must
    then name the injected cause first."""
    lab = make_lab()
    # sshd first: a delayed listener then waits for the evidence batch's session to end
    # before it comes up (not-ready-wait), whatever the machine's load.
    ssh = lab.sshd(netlab.SERVER, netlab.SERVER_MGMT_IP) if access == "host" else None
    inventory = apply(scenario, lab)
    if ssh is not None:
        inventory = with_host_access(inventory, str(ssh.config), ssh.host_alias, lab.unit)
    run = lab.run_plugin(inventory, extra=scenario.plugin_argv(lab))
    kernel = None
    if scenario.kernel is not None:
        # After the plugin, so the raw probe cannot change what the plugin saw. The
        # router forgets its neighbour entry first: an ARP the plugin's last packets
        # started (a missing host: ~3 s to fail) would answer this probe's SYN early,
        # depending on how long the plugin took to exit.
        lab.ip(netlab.ROUTER, "neigh", "flush", "to", scenario.probe[0])
        kernel = lab.connect(netlab.CLIENT, *scenario.probe, timeout=scenario.probe_timeout)
    rows = judge(scenario, run, kernel, host_access=access == "host")
    record_rows(rows)
    bad = [f"{r.case}: {p}" for r in rows for p in r.problems]
    if run.returncode not in (0, 1):
        bad.insert(0, f"the plugin exited {run.returncode}")
    if bad:
        output = "\n".join((run.stdout + run.stderr).splitlines()[-40:])
        pytest.fail(
            f"scenario {scenario.id} ({scenario.summary}):\n  "
            + "\n  ".join(bad)
            + f"\ninventory:\n{inventory}\nplugin output (tail):\n{output}",
            pytrace=False,
        )
