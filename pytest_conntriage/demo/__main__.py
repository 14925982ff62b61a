"""The demo: start faulty services on 127.0.0.x, run the plugin on them, say what was intended."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from .dnsserver import LoopbackDnsServer
from .intended import Judged, Judgement, judge, read_records
from .listeners import DelayedListener, FullQueueListener, OpenListener

# Shipped in the package (inventories/demo.yml in the repository links to it), so the
# demo runs from any directory after `pip install`.
DEFAULT_INVENTORY = Path(__file__).parent / "demo.yml"
DNS_ADDRESS, DNS_PORT = "127.0.0.35", 5353


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


def cache_dir() -> Path:
    """Where the demo's pytest keeps its cache (`--lf`, `--ff`, `--sw` across demo runs):
    the user's cache directory, not the directory the demo is started from."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-conntriage" / "demo"


def pytest_command(record: Path, user_args: list[str]) -> list[str]:
    """The pytest run: the demo's inventory, the observer, then the user's options as
    given (later options win, so theirs override the demo's cache_dir)."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--inventory",
        "demo.yml",
        "-p",
        "pytest_conntriage.demo.observe",
        f"--conntriage-demo-record={record}",
    ]
    if not any("no:cacheprovider" in arg for arg in user_args):
        command += ["-o", f"cache_dir={cache_dir()}"]
    return command + user_args


def report(judgement: Judgement, code: int) -> int:
    """Print what each check that ran was meant to show and what the plugin said; the
    demo's exit status."""
    ran = judgement.judged
    if not ran:
        print(f"\ndemo: no check ran (pytest exit {code}); nothing to judge.")
        return code or 0
    print("\ndemo: what each check that ran was meant to show, and what the plugin said:")
    passed = [j for j in ran if j.intent is None and j.as_intended and not j.note]
    for judged in ran:
        if judged not in passed:
            _print_judged(judged)
    if passed:
        names = ", ".join(j.record.label for j in passed)
        print(f"  as intended  {len(passed)} passed: {names}")
    if judgement.not_run:
        names = ", ".join(f"{i.kind} {i.subject}" for i in judgement.not_run)
        print(f"  not run (not selected, or stopped early), not judged: {names}")
    problems = judgement.problems
    expected = 1 if judgement.any_failed else 0
    if code != expected:
        problems.append(f"pytest exited {code}, expected {expected}")
    if problems:
        print(f"\ndemo: UNEXPECTED (pytest exit {code}):")
        for problem in problems:
            print(f"  {problem}")
        return code if code > 1 else 1
    print(
        f"\ndemo: every check that ran ({len(ran)}) passed or failed exactly as intended, "
        f"top causes included (pytest exit {code} is expected)."
    )
    return 0


def _print_judged(judged: Judged) -> None:
    record = judged.record
    mark = "as intended" if judged.as_intended else "NOT INTENDED"
    print(f"  {mark:<12} {record.label}: {record.said}")
    if judged.intent is not None:
        print(f"               injected: {judged.intent.injected}")
    if judged.note:
        print(f"               {judged.note}")
    for problem in judged.problems:
        print(f"               wrong: {problem}")
    if not judged.as_intended:
        for line in record.unavailable:
            print(f"               evidence unavailable: {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_conntriage.demo", description=__doc__)
    parser.add_argument("--inventory", type=Path, default=DEFAULT_INVENTORY)
    parser.add_argument("pytest_args", nargs="*", help="pytest options, after --")
    args = parser.parse_args(argv)
    if not args.inventory.is_file():
        print(f"demo: {args.inventory} not found")
        return 2
    with tempfile.TemporaryDirectory(prefix="conntriage-demo-") as tmp, ExitStack() as services:
        start_services(services)
        # Run from a copy in an empty directory: pytest then collects only the
        # inventory's checks, and test ids read `demo.yml::test_tcp[...]`.
        workdir = Path(tmp) / "run"
        workdir.mkdir()
        shutil.copyfile(args.inventory, workdir / "demo.yml")
        record = Path(tmp) / "checks.jsonl"
        command = pytest_command(record, list(args.pytest_args))
        print(f"demo: services up on 127.0.0.2-6 and DNS on {DNS_ADDRESS}:{DNS_PORT}")
        print("demo: $", " ".join(command[2:]), flush=True)
        code = subprocess.run(command, cwd=workdir, check=False).returncode
        judgement = judge(read_records(str(record)))
    return report(judgement, code)


if __name__ == "__main__":
    sys.exit(main())
