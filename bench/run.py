"""10,000 checks under pytest: the plugin against nmap and the testinfra way, in a netns lab.

    python bench/run.py                       # N = 1,000 and 10,000, median of 3 rounds
    python bench/run.py --quick               # N = 1,000, 1 round
    python bench/run.py --sizes 1000 10000 100000 --rounds 3
    python bench/run.py --sizes 1000 --rounds 5 --json /tmp/bench.json

Needs root (two network namespaces and one iptables rule inside one of them; all removed
at the end, also on failure or Ctrl-C) and nmap (`apt-get install -y nmap`). See
docs/bench.md for what is measured and why.

Per size N, the server namespace has N endpoints, 90% refused, 5% open, 5% blackholed
by a DROP rule; timeout 1 s. Each round measures, from inside the client namespace:
  probing   the plugin's Engine + probe.tcp.connect_once over the N endpoints
            (bench/inner_engine.py)
  nmap      nmap -sT -Pn -n --max-retries 0 --min-rtt-timeout 1000ms --initial-rtt-timeout 1000ms
            over the same host:port set (-iL addresses, -p ports)
  testinfra host.addr(a).port(p).is_reachable, local backend, 100 endpoints of the same mix,
            extrapolated linearly to N (measured once per round, on the first size's lab)
  pytest    the whole `pytest --inventory` run: serial, -n 2, serial --junitxml, serial
            --conntriage-junit (and with --tb-variant serial --tb=no, which skips pytest's
            FAILURES section); wall time, CPU time (user + system, the process tree) and
            peak RSS
Each round also records the machine's load average when it starts and ends.
With --vantages, only the remote vantages scenario instead (bench/vantages.py): 1,000
checks from each of 5 vantage namespaces with sshd, against timeout + 3 s.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlab
from benchlab import Lab, LabError, Layout

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 1.0
TESTINFRA_SAMPLE = 100
NMAP_FLAGS = [
    "-sT", "-Pn", "-n", "--max-retries", "0",
    "--min-rtt-timeout", "1000ms", "--initial-rtt-timeout", "1000ms",
]  # fmt: skip
# The checkout's .venv has the dev extras; hypothesis's pytest plugin imports all of
# hypothesis in every run's terminal summary (~0.3 s of CPU), which a user's install
# (`pip install .`) does not have.
PYTEST_BASE = ["-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-q"]
# label → extra pytest arguments (JUNIT / DASHBOARD: the file, in the run's work dir)
JUNIT, DASHBOARD = "junit.xml", "dashboard.xml"
PYTEST_VARIANTS = {
    "pytest serial": [],
    "pytest -n 2": ["-n", "2"],
    "pytest serial --junitxml": [f"--junitxml={JUNIT}"],
    "pytest serial --conntriage-junit": [f"--conntriage-junit={DASHBOARD}"],
}
TB_VARIANTS = {
    "pytest serial --tb=no": ["--tb=no"],
    "pytest -n 2 --tb=no": ["-n", "2", "--tb=no"],
}
# A pytest run slower than this (per 10,000 checks) in round 1 is not repeated (unless
# --repeat-slow): a regression that makes a step quadratic should not cost hours.
SLOW_S_PER_10000 = 60.0
# Inventory files hold at most this many services (one per endpoint): the loader's
# limits (docs/inventory.md) keep a file near 10,000 services; a fleet of 100,000
# checks is several files, as a user would split it.
SERVICES_PER_FILE = 10000
PROBING_VS_NMAP_MAX = 1.2  # at N = 1,000
PYTEST_TARGET_S = {1000: 3.0, 10000: 15.0}
TESTINFRA_VS_PYTEST_MIN = 20.0
RSS_TARGET_MB = {10000: 150.0}
# Issue 13: the whole serial run at 1,000 against nmap; the JUnit files at 10,000
# against the same run without them; 100,000 against 10,000.
PYTEST_VS_NMAP_MAX = {1000: 1.8}
REPORT_VS_SERIAL_MAX = 1.15  # at 10,000: time and peak RSS, each report file
REPORT_RSS_TARGET_MB = {10000: 150.0, 100000: 1200.0}
LINEAR_MAX = 10.5  # 100,000 / 10,000, each pytest variant
TARGETS = {
    "probing_vs_nmap_max_at_1000": PROBING_VS_NMAP_MAX,
    "pytest_serial_s": PYTEST_TARGET_S,
    "testinfra_vs_pytest_min": TESTINFRA_VS_PYTEST_MIN,
    "rss_mb_max": RSS_TARGET_MB,
    "pytest_serial_vs_nmap_max": PYTEST_VS_NMAP_MAX,
    "report_vs_serial_max_at_10000": REPORT_VS_SERIAL_MAX,
    "report_rss_mb_max": REPORT_RSS_TARGET_MB,
    "linear_max_100000_vs_10000": LINEAR_MAX,
}


@dataclass
class Ran:
    seconds: float
    returncode: int
    maxrss_kb: int
    stdout: Path
    cpu_seconds: float = 0.0  # user + system of the process and its waited-for descendants


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_measured(argv: Sequence[str], cwd: Path, out: Path, timeout: float) -> Ran:
    """Run `argv`, wall-timed; its peak RSS (and its waited-for descendants') through
    bench/peak_rss.py, which keeps this process's own size out of the figure.

    Bounded: its process group is killed after `timeout` seconds (then it raises LabError).
    """
    # PYTHONDONTWRITEBYTECODE (set on this development machine) would make every run
    # rewrite the assertion-rewritten plugins again; a user's environment caches them.
    unset = ("PYTEST_", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    rss_file = out.with_suffix(".rss")
    rss_file.unlink(missing_ok=True)
    wrapped = [sys.executable, str(HERE / "peak_rss.py"), str(rss_file), "--", *argv]
    with out.open("wb") as sink:
        cpu_before = children_cpu()
        started = time.perf_counter()
        popen = subprocess.Popen(
            wrapped, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=sink,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    timed_out = threading.Event()

    def kill_group() -> None:
        with contextlib.suppress(ProcessLookupError):  # it may have ended meanwhile
            os.killpg(popen.pid, signal.SIGKILL)

    def kill() -> None:
        timed_out.set()
        kill_group()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        popen.wait()
        seconds = time.perf_counter() - started
    except BaseException:
        kill_group()
        popen.wait()
        raise
    finally:
        timer.cancel()
    if timed_out.is_set():
        raise LabError(f"{' '.join(argv[:8])} … did not finish within {timeout:g} s")
    maxrss_kb = int(rss_file.read_text()) if rss_file.exists() else 0
    return Ran(seconds, popen.returncode, maxrss_kb, out, children_cpu() - cpu_before)


def compile_plugin(python: str) -> None:
    """Byte-compile the plugin as `pip install` does, so runs measure an installed plugin.

    From an editable checkout with PYTHONDONTWRITEBYTECODE set (this development
    machine sets it), every measured process would otherwise compile the plugin's
    modules again: ~0.1 s each, twice on the critical path of a `-n 2` run.
    """
    where = subprocess.run(
        [python, "-c", "import os, pytest_conntriage as p; print(os.path.dirname(p.__file__))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run([python, "-m", "compileall", "-q", where], check=True)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.python = benchlab.bench_python()
        compile_plugin(self.python)
        self.started = time.monotonic()
        self.rows: dict[int, dict[str, list[float]]] = {}
        self.extra: dict[int, dict[str, Any]] = {}
        self.testinfra_per_check: list[float] = []
        self.testinfra_info: dict[str, Any] = {}

    def budget_left(self) -> float:
        left = float(self.args.max_seconds) - (time.monotonic() - self.started)
        if left <= 0:
            raise LabError(f"the run's time budget ({self.args.max_seconds:g} s) is spent")
        return left

    def add(self, n: int, label: str, value: float) -> None:
        self.rows.setdefault(n, {}).setdefault(label, []).append(value)

    def note(self, n: int, key: str, value: Any) -> None:
        self.extra.setdefault(n, {})[key] = value

    # -- one lab per size -----------------------------------------------------------

    def size(self, n: int, first: bool) -> None:
        layout = Layout.for_size(n)
        lab = Lab(layout, listen_seconds=max(float(self.args.max_seconds), 3600.0) + 600.0)
        try:
            lab.build()
            sanity = lab.sanity()
            expected = {"open": "open", "refused": "refused", "blackholed": "timeout"}
            if sanity != {k: expected[k] for k in sanity}:
                raise LabError(f"lab endpoints do not behave as built: {sanity}")
            work = lab.tmp / "work"
            work.mkdir()
            endpoints = work / "endpoints.txt"
            endpoints.write_text("".join(f"{a} {p}\n" for a, p in layout.endpoints()))
            (work / "hosts.txt").write_text("\n".join(layout.address_list()) + "\n")
            inventory_args: list[str] = []
            for i, text in enumerate(inventory_files(layout)):
                name = "inventory.yml" if i == 0 else f"inventory-{i + 1}.yml"
                (work / name).write_text(text)
                inventory_args += ["--inventory", name]
            self.inventory_args = inventory_args
            self.warm_up(lab, work)
            sample = work / "sample.txt"
            sample.write_text("".join(f"{a} {p}\n" for a, p in layout.sample(TESTINFRA_SAMPLE)))
            self.note(n, "layout", {
                "addresses": layout.addresses, "ports_per_address": layout.ports,
                **layout.expected(),
            })  # fmt: skip
            variants = dict(PYTEST_VARIANTS)
            if self.args.tb_variant:
                variants.update(TB_VARIANTS)
            slow_s = SLOW_S_PER_10000 * max(1.0, n / 10000)
            for r in range(self.args.rounds):
                print(f"  N={n:,} round {r + 1}/{self.args.rounds}", flush=True)
                self.add(n, "load average at start", os.getloadavg()[0])
                self.probing(lab, layout, work)
                self.nmap(lab, layout, work)
                if first and not self.args.no_testinfra:
                    self.testinfra(lab, layout, work, sample)
                for label, extra in variants.items():
                    done = self.rows.get(n, {}).get(label, [])
                    if done and done[0] > slow_s and not self.args.repeat_slow:
                        continue
                    self.pytest(lab, layout, work, label, extra)
                self.add(n, "load average at end", os.getloadavg()[0])
        finally:
            problems = lab.teardown()
            if problems:
                raise LabError("teardown: " + "; ".join(problems))

    def probing(self, lab: Lab, layout: Layout, work: Path) -> None:
        argv = lab.exec_argv(
            lab.client,
            [self.python, str(HERE / "inner_engine.py"), str(work / "endpoints.txt"),
             str(TIMEOUT_S)],
        )  # fmt: skip
        ran = run_measured(argv, work, work / "engine.out", min(300, self.budget_left()))
        text = ran.stdout.read_text()
        if ran.returncode != 0:
            raise LabError(f"inner_engine.py exit {ran.returncode}: {text[-1500:]}")
        data = json.loads(text.strip().splitlines()[-1])
        want = {"open": "open", "refused": "refused", "blackholed": "timeout"}
        wrong = sum(
            1
            for (_, port), got in zip(layout.endpoints(), data["outcomes"], strict=True)
            if got != want[layout.kind(port)]
        )
        self.add(layout.n, "probing", data["seconds"])
        self.add(layout.n, "probing process", ran.seconds)
        self.note(layout.n, "probing", {
            "concurrency": data["concurrency"], "fd_note": data["fd_note"],
            "counts": data["counts"], "misclassified": wrong,
        })  # fmt: skip

    def nmap(self, lab: Lab, layout: Layout, work: Path) -> None:
        ports = layout.port_list()
        argv = ["nmap", *NMAP_FLAGS, "-iL", str(work / "hosts.txt")]
        argv += ["-p", f"{ports[0]}-{ports[-1]}", "-oX", str(work / "nmap.xml")]
        ran = run_measured(
            lab.exec_argv(lab.client, argv), work, work / "nmap.out", min(600, self.budget_left())
        )
        if ran.returncode != 0:
            raise LabError(f"nmap exit {ran.returncode}: {ran.stdout.read_text()[-1500:]}")
        root = ET.parse(work / "nmap.xml").getroot()
        counts: dict[str, int] = {}
        for host in root.iter("host"):
            for port in host.iter("port"):
                state = port.find("state")
                key = state.get("state", "?") if state is not None else "?"
                counts[key] = counts.get(key, 0) + 1
            for extra in host.iter("extraports"):
                key = extra.get("state", "?")
                counts[key] = counts.get(key, 0) + int(extra.get("count", "0"))
        finished = root.find("runstats/finished")
        elapsed = float(finished.get("elapsed", "nan")) if finished is not None else float("nan")
        self.add(layout.n, "nmap", ran.seconds)
        self.add(layout.n, "nmap CPU", ran.cpu_seconds)
        self.add(layout.n, "nmap (own elapsed)", elapsed)
        expected = layout.expected()
        self.note(layout.n, "nmap", {
            "argv": ["nmap", *argv[1:]], "counts": counts,
            "matches_layout": counts == {
                k: v for k, v in {"open": expected["open"], "closed": expected["refused"],
                                  "filtered": expected["blackholed"]}.items() if v
            },
        })  # fmt: skip

    def testinfra(self, lab: Lab, layout: Layout, work: Path, sample: Path) -> None:
        argv = lab.exec_argv(
            lab.client, [self.python, str(HERE / "inner_testinfra.py"), str(sample)]
        )
        ran = run_measured(argv, work, work / "testinfra.out", min(600, self.budget_left()))
        text = ran.stdout.read_text()
        if ran.returncode != 0:
            raise LabError(f"inner_testinfra.py exit {ran.returncode}: {text[-1500:]}")
        data = json.loads(text.strip().splitlines()[-1])
        checks = [line.split() for line in sample.read_text().splitlines()]
        wrong = sum(
            1
            for (_, port), reachable in zip(checks, data["reachable"], strict=True)
            if reachable != (layout.kind(int(port)) == "open")
        )
        self.testinfra_per_check.append(data["seconds"] / len(checks))
        self.testinfra_info = {
            "sample": len(checks), "path": data["path"], "wrong_answers": wrong,
            "sample_seconds": round(data["seconds"], 3),
        }  # fmt: skip

    def warm_up(self, lab: Lab, work: Path) -> None:
        """One unmeasured `--collect-only` run: pytest caches its assertion-rewritten
        plugins as a user's first run does."""
        argv = [self.python, *PYTEST_BASE, *self.inventory_args, "--collect-only"]
        run_measured(lab.exec_argv(lab.client, argv), work, work / "warm-up.out", 600)

    def pytest(self, lab: Lab, layout: Layout, work: Path, label: str, extra: list[str]) -> None:
        for written in (JUNIT, DASHBOARD):
            (work / written).unlink(missing_ok=True)
        argv = [self.python, *PYTEST_BASE, *self.inventory_args, *extra]
        ran = run_measured(
            lab.exec_argv(lab.client, argv), work, work / "pytest.out", min(600, self.budget_left())
        )
        text = ran.stdout.read_text(errors="replace")
        tail = text.strip().splitlines()[-1] if text.strip() else ""
        counts = {
            k: int(v) for v, k in re.findall(r"(\d+) (failed|passed|error|errors|skipped)", tail)
        }
        if ran.returncode not in (0, 1) or not re.search(r" in [\d.]+s", tail):
            raise LabError(f"{label}: exit {ran.returncode}: {text[-2000:]}")
        self.add(layout.n, label, ran.seconds)
        self.add(layout.n, f"{label} CPU", ran.cpu_seconds)
        self.add(layout.n, f"{label} RSS MB", ran.maxrss_kb / 1024)
        for written in (JUNIT, DASHBOARD):
            if (work / written).exists():
                self.add(layout.n, f"{label} file MB", (work / written).stat().st_size / 1e6)
                _check_junit(work / written, layout, label)
        expected = layout.expected()
        self.note(layout.n, label, {
            "argv": ["python", *argv[1:]], "summary": tail,
            "as_expected": counts.get("passed", 0) == expected["open"]
            and counts.get("failed", 0) == expected["refused"] + expected["blackholed"],
            "output_bytes": len(text.encode()),
            "header": [line for line in text.splitlines()[:5] if line.startswith("conntriage:")],
        })  # fmt: skip


def inventory(layout: Layout) -> str:
    """One service per endpoint: N services, one tcp check each (the loader's worst case)."""
    return _inventory_text(layout.endpoints(), 0)


def inventory_files(layout: Layout) -> list[str]:
    """The same, in files of at most SERVICES_PER_FILE services (names unique across)."""
    endpoints = layout.endpoints()
    return [
        _inventory_text(endpoints[i : i + SERVICES_PER_FILE], i)
        for i in range(0, len(endpoints), SERVICES_PER_FILE)
    ]


def _inventory_text(endpoints: Sequence[tuple[str, int]], first: int) -> str:
    lines = ["version: 1", "defaults:", f"  timeout: {TIMEOUT_S:g}s", "services:"]
    for i, (address, port) in enumerate(endpoints, first):
        lines += [f"  svc{i}:", f"    address: {address}", f"    ports: [{port}]"]
    return "\n".join(lines) + "\n"


def _check_junit(path: Path, layout: Layout, label: str) -> None:
    """A report file holds every check, each failed one with its body: else the run's
    figures are not the product's."""
    failures = cases = 0
    for _, element in ET.iterparse(path):
        if element.tag == "testcase":
            cases += 1
            failed = element.find("failure")
            if failed is not None:
                failures += 1
                if not (failed.text or "").strip():
                    raise LabError(f"{label}: {path.name}: a <failure> without its triage")
            element.clear()
    expected = layout.expected()
    want = expected["refused"] + expected["blackholed"]
    if cases != layout.n or failures != want:
        raise LabError(
            f"{label}: {path.name} has {cases} testcases, {failures} failed;"
            f" want {layout.n}, {want}"
        )


# -- report ------------------------------------------------------------------------------


def summarize(bench: Bench) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    per_check = statistics.median(bench.testinfra_per_check) if bench.testinfra_per_check else None
    for n, rows in bench.rows.items():
        med = {label: statistics.median(values) for label, values in rows.items()}
        if per_check is not None:
            med["testinfra (extrapolated)"] = per_check * n
        ratios: dict[str, float] = {}
        if med.get("nmap"):
            ratios["probing / nmap"] = med["probing"] / med["nmap"]
            if med.get("nmap (own elapsed)"):
                ratios["probing / nmap (own elapsed)"] = med["probing"] / med["nmap (own elapsed)"]
        if per_check is not None:
            ratios["testinfra / pytest serial"] = (
                med["testinfra (extrapolated)"] / med["pytest serial"]
            )
            ratios["testinfra / pytest -n 2"] = med["testinfra (extrapolated)"] / med["pytest -n 2"]
            ratios["testinfra / probing"] = med["testinfra (extrapolated)"] / med["probing"]
        target_s = PYTEST_TARGET_S.get(n)
        if target_s:
            ratios["pytest serial / target"] = med["pytest serial"] / target_s
            ratios["pytest -n 2 / target"] = med["pytest -n 2"] / target_s
        rss_target = RSS_TARGET_MB.get(n)
        if rss_target:
            ratios["pytest serial RSS / target"] = med["pytest serial RSS MB"] / rss_target
        if target_s and "pytest serial --tb=no" in med:
            ratios["pytest serial --tb=no / target"] = med["pytest serial --tb=no"] / target_s
        if target_s and "pytest -n 2 --tb=no" in med:
            ratios["pytest -n 2 --tb=no / target"] = med["pytest -n 2 --tb=no"] / target_s
        if "pytest serial --tb=no" in med:
            ratios["pytest serial / serial --tb=no"] = (
                med["pytest serial"] / med["pytest serial --tb=no"]
            )
        if med.get("nmap") and "pytest serial" in med:
            ratios["pytest serial / nmap"] = med["pytest serial"] / med["nmap"]
        for report_variant in ("pytest serial --junitxml", "pytest serial --conntriage-junit"):
            if report_variant in med and "pytest serial" in med:
                ratios[f"{report_variant} / serial"] = med[report_variant] / med["pytest serial"]
                ratios[f"{report_variant} CPU / serial CPU"] = (
                    med[f"{report_variant} CPU"] / med["pytest serial CPU"]
                )
                ratios[f"{report_variant} RSS / serial RSS"] = (
                    med[f"{report_variant} RSS MB"] / med["pytest serial RSS MB"]
                )
                if n in REPORT_RSS_TARGET_MB:
                    ratios[f"{report_variant} RSS / target"] = (
                        med[f"{report_variant} RSS MB"] / REPORT_RSS_TARGET_MB[n]
                    )
        sizes[str(n)] = {
            "median": {k: round(v, 3) for k, v in med.items()},
            "runs": {k: [round(v, 3) for v in vs] for k, vs in rows.items()},
            "ratios": {k: round(v, 3) for k, v in ratios.items()},
            "details": bench.extra.get(n, {}),
        }
    linear = sizes.get("100000"), sizes.get("10000")
    if linear[0] and linear[1]:
        big, small = linear[0]["median"], linear[1]["median"]
        for label in (*PYTEST_VARIANTS, *TB_VARIANTS):
            for key in (label, f"{label} CPU"):
                if big.get(key) and small.get(key):
                    ratio = round(big[key] / small[key], 3)
                    linear[0]["ratios"][f"{key}: 100,000 / 10,000"] = ratio
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                    "python": sys.version.split()[0], "nmap": _nmap_version()},
        "timeout_s": TIMEOUT_S,
        "rounds": bench.args.rounds,
        "testinfra": {**bench.testinfra_info,
                      "per_check_runs_s": [round(v, 4) for v in bench.testinfra_per_check]},
        "targets": TARGETS,
        "sizes": sizes,
    }  # fmt: skip


