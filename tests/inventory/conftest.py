"""The long fuzz run (marker fuzz_long) runs only when `-m` names it."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "fuzz_long" in (config.getoption("markexpr", "") or ""):
        return
    long = [item for item in items if item.get_closest_marker("fuzz_long")]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [item for item in items if not item.get_closest_marker("fuzz_long")]
