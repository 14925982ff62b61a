"""Hostile inventories through the CLI: wall time, peak RSS and exit status of each.

    python bench/inventory_limits.py            # every case, one run each
    python bench/inventory_limits.py --fuzz 10000

Each case is written to a temporary directory and run as `pytest --inventory CASE
--collect-only -q -p no:cacheprovider` (IP literals only: nothing is resolved), in a
child of a small fork-and-wait parent so that its ru_maxrss is its own. The loader's
own CPU time is measured too, in a separate child that only loads the file. Figures
include pytest's start (~0.5 s idle). No network, no root.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
MAX_CHARS = 2 * 1024 * 1024
MAX_NODES = 250_000


def alias_bomb(levels: int) -> str:
    lines = ["version: 1", "x-a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"x-a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int) -> str:
    lines = ["version: 1", "x-m0: &m0 {a: 1, b: 2}"]
    lines += [f"x-m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: 1}}" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def ports(count: int, extra: str = "") -> str:
    listed = [str(p) for p in range(1, count + 1)]
    if extra:
        listed.insert(count // 2, extra)
    return (
        f"version: 1\nservices:\n  s:\n    address: 192.0.2.10\n    ports: [{', '.join(listed)}]\n"
    )


def services(count: int, tail: str = "") -> str:
    lines = ["version: 1", "services:"]
    for i in range(count):
        lines.append(
            f"  s{i}:\n    address: 192.0.2.{i % 250 + 1}\n    ports: [{1000 + i % 60000}]"
        )
    return "\n".join(lines) + "\n" + tail


def largest_services(tail: str) -> str:
    """As many one-port services as the limits allow (7 keys and values each), then `tail`."""
    count = (MAX_NODES - 4 - 8) // 7
    text = services(count, tail)
    assert len(text) <= MAX_CHARS
    return text


CASES = {
    "alias bomb, 10^8 leaves (8 levels)": lambda: alias_bomb(8),
    "alias bomb, 10^7 leaves (7 levels)": lambda: alias_bomb(7),
    "merge-key bomb, 24 levels": lambda: merge_bomb(24),
    "flow nesting, 100,000 levels": lambda: "version: 1\nx-a: " + "[" * 100_000 + "]" * 100_000,
    "block nesting, 1,000 levels": lambda: (
        "version: 1\nx-a:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(1000))
    ),
    "alias chain, 200 levels deep": lambda: (
        "version: 1\nx-a0: &a0 [1]\n"
        + "".join(f"x-a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 200))
    ),
    "integer of 100,000 digits under x-": lambda: "version: 1\nx-a: " + "9" * 100_000 + "\n",
    "timeout: 400 digits, no unit": lambda: "version: 1\ndefaults:\n  timeout: " + "9" * 400,
    'timeout: "999…9s" (400 digits)': lambda: (
        'version: 1\ndefaults:\n  timeout: "' + "9" * 400 + 's"\n'
    ),
    "retries: 1 and 300 zeros": lambda: "version: 1\ndefaults:\n  retries: 1" + "0" * 300,
    "65,535 valid ports (accepted, collected)": lambda: ports(65_535),
    "65,534 ports and a duplicate": lambda: ports(65_534, "80"),
    "65,534 ports and a string": lambda: ports(65_534, "http"),
    "50 MB inventory, 711,000 services": lambda: services(711_000),
    "largest inventory the limits allow, a schema error at its end": lambda: largest_services(
        "  zz:\n    address: 192.0.2.1\n    ports: [0]\n"
    ),
    "largest inventory the limits allow, a syntax error at its end": lambda: largest_services(
        "  zz: [\n"
    ),
    "largest inventory the limits allow, valid (accepted, collected)": lambda: largest_services(""),
}

_LOADER = """
import resource, sys, time, warnings
warnings.simplefilter("ignore")
from pytest_conntriage.inventory import InventoryError, load_inventories
start = time.process_time()
try:
    load_inventories([sys.argv[1]], {})
except InventoryError:
    pass
print(time.process_time() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure(path: Path, workdir: Path) -> dict[str, object]:
    rss_file = workdir / "rss"
    command = [sys.executable, str(ROOT / "bench" / "peak_rss.py"), str(rss_file), "--"]
    command += [sys.executable, "-m", "pytest", "--inventory", str(path), "--collect-only"]
    command += ["-q", "-p", "no:cacheprovider"]
    start, used = time.monotonic(), _children_cpu()
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - start
    # CPU as well as wall time: on a loaded machine the wall time says more about the
    # other processes than about this one.
    cpu = _children_cpu() - used
    peak = int(rss_file.read_text())
    # Through peak_rss.py too: a child of this process would report this process's peak.
    loader_command = [sys.executable, str(ROOT / "bench" / "peak_rss.py"), str(rss_file), "--"]
    loader_command += [sys.executable, "-c", _LOADER, str(path)]
    loader = subprocess.run(loader_command, capture_output=True, text=True, timeout=600)
    loader_cpu = loader.stdout.split()[0]
    loader_rss = rss_file.read_text()
    error = next((line for line in done.stderr.splitlines() if line.startswith("ERROR")), "")
    return {
        "exit": done.returncode,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_mb": peak / 1024,
        "loader_cpu_s": float(loader_cpu),
        "loader_peak_mb": int(loader_rss) / 1024,
        "message": error[:110],
        "tracebacks": done.stderr.count("Traceback") + done.stdout.count("Traceback"),
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz", type=int, default=0, help="also fuzz this many cases")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name, make in CASES.items():
            path = workdir / "case.yml"
            path.write_text(make())
            size = path.stat().st_size
            row = measure(path, workdir)
            print(
                f"{name:60} {size:>11,} B  exit {row['exit']}  {row['wall_s']:6.2f} s"
                f" ({row['cpu_s']:5.2f} s CPU)"
                f"  {row['peak_mb']:6.1f} MB  loader {row['loader_cpu_s']:5.2f} s CPU"
                f" {row['loader_peak_mb']:6.1f} MB  tracebacks {row['tracebacks']}",
                flush=True,
            )
            print(f"    {row['message']}", flush=True)
            path.unlink()
    if args.fuzz:
        # The fuzzer is the test suite's (the tests package, importable from the root).
        sys.path.insert(0, str(ROOT))
        from tests.inventory.inventory_fuzz import run

        start = time.monotonic()
        stats = run(args.fuzz, args.seed)
        print(f"fuzz seed {args.seed}: {stats} ({time.monotonic() - start:.0f} s)")
        for crash in stats.crashes[:3]:
            print(crash)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
