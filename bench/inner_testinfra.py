"""The testinfra way: `host.addr(a).port(p).is_reachable`, one check after another.

    inner_testinfra.py ENDPOINTS_FILE

Runs inside the client namespace with testinfra's local backend; prints one JSON
object: total seconds, seconds per check by expected kind, and each check's answer.
testinfra runs `nc -w 1 -z` per check, or, without nc, `timeout 1 bash -c '... >
/dev/tcp/a/p'` (the same 1 s limit); "path" says which one ran.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import testinfra


def main() -> int:
    lines = Path(sys.argv[1]).read_text().splitlines()
    endpoints = [(a, int(p)) for a, p in (line.split() for line in lines if line.strip())]
    host = testinfra.get_host("local://")
    answers: list[bool] = []
    each: list[float] = []
    started = time.perf_counter()
    for address, port in endpoints:
        t = time.perf_counter()
        answers.append(bool(host.addr(address).port(port).is_reachable))
        each.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    path = "nc -w 1 -z" if shutil.which("nc") else "timeout 1 bash /dev/tcp (no nc installed)"
    print(json.dumps({"seconds": elapsed, "each": each, "reachable": answers, "path": path}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
