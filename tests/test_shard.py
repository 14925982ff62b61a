"""`--conntriage-shard I/N` and `python -m pytest_conntriage.merge`: a run split into 4
shards, its reports merged, is the serial run's (the same testcases, outcomes,
properties, suites and counts, valid against junit-10.xsd); which shard keeps a check is
stable, a host's checks stay together, and a mistake is one line with exit 4."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema

from pytest_conntriage import merge
from pytest_conntriage.demo.dnsserver import LoopbackDnsServer
from pytest_conntriage.demo.listeners import OpenListener, closed_port
from pytest_conntriage.inventory import load_inventories
from pytest_conntriage.kinds.registry import KindRegistry
from pytest_conntriage.report import dashboard, json_report
from pytest_conntriage.shard import Shard, ShardError, group_of, owner, parse

from .report.test_report_dashboard_run import without_timing

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).parent / "report" / "junit-10.xsd"))

# Services with and without an evidence host (this machine, read without ssh), passing,
# refused, unresolvable and skipped checks, closed rules: each a testcase shape.
INVENTORY = """\
version: 1
defaults:
  timeout: 500ms
  resolvers: ["127.0.0.1:{dns}"]
hosts:
  box:
    connection: local://
services:
  web:
    address: 127.0.0.2
    ports: [{open}]
    tags: [edge]
  api:
    address: 127.0.0.3
    ports: [{refused}]
    host: box
  queue:
    address: 127.0.0.4
    ports: [{refused4}]
    host: box
  legacy:
    address: gone.test
    ports: [80]
{more}
closed:
  - address: 127.0.0.3
    ports: [{closed}]
  - address: gone.test
    ports: [81]
"""
MORE = "".join(
    f"  svc{i}:\n    address: 127.0.0.{10 + i}\n    ports: [{{refused}}]\n" for i in range(4)
)


@pytest.fixture
def inventory(pytester: pytest.Pytester, dns_server: LoopbackDnsServer) -> Iterator[Path]:
    refused = closed_port("127.0.0.3")
    closed = next(port for port in iter(lambda: closed_port("127.0.0.3"), 0) if port != refused)
    with OpenListener("127.0.0.2") as web:
        path = pytester.path / "inventory.yml"
        text = INVENTORY.replace("{more}", MORE)
        path.write_text(
            text.format(
                dns=dns_server.port,
                open=web.port,
                refused=refused,
                refused4=closed_port("127.0.0.4"),
                closed=closed,
            )
        )
        yield path


def run(pytester: pytest.Pytester, inventory: Path, name: str, *args: str) -> pytest.RunResult:
    """The plugin on `inventory`, both JUnit files written as `name`-junit/-dashboard.xml,
    the JSON report as `name`-report.json. In process, xdist's controller too: its
    tally and files are what is read (a controller process costs ~1 s of CPU more)."""
    return pytester.runpytest_inprocess(
        "--inventory",
        str(inventory),
        "-p",
        "no:cacheprovider",
        f"--junitxml={pytester.path / f'{name}-junit.xml'}",
        f"--conntriage-junit={pytester.path / f'{name}-dashboard.xml'}",
        f"--conntriage-json={pytester.path / f'{name}-report.json'}",
        *args,
    )


def test_four_shards_merged_are_the_serial_run(pytester: pytest.Pytester, inventory: Path) -> None:
    serial = run(pytester, inventory, "serial")
    assert serial.ret == 1
    # Tests, not warnings: an in-process run may warn that pytest_conntriage, imported
    # before it, cannot be rewritten.
    total = {k: n for k, n in serial.parseoutcomes().items() if k != "warnings"}
    ran = []
    for index in range(1, 5):
        # One shard under xdist: each worker keeps the same share.
        extra = ("-n", "2") if index == 2 else ()
        shard = run(pytester, inventory, f"shard{index}", f"--conntriage-shard={index}/4", *extra)
        assert shard.ret in (0, 1), shard.stdout.str()  # an empty share is not exit 5
        outcomes = shard.parseoutcomes()
        ran.append(sum(n for k, n in outcomes.items() if k not in ("deselected", "warnings")))
        if "-n" not in extra:  # xdist's controller does not count the workers' deselected
            assert ran[-1] + outcomes.get("deselected", 0) == sum(total.values())
    assert sum(ran) == sum(total.values())
    assert sum(n > 0 for n in ran) >= 2  # the split splits

    for kind in ("junit", "dashboard"):
        merged = pytester.path / f"merged-{kind}.xml"
        shards = [str(pytester.path / f"shard{i}-{kind}.xml") for i in range(1, 5)]
        assert merge.main([str(merged), *shards]) == 0
        SCHEMA.validate(str(merged))
        expected = without_timing(pytester.path / f"serial-{kind}.xml")
        got = without_timing(merged)
        if kind == "junit":  # pytest's suite: the hostname is the same machine's
            assert expected[0].split(" hostname=")[0] == got[0].split(" hostname=")[0]
            expected, got = expected[1:], got[1:]
        assert got == expected
        assert "conntriage.order" not in merged.read_text()
        assert "conntriage.shard" not in merged.read_text()

    merged = pytester.path / "merged-report.json"
    reports = [str(pytester.path / f"shard{i}-report.json") for i in range(1, 5)]
    assert [json.loads(Path(r).read_text())["run"]["shard"] for r in reports] == [
        f"{i}/4" for i in range(1, 5)
    ]
    assert merge.main([str(merged), *reports]) == 0
    got, expected = (
        json.loads(p.read_text()) for p in (merged, pytester.path / "serial-report.json")
    )
    jsonschema.validate(got, json_report.schema())
    assert json_essentials(got) == json_essentials(expected)


def json_essentials(report: dict[str, Any]) -> object:
    """What a JSON report says that does not depend on timing: the run's totals and
    status, the services, and each check's place, status, outcome and ranked causes."""
    run = report["run"]
    return (
        (run["totals"], run["exit_status"], run["complete"], run["shard"], run["inventories"]),
        report["services"],
        [
            (
                check["order"],
                check["id"],
                check["status"],
                check["outcome"],
                [(c["id"], c["verdict"]) for c in (check["triage"] or {}).get("causes", [])],
            )
            for check in report["checks"]
        ],
    )


