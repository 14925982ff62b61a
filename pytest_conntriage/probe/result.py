"""What probes return: one record per attempt, and the verdict over all attempts."""

from __future__ import annotations

from dataclasses import dataclass

from ..outcome import Outcome, errno_name
from .icmp import IcmpError


@dataclass(frozen=True, slots=True)
class Attempt:
    """One TCP connect or one DNS lookup."""

    outcome: Outcome
    elapsed_ms: float
    address: str = ""  # the IP tried (TCP) or the resolver asked (DNS)
    port: int = 0
    errno: int | None = None
    detail: str = ""  # anything a person needs beyond the outcome (rcode, error text)
    answers: tuple[str, ...] = ()  # DNS: the addresses in the answer, sorted
    icmp: IcmpError | None = None  # TCP: the ICMP error that ended the connect, if any
    # TCP to a name: the resolvers whose answer held `address` ("system", "10.0.0.53").
    via: tuple[str, ...] = ()
    # TCP to a name with several addresses: each address's own attempt, in address
    # order; this attempt is the one that decided the verdict.
    tried: tuple[Attempt, ...] = ()

    @property
    def errno_name(self) -> str:
        return errno_name(self.errno)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Every attempt of a probe in order; the last one is the verdict."""

    attempts: tuple[Attempt, ...]
    elapsed_s: float

    @property
    def final(self) -> Attempt:
        return self.attempts[-1]

    @property
    def outcome(self) -> Outcome:
        return self.final.outcome

    def history(self) -> str:
        """ "refused ×3 then open after 4.2 s", or just "refused" for one attempt."""
        runs: list[tuple[Outcome, int]] = []
        for attempt in self.attempts:
            if runs and runs[-1][0] is attempt.outcome:
                runs[-1] = (attempt.outcome, runs[-1][1] + 1)
            else:
                runs.append((attempt.outcome, 1))
        parts = [f"{o.value} ×{n}" if n > 1 else o.value for o, n in runs]
        text = " then ".join(parts)
        if len(self.attempts) > 1:
            text += f" after {self.elapsed_s:.1f} s"
        return text
