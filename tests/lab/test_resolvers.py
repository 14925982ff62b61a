"""Two resolvers that disagree, one of them stale: the failure pins the stale one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.lab import netlab
from tests.lab.netlab import SERVER_IP
from tests.lab.scenarios import (
    DNS2_IP,
    DNS_IP,
    NAME,
    PORT,
    STALE_IP,
    apply,
    by_id,
    inventory,
    service,
)

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("expect", [True, False], ids=["with-dns-expect", "without"])
def test_the_stale_resolver_is_named_and_dug(
    make_lab: Callable[[], netlab.Lab], expect: bool
) -> None:
    """Without `dns.expect` the client cannot know which answer is right, only that the
    resolvers disagree and whose address refuses: that is enough to pin it."""
    lab = make_lab()
    apply(by_id("dns-disagree"), lab)
    extra = ("dns:", f"  expect: [{SERVER_IP}]") if expect else ()
    run = lab.run_plugin(inventory(service(NAME, PORT, *extra), resolvers=[DNS_IP, DNS2_IP]))
    case = run.cases[f"test_tcp[svc:local->{NAME}:{PORT}]"]
    assert (case.status, case.prop("outcome")) == ("failed", "refused"), run.stdout[-3000:]
    assert case.prop("address") == STALE_IP
    assert case.prop("addresses") == f"{SERVER_IP}=open,{STALE_IP}=refused"
    assert case.prop("resolved_by") == DNS2_IP
    assert case.prop("top_cause") == "dns-wrong-host"
    out = run.stdout
    assert f"— {STALE_IP} from resolver {DNS2_IP}" in out, out[-3000:]
    assert f"  resolver {DNS2_IP}: {STALE_IP}  ← gave {STALE_IP}" in out
    assert f"  resolver {DNS_IP}: {SERVER_IP}\n" in out
    assert f"dig @{DNS2_IP} -p 53 {NAME}" in out
    assert f"dig @{DNS_IP} " not in out