def test_the_json_merge_stops_at_a_missing_repeated_or_foreign_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def report(shard: str | None, *ids: tuple[str, int], version: int = 1) -> str:
        checks = [{"order": order, "id": name} for name, order in ids]
        run = {"started": "2026-12-02T09:00:00+00:00", "finished": "2026-12-02T09:00:05+00:00"}
        document = {
            "format": "pytest-conntriage-report",
            "version": version,
            "run": run | {"shard": shard, "exit_status": 1, "totals": {"checks": len(ids)}},
            "services": [{"name": "api"}],
            "checks": checks,
        }
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(document))
        return str(path)

    one, two = report("1/2", ("c", 2), ("a", 0)), report("2/2", ("b", 1))
    out = tmp_path / "out.json"
    assert merge.main([str(out), two, one]) == 0
    merged = json.loads(out.read_text())
    assert [c["id"] for c in merged["checks"]] == ["a", "b", "c"]
    assert merged["run"]["totals"] == {"checks": 3}
    assert merged["run"]["shard"] is None
    assert merged["services"] == [{"name": "api"}]
    assert merge.main([str(out), one]) == merge.USAGE_ERROR
    assert "merge: shard 2/2 missing: its checks would be left out" in capsys.readouterr().err
    assert merge.main([str(out), one, one, two]) == merge.USAGE_ERROR
    assert f"merge: shard 1/2 given twice: {one}, {one}" in capsys.readouterr().err
    again = report("2/2", ("a", 0))
    assert merge.main([str(out), one, again]) == merge.USAGE_ERROR
    assert f"merge: a is in both {one} and {again}" in capsys.readouterr().err
    future = report("2/2", ("b", 1), version=2)
    assert merge.main([str(out), one, future]) == merge.USAGE_ERROR
    assert f"merge: {future}: not a pytest-conntriage-report report of version 1" in (
        capsys.readouterr().err
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "pytest-conntriage-report",\n  "version": }')
    assert merge.main([str(out), one, str(broken)]) == merge.USAGE_ERROR
    assert f"merge: {broken}:2:14: Expecting value" in capsys.readouterr().err


def shard_file(path: Path, shard: str, *cases: tuple[str, int]) -> str:
    """A shard's JUnit file as the plugin writes it: which shard, each case's place."""
    props = "".join(
        f'<property name="conntriage.order[inv.yml::{name}]" value="{place}"/>'
        for name, place in cases
    )
    testcases = "".join(f'<testcase classname="inv.yml" name="{name}"/>' for name, _ in cases)
    path.write_text(
        f'<testsuites><testsuite name="pytest" tests="{len(cases)}" failures="0" errors="0"'
        f' skipped="0"><properties><property name="conntriage.shard" value="{shard}"/>'
        f"{props}</properties>{testcases}</testsuite></testsuites>"
    )
    return str(path)


