"""The outcome taxonomy is open: a kind declares its own outcomes beside the core ones."""

from __future__ import annotations

import pickle

import pytest

from pytest_conntriage.outcome import CORE, Outcome
from pytest_conntriage.probe.http import ANSWERS, HTTP_OK, HTTP_STATUS


def test_an_outcome_is_its_name_interned() -> None:
    assert Outcome("refused") is Outcome.REFUSED
    assert Outcome.REFUSED == "refused"
    assert Outcome.REFUSED.value == str(Outcome.REFUSED) == f"{Outcome.REFUSED}" == "refused"
    assert repr(Outcome.REFUSED) == "<Outcome refused>"
    assert pickle.loads(pickle.dumps(Outcome.REFUSED)) is Outcome.REFUSED
    assert pickle.loads(pickle.dumps(HTTP_STATUS)) is HTTP_STATUS


def test_a_name_never_declared_is_no_outcome() -> None:
    with pytest.raises(ValueError, match="'nope' is not a declared outcome"):
        Outcome("nope")


def test_the_core_taxonomy_holds_no_kind_s_own_outcome() -> None:
    assert Outcome.REFUSED in CORE
    assert Outcome.PROBE_ERROR in CORE
    assert not set(ANSWERS) & set(CORE)


def test_a_declaration_says_pass_or_failure_and_its_phrase() -> None:
    assert HTTP_OK.is_success
    assert not HTTP_STATUS.is_success
    assert Outcome.OPEN.is_success
    assert not Outcome.REFUSED.is_success
    assert HTTP_STATUS.describes == "the server answered with another HTTP status"
    assert Outcome.DNS_NXDOMAIN.is_dns
    assert not Outcome.REFUSED.is_dns


def test_declaring_again_the_same_way_is_the_same_outcome_and_differently_an_error() -> None:
    assert Outcome.declare("http-ok", "the expected HTTP status came back", passes=True) is HTTP_OK
    with pytest.raises(ValueError, match="already declared differently"):
        Outcome.declare("http-ok", "the expected HTTP status came back")
    with pytest.raises(ValueError, match="lower-case words"):
        Outcome.declare("Not Good", "whatever")
