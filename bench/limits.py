"""Limit situations: does local resource exhaustion ever read as a fault of the targets?

    python bench/limits.py                    # every case, 1,000 endpoints
    python bench/limits.py --cases fd-256-hard,ports-100 --json /tmp/limits.json

Needs root; uses bench/benchlab.py's two-namespace lab (same mix as bench/run.py: 90%
refused, 5% open, 5% blackholed, timeout 1 s) and runs `pytest --inventory` in the client
namespace under each limit, reading every check's `conntriage.outcome` from JUnit. A
run is right when the counts are exactly the lab's (open / refused / timeout): a
`probe-error` means "could not probe" was said honestly; a `timeout` or `refused` too
many means local exhaustion was blamed on the target.

Cases:
  fd-256-soft   `ulimit -Sn 256` (hard limit left as is): the plugin may raise the soft limit
  fd-256-hard   `ulimit -n 256` (soft = hard = 256): it can only cap probes in flight
  fd-256-hard-n2  the same with -n 2 (each worker has its own engine)
  fd-100-hard   `ulimit -n 100`: a cap of 36 in flight, blackholed endpoints queue up
  fd-64-hard    `ulimit -n 64`: a cap of 1 in flight (the plugin reserves 64 descriptors)
  concurrency-1000-fd-256  --conntriage-concurrency 1000 under `ulimit -n 256`
  ports-100     ip_local_port_range 40000 40099 in the client namespace: 100 ephemeral
                ports for 256 probes in flight
  ports-2       the same with 2 ephemeral ports (Linux shares a local port between
                different destinations, so exhaustion needs many probes to one host:port)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlab
from benchlab import Lab, LabError, Layout
from run import inventory, run_measured

from pytest_conntriage.report.properties import junit_properties

CASES: dict[str, dict[str, Any]] = {
    "baseline": {"shell": "", "extra": []},
    "fd-256-soft": {"shell": "ulimit -Sn 256", "extra": []},
    "fd-256-hard": {"shell": "ulimit -n 256", "extra": []},
    "fd-256-hard-n2": {"shell": "ulimit -n 256", "extra": ["-n", "2"]},
    "fd-100-hard": {"shell": "ulimit -n 100", "extra": []},
    "concurrency-1000-fd-256": {
        "shell": "ulimit -n 256",
        "extra": ["--conntriage-concurrency", "1000"],
    },
    "fd-64-hard": {"shell": "ulimit -n 64", "extra": []},
    "ports-100": {"shell": "", "extra": [], "port_range": "40000 40099"},
    "ports-2": {"shell": "", "extra": [], "port_range": "40000 40001"},
}
WANT = {"open": "open", "refused": "refused", "blackholed": "timeout"}


def run_case(lab: Lab, work: Path, python: str, name: str, case: dict[str, Any]) -> dict[str, Any]:
    layout = lab.layout
    junit = work / f"{name}.xml"
    pytest = [python, "-m", "pytest", "--inventory", "inventory.yml", "-p", "no:cacheprovider"]
    pytest += ["--tb=no", "-rN", f"--junitxml={junit}", *case["extra"]]
    script = (case["shell"] + "; " if case["shell"] else "") + "exec " + shlex.join(pytest)
    range_before = None
    if case.get("port_range"):
        key = "net.ipv4.ip_local_port_range"
        range_before = benchlab.sh(lab.exec_argv(lab.client, ["sysctl", "-n", key])).split()
        benchlab.sh(lab.exec_argv(lab.client, ["sysctl", "-qw", f"{key}={case['port_range']}"]))
    try:
        ran = run_measured(
            lab.exec_argv(lab.client, ["sh", "-c", script]), work, work / f"{name}.out", 300
        )
    finally:
        if range_before:
            value = " ".join(range_before)
            benchlab.sh(lab.exec_argv(lab.client, ["sysctl", "-qw", f"{key}={value}"]))
    text = ran.stdout.read_text(errors="replace")
    if not junit.exists():
        raise LabError(f"{name}: no JUnit written (exit {ran.returncode}): {text[-1500:]}")
    by_kind: dict[str, Counter[str]] = {kind: Counter() for kind in WANT}
    for props in junit_properties(ET.parse(junit).getroot()).values():
        port = int(props.get("port") or 0)
        by_kind[layout.kind(port)][props.get("outcome") or "(none)"] += 1
    blamed = sum(
        count
        for kind, outcomes in by_kind.items()
        for outcome, count in outcomes.items()
        if outcome not in (WANT[kind], "probe-error")
    )
    probe_errors = sum(outcomes["probe-error"] for outcomes in by_kind.values())
    header = [line for line in text.splitlines() if line.startswith("conntriage:")]
    summary = text.strip().splitlines()[-1] if text.strip() else ""
    return {
        "shell": case["shell"],
        "extra": case["extra"],
        "port_range": case.get("port_range"),
        "seconds": round(ran.seconds, 2),
        "exit": ran.returncode,
        "header": header,
        "summary": summary,
        "outcomes_by_kind": {kind: dict(c) for kind, c in by_kind.items()},
        "probe_errors": probe_errors,
        "wrongly_blamed_on_target": blamed,
        "verdict": "exact"
        if not blamed and not probe_errors
        else "honest (probe-error)"
        if not blamed
        else "WRONG: local exhaustion reported as a target outcome",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"of {', '.join(CASES)}")
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    names = [n for n in args.cases.split(",") if n]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}")
    reason = benchlab.unavailable()
    if reason:
        print(f"bench/limits.py {reason}", file=sys.stderr)
        return 2
    benchlab.install_signal_handlers()
    python = benchlab.bench_python()
    results: dict[str, Any] = {}
    lab = Lab(Layout.for_size(args.endpoints))
    try:
        lab.build()
        work = lab.tmp / "work"
        work.mkdir()
        (work / "inventory.yml").write_text(inventory(lab.layout))
        for name in names:
            print(f"  {name} …", flush=True)
            results[name] = run_case(lab, work, python, name, CASES[name])
    except KeyboardInterrupt:
        print("interrupted: lab torn down", file=sys.stderr)
        return 130
    finally:
        problems = lab.teardown()
        if problems:
            print("teardown: " + "; ".join(problems), file=sys.stderr)
    expected = lab.layout.expected()
    print(
        f"\n{args.endpoints:,} endpoints: {expected['refused']} refused, {expected['open']} open,"
        f" {expected['blackholed']} blackholed; timeout 1 s"
    )
    for name, r in results.items():
        print(f"{name:<26} {r['seconds']:>6.1f} s  {r['verdict']}")
        for kind, outcomes in r["outcomes_by_kind"].items():
            shown = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
            print(f"    {kind:<11} → {shown}")
        for line in r["header"]:
            print(f"    {line}")
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "expected": expected, "cases": results}
    path = (
        args.json
        or Path(__file__).resolve().parent
        / f"results-limits-{time.strftime('%Y-%m-%dT%H%M%S')}.json"
    )
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {path}")
    return 1 if any(r["wrongly_blamed_on_target"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
