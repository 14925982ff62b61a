"""Differential checks: libyaml reads as PyYAML does, the compiled schema judges as jsonschema.

    python bench/loader_equivalence.py                 # 20,000 mutated documents, seed 1
    python bench/loader_equivalence.py --count 100000 --seed 7

marked_yaml composes with libyaml when the text has none of the characters where the two
parsers are known to differ, and falls back to PyYAML on any error. This runs both paths
over valid inventories (the repo's, the docs' and, when tests/ is present, the error
table's) and random mutations of them (YAML indicators, quotes, indentation, line
breaks, ${...} references, non-ASCII inserted, lines dropped or repeated), and compares
everything load_document returns: the data, every value's and key's line:column, the
interpolated values' original text, or the exact error message. For every document that
loads, the compiled inventory schema (compiled_schema.py) must find exactly the violations
jsonschema finds with the published schema.json. Exit 1 on any difference.
No network, no root; bounded by --count and --max-seconds.
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

from pytest_conntriage import marked_yaml, schema_errors
from pytest_conntriage.document_errors import DocumentError
from pytest_conntriage.inventory.interpolate import interpolate
from pytest_conntriage.inventory.schema import inventory_schema

ROOT = Path(__file__).resolve().parent.parent
ENVIRON = {"PORT": "8080", "HOST": "127.0.0.1", "EMPTY": "", "LIST": "[1, 2]", "T": "true"}
PIECES = [
    " ", "  ", "\n", "\n  ", ":", ": ", "-", "- ", "[", "]", "{", "}", ",", "#", " #", "&a ",
    "*a", "'", '"', "|", ">", "? ", "${PORT}", "${HOST:-x}", "${NOPE}", "$", "a", "1", "0x1F",
    "1.5", "~", "null", "yes", "on", "<<: ", "@", "`", "é", "日本", "\U0001f600", "\\", "\r\n",
    "\t", "!", "!!str ", "%", "...", "---", "\ufeff", "\x85", "\u2028", "\x07", "=", "2001-01-01",
]  # fmt: skip


def seeds() -> list[str]:
    found: list[str] = []
    for path in [*ROOT.glob("inventories/*.yml"), *ROOT.glob("pytest_conntriage/**/demo.yml")]:
        found.append(path.read_text(encoding="utf-8-sig"))
    for doc in ROOT.glob("docs/*.md"):
        found += re.findall(r"```yaml\n(.*?)```", doc.read_text(), flags=re.DOTALL)
    tests = ROOT / "tests" / "inventory"
    for module in tests.glob("test_*.py") if tests.exists() else []:
        for node in ast.walk(ast.parse(module.read_text())):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and "\n" in text and ":" in text:
                found.append(text)
    found.append(
        "version: 1\ndefaults:\n  timeout: 1s\nservices:\n"
        + "".join(f"  s{i}:\n    address: 10.0.0.{i}\n    ports: [{i + 1}]\n" for i in range(5))
    )
    return found


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        where = rng.randint(0, len(text))
        kind = rng.random()
        if kind < 0.55:
            text = text[:where] + rng.choice(PIECES) + text[where:]
        elif kind < 0.75:
            text = text[:where] + text[where + rng.randint(1, 3) :]
        else:
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            if kind < 0.85:
                lines.insert(i, lines[rng.randrange(len(lines))])
            elif kind < 0.95:
                del lines[i]
            else:
                lines[i] = " " * rng.randint(0, 6) + lines[i].lstrip()
            text = "\n".join(lines)
    return text


def load(text: str) -> Any:
    def substitute(value: str) -> tuple[str, bool]:
        result = interpolate(value, ENVIRON)
        return result.text, result.whole

    try:
        doc = marked_yaml.load_document(text, "inv.yml", substitute)
    except DocumentError as exc:
        return ("error", str(exc))
    except Exception as exc:  # a crash must be the same crash too
        return ("crash", type(exc).__name__, str(exc))
    values = {path: doc.value_location(path) for path in doc.values}
    keys = {path: doc.key_location(path) for path in doc.keys}
    return ("ok", repr(doc.data), values, keys, dict(doc.written))


def schema_violations(text: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The violations of the compiled schema and of jsonschema ([] both when it won't load)."""

    def substitute(value: str) -> tuple[str, bool]:
        result = interpolate(value, ENVIRON)
        return result.text, result.whole

    try:
        data = marked_yaml.load_document(text, "inv.yml", substitute).data
    except DocumentError:
        return [], []

    def found(errors: Any) -> list[tuple[object, ...]]:
        seen = [
            (
                str(e.validator),
                tuple(e.absolute_path),
                tuple(e.relative_schema_path),
                repr(e.instance),
            )
            for e in errors
        ]
        return sorted(seen, key=repr)

    schema = inventory_schema()
    compiled = found(schema_errors.validator(schema).iter_errors(data))
    return compiled, found(schema_errors.reference_validator(schema).iter_errors(data))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=300)
    args = parser.parse_args()
    if getattr(marked_yaml, "CParser", None) is None:
        print("PyYAML has no libyaml here: only one path to compare", file=sys.stderr)
        return 0
    rng = random.Random(args.seed)
    corpus = seeds()
    fast_used = differences = 0
    started = time.monotonic()
    texts = corpus + [mutate(rng.choice(corpus), rng) for _ in range(args.count)]
    checked = 0
    for text in texts:
        if time.monotonic() - started > args.max_seconds:
            break
        checked += 1
        fast_used += not marked_yaml._libyaml_may_differ(text)
        with_libyaml = load(text)
        saved = getattr(marked_yaml, "CParser", None)
        setattr(marked_yaml, "CParser", None)  # noqa: B010  # _libyaml_may_differ then says yes
        try:
            pure = load(text)
        finally:
            setattr(marked_yaml, "CParser", saved)  # noqa: B010
        compiled, reference = schema_violations(text)
        if compiled != reference:
            differences += 1
            if differences <= 10:
                print(f"SCHEMA DIFFERENCE for {text!r}:\n  {compiled!r}\n  {reference!r}")
        if with_libyaml != pure:
            differences += 1
            if differences <= 10:
                print(f"DIFFERENCE for {text!r}:\n  libyaml: {with_libyaml!r}\n  PyYAML:  {pure!r}")
    print(
        f"{checked} documents ({len(corpus)} seeds), {fast_used} took the libyaml path: "
        f"{differences} differences"
    )
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
