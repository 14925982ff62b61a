"""The Markdown report (`--conntriage-markdown FILE`): the run in a merge-request comment
or a CI job summary.

A heading with the totals, a table with a row per service (checks passed and failed,
worst outcome, top cause), then each failed check collapsed in `<details>`: its
outcome, its top cause with the evidence behind it, and that cause's fix.

Sized for a comment: the whole text stays under `budget` characters (GitHub takes
65,536 in a comment); failures that do not fit are counted, not shown. Every value is
data: shown in code spans or escaped, never as Markdown or HTML of its own, and a
failure that cannot be rendered is still listed, with "triage unavailable: <why>".

No pytest here: records in (report/record.py's), text out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import TextIO

from ..result import crash_reason
from .record import Record, top_cause
from .services import ServiceRow
from .text import unavailable_line

BUDGET = 60_000
# Of which the table may take at most: the failures are what the reader came for.
TABLE_SHARE = 0.4
# Room kept for the closing lines ("N more failures ...").
RESERVE = 400
# A failure's evidence lines shown under its top cause.
EVIDENCE_LINES = 5

_ICONS = {"failed": "❌", "error": "❌", "skipped": "⏭️", "passed": "✅"}


def write(
    stream: TextIO,
    rows: Sequence[ServiceRow],
    failures: Iterable[Record],
    failed: int,
    *,
    inventories: Sequence[str] = (),
    notes: Sequence[str] = (),
    budget: int = BUDGET,
) -> None:
    """The report of a run whose services are `rows`, whose `failed` failed checks (and
    checks in error) are `failures`, in collection order. `notes`: what makes the
    report less than the whole run (interrupted, records missing), said first."""
    checks = sum(row.checks for row in rows)
    warned = sum(row.warned for row in rows)
    head = [_heading(checks, failed, warned, inventories, incomplete=bool(notes)), ""]
    for note in notes:
        head += [f"> ⚠️ {escape(note)}", ""]
    written = _emit(stream, "\n".join(head) + "\n")
    written += _emit(stream, _table(rows, int(budget * TABLE_SHARE)))
    shown = 0
    for record in failures:
        if shown == 0:
            written += _emit(stream, "\n#### Failed checks\n\n")
        part = failure_details(record)
        if written + len(part) > budget - RESERVE:
            break
        written += _emit(stream, part)
        shown += 1
    if failed > shown:
        rest = failed - shown
        more = "failure is" if rest == 1 else "failures are"
        _emit(
            stream,
            f"\n**{rest} more {more} not shown here** (this summary stays under"
            f" {budget:,} characters): the JSON report and the JUnit file list every"
            " check with its triage.\n",
        )


def _emit(stream: TextIO, text: str) -> int:
    stream.write(text)
    return len(text)


def _heading(
    checks: int, failed: int, warned: int, inventories: Sequence[str], incomplete: bool
) -> str:
    if failed:
        title = f"❌ Connectivity: {failed} of {checks} checks failed"
    elif incomplete:  # never all clear: what is missing may have failed
        title = f"⚠️ Connectivity: incomplete, {checks} checks recorded, none failed"
    elif warned:
        title = f"⚠️ Connectivity: none of {checks} checks failed, {warned} with a warning"
    else:
        title = f"✅ Connectivity: all {checks} checks passed"
    source = ", ".join(code(i) for i in inventories)
    return f"### {title}" + (f" ({source})" if source else "")


def _table(rows: Sequence[ServiceRow], budget: int) -> str:
    lines = [
        "| | service | checks | passed | failed | worst outcome | top cause |",
        "|---|---|--:|--:|--:|---|---|",
    ]
    size = sum(len(line) + 1 for line in lines)
    rendered = [_row(row) for row in rows]
    if size + sum(len(line) + 1 for line in rendered) > budget:
        # Too many services for one comment: the failing ones first.
        order = sorted(range(len(rows)), key=lambda i: not rows[i].failed)
        rows, rendered = [rows[i] for i in order], [rendered[i] for i in order]
    left = len(rows)
    for line in rendered:
        if size + len(line) + 1 > budget:
            break
        lines.append(line)
        size += len(line) + 1
        left -= 1
    if left:
        failing = sum(1 for row in rows[len(rows) - left :] if row.failed)
        lines.append(f"| | *{left} more services ({failing} failing)* | | | | | |")
    return "\n".join(lines) + "\n"


def _row(row: ServiceRow) -> str:
    icon = "⚠️" if row.status == "passed" and row.warned else _ICONS.get(row.status, "")
    cells = [
        icon,
        cell(row.suite),
        str(row.checks),
        str(row.passed),
        str(row.failed),
        cell(row.worst_outcome),
        _cause_cell(row),
    ]
    return "| " + " | ".join(cells) + " |"


def _cause_cell(row: ServiceRow) -> str:
    top = row.top_cause
    if top is None:
        return ""
    cause, count = top
    return cell(cause) + (f" ×{count}" if count > 1 else "")


def failure_details(record: Record) -> str:
    """One failed check, collapsed: its id and outcome, then its top cause and fix.
    Never raises: what cannot be rendered becomes a "triage unavailable" line."""
    try:
        summary = _summary(record)
    except Exception as exc:
        summary = html.escape(f"{record.get('id')!s}: {record.get('status')!s}")
        return _details(summary, [escape(unavailable_line(crash_reason("Markdown", exc)))])
    try:
        body = _body(record)
    except Exception as exc:
        body = [escape(unavailable_line(crash_reason("Markdown", exc)))]
    return _details(summary, body)


def _details(summary: str, body: list[str]) -> str:
    return "\n".join(
        ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]
    )


def _summary(record: Record) -> str:
    parts = [f"❌ <code>{html.escape(str(record['name']))}</code>"]
    outcome = record.get("outcome")
    if outcome:
        parts.append(f": <code>{html.escape(outcome)}</code>")
    elif record.get("status") == "error":
        parts.append(": error")
    cause = top_cause(record)
    if cause is not None:
        verdict, id = cause.get("verdict", ""), cause.get("id", "")
        parts.append(f" — {html.escape(verdict)}: <code>{html.escape(id)}</code>")
    return "".join(parts)


def _body(record: Record) -> list[str]:
    where = [f"{code(record['location'])}"] if record.get("location") else []
    if record.get("service"):
        where.append(f"service {code(record['service'])}")
    lines = [" · ".join(where), ""] if where else []
    probe = record.get("probe") or {}
    if probe.get("explained") and record.get("outcome"):
        lines.append(f"**{escape(record['outcome'])}**: {escape(probe['explained'])}")
    elif record.get("message"):
        lines.append(escape(record["message"]))
    triage = record.get("triage")
    if not triage:
        return lines
    cause = top_cause(record)
    if cause is not None:
        lines += ["", *_cause(cause)]
    elif triage.get("note"):
        lines += ["", escape(triage["note"])]
    elif not triage.get("error"):
        lines += ["", "No runbook cause is in play."]
    others = [
        f"{escape(c.get('verdict', ''))} {code(c.get('id', ''))}"
        for c in triage.get("causes") or ()
        if c is not cause and c.get("verdict") != "ruled out"
    ]
    if others:
        lines += ["", "Also in play: " + ", ".join(others)]
    unavailable = triage.get("unavailable") or ()
    if unavailable:
        lines += ["", f"Evidence unavailable ({len(unavailable)}):"]
        lines += [f"- {escape(line)}" for line in unavailable[:EVIDENCE_LINES]]
        if len(unavailable) > EVIDENCE_LINES:
            lines.append(f"- … {len(unavailable) - EVIDENCE_LINES} more")
    if triage.get("error"):
        lines += ["", escape(triage["error"])]
    return lines


def _cause(cause: Record) -> list[str]:
    lines = [
        f"**Top cause** ({escape(cause.get('verdict', ''))}): {escape(cause.get('title', ''))}"
        f" — {code(cause.get('id', ''))}"
    ]
    evidence = cause.get("evidence") or ()
    lines += [f"- {escape(line)}" for line in evidence[:EVIDENCE_LINES]]
    if len(evidence) > EVIDENCE_LINES:
        lines.append(f"- … {len(evidence) - EVIDENCE_LINES} more")
    for fix in (cause.get("fix") or ())[:1]:  # the first fix: the one to try
        lines += ["", f"**Fix**: {escape(fix.get('title', ''))}"]
        for number, step in enumerate(fix.get("steps") or (), 1):
            lines.append(f"{number}. {escape(step.get('text', ''))}")
            if step.get("command"):
                lines.append(f"   {code(step['command'])}")
    return lines


# What Markdown (and the HTML it allows) could read as its own anywhere in a line:
# escaped with a backslash, which CommonMark allows before any ASCII punctuation. `@`
# and `#` too: "@ops" must not mention anyone, "#12" must not link an issue.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&@#])")
# What it could read as its own at the start of a line: a list item's marker.
_LEADING = re.compile(r"^([-+]|\d{1,9}[.)])(?=\s|$)")


def escape(text: str) -> str:
    """`text` shown as it is, on one line."""
    text = _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return _LEADING.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], text)


def code(text: str) -> str:
    """`text` as a code span, on one line, whatever backticks it holds."""
    text = " ".join(str(text).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}" if text else ""


def cell(text: str) -> str:
    """`text` as a code span in a table cell (a `|` would end the cell)."""
    return code(text).replace("|", "\\|")
