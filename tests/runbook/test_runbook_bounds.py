"""A runbook given with --runbook is bounded like an inventory (docs/inventory.md, Limits)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_conntriage.runbook import RunbookError, load_entries

BOMB = (
    "x0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 8))
    + "entries: []\n"
)

CASES = {
    "nesting": (
        "entries: " + "[" * 100_000 + "]" * 100_000,
        "rb.yml:1:74: nested more than 64 levels deep (lists and mappings inside each other,"
        " aliases followed)",
    ),
    "alias-bomb": (
        BOMB,
        "rb.yml:6:5: this expands to more than 250,000 keys and values once its aliases"
        " (*name) and merge keys (<<) are expanded",
    ),
    "huge-integer": (
        "entries: " + "9" * 10_000,
        "rb.yml:1:10: entries: 999999999999…999999 has 10,000 digits; numbers in a runbook",
    ),
    "too-large": ("#" * (2 * 1024 * 1024 + 1), "rb.yml: the file is 2,097,153 characters long"),
}


@pytest.mark.parametrize("name", CASES)
def test_hostile_runbook_is_one_error(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, expected = CASES[name]
    monkeypatch.chdir(tmp_path)
    Path("rb.yml").write_text(text)
    with pytest.raises(RunbookError) as excinfo:
        load_entries("rb.yml")
    assert str(excinfo.value).startswith(expected)
