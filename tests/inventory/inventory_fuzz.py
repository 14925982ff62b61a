"""A seeded mutation fuzzer for the inventory loader.

Used by tests/inventory/test_inventory_fuzz.py.

Mutates valid and broken inventories (the repo's, the docs' examples, the error tables')
with the edits that break YAML and inventories most often: structure characters, anchors
and aliases, merge keys, non-decimal and huge numbers, control characters, references,
indentation, deleted and repeated lines. Each case goes through the whole loader
(parse, validate, build, merge) from its text; no file, no network.
"""

from __future__ import annotations

import random
import re
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pytest_conntriage.inventory import InventoryError, InventoryWarning
from pytest_conntriage.inventory.load import load_text
from pytest_conntriage.inventory.merge import merge
from pytest_conntriage.inventory.model import Inventory

ROOT = Path(__file__).parents[2]
ENVIRON = {"API_HOST": "api.example.com", "WEB_PORT": "8080", "X": "0x50", "E": ""}

# What an edit inserts: YAML structure, the numbers YAML 1.1 reads oddly, hostile text.
FRAGMENTS: list[str] = [
    *"[]{}:,-#&*!|>'\"%@`?\n\t ",
    "<<: *a",
    "<<: [*a, *a]",
    "&a ",
    "*a",
    "&b [*a, *a, *a, *a]",
    "0443",
    "0x50",
    "1_0",
    "22:22",
    "0b101",
    "1:30.5",
    ".inf",
    ".nan",
    "~",
    "null",
    "yes",
    "9" * 30,
    "1" + "0" * 19,
    "-1",
    "65536",
    "0",
    "1.5s",
    "999999999999999999s",
    "\x1b[2J",
    "\x00",
    "\u2028",
    "\u202e",
    "\ufeff",
    "${X}",
    "${API_HOST}",
    "${NOPE}",
    "${E:-1}",
    "$$",
    "[[[[[[",
    "]]]]",
    "0.0.0.0",
    "::",
    "224.0.0.1",
    "fe80::1%$(x)",
    "fe80::1%eth0",
    "[2001:db8::1]:53",
    "local",
    "!!binary",
    "!!python/object:os.system",
    "2001-01-01",
    "'8000-8010'",
]
# Keys worth inserting where a key was.
KEYS = [
    *("version", "defaults", "hosts", "services", "closed", "x-a", "address", "ports"),
    *("host", "unit", "listen", "dns", "expect", "resolvers", "match", "from", "tags"),
    *("timeout", "retries", "wait", "idle", "connection", "sudo", "<<"),
]


def valid_seeds() -> list[str]:
    """Inventories that load: the repo's, the docs' complete examples, a few more."""
    texts = [path.read_text() for path in sorted((ROOT / "inventories").glob("*.yml"))]
    docs = (ROOT / "docs" / "inventory.md").read_text()
    texts += [
        text
        for text in re.findall(r"```yaml\n(.*?)```", docs, flags=re.DOTALL)
        if re.search(r"^version: 1$", text, flags=re.M)
    ]
    texts += [
        "version: 1\nx-a: &a {timeout: 1s, ports: [80]}\nservices:\n"
        "  s1: {<<: *a, address: 192.0.2.1}\n  s2:\n    <<: *a\n    address: 192.0.2.2\n",
        "version: 1\nx-l: &l [x, x, x, x]\nx-m: &m [*l, *l, *l, *l]\nx-n: [*m, *m, *m, *m]\n",
        "version: 1\nservices:\n  a: {address: 192.0.2.1, ports: [1, 2, 3], idle: 30s}\n"
        "closed:\n  - {address: 192.0.2.1, ports: [22]}\n",
    ]
    return texts


def broken_seeds() -> list[str]:
    """Each kind of mistake the error tables know."""
    from tests.inventory.test_inventory_errors import CASES as ERRORS
    from tests.inventory.test_inventory_hostile import CASES as HOSTILE

    texts = [text for case in ERRORS.values() for text in case.files.values()]
    return texts + [text for text, _ in HOSTILE.values() if len(text) < 4000]


def mutate(text: str, rng: random.Random, pool: list[str]) -> str:
    """`text` with 1 to 4 random edits (mostly one: a single slip is the common case)."""
    for _ in range(rng.choice((1, 1, 1, 2, 3, 4))):
        text = rng.choice(_EDITS)(text, rng, pool)
    return text


def _insert(text: str, rng: random.Random, pool: list[str]) -> str:
    at = rng.randint(0, len(text))
    return text[:at] + rng.choice(FRAGMENTS) + text[at:]


def _replace_char(text: str, rng: random.Random, pool: list[str]) -> str:
    if not text:
        return text
    at = rng.randrange(len(text))
    return text[:at] + rng.choice(FRAGMENTS) + text[at + 1 :]


