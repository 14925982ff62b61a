"""The plugin's probing alone: Engine + probe.tcp.connect_once over every endpoint.

    inner_engine.py ENDPOINTS_FILE TIMEOUT [CONCURRENCY]

ENDPOINTS_FILE holds one "address port" per line. Runs inside the client namespace;
prints one JSON object: seconds from the first submit to the last result (imports and
the loop thread's start excluded), the engine's concurrency and every endpoint's outcome.
This is what the plugin does between collection and the first test's verdict, without
pytest: the same engine, the same probe, the same fd-limit fitting.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

from pytest_conntriage.probe.engine import DEFAULT_CONCURRENCY, Engine
from pytest_conntriage.probe.limits import fit
from pytest_conntriage.probe.tcp import connect_once


def main() -> int:
    lines = Path(sys.argv[1]).read_text().splitlines()
    endpoints = [(a, int(p)) for a, p in (line.split() for line in lines if line.strip())]
    timeout = float(sys.argv[2])
    budget = fit(int(sys.argv[3]) if len(sys.argv) > 3 else DEFAULT_CONCURRENCY)
    engine = Engine(budget.concurrency)
    engine.run(lambda: asyncio.sleep(0))  # the loop thread is up before the clock starts
    started = time.perf_counter()
    futures = [
        engine.submit(
            (address, port),
            lambda a=address, p=port: engine.bounded(connect_once(a, p, timeout)),  # type: ignore[misc]
        )
        for address, port in endpoints
    ]
    results = [future.result(timeout=timeout * len(endpoints) + 60) for future in futures]
    elapsed = time.perf_counter() - started
    engine.close()
    outcomes = [r.outcome.value for r in results]
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "concurrency": budget.concurrency,
                "fd_note": budget.note,
                "counts": dict(Counter(outcomes)),
                "outcomes": outcomes,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
