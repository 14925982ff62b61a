"""What a runbook may name, from the run's check kinds: their outcomes (the core taxonomy
and each kind's own) and the placeholders its templates may use (the core ones and each
kind's own: Kind.placeholders). The runbook's JSON Schema is the published schema.json with these
filled in: the file holds the built-in kinds' (tests check it is exactly that), a run
with a plugin's kind validates against its own assembly."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..outcome import CORE, Outcome
from .template import CORE_PLACEHOLDERS

if TYPE_CHECKING:
    from ..kinds.protocol import Kind

SCHEMA_PATH = Path(__file__).parent / "schema.json"

# Outcomes no cause can explain: a name that resolved is no dns failure, and the
# probe's own failure says nothing about the target.
_NEVER_A_CAUSE = frozenset({Outcome.RESOLVED, Outcome.PROBE_ERROR})


@dataclass(frozen=True)
class Vocabulary:
    """The words a run's runbooks may use: every outcome its kinds can report, every
    value their templates can be filled with."""

    outcomes: tuple[Outcome, ...] = CORE
    placeholders: tuple[str, ...] = tuple(CORE_PLACEHOLDERS)

    @classmethod
    def of(cls, kinds: Iterable[Kind[Any]]) -> Vocabulary:
        """The core taxonomy and placeholders, then each kind's own, in kind order."""
        outcomes = dict.fromkeys(CORE)
        names = dict.fromkeys(CORE_PLACEHOLDERS)
        for kind in kinds:
            outcomes.update(dict.fromkeys(kind.outcomes))
            names.update(dict.fromkeys(kind.placeholders))
        return cls(tuple(outcomes), tuple(names))

    @property
    def nameable(self) -> tuple[str, ...]:
        """The outcome names a cause's `outcomes` and an indicator may use."""
        return tuple(o.value for o in self.outcomes if o not in _NEVER_A_CAUSE)


def built_in() -> Vocabulary:
    """The built-in kinds' vocabulary: what the published schema.json holds."""
    from ..kinds.registry import KindRegistry

    return Vocabulary.of(KindRegistry())


def schema(vocabulary: Vocabulary) -> dict[str, Any]:
    """The runbook JSON Schema for `vocabulary`: schema.json, its outcomes filled in."""
    assembled = copy.deepcopy(_published())
    names = list(vocabulary.nameable)
    definitions = assembled["$defs"]
    definitions["outcome"]["enum"] = names
    definitions["cause"]["properties"]["outcomes"]["properties"] = {
        name: {"$ref": "#/$defs/fit"} for name in names
    }
    definitions["step"]["properties"]["unless"]["items"]["enum"] = list(vocabulary.placeholders)
    return assembled


@functools.cache
def _published() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def write_published() -> None:
    """Write schema.json: the built-in kinds' vocabulary filled in."""
    text = json.dumps(schema(built_in()), indent=2, ensure_ascii=False) + "\n"
    SCHEMA_PATH.write_text(text, encoding="utf-8")
