"""The demo: start faulty services on 127.0.0.x, run the plugin on them, say what was intended."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from contextlib import ExitStack
from pathlib import Path

from .dnsserver import LoopbackDnsServer
from .listeners import DelayedListener, FullQueueListener, OpenListener

# Shipped in the package (inventories/demo.yml in the repository links to it), so the
# demo runs from any directory after `pip install`.
DEFAULT_INVENTORY = Path(__file__).parent / "demo.yml"
DNS_ADDRESS, DNS_PORT = "127.0.0.35", 5353

# test id → (outcome the plugin must report, what the demo did to cause it)
INTENDED_FAILURES = {
    "test_tcp[local->127.0.0.3:8081]": (
        "refused",
        "api listens on 127.0.0.2:8081 only; the inventory expects it on 127.0.0.3",
    ),
    "test_tcp[local->127.0.0.4:8082]": (
        "timeout",
        "queue's accept queue is full, so the kernel drops new SYNs",
    ),
    "test_dns[billing.demo.test@127.0.0.35:5353]": (
        "dns-mismatch",
        "billing.demo.test still points at 127.0.0.9 (stale); the service moved to 127.0.0.5",
    ),
    "test_tcp[local->billing.demo.test:8083@127.0.0.9]": (
        "refused",
        "the stale address has nothing listening",
    ),
    "test_dns[legacy.demo.test@127.0.0.35:5353]": (
        "dns-nxdomain",
        "legacy.demo.test's record was deleted",
    ),
    "test_tcp[local->legacy.demo.test:8084@unresolved]": (
        "dns-nxdomain",
        "a connection cannot even start: the name does not resolve",
    ),
    "test_closed[local->127.0.0.2:9090]": (
        "open",
        "an admin port is reachable although the exposure gate says it must be closed",
    ),
}


def start_services(stack: ExitStack) -> None:
    """Everything the demo inventory talks to, on loopback only."""
    stack.enter_context(
        LoopbackDnsServer(
            DNS_ADDRESS,
            DNS_PORT,
            records={"web.demo.test": ["127.0.0.2"], "billing.demo.test": ["127.0.0.9"]},
        )
    )
    stack.enter_context(OpenListener("127.0.0.2", 8080))  # web
    stack.enter_context(OpenListener("127.0.0.2", 8081))  # api, on the wrong address
    stack.enter_context(FullQueueListener("127.0.0.4", 8082))  # queue
    stack.enter_context(OpenListener("127.0.0.5", 8083))  # billing, where it moved to
    stack.enter_context(OpenListener("127.0.0.2", 9090))  # the exposed admin port
    stack.enter_context(DelayedListener("127.0.0.6", 8085, delay=3.0))  # deploy-gate


def check_junit(path: Path) -> list[str]:
    """What differs from the intended outcome, read back from the JUnit report."""
    problems = []
    seen: dict[str, str] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        failed = case.find("failure") is not None
        name = case.get("name", "")
        seen[name] = props.get("conntriage.outcome", "") if failed else "passed"
    for name, (outcome, _) in INTENDED_FAILURES.items():
        if seen.get(name) != outcome:
            problems.append(f"{name}: expected {outcome}, got {seen.get(name, 'no such test')}")
    for name, got in seen.items():
        if name not in INTENDED_FAILURES and got != "passed":
            problems.append(f"{name}: expected to pass, got {got}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_conntriage.demo", description=__doc__)
    parser.add_argument("--inventory", type=Path, default=DEFAULT_INVENTORY)
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    if not args.inventory.is_file():
        print(f"demo: {args.inventory} not found")
        return 2
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as services:
        start_services(services)
        junit = Path(tmp) / "demo-junit.xml"
        # Run from a copy in an empty directory: pytest then collects only the
        # inventory's checks, and test ids read `demo.yml::test_tcp[...]`.
        shutil.copyfile(args.inventory, Path(tmp) / "demo.yml")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--inventory",
            "demo.yml",
            f"--junitxml={junit.name}",
            "-p",
            "no:cacheprovider",
            *args.pytest_args,
        ]
        print("demo: services up on 127.0.0.2-6 and DNS on 127.0.0.35:5353")
        print("demo: $", " ".join(command[2:]), flush=True)
        code = subprocess.run(command, cwd=tmp, check=False).returncode
        problems = check_junit(junit) if junit.exists() else ["no JUnit report was written"]
    print("\ndemo: the failures above are intended:")
    for name, (outcome, why) in INTENDED_FAILURES.items():
        print(f"  {outcome:<13} {name}\n                {why}")
    if code != 1 or problems:
        print(f"\ndemo: UNEXPECTED (pytest exit {code}):")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print("\ndemo: every check passed or failed exactly as intended (pytest exit 1 is expected).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
