"""Startup overhead without an inventory: what every pytest run in the environment pays.

    python bench/startup.py            # 15 runs each way
    python bench/startup.py --runs 31

A one-test project, run with the plugin installed (and no inventory) and with
`-p no:conntriage`, alternating so machine load hits both alike. Reports the median
wall time of each, their difference in milliseconds, and the ratio. The target
(docs/bench.md): at most 50 ms more than `-p no:conntriage`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall_time(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "test_one.py").write_text("def test_one():\n    pass\n")
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        wall_time(base, project)  # warm the bytecode caches
        wall_time([*base, "-p", "no:conntriage"], project)
        with_plugin, without = [], []
        for _ in range(runs):
            with_plugin.append(wall_time(base, project))
            without.append(wall_time([*base, "-p", "no:conntriage"], project))
    on, off = statistics.median(with_plugin), statistics.median(without)
    print(f"runs: {runs} each")
    print(f"with the plugin, no inventory: {on * 1000:.0f} ms (median)")
    print(f"-p no:conntriage:              {off * 1000:.0f} ms (median)")
    print(f"overhead: {(on - off) * 1000:+.0f} ms, ratio {on / off:.3f}")


if __name__ == "__main__":
    main()
