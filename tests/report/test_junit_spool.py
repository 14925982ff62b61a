"""The JUnit spool's own failures: a file it cannot complete is said so, never passed off."""

from __future__ import annotations

from pathlib import Path

from _pytest.junitxml import LogXML, bin_xml_escape
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_conntriage.junit_spool import (
    JunitSpool,
    _property_element,
    _property_line,
    _property_writer,
)
from pytest_conntriage.pytest_internals import junit_escape


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def test_a_file_the_spool_cannot_complete_is_said_to_be_incomplete(tmp_path: Path) -> None:
    # LogXML never wrote its file (here: nothing ran its sessionfinish): the spool has
    # properties to put in and no file to put them in.
    xml = LogXML(str(tmp_path / "junit.xml"), None, family="xunit2")
    spool = JunitSpool(xml)
    spool.add_property("conntriage.outcome[inventory.yml::test_tcp[a]]", "refused")
    spool.pytest_sessionfinish()
    said = Lines()
    spool.pytest_terminal_summary(said)
    (line,) = said.lines
    assert line.startswith("conntriage: JUnit XML: ")
    assert line.endswith(f"{tmp_path / 'junit.xml'} is incomplete")
    assert spool.cases.closed
    assert spool.properties.closed
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


def test_once_spooling_failed_the_properties_stay_with_logxml(tmp_path: Path) -> None:
    xml = LogXML(str(tmp_path / "junit.xml"), None, family="xunit2")
    spool = JunitSpool(xml)
    spool.properties.close()  # a spool file that can no longer be written
    spool.add_property("conntriage.outcome[t::a]", "refused")
    spool.add_property("conntriage.outcome[t::b]", "open")
    assert spool.error.startswith("JUnit spool")
    # The first went nowhere but LogXML's list, after the placeholder; so did the next.
    assert ("conntriage.outcome[t::a]", "refused") in xml.global_properties
    assert ("conntriage.outcome[t::b]", "open") in xml.global_properties
    spool.cases.close()


# Every character class that matters: what XML escapes, what it cannot hold, the rest.
_texts = st.text(
    st.one_of(st.sampled_from("&<>\"'\r\n\t\x00\x1b\ufffe\ud800]"), st.characters()), max_size=40
)


@settings(max_examples=500, deadline=None)
@given(name=_texts, value=_texts)
def test_a_spooled_property_is_what_elementtree_writes(name: str, value: str) -> None:
    assert _property_writer() is _property_line  # the direct form is the one in use here
    value = junit_escape(value)
    assert _property_line(name, value) == _property_element(name, value)


@settings(max_examples=500, deadline=None)
@given(value=st.one_of(_texts, st.text(st.characters(max_codepoint=127))))
def test_a_property_value_is_escaped_as_pytest_escapes_it(value: str) -> None:
    assert junit_escape(value) == str(bin_xml_escape(value))