def _nmap_version() -> str:
    try:
        out = subprocess.run(["nmap", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.stdout.split("\n", 1)[0]


def table(report: dict[str, Any]) -> str:
    out: list[str] = []
    for n_text, size in report["sizes"].items():
        out += _size_table(report, int(n_text), size)
    return "\n".join(out)


def _size_table(report: dict[str, Any], n: int, size: dict[str, Any]) -> list[str]:
    med, runs, ratios = size["median"], size["runs"], size["ratios"]
    layout = size["details"].get("layout", {})
    out = [
        f"N = {n:,}: {layout.get('addresses')} addresses × {layout.get('ports_per_address')} "
        f"ports — {layout.get('refused'):,} refused, {layout.get('open'):,} open, "
        f"{layout.get('blackholed'):,} blackholed; timeout {report['timeout_s']:g} s; "
        f"median of up to {report['rounds']} rounds",
        f"  {'measurement':<46}{'median':>9}      runs",
    ]

    def row(label: str, key: str, unit: str = "s") -> None:
        if key in med:
            shown = " ".join(f"{v:.2f}" for v in runs.get(key, []))
            out.append(f"  {label:<46}{med[key]:>9.2f} {unit:<4} {shown}")

    row("plugin probing (Engine + connect_once)", "probing")
    row("  same, whole process (imports included)", "probing process")
    row("nmap -sT, same host:port set", "nmap")
    row("  nmap's own 'elapsed'", "nmap (own elapsed)")
    if "testinfra (extrapolated)" in med:
        ti = report["testinfra"]
        sample = ti.get("sample", 1)
        label = f"testinfra is_reachable ({sample} timed, × {n / sample:g})"
        out.append(f"  {label:<46}{med['testinfra (extrapolated)']:>9.2f} s    ({ti.get('path')})")
    row("  nmap's CPU (user + system)", "nmap CPU")
    for variant in (*PYTEST_VARIANTS, *TB_VARIANTS):
        row(variant, variant)
        row("  CPU (user + system)", f"{variant} CPU")
        row("  peak RSS", f"{variant} RSS MB", "MB")
        row("  file written", f"{variant} file MB", "MB")
    row("load average, round start", "load average at start", "")
    row("load average, round end", "load average at end", "")
    out.append("  ratios")
    seconds = PYTEST_TARGET_S.get(n)
    goals = {
        "probing / nmap": f"target ≤ {PROBING_VS_NMAP_MAX}× at N = 1,000",
        "testinfra / pytest serial": f"target ≥ {TESTINFRA_VS_PYTEST_MIN:g}×",
        "testinfra / pytest -n 2": f"target ≥ {TESTINFRA_VS_PYTEST_MIN:g}×",
        "pytest serial / target": f"target ≤ 1 ({seconds} s)",
        "pytest -n 2 / target": f"target ≤ 1 ({seconds} s)",
        "pytest serial RSS / target": f"target ≤ 1 ({RSS_TARGET_MB.get(n)} MB)",
        "pytest serial --tb=no / target": f"(for reference: {seconds} s)",
        "pytest -n 2 --tb=no / target": f"(for reference: {seconds} s)",
    }
    if n in PYTEST_VS_NMAP_MAX:
        goals["pytest serial / nmap"] = f"target ≤ {PYTEST_VS_NMAP_MAX[n]}×"
    for report_variant in ("pytest serial --junitxml", "pytest serial --conntriage-junit"):
        if n == 10000:
            goals[f"{report_variant} / serial"] = f"target ≤ {REPORT_VS_SERIAL_MAX}×"
            goals[f"{report_variant} RSS / serial RSS"] = f"target ≤ {REPORT_VS_SERIAL_MAX}×"
        if n in REPORT_RSS_TARGET_MB:
            goals[f"{report_variant} RSS / target"] = f"target ≤ 1 ({REPORT_RSS_TARGET_MB[n]:g} MB)"
    for key in ratios:
        if key.endswith(": 100,000 / 10,000"):
            goals[key] = f"target ≤ {LINEAR_MAX}×"
    for key, value in ratios.items():
        goal = goals.get(key, "")
        verdict = _verdict(key, value, n) if goal.startswith("target") else ""
        out.append(f"    {key:<44}{value:>9.2f}×  {goal} {verdict}".rstrip())
    for variant in (*PYTEST_VARIANTS, *TB_VARIANTS):
        detail = size["details"].get(variant)
        if detail and not detail["as_expected"]:
            out.append(f"  ! {variant}: unexpected outcome counts: {detail['summary']}")
    probing = size["details"].get("probing", {})
    if probing.get("misclassified"):
        out.append(f"  ! probing misclassified {probing['misclassified']} endpoints")
    nmap = size["details"].get("nmap", {})
    if nmap and not nmap.get("matches_layout"):
        out.append(f"  ! nmap counts differ from the layout: {nmap.get('counts')}")
    out.append("")
    return out


def _verdict(key: str, value: float, n: int) -> str:
    if key == "pytest serial / nmap" and n in PYTEST_VS_NMAP_MAX:
        return "met" if value <= PYTEST_VS_NMAP_MAX[n] else "MISSED"
    if key.endswith(": 100,000 / 10,000"):
        return "met" if value <= LINEAR_MAX else "MISSED"
    if key.endswith((" / serial", " RSS / serial RSS")):
        return "met" if value <= REPORT_VS_SERIAL_MAX else "MISSED"
    if key == "probing / nmap":
        return ("met" if value <= PROBING_VS_NMAP_MAX else "MISSED") if n == 1000 else ""
    if key.startswith("testinfra"):
        return "met" if value >= TESTINFRA_VS_PYTEST_MIN else "MISSED"
    return "met" if value <= 1.0 else "MISSED"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["1000", "10000"],
        help="N, space- or comma-separated (default 1000 10000; 100000 is 100 addresses)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="N = 1,000 only, 1 round")
    parser.add_argument("--json", type=Path, default=None, help="default bench/results-<date>.json")
    parser.add_argument("--no-testinfra", action="store_true", help="skip the testinfra peer")
    parser.add_argument(
        "--tb-variant", action="store_true", help="also run serial and -n 2 with --tb=no"
    )
    parser.add_argument(
        "--repeat-slow",
        action="store_true",
        help=f"repeat pytest runs that took over {SLOW_S_PER_10000:g} s per 10,000 checks in"
        " round 1 (default: run once)",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=5400, help="stop (and clean up) after this long"
    )
    parser.add_argument(
        "--vantages",
        action="store_true",
        help="only the remote vantages scenario (bench/vantages.py): 5 × 1,000 checks over ssh",
    )
    args = parser.parse_args(argv)
    if args.vantages:
        import vantages

        return vantages.run(5, args.json)
    if args.quick:
        args.sizes, args.rounds = ["1000"], 1
    words = ",".join(args.sizes).replace("_", "").split(",")
    sizes = [int(word) for word in words if word.strip()]
    reason = benchlab.unavailable()
    if reason:
        print(f"bench/run.py {reason}", file=sys.stderr)
        return 2
    benchlab.install_signal_handlers()
    bench = Bench(args)
    try:
        for i, n in enumerate(sizes):
            bench.size(n, first=i == 0)
    except KeyboardInterrupt:
        print("interrupted: lab torn down", file=sys.stderr)
        return 130
    finally:
        benchlab.teardown_all()
    report = summarize(bench)
    print()
    print(table(report))
    path = args.json or HERE / f"results-{dt.datetime.now():%Y-%m-%dT%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
