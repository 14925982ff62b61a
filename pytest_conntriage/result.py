"""What a check's run gave: the verdict, the probe's attempts and, on failure, the triage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .outcome import Outcome
from .probe.result import ProbeResult
from .resolution import Resolution
from .triage.model import Diagnosis

if TYPE_CHECKING:
    from .checks import Check


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    passed: bool
    result: ProbeResult
    diagnosis: Diagnosis | None = None
    # Evidence that could not be gathered for the diagnosis, "host: what: why".
    unavailable: tuple[str, ...] = ()
    # A failed tcp check: what the same probe gave from the run's other vantages.
    elsewhere: tuple[tuple[str, Outcome], ...] = ()
    # Why there is no diagnosis although the check failed: a crash while gathering
    # evidence or ranking ("ranking: KeyError: 'x'"). The verdict stands without it.
    triage_error: str = ""
    # A failed tcp check on a name: what each resolver answers for it now (when there
    # is more than one to ask).
    answers_now: Resolution | None = None

    @property
    def outcome(self) -> Outcome:
        return self.result.outcome


def crash_reason(stage: str, exc: BaseException) -> str:
    """One line saying which stage of triage failed and how: "ranking: KeyError: 'x'"."""
    detail = " ".join(str(exc).split())
    return f"{stage}: {type(exc).__name__}" + (f": {detail}" if detail else "")
