"""The TCP probe against real loopback sockets: each outcome reachable without root."""

from __future__ import annotations

import asyncio
import errno
import os
import resource
import time

import pytest

from pytest_conntriage.demo.listeners import FullQueueListener, OpenListener, closed_port
from pytest_conntriage.outcome import Outcome, classify_errno
from pytest_conntriage.probe.icmp import IcmpError
from pytest_conntriage.probe.result import Attempt
from pytest_conntriage.probe.tcp import ConnectFailure, classify, connect_once


def probe(address: str, port: int, timeout: float = 0.5) -> Attempt:
    return asyncio.run(connect_once(address, port, timeout))


def test_open_listener_is_open() -> None:
    with OpenListener("127.0.0.2") as listener:
        attempt = probe("127.0.0.2", listener.port)
    assert attempt.outcome is Outcome.OPEN
    assert attempt.errno is None
    assert attempt.address == "127.0.0.2"
    assert attempt.elapsed_ms < 500


def test_nothing_bound_is_refused_at_once() -> None:
    attempt = probe("127.0.0.3", closed_port("127.0.0.3"))
    assert attempt.outcome is Outcome.REFUSED
    assert attempt.errno == errno.ECONNREFUSED
    assert attempt.elapsed_ms < 100


def test_bound_to_another_loopback_address_is_refused() -> None:
    # The wrong-interface case: listening on 127.0.0.2 only, probed on 127.0.0.3.
    with OpenListener("127.0.0.2") as listener:
        attempt = probe("127.0.0.3", listener.port)
    assert attempt.outcome is Outcome.REFUSED


def test_full_accept_queue_times_out_not_refused() -> None:
    with FullQueueListener("127.0.0.4") as listener:
        attempt = probe("127.0.0.4", listener.port, timeout=0.3)
    assert attempt.outcome is Outcome.TIMEOUT
    assert attempt.errno == errno.ETIMEDOUT
    assert 250 <= attempt.elapsed_ms < 1500


def test_ipv6_loopback() -> None:
    attempt = probe("::1", closed_port("::1"))
    assert attempt.outcome is Outcome.REFUSED


def test_no_file_descriptor_is_a_probe_error_not_a_timeout() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held = []
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        loop = asyncio.new_event_loop()
        try:
            while True:
                held.append(os.open("/dev/null", os.O_RDONLY))
        except OSError:
            pass
        attempt = loop.run_until_complete(connect_once("127.0.0.1", 9, 0.5))
        loop.close()
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert attempt.outcome is Outcome.PROBE_ERROR
    assert attempt.errno == errno.EMFILE
    assert "no socket" in attempt.detail


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (errno.ECONNREFUSED, Outcome.REFUSED),
        (errno.EHOSTUNREACH, Outcome.HOST_UNREACHABLE),
        (errno.ENETUNREACH, Outcome.NET_UNREACHABLE),
        (errno.EACCES, Outcome.ADMIN_PROHIBITED),
        (errno.EINVAL, Outcome.NO_ROUTE),
        (errno.ECONNRESET, Outcome.RESET),
        (errno.EADDRNOTAVAIL, Outcome.PROBE_ERROR),
        (errno.EMFILE, Outcome.PROBE_ERROR),
    ],
)
def test_errno_classification(code: int, outcome: Outcome) -> None:
    assert classify_errno(code) is outcome


# What a failed connect's errno and ICMP error mean, decided from hand-made data
# (probe.tcp.classify): the ICMP message overrides what the errno alone cannot tell.
def icmp_error(kind: str, sender: str, icmp_type: int = 3, code: int = 1) -> IcmpError:
    return IcmpError(kind, sender, icmp_type, code)


