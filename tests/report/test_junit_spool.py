"""The JUnit spool's own failures: a file it cannot complete is said so, never passed off."""

from __future__ import annotations

from pathlib import Path

from _pytest.junitxml import LogXML

from pytest_conntriage.junit_spool import JunitSpool


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
