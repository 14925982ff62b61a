"""A broken runbook is one message naming file:line:column, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_conntriage.outcome import Outcome
from pytest_conntriage.runbook import RunbookError, load_entries, load_runbook

# The smallest valid runbook; each case below breaks one thing in it.
VALID = """\
version: 1
entries:
  - id: team
    title: Our entry
    summary: What it covers
    reference: Our wiki
    causes:
      - id: proxy-down
        title: The proxy is down
        detail: Nothing answers in front of the service
        outcomes:
          refused: {weight: 80, why: "nothing answers on port {port}"}
        diagnostics: [proxy-status]
        resolutions: [restart-proxy]
    diagnostics:
      - id: proxy-status
        title: Ask systemd
        side: target
        command: systemctl status {unit}
        tells: whether it runs
    resolutions:
      - id: restart-proxy
        title: Restart it
        steps:
          - text: Restart the proxy
            command: systemctl restart {unit}
"""

ANOTHER_CAUSE = """\
      - id: proxy-down
        title: Again
        detail: Again
        outcomes: {}
        diagnostics: []
        resolutions: []
    diagnostics:
"""

# (what is broken, replace this, with this, the expected message after "path:")
CASES = [
    (
        "unknown key, with the nearest valid one",
        "        detail:",
        "        detial:",
        "10:9: unknown key 'detial' in entries[0].causes[0] (did you mean 'detail'?)",
    ),
    (
        "unknown key at the top",
        "version: 1\n",
        "version: 1\nentires: []\n",
        "2:1: unknown key 'entires' (did you mean 'entries'?)",
    ),
    (
        "duplicate cause id",
        "    diagnostics:\n",
        ANOTHER_CAUSE,
        "15:13: duplicate cause id 'proxy-down' (first at line 8)",
    ),
    (
        "reference to an unknown resolution",
        "resolutions: [restart-proxy]",
        "resolutions: [restart-proxi]",
        "14:23: cause 'proxy-down' names unknown resolution 'restart-proxi'"
        " (did you mean 'restart-proxy'?)",
    ),
    (
        "reference to an unknown diagnostic",
        "diagnostics: [proxy-status]",
        "diagnostics: [proxy-state, proxy-status]",
        "13:23: cause 'proxy-down' names unknown diagnostic 'proxy-state'"
        " (did you mean 'proxy-status'?)",
    ),
    (
        "unknown outcome name",
        "          refused: {",
        "          refsued: {",
        "12:11: unknown outcome 'refsued' (did you mean 'refused'?)",
    ),
    (
        "weight out of range",
        "weight: 80",
        "weight: 150",
        "12:29: entries[0].causes[0].outcomes.refused.weight: 150 is outside 0-100",
    ),
    (
        "weight that is not a number",
        "weight: 80",
        "weight: high",
        "12:29: entries[0].causes[0].outcomes.refused.weight: expected a whole number,"
        " got the string 'high'",
    ),
    (
        "unknown placeholder",
        "systemctl restart {unit}",
        "systemctl restart {unti}",
        "26:22: unknown placeholder {unti} (did you mean {unit}?)",
    ),
    (
        "unbalanced brace",
        "port {port}",
        "port {port",
        "12:38: bad template: expected '}' before end of string"
        " (write {{ and }} for literal braces)",
    ),
    (
        "missing required key",
        "        title: The proxy is down\n",
        "",
        "8:9: entries[0].causes[0]: missing required key 'title' in cause 'proxy-down'",
    ),
    (
        "YAML syntax error",
        "title: Our entry",
        "title: Our: entry",
        "4:15: invalid YAML: mapping values are not allowed here (check this line's"
        " indentation, or quote a value containing ': ')",
    ),
    (
        "duplicate key",
        "    summary: What it covers\n",
        "    summary: What it covers\n    title: Again\n",
        "6:5: entries[0].title: duplicate key 'title' (first written at 4:5)",
    ),
    (
        "side that does not exist",
        "side: target",
        "side: server",
        "18:15: entries[0].diagnostics[0].side: 'server' is not one of: client, target",
    ),
    (
        "id that is not a slug",
        "  - id: team",
        "  - id: Our Team",
        "3:9: entries[0].id: 'Our Team' must be lowercase letters and digits in"
        " dash-separated words (like 'service-down')",
    ),
    (
        "unsupported version",
        "version: 1",
        "version: 2",
        "1:10: version: 2 is not supported; this version of pytest-conntriage reads version 1",
    ),
    (
        "unsafe YAML tag",
        "title: Restart it",
        "title: !!python/object/apply:os.system [id]",
        "23:16: entries[0].resolutions[0].title: the YAML tag"
        " !!python/object/apply:os.system is not supported in a runbook",
    ),
    (
        "step that prefers a command it does not have",
        "            command: systemctl restart {unit}",
        "            prefer:\n              - systemctl restart {unit}",
        "26:13: entries[0].resolutions[0].steps[0].prefer: 'prefer' needs 'command' beside it",
    ),
    (
        "list where text belongs",
        "tells: whether it runs",
        "tells: [whether, it, runs]",
        "20:16: entries[0].diagnostics[0].tells: expected a string, got a list",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [pytest.param(old, new, message, id=name) for name, old, new, message in CASES],
)
def test_bad_runbook_names_file_line_and_column(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert VALID.count(old) >= 1, old
    path = tmp_path / "team.yaml"
    path.write_text(VALID.replace(old, new, 1))
    with pytest.raises(RunbookError) as caught:
        load_runbook([str(path)])
    assert str(caught.value) == f"{path}:{message}"


def test_the_valid_base_loads(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(VALID)
    [entry] = load_entries(str(path))
    assert entry.causes[0].why[Outcome.REFUSED] == "nothing answers on port {port}"


def test_missing_file() -> None:
    with pytest.raises(RunbookError) as caught:
        load_runbook(["nope/team.yaml"])
    assert str(caught.value) == "nope/team.yaml: cannot read runbook: No such file or directory"


def test_a_directory_is_not_a_runbook(tmp_path: Path) -> None:
    with pytest.raises(RunbookError) as caught:
        load_runbook([str(tmp_path)])
    assert str(caught.value) == f"{tmp_path}: cannot read runbook: Is a directory"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text("# nothing yet\n")
    with pytest.raises(RunbookError) as caught:
        load_entries(str(path))
    assert str(caught.value) == f"{path}:1:1: the runbook is empty"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_bytes(b"version: 1\ntitle: \xff\n")
    with pytest.raises(RunbookError) as caught:
        load_entries(str(path))
    assert str(caught.value) == f"{path}: cannot read runbook: not UTF-8 text (invalid start byte)"


def test_recursive_alias(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text("version: 1\nentries: &loop\n  - *loop\n")
    with pytest.raises(RunbookError) as caught:
        load_entries(str(path))
    assert (
        str(caught.value)
        == f"{path}:2:10: entries[0]: an alias refers to a collection that contains it"
    )


def test_the_error_is_the_first_in_the_file(tmp_path: Path) -> None:
    # Two problems: the one on the earlier line is reported.
    text = VALID.replace("side: target", "side: server").replace("title: Our entry", "titel: x")
    path = tmp_path / "team.yaml"
    path.write_text(text)
    with pytest.raises(RunbookError) as caught:
        load_entries(str(path))
    assert caught.value.mark == (4, 5)
    assert caught.value.message == "unknown key 'titel' in entries[0] (did you mean 'title'?)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[a]\n", "1:1: expected a mapping, got a list"),
        ("version: 1\n1: x\n", "2:1: unknown key '1'; valid keys here: version, entries"),
        (
            "version: 1\n---\nversion: 1\n",
            "2:1: invalid YAML: expected a single document in the stream,"
            " but found another document",
        ),
        (
            # Merge keys work as in an inventory: the merged entry lacks a title.
            "version: 1\nentries:\n  - &x {id: a}\n  - <<: *x\n",
            "3:5: entries[0]: missing required key 'title' in entry 'a'",
        ),
        ("version: 1\nentries: []\n", "2:10: entries: must list at least one entry"),
    ],
)
def test_whole_file_problems(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(text)
    with pytest.raises(RunbookError) as caught:
        load_entries(str(path))
    assert str(caught.value) == f"{path}:{message}"
