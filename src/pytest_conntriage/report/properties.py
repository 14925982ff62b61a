"""The `conntriage.*` properties a failing check carries into JUnit and across xdist."""

from __future__ import annotations

from ..checks import DnsCheck
from ..evaluate import CheckResult
from ..outcome import Outcome

PREFIX = "conntriage."
# One string per property name for the whole run, not one per failing check.
_NAMES = {
    name: PREFIX + name
    for name in (
        "check", "outcome", "address", "port", "attempts", "causes", "top_cause",
        "top_cause_title", "reachable_from",
    )
}  # fmt: skip


def properties(result: CheckResult) -> list[tuple[str, str]]:
    """Name/value pairs for `item.user_properties`: pytest's junitxml writes them."""
    check = result.check
    final = result.result.final
    address = final.address if not isinstance(check, DnsCheck) else check.name
    port = "" if isinstance(check, DnsCheck) else str(check.port)
    pairs = [
        ("check", check.kind.value),
        ("outcome", result.outcome.value),
        ("address", address or ""),
        ("port", port),
        ("attempts", str(len(result.result.attempts))),
    ]
    reachable = [vantage for vantage, outcome in result.elsewhere if outcome is Outcome.OPEN]
    if reachable:
        pairs.append(("reachable_from", ",".join(reachable)))
    diagnosis = result.diagnosis
    if diagnosis is not None:
        pairs.append(("causes", ",".join(diagnosis.in_play)))
        top = diagnosis.top
        if top is not None:
            pairs.append(("top_cause", top.id))
            pairs.append(("top_cause_title", top.title))
    return [(_NAMES[name], value) for name, value in pairs]


def read(user_properties: object) -> dict[str, str]:
    """The conntriage properties of a report, prefix stripped ({} for other tests)."""
    found: dict[str, str] = {}
    if isinstance(user_properties, (list, tuple)):
        for pair in user_properties:
            if isinstance(pair, (list, tuple)) and len(pair) == 2:
                name, value = pair
                if isinstance(name, str) and name.startswith(PREFIX):
                    found[name[len(PREFIX) :]] = str(value)
    return found
