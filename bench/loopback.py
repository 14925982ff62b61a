"""Wall time of `pytest --inventory` over N loopback endpoints, some blackholed, serial and -n 2.

No root needed: "blackholed" endpoints are listeners whose accept queue is full, so the
kernel drops their SYNs and a probe times out, exactly as behind a DROP rule. The peer
the plugin is compared with is the floor any prober pays: one timeout.

    python bench/loopback.py                  # 1,000 endpoints, 50 blackholed, timeout 1s
    python bench/loopback.py --endpoints 200 --blackholed 10 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from pytest_conntriage.demo.listeners import FullQueueListener, OpenListener, closed_port


def build_inventory(stack: ExitStack, endpoints: int, blackholed: int, opened: int) -> str:
    """An inventory of `endpoints` services on 127.0.1.x: refused, open and blackholed."""
    lines = ["version: 1", "defaults:", "  timeout: 1s", "services:"]
    for i in range(endpoints):
        address = f"127.0.{1 + i // 250}.{1 + i % 250}"
        if i < blackholed:
            port = stack.enter_context(FullQueueListener(address)).port
        elif i < blackholed + opened:
            port = stack.enter_context(OpenListener(address)).port
        else:
            port = closed_port(address)
        lines += [f"  s{i}:", f"    address: {address}", f"    ports: [{port}]"]
    return "\n".join(lines) + "\n"


def timed_run(inventory: Path, workdir: Path, extra: list[str]) -> tuple[float, str]:
    command = [sys.executable, "-m", "pytest", "--inventory", str(inventory), "-q"]
    command += ["-p", "no:cacheprovider", "--no-header", *extra]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    return took, tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--blackholed", type=int, default=50)
    parser.add_argument("--open", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    results: dict[str, list[float]] = {"serial": [], "-n 2": []}
    tails: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        inventory = workdir / "bench.yml"
        inventory.write_text(build_inventory(stack, args.endpoints, args.blackholed, args.open))
        for _ in range(args.rounds):
            for label, extra in (("serial", []), ("-n 2", ["-n", "2"])):
                took, tails[label] = timed_run(inventory, workdir, extra)
                results[label].append(took)

    timeout = 1.0
    report = {
        "endpoints": args.endpoints,
        "blackholed": args.blackholed,
        "open": args.open,
        "timeout_s": timeout,
        "rounds": args.rounds,
    }
    print(
        f"{args.endpoints} tcp checks on loopback, {args.blackholed} blackholed, "
        f"{args.open} open, timeout {timeout:g}s, median of {args.rounds}:"
    )
    for label, times in results.items():
        median = statistics.median(times)
        report[label] = {"median_s": round(median, 2), "runs_s": [round(t, 2) for t in times]}
        print(
            f"  {label:<7} {median:6.2f} s  = {median / timeout:4.1f} × the one-timeout floor"
            f"   ({tails[label]})"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
