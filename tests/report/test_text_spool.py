"""A triage text shown several times is rendered once, and whatever happens to the spool
it is still shown: never lost, never another failure's."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_conntriage import nodes
from pytest_conntriage.nodes import TriageRepr
from pytest_conntriage.report.text import failure_text
from pytest_conntriage.text_spool import TextSpool


class Renders:
    """A text renderer that counts its calls."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.text


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(), min_size=1, max_size=8))  # surrogates, NULs, anything
def test_every_text_comes_back_as_it_was_put(texts: list[str]) -> None:
    spool = TextSpool()
    try:
        spans = []
        for text in texts:
            span = spool.put(text)
            assert span is not None
            spans.append(span)
            # A read between writes: the next text still goes after the last one.
            assert spool.get(spans[0]) == texts[0]
        assert [spool.get(span) for span in reversed(spans)] == texts[::-1]
    finally:
        spool.close()


def test_a_closed_spool_keeps_and_gives_nothing() -> None:
    spool = TextSpool()
    span = spool.put("kept")
    assert span is not None
    spool.close()
    assert spool.get(span) is None
    assert spool.put("more") is None


def test_a_spool_that_cannot_write_gives_up_without_raising() -> None:
    spool = TextSpool()
    span = spool.put("first")
    assert span is not None
    assert spool._file is not None
    spool._file.close()  # as if the disk were gone
    assert spool.put("second") is None
    assert spool.closed
    assert spool.get(span) is None


def test_a_text_shown_three_times_is_rendered_once() -> None:
    spool = TextSpool()
    render = Renders("tcp local -> a:1\n  outcome: refused — é \udcff")
    repr_ = TriageRepr("refused: …", render, "inventory.yml", 3, spool)
    try:
        assert [str(repr_), str(repr_), repr_.text] == [render.text] * 3
        assert render.calls == 1
    finally:
        spool.close()


def test_each_failure_gets_its_own_text_back() -> None:
    spool = TextSpool()
    renders = [Renders(f"text of check {i}\n" * i) for i in range(5)]
    reprs = [TriageRepr("m", r, "i.yml", 1, spool) for r in renders]
    try:
        for repr_ in reprs:
            str(repr_)  # as the JUnit writer does, failure by failure
        assert [str(repr_) for repr_ in reversed(reprs)] == [r.text for r in reversed(renders)]
        assert [r.calls for r in renders] == [1] * 5
    finally:
        spool.close()


def test_once_the_spool_is_closed_the_text_is_rendered_again() -> None:
    spool = TextSpool()
    render = Renders("the triage")
    repr_ = TriageRepr("m", render, "i.yml", 1, spool)
    assert str(repr_) == "the triage"
    spool.close()  # the run has ended: a report read after it
    assert str(repr_) == "the triage"
    assert render.calls == 2


def test_a_rendering_that_crashes_is_not_kept_and_the_failure_stands() -> None:
    spool = TextSpool()
    calls = []

    def crashes() -> str:
        calls.append(1)
        raise RuntimeError("boom")

    repr_ = TriageRepr("refused: connection refused", crashes, "i.yml", 1, spool)
    try:
        expected = "refused: connection refused\ntriage unavailable: rendering: RuntimeError: boom"
        assert [str(repr_), str(repr_)] == [expected, expected]
        assert len(calls) == 2  # each showing tries again; nothing was kept
    finally:
        spool.close()


def test_without_a_spool_nothing_is_kept() -> None:
    render = Renders("the triage")
    repr_ = TriageRepr("m", render, "i.yml", 1)
    assert [str(repr_), str(repr_)] == ["the triage"] * 2
    assert render.calls == 2


def test_a_run_writing_both_files_renders_each_text_once(
    pytester: pytest.Pytester, inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered: list[str] = []

    def counted(*args: Any) -> str:
        text = failure_text(*args)
        rendered.append(text)
        return text

    monkeypatch.setattr(nodes, "failure_text", counted)
    junit, dashboard = pytester.path / "junit.xml", pytester.path / "dashboard.xml"
    result = pytester.runpytest_inprocess(
        "--inventory",
        str(inventory),
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        f"--conntriage-junit={dashboard}",
    )
    result.assert_outcomes(passed=2, failed=3, skipped=1)
    assert len(rendered) == 3  # shown in two files and the terminal, rendered once each
    for text in rendered:
        for path in (junit, dashboard):
            bodies = [f.text for f in ET.parse(path).getroot().iter("failure")]
            assert text in bodies
        assert text.splitlines()[2] in result.stdout.lines  # its "outcome:" line
