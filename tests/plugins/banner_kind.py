"""A team's plugin adding a check kind, as docs/extending.md shows one: `banner`.

A service's `banner: {expect: "220 "}` asks that every port, connected to from the
machine running pytest, sends a first line starting with that prefix (SMTP, FTP and
SSH servers greet so). Everything the kind brings is here and in banner.yaml:

- its inventory key (`banner`, the schema fragment below) and its parsed, frozen value
  (`BannerSpec`, read by `read_section`);
- its outcomes: `banner-ok` (a pass) and `banner-mismatch`; a connect that fails is the
  core taxonomy's (refused, timeout, ...);
- its placeholders `{banner}` and `{expected}`, filled from its own facts;
- the runbook entry explaining `banner-mismatch` (banner.yaml).

No file of pytest_conntriage is touched to add it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from pytest_conntriage.inventory.model import Inventory, Location, Policy
from pytest_conntriage.kinds.protocol import KindDefaults, ProbeContext, SectionReader
from pytest_conntriage.outcome import Outcome, classify_errno
from pytest_conntriage.probe.result import Attempt, ProbeResult
from pytest_conntriage.probe.retry import with_retries
from pytest_conntriage.triage.model import Facts

if TYPE_CHECKING:
    from pytest_conntriage.kinds.protocol import Kind

HERE = Path(__file__).parent
MAX_LINE = 512  # a greeting longer than this is cut: the check reads no more

BANNER_OK = Outcome.declare("banner-ok", "the expected banner came", passes=True)
BANNER_MISMATCH = Outcome.declare("banner-mismatch", "the server greets with another banner")


@dataclass(frozen=True, slots=True)
class BannerSpec:
    """A service's `banner:`: the prefix its greeting must start with."""

    expect: str
    location: Location


@dataclass(frozen=True, slots=True)
class BannerCheck:
    kind: BannerKind
    target: str
    port: int
    expect: str
    policy: Policy
    location: Location
    service: str | None
    tags: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.service}:{self.target}:{self.port}"


@dataclass(frozen=True, slots=True)
class BannerFacts:
    """The banner check's own facts: what came, and what was expected."""

    words: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"banner": "another banner", "expected": "the expected prefix"}
    )

    expected: str
    banner: str | None = None

    def values(self) -> dict[str, str]:
        found = {"expected": self.expected}
        if self.banner is not None:
            found["banner"] = self.banner
        return found


class BannerKind(KindDefaults):
    name = "banner"
    outcomes = (BANNER_OK, BANNER_MISMATCH)
    placeholders = BannerFacts.words
    inventory_schema: Mapping[str, Any] = MappingProxyType(
        {
            "properties": {"banner": {"$ref": "#/$defs/banner"}},
            "$defs": {
                "banner": {
                    "$anchor": "banner",
                    "title": "a mapping with expect",
                    "description": "Connect to every port and read the first line.",
                    "type": "object",
                    "required": ["expect"],
                    "properties": {
                        "expect": {
                            "title": "a non-empty string",
                            "description": "The prefix the server's first line starts with.",
                            "type": "string",
                            "minLength": 1,
                        }
                    },
                    "additionalProperties": False,
                }
            },
        }
    )

    def read_section(
        self, key: str, raw: Any, service: Mapping[str, Any], reader: SectionReader
    ) -> BannerSpec:
        if "\n" in raw["expect"]:
            reader.fail(("expect",), "a banner is one line: the prefix cannot hold a newline")
        return BannerSpec(raw["expect"], reader.location(()))

    def plan(self, inventory: Inventory) -> Iterator[BannerCheck]:
        for service in inventory.services:
            spec = service.section("banner")
            if not isinstance(spec, BannerSpec):
                continue
            for port in service.ports:
                yield BannerCheck(
                    self,
                    service.address,
                    port,
                    spec.expect,
                    service.policy,
                    spec.location,
                    service.name,
                    service.tags,
                )

    async def probe(self, check: BannerCheck, context: ProbeContext) -> ProbeResult:
        async def attempt() -> Attempt:
            return await context.engine.bounded(_greeting(check))

        return await with_retries(attempt, check.policy, lambda a: self.judge(check, a))

    def judge(self, check: BannerCheck, attempt: Attempt) -> bool:
        return attempt.outcome is BANNER_OK

    def facts(self, check: BannerCheck, attempt: Attempt) -> Facts:
        banner = attempt.detail if attempt.outcome in self.outcomes else None
        return Facts(
            address=attempt.address or check.target,
            port=check.port,
            host=check.target,
            service=check.service,
            own=BannerFacts(check.expect, banner),
        )

    def describe(self, check: BannerCheck) -> str:
        return (
            f"banner {check.target}:{check.port} starts {check.expect!r}, service {check.service}"
        )

    def explain(self, check: BannerCheck, attempt: Attempt) -> str:
        if attempt.outcome in self.outcomes:
            return f"{check.target}:{check.port} greeted {attempt.detail!r}"
        return f"{attempt.outcome.describes} ({attempt.errno_name or attempt.detail})"

    def properties(self, check: BannerCheck, attempt: Attempt) -> list[tuple[str, str]]:
        pairs = [("address", check.target), ("port", str(check.port)), ("expect", check.expect)]
        if attempt.outcome in self.outcomes:
            pairs.append(("banner", attempt.detail))
        return pairs


async def _greeting(check: BannerCheck) -> Attempt:
    """Connect, read the first line (bounded), close; within the check's timeout."""
    started = time.monotonic()

    def took() -> float:
        return (time.monotonic() - started) * 1000

    async def first_line() -> bytes:
        reader, writer = await asyncio.open_connection(check.target, check.port)
        try:
            return await reader.readline()
        finally:
            writer.close()

    try:
        line = await asyncio.wait_for(first_line(), check.policy.timeout)
    except asyncio.TimeoutError:
        return Attempt(Outcome.TIMEOUT, took(), check.target, check.port, detail="no banner")
    except OSError as exc:
        outcome = classify_errno(exc.errno)
        return Attempt(outcome, took(), check.target, check.port, exc.errno, str(exc))
    banner = line[:MAX_LINE].decode("utf-8", "replace").rstrip("\r\n")
    said = BANNER_OK if banner.startswith(check.expect) else BANNER_MISMATCH
    return Attempt(said, took(), check.target, check.port, detail=banner)


KIND = BannerKind()

if TYPE_CHECKING:
    _: Kind[BannerCheck] = KIND


def pytest_conntriage_add_kinds(config: pytest.Config) -> Sequence[Kind[Any]]:
    return [KIND]


def pytest_conntriage_add_runbooks(config: pytest.Config) -> Sequence[str]:
    return [str(HERE / "banner.yaml")]
