"""The tool-output parsers, against captured real output (systemd's from a systemd host,
since none runs here) and the odd lines real hosts print."""

from __future__ import annotations

import pytest

from pytest_conntriage.evidence.counters import parse_int, parse_netstat
from pytest_conntriage.evidence.listeners import parse_proc_net_tcp, parse_ss
from pytest_conntriage.evidence.model import (
    Action,
    Backend,
    FirewallVerdict,
    Listener,
    ProcessRef,
    RouteKind,
    reject_outcome,
)
from pytest_conntriage.evidence.route import matching_route, parse_route_get
from pytest_conntriage.evidence.unit import (
    ages_of,
    parse_journal,
    parse_ps,
    parse_systemctl_show,
    parse_uptime,
)
from pytest_conntriage.outcome import Outcome

# `ss -Hltnp` in a namespace: wildcard v4/v6, loopback, a device-bound socket, and a
# listener with one connection waiting in its accept queue.
SS_HLTNP = """\
LISTEN 1      7         127.0.0.1:9000 0.0.0.0:* users:(("python3",pid=5188,fd=5))
LISTEN 0      7           0.0.0.0:8080 0.0.0.0:* users:(("python3",pid=5188,fd=3))
LISTEN 0      4096   127.0.0.1%lo:53   0.0.0.0:* users:(("python3",pid=5188,fd=7))
LISTEN 0      7             [::1]:9000    [::]:* users:(("python3",pid=5188,fd=6))
LISTEN 0      7              [::]:8080    [::]:* users:(("python3",pid=5188,fd=4))
LISTEN 0      128               *:22          *:* users:(("sshd",pid=612,fd=3),("sshd",pid=700,fd=3))
"""  # noqa: E501

# `ss -ltn`: with the header, without processes (what a non-root fallback prints).
SS_LTN = """\
State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
LISTEN 1      7          127.0.0.1:9000      0.0.0.0:*
LISTEN 0      7            0.0.0.0:8080      0.0.0.0:*
"""

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2328 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 199736 2 0000000063cbf836 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 199734 1 00000000f078d8ab 100 0 0 10 0
   3: 0100007F:2328 0100007F:C96A 01 00000000:00000000 00:00000000 00000000     0        0 0 1 00000000dbe76490 20 0 0 10 -1
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 199737 1 00000000b54da3ed 100 0 0 10 0
"""  # noqa: E501

NETSTAT = """\
TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops TCPHPHits
TcpExt: 0 0 17 19 4
IpExt: InNoRoutes InTruncatedPkts
IpExt: 0 0
"""

# `systemctl show nginx.service -p ...` on Debian 12 (systemd 252).
SYSTEMCTL_SHOW = """\
MainPID=48213
Result=success
NRestarts=3
ExecMainStartTimestamp=Tue 2024-05-07 10:12:03 UTC
LoadState=loaded
ActiveState=active
SubState=running
ActiveEnterTimestampMonotonic=1000000000
"""

SYSTEMCTL_SHOW_MISSING = """\
MainPID=0
Result=success
NRestarts=0
ExecMainStartTimestamp=
LoadState=not-found
ActiveState=inactive
SubState=dead
ActiveEnterTimestampMonotonic=0
"""

JOURNAL = """\
2024-05-07T10:12:01+0000 web-1 systemd[1]: nginx.service: Main process exited, code=exited, status=1/FAILURE
2024-05-07T10:12:01+0000 web-1 systemd[1]: nginx.service: Failed with result 'exit-code'.
2024-05-07T10:12:03+0000 web-1 systemd[1]: Started nginx.service - A high performance web server.
"""  # noqa: E501

PS = """\
    PID ELAPSED COMMAND
      1    4096 /sbin/init
   5188      42 python3 /srv/app.py --port 8080
    612  360000 sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups
