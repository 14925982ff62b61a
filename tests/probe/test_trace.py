"""The path trace's I/O on real loopback sockets (the lab traces through a real router)."""

from __future__ import annotations

import asyncio
import os
import resource
from collections.abc import Awaitable

import pytest

from pytest_conntriage.demo.listeners import FullQueueListener, OpenListener, closed_port
from pytest_conntriage.evidence.path import HopKind, HopReply, PathEnd
from pytest_conntriage.probe.trace import probe_hop, trace_path


def test_a_listener_answers_at_hop_1() -> None:
    with OpenListener("127.0.0.5") as listener:
        trace = asyncio.run(trace_path("127.0.0.5", listener.port, 3, 1.0))
    assert [hop.ttl for hop in trace.ordered] == [1, 2, 3]
    assert trace.end is PathEnd.REACHED
    assert trace.end_hop == HopReply(1, HopKind.ANSWERED, "127.0.0.5", detail="open")


def test_a_closed_port_answers_with_a_reset() -> None:
    port = closed_port("127.0.0.6")
    hop = asyncio.run(probe_hop("127.0.0.6", port, 1, 1.0))
    assert hop == HopReply(1, HopKind.ANSWERED, "127.0.0.6", detail="refused")


def test_ipv6_sets_the_hop_limit() -> None:
    try:
        port = closed_port("::1")
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    hop = asyncio.run(probe_hop("::1", port, 1, 1.0))
    assert hop == HopReply(1, HopKind.ANSWERED, "::1", detail="refused")


def test_no_answer_within_the_hop_timeout_is_silent() -> None:
    with FullQueueListener("127.0.0.7") as listener:
        hop = asyncio.run(probe_hop("127.0.0.7", listener.port, 1, 0.3))
    assert hop == HopReply(1, HopKind.SILENT)


def test_each_hop_runs_under_the_callers_bound() -> None:
    ran: list[int] = []

    async def bounded(work: Awaitable[HopReply]) -> HopReply:
        hop = await work
        ran.append(hop.ttl)
        return hop

    port = closed_port("127.0.0.6")
    trace = asyncio.run(trace_path("127.0.0.6", port, 4, 1.0, bounded))
    assert sorted(ran) == [1, 2, 3, 4]
    assert trace.max_hops == 4


def test_no_file_descriptor_is_a_local_failure_not_silence() -> None:
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
        trace = loop.run_until_complete(trace_path("127.0.0.6", 9, 2, 0.5))
        loop.close()
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert trace.end is PathEnd.FAILED
    assert trace.hops[0] == HopReply(1, HopKind.FAILED, detail="no socket: Too many open files")
    assert trace.describe() == "the path could not be traced: no socket: Too many open files"


def test_a_wave_that_reaches_the_target_is_the_last() -> None:
    port = closed_port("127.0.0.6")
    trace = asyncio.run(trace_path("127.0.0.6", port, 8, 1.0, wave=2))
    assert [hop.ttl for hop in trace.ordered] == [1, 2]
    assert trace.max_hops == 2
    assert trace.end is PathEnd.REACHED
