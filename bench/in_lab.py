"""Run one command inside the bench's lab, for profiling: the same endpoints as run.py.

    python bench/in_lab.py --size 1000 -- python -m cProfile -o prof.out -m pytest \
        --inventory inventory.yml -q -p no:cacheprovider -p no:hypothesispytest
    python bench/in_lab.py --size 10000 --keep-inventory /tmp/inv -- sh -c 'time pytest ...'

Builds the lab of run.py for N endpoints (docs/bench.md, "The lab"), writes run.py's
inventory files into a work directory, runs the command inside the client namespace with
that directory as its working directory, prints its exit status, and tears the lab down
(also on Ctrl-C). Needs root. `--keep-inventory DIR` copies the inventory files there.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlab
from benchlab import Lab, Layout
from run import inventory_files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--keep-inventory", type=Path, default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (after --)")
    problem = benchlab.unavailable()
    if problem:
        print(f"in_lab: {problem}", file=sys.stderr)
        return 2
    benchlab.install_signal_handlers()
    lab = Lab(Layout.for_size(args.size))
    try:
        lab.build()
        work = lab.tmp / "work"
        work.mkdir()
        names = []
        for i, text in enumerate(inventory_files(lab.layout)):
            name = "inventory.yml" if i == 0 else f"inventory-{i + 1}.yml"
            (work / name).write_text(text)
            names.append(name)
        if args.keep_inventory:
            args.keep_inventory.mkdir(parents=True, exist_ok=True)
            for name in names:
                shutil.copy(work / name, args.keep_inventory / name)
        print(f"in_lab: {lab.layout.expected()} in {work}: {' '.join(names)}", file=sys.stderr)
        done = subprocess.run(lab.exec_argv(lab.client, command), cwd=work, check=False)
        print(f"in_lab: exit {done.returncode}", file=sys.stderr)
        return done.returncode
    finally:
        for problem in lab.teardown():
            print(f"in_lab: teardown problem: {problem}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