"""


def test_ss_listeners_with_processes() -> None:
    found = parse_ss(SS_HLTNP)
    assert [(x.address, x.port) for x in found] == [
        ("127.0.0.1", 9000),
        ("0.0.0.0", 8080),
        ("127.0.0.1", 53),
        ("::1", 9000),
        ("::", 8080),
        ("*", 22),
    ]
    assert found[0].recv_q == 1
    assert found[0].send_q == 7
    assert found[2].interface == "lo"
    assert found[2].send_q == 4096
    assert found[1].processes == (ProcessRef("python3", 5188, 3),)
    assert [p.pid for p in found[5].processes] == [612, 700]
    assert found[1].wildcard
    assert found[4].wildcard
    assert found[5].wildcard
    assert not found[0].wildcard


def test_ss_plain_output_with_header() -> None:
    found = parse_ss(SS_LTN)
    assert [(x.address, x.port, x.processes) for x in found] == [
        ("127.0.0.1", 9000, ()),
        ("0.0.0.0", 8080, ()),
    ]


def test_ss_skips_lines_it_cannot_read() -> None:
    text = "garbage\nLISTEN x y 1.2.3.4:80 0.0.0.0:*\nLISTEN 0 5 nonsense:80 0.0.0.0:*\n"
    assert parse_ss(text + SS_LTN.splitlines()[1]) == (Listener("127.0.0.1", 9000, 1, 7),)


def test_accept_queue_full_is_one_above_the_backlog() -> None:
    # Linux holds backlog + 1 connections before it drops SYNs.
    assert Listener("0.0.0.0", 80, 1, 0).accept_queue_full
    assert not Listener("0.0.0.0", 80, 7, 7).accept_queue_full
    assert not Listener("0.0.0.0", 80, 3, None).accept_queue_full


def test_proc_net_tcp_listeners() -> None:
    found = parse_proc_net_tcp(PROC_NET_TCP)
    assert [(x.address, x.port, x.recv_q, x.send_q) for x in found] == [
        ("127.0.0.1", 9000, 1, None),
        ("0.0.0.0", 8080, 0, None),
        ("::1", 9000, 0, None),
    ]


def test_netstat_counters() -> None:
    counters = parse_netstat(NETSTAT)
    assert counters["ListenOverflows"] == 17
    assert counters["ListenDrops"] == 19
    assert "InNoRoutes" not in counters
    assert parse_netstat("TcpExt: A B\nTcpExt: 1\n") == {}  # mismatched lengths
    assert parse_int("4096\n") == 4096
    assert parse_int("n/a") is None


def test_systemctl_show_and_started_ago() -> None:
    state = parse_systemctl_show("nginx.service", SYSTEMCTL_SHOW, uptime_s=1042.5)
    assert state.active_state == "active"
    assert state.sub_state == "running"
    assert state.load_state == "loaded"
    assert state.result == "success"
    assert state.n_restarts == 3
    assert state.main_pid == 48213
    assert state.exec_main_start == "Tue 2024-05-07 10:12:03 UTC"
    assert state.started_ago_s == 42.5  # uptime 1042.5 s, active since 1000 s after boot


def test_systemctl_show_of_a_unit_that_does_not_exist() -> None:
    state = parse_systemctl_show("nope.service", SYSTEMCTL_SHOW_MISSING, uptime_s=50.0)
    assert state.load_state == "not-found"
    assert state.active_state == "inactive"
    assert state.main_pid is None
    assert state.started_ago_s is None
    assert state.exec_main_start is None


def test_journal_lines_and_notes() -> None:
    lines = parse_journal(JOURNAL + "-- No entries --\n")
    assert len(lines) == 3
    assert lines[-1].endswith("A high performance web server.")
    assert parse_journal("-- No entries --\n") == ()
    assert len(parse_journal("\n".join(f"line {i}" for i in range(50)))) == 20


def test_ps_ages() -> None:
    table = parse_ps(PS)
    assert table[5188].age_s == 42
    assert table[5188].command.startswith("python3 /srv/app.py")
    assert [p.pid for p in ages_of(table, [5188, 99999, 612, 5188])] == [5188, 612]


def test_uptime() -> None:
    assert parse_uptime("4096.84 7022.51\n") == 4096.84
    assert parse_uptime("") is None
    assert parse_uptime("up 3 days") is None


@pytest.mark.parametrize(
    ("rc", "stdout", "stderr", "kind", "gateway", "dev", "src"),
    [
        (
            0,
            "10.6.1.1 via 10.5.0.9 dev v0 src 10.5.0.1 uid 0 \n    cache \n",
            "",
            RouteKind.UNICAST,
            "10.5.0.9",
            "v0",
            "10.5.0.1",
        ),
        (
            0,
            "10.5.0.7 dev v0 src 10.5.0.1 uid 0 \n    cache \n",
            "",
            RouteKind.UNICAST,
            None,
            "v0",
            "10.5.0.1",
        ),
        (
            0,
            "local 127.0.0.5 dev lo src 127.0.0.1 uid 0 \n    cache <local> \n",
            "",
            RouteKind.LOCAL,
            None,
            "lo",
            "127.0.0.1",
        ),
        (2, "", "RTNETLINK answers: No route to host\n", RouteKind.UNREACHABLE, None, None, None),
        (2, "", "RTNETLINK answers: Invalid argument\n", RouteKind.BLACKHOLE, None, None, None),
        (2, "", "RTNETLINK answers: Permission denied\n", RouteKind.PROHIBIT, None, None, None),
        (
            2,
            "",
            "RTNETLINK answers: Network is unreachable\n",
            RouteKind.NO_ROUTE,
            None,
            None,
            None,
        ),
        (
            1,
            "",
            'Error: any valid prefix is expected rather than "x".\n',
            RouteKind.UNKNOWN,
            None,
            None,
            None,
        ),
        # Older kernels print the refusing route instead of failing.
        (0, "unreachable 10.9.1.1 table main uid 0\n", "", RouteKind.UNREACHABLE, None, None, None),
    ],
)
def test_ip_route_get(
    rc: int,
    stdout: str,
    stderr: str,
    kind: RouteKind,
    gateway: str | None,
    dev: str | None,
    src: str | None,
) -> None:
    route = parse_route_get("10.6.1.1", rc, stdout, stderr)
    assert (route.kind, route.gateway, route.dev, route.src) == (kind, gateway, dev, src)
    if rc:
        assert route.error == stderr.strip()


def test_the_longest_matching_route_decides() -> None:
    shown = "unreachable 10.9.0.0/16 \nunreachable 10.9.9.0/24 \ndefault via 10.0.0.1 dev eth0\n"
    assert matching_route(shown) == "unreachable 10.9.9.0/24"
    assert matching_route("") is None


@pytest.mark.parametrize(
    ("reject_with", "outcome"),
    [
        ("tcp-reset", Outcome.REFUSED),
        ("tcp reset", Outcome.REFUSED),
        (None, Outcome.REFUSED),
        ("icmp-port-unreachable", Outcome.REFUSED),
        ("icmpx port-unreachable", Outcome.REFUSED),
        ("icmp-admin-prohibited", Outcome.ADMIN_PROHIBITED),
        ("icmp6-adm-prohibited", Outcome.ADMIN_PROHIBITED),
        ("icmpx admin-prohibited", Outcome.ADMIN_PROHIBITED),
        ("icmp-host-unreachable", Outcome.HOST_UNREACHABLE),
        ("icmp-net-unreachable", Outcome.NET_UNREACHABLE),
        ("icmp6-no-route", Outcome.NET_UNREACHABLE),
        ("icmp-proto-unreachable", None),
    ],
)
def test_what_a_client_sees_of_a_reject(reject_with: str | None, outcome: Outcome | None) -> None:
    assert reject_outcome(reject_with) is outcome


def test_verdict_lines() -> None:
    drop = FirewallVerdict(
        Backend.IPTABLES_NFT,
        Action.DROP,
        "-A INPUT -p tcp -m tcp --dport 8080 -j DROP",
        "filter",
        "INPUT",
        1,
    )
    assert drop.blocks
    assert drop.client_sees is Outcome.TIMEOUT
    assert drop.describe() == (
        "iptables-nft: drop by rule 1 of filter INPUT: -A INPUT -p tcp -m tcp --dport 8080 -j DROP"
    )
    policy = FirewallVerdict(
        Backend.NFTABLES, Action.DROP, "policy drop;", "inet filter", "input", None
    )
    assert "the policy of inet filter input" in policy.describe()
    nothing = FirewallVerdict(
        Backend.IPTABLES_LEGACY, Action.ACCEPT, "", "", "", None, loaded=False
    )
    assert nothing.describe() == "iptables-legacy: accept (no rules loaded)"
    assert nothing.client_sees is None
    assert not nothing.blocks