def test_the_merge_puts_cases_in_place_and_stops_at_a_missing_or_repeated_shard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = shard_file(tmp_path / "1.xml", "1/3", ("test_c", 2), ("test_a", 0))
    two = shard_file(tmp_path / "2.xml", "2/3", ("test_b", 1))
    three = shard_file(tmp_path / "3.xml", "3/3")
    out = tmp_path / "out.xml"
    assert merge.main([str(out), three, two, one]) == 0
    root = ET.parse(out).getroot()
    assert [c.get("name") for c in root.iter("testcase")] == ["test_a", "test_b", "test_c"]
    assert root.find("testsuite").attrib == {  # type: ignore[union-attr]
        "name": "pytest",
        "tests": "3",
        "failures": "0",
        "errors": "0",
        "skipped": "0",
    }
    assert root.find("testsuite/properties") is None  # only the merge's were there
    out.unlink()

    assert merge.main([str(out), one, two]) == merge.USAGE_ERROR
    assert "merge: shard 3/3 missing: its checks would be left out" in capsys.readouterr().err
    assert merge.main([str(out), one, two, three, one]) == merge.USAGE_ERROR
    assert f"merge: shard 1/3 is given twice: {one}, {one}" in capsys.readouterr().err
    other = shard_file(tmp_path / "x.xml", "1/2")
    assert merge.main([str(out), one, two, three, other]) == merge.USAGE_ERROR
    assert "merge: shards of different splits" in capsys.readouterr().err
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuites>\n  <testsuite>\n</testsuites>\n")
    assert merge.main([str(out), str(broken)]) == merge.USAGE_ERROR
    assert f"merge: {broken}:3:3: not a JUnit XML file" in capsys.readouterr().err
    assert merge.main([str(out), str(tmp_path / "none.xml")]) == merge.USAGE_ERROR
    assert "none.xml: cannot read it (No such file or directory)" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("0/4", "'0/4': the index must be 1 to the number of shards (1/4 to 4/4)"),
        ("5/4", "'5/4': the index must be 1 to the number of shards (1/4 to 4/4)"),
        ("1/0", "'1/0': the index must be 1 to the number of shards (1/1 to 1/1)"),
        ("a/4", "'a/4': expected I/N with whole numbers, such as 1/4"),
        ("2", "'2': expected I/N (such as 1/4) or auto"),
    ],
)
def test_a_shard_that_names_no_shard_is_a_usage_error(
    pytester: pytest.Pytester, inventory: Path, given: str, message: str
) -> None:
    result = pytester.runpytest("--inventory", str(inventory), f"--conntriage-shard={given}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --conntriage-shard {message}"])
    assert "Traceback" not in result.stderr.str()


def test_a_shard_needs_an_inventory(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--conntriage-shard=1/2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --conntriage-shard needs an inventory*"])


def test_auto_reads_gitlabs_parallel_job_variables() -> None:
    assert parse("auto", {"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "4"}) == Shard(3, 4)
    assert parse("auto", {}) == Shard(1, 1)  # a job without `parallel`: the whole run
    assert parse(" 2/5 ", {}) == Shard(2, 5)
    with pytest.raises(ShardError, match="must be set together"):
        parse("auto", {"CI_NODE_TOTAL": "4"})
    with pytest.raises(ShardError, match=r"auto \(CI_NODE_INDEX/CI_NODE_TOTAL = 5/4\)"):
        parse("auto", {"CI_NODE_INDEX": "5", "CI_NODE_TOTAL": "4"})


def test_which_shard_runs_a_group_is_fixed_by_crc32_not_pythons_salted_hash() -> None:
    # Pinned: every job, worker and Python version computes the same share.
    assert [owner(g, 4) for g in ("host web-1", "service api", "target 10.0.0.1")] == [4, 3, 3]
    assert all(owner("host web-1", 1) == 1 for _ in range(3))


def test_a_hosts_checks_stay_together_and_an_edit_moves_only_its_service(
    tmp_path: Path,
) -> None:
    def plan(text: str) -> dict[str, str]:
        path = tmp_path / "inventory.yml"
        path.write_text(text)
        checks = KindRegistry.with_added([]).plan(load_inventories([str(path)]))
        return {check.id: group_of(check) for check in checks}

    ports = {"dns": 53, "open": 1, "refused": 2, "refused4": 3, "closed": 4}
    before = plan(INVENTORY.replace("{more}", MORE).format(**ports))
    # The checks of api and queue (both on host box) share one group, so one shard.
    box = {i for i, group in before.items() if group == "host box"}
    assert any(i.startswith("api:") for i in box)
    assert any("queue" in i for i in box)
    assert any(i.startswith("listening") or "@box" in i for i in box)
    # svc3 moves to another address.
    edited = INVENTORY.replace("{more}", MORE.replace("127.0.0.13", "127.0.0.33"))
    after = plan(edited.format(**ports))
    # svc3's checks are renamed (their ids name the address); every other check keeps
    # its id and its group, so its shard.
    assert {i for i in before if i in after and after[i] != before[i]} == set()
    renamed = set(before) - set(after)
    assert renamed
    assert all("svc3" in i for i in renamed)
    assert Counter(after.values())["service svc3"] == Counter(before.values())["service svc3"]


def test_an_empty_shards_dashboard_still_says_which_shard_it_is(tmp_path: Path) -> None:
    # A shard whose share is empty writes one empty suite that says so, so the merge can
    # tell it from a missing one; the merged document leaves that suite out.
    empty, full = tmp_path / "1.xml", tmp_path / "2.xml"
    dashboard.write_file(empty, [], [], shard="1/2")
    SCHEMA.validate(str(empty))
    suite = ET.parse(empty).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("name") == dashboard.SHARD_SUITE
    case = dashboard.Case("web", "test_tcp[web]", 0.1, (), 7)
    dashboard.write_file(full, [], [case], shard="1/2")
    out = tmp_path / "out.xml"
    assert merge.main([str(out), str(empty), str(full)]) == merge.USAGE_ERROR  # both "1/2"
    dashboard.write_file(full, [], [case], shard="2/2")
    assert merge.main([str(out), str(empty), str(full)]) == 0
    assert [s.get("name") for s in ET.parse(out).getroot().iter("testsuite")] == ["web"]
