"""pytest's JUnit file (`--junitxml`) written without keeping every testcase in memory.

pytest's `LogXML` keeps each finished testcase as an XML element (a failed check's
holds its whole triage text), and the suite's properties as a list, until the session
ends; then it builds the whole document as one tree and one string and writes it. At
10,000 failing checks that was ~220 MB over the same run without `--junitxml`.

The spool moves each testcase to an unnamed temporary file as soon as `LogXML` has
finished it, serialised as `LogXML` would serialise it, and leaves a small placeholder
element in its place; the run's `conntriage.*` suite properties go to a second spool as
they are written, with one placeholder property in `LogXML`'s list. When `LogXML` has
written its file (now small: placeholders), the file is rewritten with each
placeholder replaced by its spooled XML, in `LogXML`'s order, and replaced atomically.
The result is byte for byte the file `LogXML` writes without the spool (a test compares
both).

A testcase that cannot be spooled (a full disk, a `LogXML` that changed shape) stays
with `LogXML`, as written without the spool. If the file cannot be completed at the
end, the terminal says so and the placeholders stay: the file is then invalid against
the JUnit schema rather than silently short of failures.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Generator
from functools import partial
from typing import IO, Any

import pytest

from .pytest_internals import (
    finished_junit_testcase,
    junit_escape,
    open_junit_testcases,
    replace_junit_testcase,
)
from .result import crash_reason

PLACEHOLDER_TAG = "conntriage-spooled"
PROPERTIES_PLACEHOLDER = "conntriage-spooled-properties"
# What ElementTree writes for the placeholders (`short_empty_elements`, its default).
_PLACEHOLDERS = re.compile(
    rb'<conntriage-spooled n="(\d+)" />'
    rb'|<property name="conntriage-spooled-properties" value="" />'
)
_COPY_CHUNK = 1 << 20
# The spools' write buffers: a system call per MB rather than per 8 kB (at 10,000
# failures, ~70 MB of testcases and properties).
_BUFFER = 1 << 20


def _placeholder(index: int) -> ET.Element:
    return ET.Element(PLACEHOLDER_TAG, n=str(index))


def _property_element(name: str, value: str) -> str:
    return ET.tostring(ET.Element("property", name=name, value=value), encoding="unicode")


# What ElementTree does to an attribute's value (its _escape_attrib), in its order.
_ATTRIBUTE_ESCAPES = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ('"', "&quot;"),
    ("\r", "&#13;"),
    ("\n", "&#10;"),
    ("\t", "&#09;"),
)


def _attribute(text: str) -> str:
    for char, entity in _ATTRIBUTE_ESCAPES:
        if char in text:
            text = text.replace(char, entity)
    return text


def _property_line(name: str, value: str) -> str:
    """`_property_element`'s text, written directly: ElementTree built an element and
    a serialiser for each of the ~8 properties per check (a second of CPU at 10,000)."""
    return f'<property name="{_attribute(name)}" value="{_attribute(value)}" />'


def _property_writer() -> Callable[[str, str], str]:
    """`_property_line` if it writes what ElementTree writes on this Python (checked on
    every character either escapes), else ElementTree itself."""
    probe = "a&b<c>d\"e'f\rg\nh\ti\x00j\u00e9k\U0001f600l]]>"
    same = _property_line(probe, probe[::-1]) == _property_element(probe, probe[::-1])
    return _property_line if same else _property_element


class JunitSpool:
    """Registered beside pytest's `LogXML` (`xml`) on a run that writes `--junitxml`."""

    def __init__(self, xml: Any) -> None:
        self.xml = xml
        # Unnamed (gone with the process whatever happens); open for the session,
        # closed in pytest_sessionfinish.
        self.cases: IO[bytes] = tempfile.TemporaryFile(buffering=_BUFFER)  # noqa: SIM115
        self.spans: list[tuple[int, int]] = []  # each spooled testcase: offset, length
        # Where the next testcase goes: counted, not asked (tell() is a system call per
        # testcase, about as costly as the write itself).
        self.cases_end = 0
        self.properties: IO[bytes] = tempfile.TemporaryFile(buffering=_BUFFER)  # noqa: SIM115
        self.properties_marked = False
        self.property_xml = _property_writer()
        self.error = ""  # why part of the run's JUnit XML stayed in memory, or worse

    # -- testcases ----------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, None, None]:
        # LogXML finishes a testcase at its teardown report: the testcases open before
        # it (a handful, under xdist one or two per worker) are the candidates.
        open_before = open_junit_testcases(self.xml) if report.when == "teardown" else []
        result = yield
        for reporter in open_before:
            to_xml = finished_junit_testcase(reporter)
            if to_xml is not None:
                self._spool(reporter, to_xml)
        return result

    def _spool(self, reporter: Any, to_xml: Callable[[], Any]) -> None:
        if self.error:
            return
        try:
            data = ET.tostring(to_xml(), encoding="unicode").encode("utf-8")
            offset = self.cases_end
            self.cases.write(data)
        except Exception as exc:  # it stays with LogXML, as without the spool
            # A partial write leaves bytes no span points at; nothing is spooled after.
            self.error = crash_reason("JUnit spool", exc)
            return
        self.cases_end += len(data)
        replace_junit_testcase(reporter, partial(_placeholder, len(self.spans)))
        self.spans.append((offset, len(data)))

    # -- the suite's properties ---------------------------------------------------------

    def add_property(self, name: str, value: str) -> None:
        """`LogXML.add_global_property`, spooled: written in the file where LogXML
        would write the first of them."""
        if self.error:
            self.xml.add_global_property(name, value)
            return
        if not self.properties_marked:
            self.xml.add_global_property(PROPERTIES_PLACEHOLDER, "")
            self.properties_marked = True
        try:
            self.properties.write(self.property_xml(name, junit_escape(value)).encode("utf-8"))
        except Exception as exc:
            self.error = crash_reason("JUnit spool", exc)
            self.xml.add_global_property(name, value)

    # -- the file ---------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)  # after LogXML has written its file
    def pytest_sessionfinish(self) -> None:
        try:
            if self.spans or self.properties_marked:
                self._complete(str(self.xml.logfile))
        except Exception as exc:
            self.error = f"{crash_reason('JUnit spool', exc)}; {self.xml.logfile} is incomplete"
        finally:
            self.close()

    def close(self) -> None:
        self.cases.close()
        self.properties.close()

    def _complete(self, path: str) -> None:
        with open(path, "rb") as file:
            written = file.read()
        partial_path = f"{path}.conntriage-{os.getpid()}.tmp"
        try:
            with open(partial_path, "xb") as out:
                end = 0
                for match in _PLACEHOLDERS.finditer(written):
                    out.write(written[end : match.start()])
                    end = match.end()
                    if match.group(1) is None:
                        self.properties.seek(0)
                        shutil.copyfileobj(self.properties, out, _COPY_CHUNK)
                    else:
                        offset, length = self.spans[int(match.group(1))]
                        self.cases.seek(offset)
                        out.write(self.cases.read(length))
                out.write(written[end:])
            os.replace(partial_path, path)
        except BaseException:
            if os.path.exists(partial_path):
                os.unlink(partial_path)
            raise

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.error:
            terminalreporter.write_line(f"conntriage: JUnit XML: {self.error}")