ICMP_CASES = [
    pytest.param(
        errno.ECONNREFUSED, None, Outcome.REFUSED, "",
        id="a reset with no ICMP error is refused",
    ),
    pytest.param(
        errno.EHOSTUNREACH, None, Outcome.HOST_UNREACHABLE, "",
        id="host unreachable with no ICMP error stays host unreachable",
    ),
    pytest.param(
        errno.EHOSTUNREACH, icmp_error("admin-prohibited", "10.0.1.1", 3, 13),
        Outcome.ADMIN_PROHIBITED, "ICMP admin-prohibited (type 3 code 13) from 10.0.1.1",
        id="a router's admin-prohibited behind EHOSTUNREACH is admin-prohibited",
    ),
    pytest.param(
        errno.EHOSTUNREACH, icmp_error("host-prohibited", "10.0.2.2", 3, 10),
        Outcome.ADMIN_PROHIBITED, "ICMP host-prohibited (type 3 code 10) from 10.0.2.2",
        id="the target's own host-prohibited is admin-prohibited",
    ),
    pytest.param(
        errno.EHOSTUNREACH, icmp_error("host-unreachable", "10.0.1.1", 3, 1),
        Outcome.HOST_UNREACHABLE, "ICMP host-unreachable (type 3 code 1) from 10.0.1.1",
        id="a router's host-unreachable keeps the outcome and names the router",
    ),
    pytest.param(
        errno.ECONNREFUSED, icmp_error("port-unreachable", "10.0.2.2", 3, 3),
        Outcome.REFUSED, "ICMP port-unreachable (type 3 code 3) from 10.0.2.2",
        id="a firewall's port-unreachable is refused, with the ICMP error kept to tell",
    ),
    pytest.param(
        errno.EMFILE, None, Outcome.PROBE_ERROR, "Too many open files",
        id="a local error is a probe error with the OS's words",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("code", "error", "outcome", "detail"), ICMP_CASES)
def test_the_icmp_error_decides_what_the_errno_cannot_tell(
    code: int, error: IcmpError | None, outcome: Outcome, detail: str
) -> None:
    failure = ConnectFailure("10.0.2.2", 80, 1.5, code, os.strerror(code), error)
    attempt = classify(failure)
    assert (attempt.outcome, attempt.detail) == (outcome, detail)
    assert (attempt.address, attempt.port, attempt.errno, attempt.icmp) == (
        "10.0.2.2", 80, code, error,
    )  # fmt: skip


async def _probe_behind_a_busy_loop(address: str, port: int, timeout: float) -> Attempt:
    """Probe, then keep the event loop busy past the probe's deadline right after its
    first step (its SYN sent): as thousands of probes on a loaded machine do."""
    task = asyncio.ensure_future(connect_once(address, port, timeout))
    await asyncio.sleep(0)  # the probe's first step runs: its connect() is under way
    time.sleep(timeout + 0.3)  # blocks the loop; the kernel completes the handshake
    return await task


def test_an_answer_the_loop_saw_late_is_the_answer_not_a_timeout() -> None:
    # A busy loop wakes after the deadline with the handshake done: the target accepted,
    # so the port is open. Read as a timeout, a `closed` check would pass on it.
    with OpenListener("127.0.0.2") as listener:
        attempt = asyncio.run(_probe_behind_a_busy_loop("127.0.0.2", listener.port, 0.2))
    assert attempt.outcome is Outcome.OPEN


def test_a_reset_the_loop_saw_late_is_refused_not_a_timeout() -> None:
    # The SYN is dropped (full accept queue) and retransmitted by the kernel about 1 s
    # later, after the listener is gone: that one gets a reset while the loop is busy.
    listener = FullQueueListener("127.0.0.2").__enter__()
    port = listener.port

    async def scenario() -> Attempt:
        task = asyncio.ensure_future(connect_once("127.0.0.2", port, 0.2))
        await asyncio.sleep(0)
        listener.__exit__(None, None, None)  # nothing listens: the retransmit is reset
        time.sleep(2.5)  # past the kernel's first SYN retransmission (1 s)
        return await task

    attempt = asyncio.run(scenario())
    assert (attempt.outcome, attempt.errno) == (Outcome.REFUSED, errno.ECONNREFUSED)
