"""The Markdown report from records: what a reader sees in a merge-request comment.

Values are data (a service or host output that looks like Markdown or HTML is shown
as it is), the text stays within its budget however many checks fail, and a record
that cannot be rendered is still listed as a failure."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence

from pytest_conntriage.report import markdown
from pytest_conntriage.report.record import Record, complete
from pytest_conntriage.report.services import ServiceRow, ServiceTally


def failed_record(name: str, suite: str = "api", **triage: object) -> Record:
    record = complete(f"inv.yml::{name}", 3, "failed", f"refused: {name}", 0.1)
    cause = {
        "id": "service-down",
        "title": "The service is not running",
        "verdict": "likely",
        "score": 70,
        "evidence": [f"line {n}" for n in range(7)],
        "fix": [
            {
                "title": "Start it",
                "steps": [{"text": "- start it", "command": "systemctl start `x`"}],
            }
        ],
    }
    record |= {
        "suite": suite,
        "service": suite,
        "location": "inv.yml:3:5",
        "outcome": "refused",
        "probe": {"explained": "connection refused by 10.0.0.2:443", "attempts": []},
        "triage": {
            "entry": "tcp-connectivity",
            "entry_title": "TCP",
            "causes": [
                cause,
                {"id": "host-firewall", "title": "fw", "verdict": "possible", "score": 5},
                {"id": "routing", "title": "r", "verdict": "ruled out", "score": 0},
            ],
            "unavailable": [f"web-1: ss: gone {n}" for n in range(6)],
            "note": None,
            "error": None,
        }
        | triage,
    }
    return record


def render(
    rows: Sequence[ServiceRow],
    failures: Iterable[Record],
    failed: int,
    budget: int = markdown.BUDGET,
    notes: Sequence[str] = (),
) -> str:
    stream = io.StringIO()
    markdown.write(
        stream, rows, failures, failed, inventories=["inv.yml"], notes=notes, budget=budget
    )
    return stream.getvalue()


def test_a_failure_shows_its_top_cause_evidence_and_fix_collapsed() -> None:
    tally = ServiceTally(["api"])
    tally.add("api", "failed", "refused", "service-down")
    text = render(tally.rows(), [failed_record("test_tcp[api:local->10.0.0.2:443]")], 1)
    assert text.startswith("### ❌ Connectivity: 1 of 1 checks failed (`inv.yml`)\n")
    assert "| ❌ | `api` | 1 | 0 | 1 | `refused` | `service-down` |" in text
    details = text[text.index("<details>") :]
    assert details.startswith(
        "<details>\n<summary>❌ <code>test_tcp[api:local-&gt;10.0.0.2:443]</code>:"
        " <code>refused</code> — likely: <code>service-down</code></summary>\n\n"
        "`inv.yml:3:5` · service `api`\n\n"
        "**refused**: connection refused by 10.0.0.2:443\n\n"
        "**Top cause** (likely): The service is not running — `service-down`\n"
        "- line 0\n"
    )
    assert "- line 4\n- … 2 more\n" in details  # five evidence lines, then a count
    assert "**Fix**: Start it\n1. \\- start it\n   `` systemctl start `x` ``\n" in details
    assert "Also in play: possible `host-firewall`\n" in details  # not the ruled-out one
    assert "Evidence unavailable (6):\n- web-1: ss: gone 0\n" in details
    assert details.endswith("- … 1 more\n\n</details>\n")


def test_values_are_shown_as_they_are_never_as_markup() -> None:
    hostile = "<img src=x onerror=alert(1)> *bold* [link](http://x) @ops #12 a|b"
    record = failed_record("test_tcp[</code><script>]", suite=hostile)
    record["triage"]["causes"][0]["evidence"] = [hostile]
    tally = ServiceTally([])
    tally.add(hostile, "failed", "refused")
    text = render(tally.rows(), [record], 1)
    # Outside code spans (which show their text as it is) no tag is left.
    prose = re.sub(r"(`+).*?\1", "", text)
    assert not re.search(r"(?<!\\)<(script|img)", prose)
    assert "&lt;/code&gt;&lt;script&gt;" in text  # in the HTML summary: escaped
    # In the table: a code span, its pipe escaped so the row keeps its cells.
    assert "| ❌ | `<img src=x onerror=alert(1)> *bold* [link](http://x) @ops #12 a\\|b` |" in text
    # In prose: each character that would be markup is escaped.
    assert (
        "- \\<img src=x onerror=alert(1)\\> \\*bold\\* \\[link\\](http://x) \\@ops \\#12 a\\|b\n"
        in text
    )
    assert markdown.escape("1. not a list") == "1\\. not a list"
    assert markdown.escape("127.0.0.1:80") == "127.0.0.1:80"
    assert markdown.code("``a`") == "``` ``a` ```"
    assert markdown.code("") == ""


def test_the_report_stays_within_its_budget_and_counts_what_it_leaves_out() -> None:
    tally = ServiceTally([f"svc-{n}" for n in range(200)])
    for n in range(200):
        tally.add(f"svc-{n}", "failed" if n % 50 == 49 else "passed", "open")
    failures = [failed_record(f"test_tcp[svc-{n}]", f"svc-{n}") for n in range(49, 200, 50)]
    text = render(tally.rows(), failures, 4, budget=4000)
    assert len(text) <= 4000
    # Too many services for the table's share: the failing ones come first, the rest counted.
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert [line.split("`")[1] for line in table[1:5]] == ["svc-49", "svc-99", "svc-149", "svc-199"]
    (more,) = [line for line in table if "more services" in line]
    assert re.fullmatch(r"\| \| \*\d+ more services \(0 failing\)\* \| \| \| \| \| \|", more)
    shown = text.count("<details>")
    assert 0 < shown < 4
    assert f"**{4 - shown} more failure" in text
    assert "the JSON report and the JUnit file list every check" in text


def test_a_record_that_cannot_be_rendered_is_still_listed_failed() -> None:
    broken: Record = {"id": "inv.yml::test_x", "status": "failed"}  # no name: the summary fails
    text = markdown.failure_details(broken)
    assert text.startswith("<details>\n<summary>inv.yml::test_x: failed</summary>\n")
    assert "triage unavailable: Markdown: KeyError: 'name'" in text
    odd = failed_record("test_tcp[x]")
    odd["triage"]["unavailable"] = 5  # the body fails: the summary stands
    text = markdown.failure_details(odd)
    assert "<code>test_tcp[x]</code>" in text
    assert "triage unavailable: Markdown: TypeError: " in text


def test_what_a_failure_without_a_cause_shows() -> None:
    note = failed_record("test_closed[x]", note="Exposure: close it.", causes=[])
    assert "\n\nExposure: close it.\n" in markdown.failure_details(note)
    nothing = failed_record("test_tcp[y]", causes=[])
    assert "No runbook cause is in play." in markdown.failure_details(nothing)
    error = failed_record("test_tcp[z]", causes=[], error="triage unavailable: ranking: E")
    text = markdown.failure_details(error)
    assert "triage unavailable: ranking: E" in text
    assert "No runbook cause" not in text
    unrun = complete("inv.yml::test_tcp[w]", 1, "error", "error at setup: boom", 0.0)
    text = markdown.failure_details(unrun)
    assert "<code>test_tcp[w]</code>: error</summary>" in text
    assert "\nerror at setup: boom\n" in text


def test_the_heading_never_says_all_clear_when_it_is_not() -> None:
    tally = ServiceTally(["web"])
    tally.add("web", "passed", "open")
    assert render(tally.rows(), [], 0).startswith("### ✅ Connectivity: all 1 checks passed")
    text = render(tally.rows(), [], 0, notes=["The run was interrupted: <x>"])
    assert text.startswith("### ⚠️ Connectivity: incomplete, 1 checks recorded, none failed")
    assert "> ⚠️ The run was interrupted: \\<x\\>\n" in text
    tally.add("web", "passed", "open", warned=True)
    assert render(tally.rows(), [], 0).startswith(
        "### ⚠️ Connectivity: none of 2 checks failed, 1 with a warning"
    )
    assert "| ⚠️ | `web` | 2 | 2 | 0 |" in render(tally.rows(), [], 0)