def _replace_word(text: str, rng: random.Random, pool: list[str]) -> str:
    words = list(re.finditer(r"[\w.:%-]+", text))
    if not words:
        return text
    word = rng.choice(words)
    new = rng.choice(KEYS) if text[word.end() : word.end() + 1] == ":" else rng.choice(FRAGMENTS)
    return text[: word.start()] + new + text[word.end() :]


def _delete(text: str, rng: random.Random, pool: list[str]) -> str:
    if not text:
        return text
    start = rng.randrange(len(text))
    return text[:start] + text[start + rng.randint(1, 20) :]


def _lines(text: str, rng: random.Random, pool: list[str]) -> str:
    lines = text.split("\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    action = rng.randrange(4)
    if action == 0:
        lines.insert(j, lines[i])  # repeat a line
    elif action == 1:
        lines[i], lines[j] = lines[j], lines[i]
    elif action == 2:
        lines[i] = " " * rng.choice((1, 2, 3, 4, 6)) + lines[i].lstrip(" ")  # indentation
    else:
        other = rng.choice(pool).split("\n")
        lines.insert(j, rng.choice(other))  # a line of another document
    return "\n".join(lines)


def _repeat(text: str, rng: random.Random, pool: list[str]) -> str:
    """Repeat a slice many times: long lists, long lines, deep nesting."""
    if not text:
        return text
    start = rng.randrange(len(text))
    piece = text[start : start + rng.randint(1, 12)]
    return text[:start] + piece * rng.choice((2, 10, 100, 1000)) + text[start:]


_EDITS = [_insert, _replace_char, _replace_word, _delete, _lines, _repeat]


@dataclass
class Stats:
    """What a fuzz run saw."""

    cases: int = 0
    accepted: int = 0
    rejected: int = 0
    crashes: list[str] = field(default_factory=list)
    slowest: float = 0.0  # CPU seconds of the slowest case
    slowest_text: str = ""

    def __str__(self) -> str:
        return (
            f"{self.cases} cases: {self.rejected} rejected, {self.accepted} accepted,"
            f" {len(self.crashes)} crashes; slowest {self.slowest * 1000:.0f} ms CPU"
        )


def cases(count: int, seed: int) -> Iterator[str]:
    """`count` mutated documents, the same ones for the same seed."""
    rng = random.Random(seed)
    valid, broken = valid_seeds(), broken_seeds()
    pool = valid + broken
    for _ in range(count):
        yield mutate(rng.choice(valid if rng.random() < 0.7 else broken), rng, pool)


def check(text: str) -> Inventory:
    """Load one document as `pytest --inventory` would; raises InventoryError if wrong."""
    return merge([load_text(text, "inv.yml", ENVIRON)])


def run(count: int, seed: int) -> Stats:
    """Fuzz `count` cases; every exception but InventoryError is recorded as a crash."""
    stats = Stats()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InventoryWarning)
        for text in cases(count, seed):
            _one(text, stats)
    return stats


def _one(text: str, stats: Stats) -> None:
    stats.cases += 1
    start = time.process_time()
    try:
        inventory = check(text)
    except InventoryError as exc:
        stats.rejected += 1
        message = str(exc)
        if not message.startswith("inv.yml") or not message.isprintable():
            stats.crashes.append(f"malformed message {message!r} for {text!r}")
    except Exception:  # the point of fuzzing: anything else is a bug
        stats.crashes.append(f"{traceback.format_exc()}\nfor {text!r}")
    else:
        stats.accepted += 1
        problem = invariant_problem(inventory)
        if problem:
            stats.crashes.append(f"accepted {problem}: {text!r}")
    elapsed = time.process_time() - start
    if elapsed > stats.slowest:
        stats.slowest, stats.slowest_text = elapsed, text


def invariant_problem(inventory: Inventory) -> str | None:
    """What an accepted inventory must never hold (what validation promises)."""
    for service in inventory.services:
        if not service.name.isprintable():
            return f"a service name that is not printable: {service.name!r}"
        if not all(type(p) is int and 1 <= p <= 65535 for p in service.ports):
            return f"ports {service.ports!r}"
        if len(set(service.ports)) != len(service.ports):
            return f"a repeated port in {service.ports!r}"
        if service.address in ("0.0.0.0", "::"):
            return f"the unspecified address {service.address!r}"
        if not 0 < service.policy.timeout <= 600 or not 0 <= service.policy.retries <= 100:
            return f"policy {service.policy!r}"
        if not float(service.idle).is_integer():
            return f"idle {service.idle!r}"
        if any(not tag.isidentifier() for tag in service.tags):
            return f"tags {service.tags!r}"
    return None
