"""A GET of the path answers with the expected status, over TCP or TLS as the inventory says."""

from __future__ import annotations

from pytest_conntriage.fixture import Conntriage
from pytest_conntriage.kinds.http import HttpCheck


def test_http(http_check: HttpCheck, conntriage: Conntriage) -> None:
    conntriage.verify(http_check)
